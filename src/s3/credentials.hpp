#pragma once
// Where S3 credentials, region and endpoint come from: the AWS chain in the order botocore
// resolves it (botocore/credentials.py, create_credential_resolver). The first source whose
// configuration is present is chosen; a chosen source that then fails is an error (no
// falling through), except the instance metadata service, which is tried last.
//
//   1. the environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN),
//      skipped when a profile is given explicitly (the job file's `profile`);
//   2. assume role: the profile has `role_arn` (and no `web_identity_token_file`) with
//      `source_profile` (role_session_name, external_id, duration_seconds honoured);
//   3. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN (+ AWS_ROLE_SESSION_NAME),
//      environment skipped for an explicit profile; else the profile's
//      `web_identity_token_file` + `role_arn` (+ `role_session_name`);
//   4. the profile's keys in the shared credentials file
//      ($AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, section [name]);
//   5. the profile's `credential_process`;
//   6. the profile's keys in the config file ($AWS_CONFIG_FILE or ~/.aws/config,
//      section [profile name] or [default]);
//   7. container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on 169.254.170.2) or
//      AWS_CONTAINER_CREDENTIALS_FULL_URI, with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or
//      AWS_CONTAINER_AUTHORIZATION_TOKEN;
//   8. the EC2 instance metadata service (IMDSv2), unless AWS_EC2_METADATA_DISABLED=true;
//      endpoint AWS_EC2_METADATA_SERVICE_ENDPOINT (default http://169.254.169.254).
// The profile is the explicit one, else $AWS_PROFILE, else "default".
// Region: AWS_REGION, AWS_DEFAULT_REGION, then the profile's `region`. Endpoint:
// AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, then the profile's `endpoint_url`. STS endpoint:
// AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, the profile's `endpoint_url`, else
// https://sts.<region>.amazonaws.com.
//
// resolve_config() only reads the environment and the files: it runs nothing and sends
// nothing. make_credential_provider() (s3/credential_chain.hpp) then fetches.
// Errors name the file and line, never a secret value.

#include "s3/sigv4.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace drover::s3 {

/// Looks up an environment variable; the default reads the process environment.
using env_lookup = std::function<std::optional<std::string>(const std::string&)>;
env_lookup process_env();

/// Which source the chain chose and what it needs to fetch credentials. No I/O has happened.
struct credential_plan {
    enum class kind { static_keys, process, assume_role, web_identity, container, imds };
    kind k = kind::static_keys;
    /// botocore's name for the source: "env", "shared-credentials-file", "config-file",
    /// "custom-process", "assume-role", "assume-role-with-web-identity", "container-role",
    /// "iam-role".
    std::string method;
    std::string profile;            ///< the profile it came from (empty for env, container, imds)

    credentials keys;               ///< static_keys
    std::string command;            ///< process: the credential_process command line

    std::string role_arn;           ///< assume_role, web_identity
    std::string session_name;       ///< empty = "drover-<unix time>"
    std::string external_id;        ///< assume_role
    std::optional<int> duration_seconds;     ///< assume_role
    std::shared_ptr<credential_plan> source;  ///< assume_role: the source profile's plan
    std::string token_file;         ///< web_identity
    std::string sts_endpoint;       ///< assume_role, web_identity: empty = regional AWS

    std::string url;                ///< container: the full URL; imds: the service's base URL
    std::string auth_token;         ///< container: AWS_CONTAINER_AUTHORIZATION_TOKEN
    std::string auth_token_file;    ///< container: AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (wins)
    std::chrono::milliseconds timeout{1000};  ///< imds: AWS_METADATA_SERVICE_TIMEOUT
    int attempts = 1;               ///< imds: AWS_METADATA_SERVICE_NUM_ATTEMPTS

    /// Why sources before this one did not apply (for the error when IMDS finds nothing).
    std::string not_found;
};

struct resolved_config {
    credential_plan plan;
    credentials creds;     ///< plan.keys when the plan is static keys, else empty
    std::string region;    ///< empty when no source named one
    std::string endpoint;  ///< empty when no source named one
    std::string source;    ///< "environment", "profile work", "assume-role (profile work)", ...
};

/// Resolves the chain. `profile` empty = not given explicitly. `home` empty = $HOME.
/// Throws config_error when no source applies (IMDS disabled) or a file is malformed.
resolved_config resolve_config(const std::string& profile, const env_lookup& env = process_env(),
                               std::filesystem::path home = {});

/// One section of an INI-style AWS file: key → value; nested (indented) sub-keys skipped.
using ini_section = std::vector<std::pair<std::string, std::string>>;
/// Parses `text`; returns the section named `section` or nullopt. Throws config_error
/// "file:line: ..." for lines that are neither sections, keys, comments nor blank.
std::optional<ini_section> read_ini_section(std::string_view text, const std::string& file, const std::string& section);

}  // namespace drover::s3
