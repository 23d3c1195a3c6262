#include "s3/sigv4.hpp"

#include "support/support.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <clocale>
#include <fstream>

using namespace drover::s3;

namespace {

const credentials docs_creds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};

signature_parts docs_sign(std::string_view method, std::string_view uri, const string_pairs& query,
                          const string_pairs& headers, std::string_view payload) {
    return compute_signature({method, uri, &query, &headers, payload, "20130524T000000Z", "us-east-1"}, docs_creds);
}

}  // namespace

TEST_CASE("sigv4: S3 docs example GET /test.txt with Range") {
    string_pairs h{{"Host", "examplebucket.s3.amazonaws.com"},
                   {"Range", "bytes=0-9"},
                   {"x-amz-content-sha256", std::string(empty_payload_sha256)},
                   {"x-amz-date", "20130524T000000Z"}};
    auto s = docs_sign("GET", "/test.txt", {}, h, empty_payload_sha256);
    CHECK(s.signed_headers == "host;range;x-amz-content-sha256;x-amz-date");
    CHECK(s.string_to_sign ==
          "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
          "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972");
    CHECK(s.signature == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

TEST_CASE("sigv4: S3 docs example PUT /test$file.text") {
    std::string payload = "Welcome to Amazon S3.";
    std::string hash = sha256_hex(payload);
    CHECK(hash == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072");
    string_pairs h{{"Host", "examplebucket.s3.amazonaws.com"},
                   {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                   {"x-amz-date", "20130524T000000Z"},
                   {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                   {"x-amz-content-sha256", hash}};
    auto s = docs_sign("PUT", "/" + uri_encode("test$file.text", true), {}, h, hash);
    CHECK(s.signature == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

TEST_CASE("sigv4: S3 docs example GET ?lifecycle (empty query value)") {
    string_pairs h{{"Host", "examplebucket.s3.amazonaws.com"},
                   {"x-amz-date", "20130524T000000Z"},
                   {"x-amz-content-sha256", std::string(empty_payload_sha256)}};
    auto s = docs_sign("GET", "/", {{"lifecycle", ""}}, h, empty_payload_sha256);
    CHECK(s.signature == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

TEST_CASE("sigv4: S3 docs example list objects ?max-keys=2&prefix=J (sorted query)") {
    string_pairs h{{"Host", "examplebucket.s3.amazonaws.com"},
                   {"x-amz-date", "20130524T000000Z"},
                   {"x-amz-content-sha256", std::string(empty_payload_sha256)}};
    auto s = docs_sign("GET", "/", {{"prefix", "J"}, {"max-keys", "2"}}, h, empty_payload_sha256);
    CHECK(s.canonical_request.find("\nmax-keys=2&prefix=J\n") != std::string::npos);
    CHECK(s.signature == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

TEST_CASE("sigv4: uri_encode keeps unreserved characters and encodes everything else") {
    CHECK(uri_encode("a b+c=d/e~f", true) == "a%20b%2Bc%3Dd/e~f");
    CHECK(uri_encode("a b+c=d/e~f", false) == "a%20b%2Bc%3Dd%2Fe~f");
    CHECK(uri_encode("\xc3\xa9", false) == "%C3%A9");
    CHECK(uri_encode("", false).empty());
}

TEST_CASE("sigv4: uri_encode of every byte follows SigV4's table, whatever the C locale") {
    // AWS's UriEncode: A-Z a-z 0-9 - . _ ~ as they are ('/' too in key paths), every other
    // byte %XX in upper case; '%', '+', '=', '&', non-ASCII and control bytes included.
    auto expected = [](unsigned char c, bool keep_slash) {
        bool keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                    c == '_' || c == '~' || (keep_slash && c == '/');
        if (keep) return std::string(1, static_cast<char>(c));
        const char* hex = "0123456789ABCDEF";
        return std::string{'%', hex[c >> 4], hex[c & 15]};
    };
    // A locale where std::isalnum says yes to bytes past ASCII must change nothing.
    const char* old = std::setlocale(LC_CTYPE, nullptr);
    std::string saved = old ? old : "C";
    bool latin1 = std::setlocale(LC_CTYPE, "en_US.ISO-8859-1") || std::setlocale(LC_CTYPE, "de_DE.ISO-8859-1");
    MESSAGE("Latin-1 locale available: " << latin1);
    for (bool keep_slash : {false, true}) {
        std::string all, want;
        for (int b = 0; b < 256; ++b) {
            all.push_back(static_cast<char>(b));
            want += expected(static_cast<unsigned char>(b), keep_slash);
        }
        CHECK(uri_encode(all, keep_slash) == want);
    }
    std::setlocale(LC_CTYPE, saved.c_str());
    CHECK(uri_encode("%41%2F", false) == "%2541%252F");  // escapes are data: encoded again
    CHECK(uri_encode("a+b c", false) == "a%2Bb%20c");      // never '+' for a space
}

TEST_CASE("sigv4: header values are trimmed and folded, repeated names joined") {
    string_pairs h{{"Host", "h"}, {"X-Amz-Meta-A", "  one   two  "}, {"x-amz-meta-a", "three"}};
    auto s = docs_sign("GET", "/", {}, h, empty_payload_sha256);
    CHECK(s.canonical_request.find("x-amz-meta-a:one two,three\n") != std::string::npos);
    CHECK(s.signed_headers == "host;x-amz-meta-a");
}

TEST_CASE("sigv4: sign() adds date, payload hash, session token and Authorization without the secret") {
    credentials c{"AKID", "SECRETSECRET", "TOKEN123"};
    string_pairs h{{"Host", "127.0.0.1:9000"}};
    sign("PUT", "/b/k", nullptr, h, sha256_hex("x"), "20240101T000000Z", "eu-west-1", c);
    auto find = [&](std::string_view n) -> std::string {
        for (auto& [k, v] : h)
            if (k == n) return v;
        return "";
    };
    CHECK(find("x-amz-date") == "20240101T000000Z");
    CHECK(find("x-amz-security-token") == "TOKEN123");
    auto auth = find("Authorization");
    CHECK(auth.rfind("AWS4-HMAC-SHA256 Credential=AKID/20240101/eu-west-1/s3/aws4_request, SignedHeaders=host;"
                     "x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=",
                     0) == 0);
    CHECK(auth.find("SECRETSECRET") == std::string::npos);
}

TEST_CASE("sigv4: amz_date and md5") {
    CHECK(amz_date(1369353600) == "20130524T000000Z");
    CHECK(md5_base64("") == "1B2M2Y8AsgTpgAmY7PhCfg==");
}

TEST_CASE("sigv4: tricky keys and queries agree with python3-botocore's signer") {
    if (system("/usr/bin/python3 -c 'import botocore' 2>/dev/null") != 0) {
        if (drover::test::services_required()) FAIL("python3-botocore is missing");
        MESSAGE("skipped: /usr/bin/python3 has no botocore (apt install python3-botocore)");
        return;
    }
    struct tc {
        std::string key;
        string_pairs query;
        string_pairs headers;
        std::string token;
    };
    std::vector<tc> cases = {
        {"plain/key.jsonl.gz", {}, {}, ""},
        {"with space/and  two", {}, {}, ""},
        {"plus+sign/a+b", {}, {}, ""},
        {"equals=sign/date=2018-01-01/t.jsonl.gz", {}, {}, ""},
        {"unicode/\xc3\xa9t\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac.txt", {}, {}, ""},
        {"tilde~and%percent/x", {}, {}, ""},
        {"odd!*'();:@&$,?#[]", {}, {}, ""},
        {"q", {{"uploads", ""}}, {}, ""},
        {"q", {{"partNumber", "3"}, {"uploadId", "a+b/c=d e"}}, {}, ""},
        {"", {{"list-type", "2"}, {"prefix", "date=2018/\xc3\xa9 x"}, {"continuation-token", "ab+/=="}}, {}, ""},
        {"", {{"delete", ""}, {"b", ""}, {"a", "1"}}, {}, ""},
        {"h", {}, {{"Content-Type", "application/gzip"}, {"x-amz-meta-note", "  spaced   value "}}, ""},
        {"tok", {}, {}, "FQoGZXIvYXdzEJr//////////wEaDO+session/token=="},
    };
    boost::json::array in;
    std::vector<std::string> ours;
    for (const auto& c : cases) {
        boost::json::array q, hs;
        for (auto& [k, v] : c.query) q.push_back(boost::json::array{k.c_str(), v.c_str()});
        string_pairs headers{{"host", "127.0.0.1:9000"}};
        for (auto& [k, v] : c.headers) {
            hs.push_back(boost::json::array{k.c_str(), v.c_str()});
            headers.emplace_back(k, v);
        }
        std::string payload = sha256_hex(c.key);
        in.push_back(boost::json::object{{"method", "PUT"},
                                         {"bucket", "bucket"},
                                         {"key", c.key},
                                         {"query", q},
                                         {"headers", hs},
                                         {"payload_sha256", payload},
                                         {"amz_date", "20260102T030405Z"},
                                         {"region", "eu-central-1"},
                                         {"access_key", "AKIDEXAMPLE"},
                                         {"secret_key", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"},
                                         {"token", c.token}});
        credentials cr{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", c.token};
        headers.emplace_back("x-amz-date", "20260102T030405Z");
        headers.emplace_back("x-amz-content-sha256", payload);
        if (!c.token.empty()) headers.emplace_back("x-amz-security-token", c.token);
        std::string uri = "/bucket/" + uri_encode(c.key, true);
        auto s = compute_signature({"PUT", uri, &c.query, &headers, payload, "20260102T030405Z", "eu-central-1"}, cr);
        ours.push_back(s.signature);
    }
    drover::test::temp_dir dir;
    std::ofstream(dir / "in.json") << boost::json::serialize(in);
    auto r = drover::test::run_shell("/usr/bin/python3 " DROVER_SOURCE_DIR "/tests/s3/botocore_sign.py < " +
                                     (dir / "in.json").string());
    REQUIRE(r.exit_code == 0);
    auto theirs = drover::test::split_lines(r.output);
    REQUIRE(theirs.size() == cases.size());
    for (std::size_t i = 0; i < cases.size(); ++i) {
        CAPTURE(cases[i].key);
        CHECK(ours[i] == theirs[i]);
    }
}
