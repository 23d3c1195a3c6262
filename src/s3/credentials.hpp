#pragma once
// Where S3 credentials, region and endpoint come from: the usual AWS chain.
//
//   1. an explicit profile (the job file's `profile`): that profile from the files below;
//   2. otherwise the environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
//      (+ AWS_SESSION_TOKEN);
//   3. otherwise profile $AWS_PROFILE (default "default") from the shared credentials file
//      ($AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials, section [name]) and the config
//      file ($AWS_CONFIG_FILE or ~/.aws/config, section [profile name] or [default]).
// Region: AWS_REGION, AWS_DEFAULT_REGION, then the profile's `region`. Endpoint:
// AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, then the profile's `endpoint_url`.
//
// Errors name the file and line, never a secret value.

#include "s3/sigv4.hpp"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace drover::s3 {

/// Looks up an environment variable; the default reads the process environment.
using env_lookup = std::function<std::optional<std::string>(const std::string&)>;
env_lookup process_env();

struct resolved_config {
    credentials creds;
    std::string region;    ///< empty when no source named one
    std::string endpoint;  ///< empty when no source named one
    std::string source;    ///< "environment" or "profile default (~/.aws/credentials)", for messages
};

/// Resolves the chain. `profile` empty = not given explicitly. `home` empty = $HOME.
/// Throws config_error when no credentials are found or a file is malformed.
resolved_config resolve_config(const std::string& profile, const env_lookup& env = process_env(),
                               std::filesystem::path home = {});

/// One section of an INI-style AWS file: key → value; nested (indented) sub-keys skipped.
using ini_section = std::vector<std::pair<std::string, std::string>>;
/// Parses `text`; returns the section named `section` or nullopt. Throws config_error
/// "file:line: ..." for lines that are neither sections, keys, comments nor blank.
std::optional<ini_section> read_ini_section(std::string_view text, const std::string& file, const std::string& section);

}  // namespace drover::s3
