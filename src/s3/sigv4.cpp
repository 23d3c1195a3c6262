#include "s3/sigv4.hpp"

#include <drover/error.hpp>

#include "detail/hex.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <ctime>
#include <stdexcept>

namespace drover::s3 {

namespace {

using digest = std::array<unsigned char, 32>;

// SigV4's UriEncode keeps exactly RFC 3986's unreserved characters (ALPHA DIGIT - . _ ~),
// and '/' too in object key paths; every other byte becomes %XX in upper case.
constexpr auto key_path_chars = boost::urls::unreserved_chars + '/';

digest sha256(std::string_view data) {
    digest d{};
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), d.data(), &len, EVP_sha256(), nullptr) != 1 || len != d.size())
        throw std::runtime_error("SHA-256 failed (OpenSSL)");
    return d;
}

digest hmac(std::string_view key, std::string_view data) {
    digest d{};
    unsigned int len = 0;
    if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
              data.size(), d.data(), &len) ||
        len != d.size())
        throw std::runtime_error("HMAC-SHA256 failed (OpenSSL)");
    return d;
}

std::string_view as_view(const digest& d) { return {reinterpret_cast<const char*>(d.data()), d.size()}; }

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

// Header values: leading and trailing spaces trimmed, inner runs of spaces folded to one.
std::string trim_value(std::string_view v) {
    std::string out;
    bool space = false;
    for (char c : v) {
        if (c == ' ' || c == '\t') {
            space = true;
            continue;
        }
        if (space && !out.empty()) out += ' ';
        space = false;
        out += c;
    }
    return out;
}

}  // namespace

std::string uri_encode(std::string_view s, bool keep_slash) {
    boost::urls::encoding_opts upper_case;  // space as %20, not '+'; hex digits upper case
    return keep_slash ? boost::urls::encode(s, key_path_chars, upper_case)
                      : boost::urls::encode(s, boost::urls::unreserved_chars, upper_case);
}

std::string sha256_hex(std::string_view data) { return detail::hex_encode(as_view(sha256(data))); }

std::string md5_base64(std::string_view data) {
    unsigned char d[16];
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), d, &len, EVP_md5(), nullptr) != 1 || len != 16)
        throw std::runtime_error("MD5 failed (OpenSSL)");
    unsigned char out[32] = {};
    int n = EVP_EncodeBlock(out, d, 16);
    return std::string(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
}

std::string canonical_query(const string_pairs& query) {
    string_pairs enc;
    enc.reserve(query.size());
    for (const auto& [k, v] : query) enc.emplace_back(uri_encode(k, false), uri_encode(v, false));
    std::sort(enc.begin(), enc.end());
    std::string out;
    for (const auto& [k, v] : enc) {
        if (!out.empty()) out += '&';
        out += k;
        out += '=';
        out += v;
    }
    return out;
}

signature_parts compute_signature(const signing_request& req, const credentials& creds) {
    if (req.amz_date.size() != 16) throw std::invalid_argument("sigv4: amz_date must look like 20130524T000000Z");
    signature_parts out;

    string_pairs hdrs;
    if (req.headers)
        for (const auto& [k, v] : *req.headers) hdrs.emplace_back(lower(k), trim_value(v));
    std::stable_sort(hdrs.begin(), hdrs.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string canonical_headers;
    for (std::size_t i = 0; i < hdrs.size(); ++i) {
        if (i > 0 && hdrs[i].first == hdrs[i - 1].first) {
            canonical_headers.back() = ',';  // repeated header: values joined by commas
            canonical_headers += hdrs[i].second + "\n";
            continue;
        }
        canonical_headers += hdrs[i].first + ":" + hdrs[i].second + "\n";
        if (!out.signed_headers.empty()) out.signed_headers += ';';
        out.signed_headers += hdrs[i].first;
    }

    out.canonical_request = std::string(req.method) + "\n" + std::string(req.canonical_uri) + "\n" +
                            (req.query ? canonical_query(*req.query) : std::string()) + "\n" + canonical_headers +
                            "\n" + out.signed_headers + "\n" + std::string(req.payload_sha256);

    std::string date(req.amz_date.substr(0, 8));
    std::string scope = date + "/" + std::string(req.region) + "/" + std::string(req.service) + "/aws4_request";
    out.string_to_sign =
        "AWS4-HMAC-SHA256\n" + std::string(req.amz_date) + "\n" + scope + "\n" + sha256_hex(out.canonical_request);

    digest k = hmac("AWS4" + creds.secret_access_key, date);
    k = hmac(as_view(k), req.region);
    k = hmac(as_view(k), req.service);
    k = hmac(as_view(k), "aws4_request");
    digest sig = hmac(as_view(k), out.string_to_sign);
    out.signature = detail::hex_encode(as_view(sig));
    out.authorization = "AWS4-HMAC-SHA256 Credential=" + creds.access_key_id + "/" + scope +
                        ", SignedHeaders=" + out.signed_headers + ", Signature=" + out.signature;
    return out;
}

void sign(std::string_view method, std::string_view canonical_uri, const string_pairs* query, string_pairs& headers,
          std::string_view payload_sha256, std::string_view date, std::string_view region, const credentials& creds,
          std::string_view service) {
    headers.emplace_back("x-amz-date", std::string(date));
    headers.emplace_back("x-amz-content-sha256", std::string(payload_sha256));
    if (!creds.session_token.empty()) headers.emplace_back("x-amz-security-token", creds.session_token);
    signing_request r{method, canonical_uri, query, &headers, payload_sha256, date, region, service};
    auto parts = compute_signature(r, creds);
    headers.emplace_back("Authorization", std::move(parts.authorization));
}

std::string amz_date(long long unix_seconds) {
    std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

}  // namespace drover::s3
