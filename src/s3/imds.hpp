#pragma once
// The EC2 instance metadata service, IMDSv2 as botocore speaks it:
//   PUT  /latest/api/token  (X-aws-ec2-metadata-token-ttl-seconds: 21600)  → session token;
//        404/403/405 or a timeout fall back to IMDSv1 (no token), 400 is an error;
//   GET  /latest/meta-data/iam/security-credentials/         → the role name (first line);
//   GET  /latest/meta-data/iam/security-credentials/<role>   → the JSON credentials.
// Every request has `timeout` (1 s by default, so a machine without IMDS does not hang a
// run) and is tried `attempts` times.

#include "s3/credential_provider.hpp"

#include <chrono>
#include <string>

namespace drover::s3 {

struct imds_options {
    std::string endpoint = "http://169.254.169.254";  ///< AWS_EC2_METADATA_SERVICE_ENDPOINT
    std::chrono::milliseconds timeout{1000};
    int attempts = 1;
};

/// Throws credential_error naming the endpoint and what failed.
timed_credentials fetch_imds_credentials(const imds_options& o);

}  // namespace drover::s3
