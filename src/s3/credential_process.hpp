#pragma once
// `credential_process` in a profile: the command is split into words as botocore does
// (POSIX shell quoting, no shell), run with the process's environment, and its stdout read
// as JSON: {"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken"?, "Expiration"?}.
// A non-zero exit is an error quoting the command's stderr (its first KiB); the output
// itself is never quoted (it holds the secret). The command gets `timeout` to finish.

#include "s3/credential_provider.hpp"

#include <chrono>
#include <string>
#include <vector>

namespace drover::s3 {

/// Words of a command line with POSIX shell quoting ('...', "...", backslash). Throws
/// credential_error for an unterminated quote.
std::vector<std::string> split_command(const std::string& line);

timed_credentials run_credential_process(const std::string& command, const std::string& profile,
                                         std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace drover::s3
