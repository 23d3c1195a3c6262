#pragma once
// AWS Signature Version 4 for S3 (header signing), on OpenSSL.
//
// Pure functions: no clock, no I/O. The caller supplies the timestamp, the payload hash
// and the headers it will send; sign() returns the headers to add (x-amz-date,
// x-amz-content-sha256, x-amz-security-token, Authorization). Secrets appear only in
// the Authorization header's signature (never the secret itself).

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace drover::s3 {

struct credentials {
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token;  ///< empty = none

    bool empty() const noexcept { return access_key_id.empty() || secret_access_key.empty(); }
};

using string_pairs = std::vector<std::pair<std::string, std::string>>;

/// RFC 3986 percent-encoding as SigV4 defines it: unreserved [A-Za-z0-9-._~] kept, every
/// other byte as %XX (upper case); '/' kept when `keep_slash` (object key paths).
std::string uri_encode(std::string_view s, bool keep_slash);

/// Lower-case hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);
/// SHA-256 of the empty string (GET, HEAD, DELETE payloads).
inline constexpr std::string_view empty_payload_sha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
/// Base64 of the MD5 of `data` (Content-MD5).
std::string md5_base64(std::string_view data);

struct signing_request {
    std::string_view method;          ///< "GET", "PUT", ...
    std::string_view canonical_uri;   ///< the path exactly as sent, already uri-encoded
    const string_pairs* query = nullptr;    ///< decoded names and values; may be null
    const string_pairs* headers = nullptr;  ///< names any case; must include host
    std::string_view payload_sha256;  ///< hex, or "UNSIGNED-PAYLOAD"
    std::string_view amz_date;        ///< "20130524T000000Z"
    std::string_view region;          ///< "us-east-1"
    std::string_view service = "s3";
};

/// The query string exactly as SigV4 wants it (and as it should be sent): names and
/// values encoded, sorted by name then value, "name=" for empty values.
std::string canonical_query(const string_pairs& query);

struct signature_parts {
    std::string canonical_request;
    std::string string_to_sign;
    std::string signed_headers;  ///< "host;range;x-amz-content-sha256;x-amz-date"
    std::string signature;       ///< hex
    std::string authorization;   ///< the Authorization header value
};

/// Computes every step. `req.headers` must already contain x-amz-date,
/// x-amz-content-sha256 (and x-amz-security-token) if they are to be signed; see sign().
signature_parts compute_signature(const signing_request& req, const credentials& creds);

/// Adds x-amz-date, x-amz-content-sha256, x-amz-security-token (when the credentials carry
/// one) to `headers`, signs every header in the list, and appends Authorization.
/// `query` may be null. `service` is "s3", or "sts" for the STS calls of the credential chain.
void sign(std::string_view method, std::string_view canonical_uri, const string_pairs* query, string_pairs& headers,
          std::string_view payload_sha256, std::string_view amz_date, std::string_view region,
          const credentials& creds, std::string_view service = "s3");

/// "20130524T000000Z" for a Unix time.
std::string amz_date(long long unix_seconds);

}  // namespace drover::s3
