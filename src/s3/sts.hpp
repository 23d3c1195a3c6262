#pragma once
// The two STS calls of the credential chain, over the internal HTTP client (blocking, see
// s3/credential_fetch.hpp): AssumeRole, signed with SigV4 (service "sts") using the source
// credentials, and AssumeRoleWithWebIdentity, unsigned (the token is the proof). Query
// protocol: a POSTed form, an XML answer parsed with pugixml.
//
// Errors (credential_error) name the action, the role, the endpoint and STS's Code and
// Message (request id included); never a credential or the web identity token.

#include "s3/credential_provider.hpp"

#include <optional>
#include <string>

namespace drover::s3 {

struct sts_target {
    std::string endpoint;     ///< "http://127.0.0.1:8999"; empty = https://sts.<region>.amazonaws.com
    std::string region;       ///< signing region; empty = us-east-1
    std::string ca_file;      ///< for an https endpoint; empty = the system's
    std::chrono::milliseconds timeout{10'000};
};

struct role_request {
    std::string role_arn;
    std::string session_name;             ///< empty = "drover-<unix time>"
    std::string external_id;              ///< AssumeRole only; empty = none
    std::optional<int> duration_seconds;  ///< AssumeRole only; empty = STS's default (1 h)
};

/// The endpoint URL STS calls go to for `t` (for messages and tests).
std::string sts_url(const sts_target& t);

timed_credentials assume_role(const sts_target& t, const credentials& source, const role_request& r);
timed_credentials assume_role_with_web_identity(const sts_target& t, const role_request& r, const std::string& token);

}  // namespace drover::s3
