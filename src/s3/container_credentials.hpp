#pragma once
// Container credentials (ECS task roles, EKS Pod Identity): GET the full URI with
// `Authorization: <token>` and read {AccessKeyId, SecretAccessKey, Token, Expiration}.
// The token comes from AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (read at every fetch, so a
// rotated token is picked up) or AWS_CONTAINER_AUTHORIZATION_TOKEN.
//
// Which URLs are accepted, as the current AWS SDKs do: https to any host; http only to a
// loopback address (127.0.0.0/8, ::1, localhost) or the container credential addresses
// 169.254.170.2, 169.254.170.23 and fd00:ec2::23. RELATIVE_URI always means
// http://169.254.170.2<relative uri>. Timeout 2 s per try, 3 tries (transport errors and 5xx).

#include "s3/credential_provider.hpp"

#include <chrono>
#include <string>

namespace drover::s3 {

struct container_options {
    std::string url;
    std::string auth_token;
    std::string auth_token_file;
    std::chrono::milliseconds timeout{2000};
    int attempts = 3;
};

/// Throws credential_error when the URL is not allowed (before any request is made).
void check_container_url(const std::string& url);

timed_credentials fetch_container_credentials(const container_options& o);

}  // namespace drover::s3
