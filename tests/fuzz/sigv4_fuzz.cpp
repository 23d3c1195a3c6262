// SigV4 canonicalisation (s3/sigv4.*) with untrusted parts: object keys (from record fields),
// query values (continuation tokens from the server), header values. Encodings must decode
// back and use only unreserved characters; the canonical query must not depend on the order
// of its parameters; the signature must not depend on the order or case of distinct header
// names, nor on spaces around header values.
//
// Input lines: the method; the object key; the query as name=value pairs joined by '&'; then
// headers as "name:value".
#include "fuzz/fuzz.hpp"

#include "s3/sigv4.hpp"

#include <algorithm>
#include <set>
#include <string>

namespace drover::fuzz {

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool unreserved(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.' || c == '~';
}

std::string decode(std::string_view e, std::string_view also_kept) {
    std::string back;
    for (std::size_t i = 0; i < e.size(); ++i) {
        if (e[i] == '%') {
            DROVER_FUZZ_CHECK(i + 2 < e.size() && hex_value(e[i + 1]) >= 0 && hex_value(e[i + 2]) >= 0, e);
            back.push_back(static_cast<char>(hex_value(e[i + 1]) * 16 + hex_value(e[i + 2])));
            i += 2;
        } else {
            DROVER_FUZZ_CHECK(unreserved(e[i]) || also_kept.find(e[i]) != std::string_view::npos, e);
            back.push_back(e[i]);
        }
    }
    return back;
}

std::string upper(std::string s) {
    for (char& c : s)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return s;
}

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

}  // namespace

void sigv4(std::string_view in) {
    auto lines = split(in, '\n');
    while (lines.size() < 3) lines.emplace_back();
    std::string_view method = lines[0], key = lines[1];

    DROVER_FUZZ_CHECK(decode(s3::uri_encode(key, true), "/") == key, "uri_encode with '/' kept");
    DROVER_FUZZ_CHECK(decode(s3::uri_encode(key, false), "") == key, "uri_encode");

    s3::string_pairs query;
    for (auto pair : split(lines[2], '&')) {
        auto eq = pair.find('=');
        query.emplace_back(pair.substr(0, eq), eq == std::string_view::npos ? "" : pair.substr(eq + 1));
    }
    std::string cq = s3::canonical_query(query);
    s3::string_pairs reversed(query.rbegin(), query.rend());
    DROVER_FUZZ_CHECK(s3::canonical_query(reversed) == cq, cq);
    std::multiset<std::pair<std::string, std::string>> want(query.begin(), query.end()), got;
    for (auto pair : split(cq, '&')) {
        auto eq = pair.find('=');
        DROVER_FUZZ_CHECK(eq != std::string_view::npos, cq);
        got.emplace(decode(pair.substr(0, eq), ""), decode(pair.substr(eq + 1), ""));
    }
    DROVER_FUZZ_CHECK(got == want, cq);

    s3::string_pairs headers{{"host", "bucket.s3.amazonaws.com"}};
    std::set<std::string> names{"host"};
    bool distinct = true;
    for (std::size_t i = 3; i < lines.size(); ++i) {
        auto colon = lines[i].find(':');
        if (colon == std::string_view::npos || colon == 0) continue;
        std::string name(lines[i].substr(0, colon));
        std::string value(lines[i].substr(colon + 1));
        if (name.find_first_of(";, \t") != std::string::npos) continue;  // not a header name
        distinct = names.insert(lower(name)).second && distinct;
        headers.emplace_back(name, value);
    }
    s3::credentials creds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};
    std::string path = "/" + s3::uri_encode(key, true);
    std::string payload = s3::sha256_hex(in);
    auto sign = [&](const s3::string_pairs& h) {
        s3::signing_request r{method, path, &query, &h, payload, "20130524T000000Z", "us-east-1"};
        return s3::compute_signature(r, creds);
    };
    auto base = sign(headers);
    DROVER_FUZZ_CHECK(base.signature.size() == 64 &&
                          base.signature.find_first_not_of("0123456789abcdef") == std::string::npos,
                      base.signature);
    DROVER_FUZZ_CHECK(base.canonical_request.find("\n" + cq + "\n") != std::string::npos, base.canonical_request);

    s3::string_pairs changed;
    for (const auto& [k, v] : headers) changed.emplace_back(upper(k), " \t" + v + "  ");
    if (distinct) std::reverse(changed.begin(), changed.end());
    DROVER_FUZZ_CHECK(sign(changed).signature == base.signature, base.canonical_request);
}

}  // namespace drover::fuzz
