#pragma once
// Job-file keys of the SSH executor: `[[executors]] kind = "ssh"`.

#include <drover/executors/ssh.hpp>

#include <toml++/toml.h>

#include <string>

namespace drover::detail {

/// Reads an `[[executors]]` table of kind "ssh" at `path` ("executors[1]").
/// Throws config_error "file:line:column: key: problem".
void parse_ssh_executor(const std::string& file, const toml::table& t, const std::string& path,
                        ssh_executor_options& o);

}  // namespace drover::detail
