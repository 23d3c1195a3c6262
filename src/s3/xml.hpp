#pragma once
// S3's XML responses, parsed with pugixml. Every parser takes untrusted bytes: malformed,
// truncated or unexpected documents give a clear error (s3::xml_error), never a crash;
// pugixml expands no external entities and no DTDs.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace drover::s3 {

struct xml_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// <Error><Code>..</Code><Message>..</Message><RequestId>..</RequestId></Error>
struct error_body {
    std::string code;
    std::string message;
    std::string request_id;
};

/// The error document in `body`, or nullopt when the body is not an S3 <Error> (empty,
/// not XML, or another root element).
std::optional<error_body> parse_error(std::string_view body);

/// InitiateMultipartUploadResult → UploadId. Throws xml_error when missing.
std::string parse_upload_id(std::string_view body);

/// The body of a 200 answer to CompleteMultipartUpload: either a result with an ETag, or
/// an <Error> (S3 reports some failures this way after the 200 status line).
struct complete_result {
    std::optional<error_body> error;
    std::string etag;
};
complete_result parse_complete(std::string_view body);

/// ListObjectsV2 (ListBucketResult).
struct object_entry {
    std::string key;
    std::uint64_t size = 0;
    std::string etag;
};
struct list_page {
    std::vector<object_entry> objects;
    bool truncated = false;
    std::string next_token;  ///< NextContinuationToken when truncated
};
list_page parse_list(std::string_view body);

/// The <Credentials> of an STS AssumeRole or AssumeRoleWithWebIdentity response
/// (`action` = "AssumeRole", ...). Throws xml_error when the document has none.
struct sts_credentials {
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token;
    std::string expiration;  ///< ISO 8601, as sent
};
sts_credentials parse_sts_credentials(std::string_view body, const std::string& action);

/// STS's error document, <ErrorResponse><Error><Code/><Message/></Error><RequestId/>; nullopt
/// when the body is not one.
std::optional<error_body> parse_sts_error(std::string_view body);

/// The CompleteMultipartUpload request body for parts 1..n with these ETags (XML-escaped).
std::string complete_body(const std::vector<std::string>& etags);

}  // namespace drover::s3
