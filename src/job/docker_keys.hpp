#pragma once
// Job-file keys of the Docker executor: `[[executors]] kind = "docker"` and the per-task
// container keys (image, memory, cpus, network, pull) shared by [defaults] and [[tasks]].

#include <drover/executors/docker.hpp>
#include <drover/task.hpp>

#include <toml++/toml.h>

#include <string>
#include <string_view>

namespace drover::detail {


/// Reads an `[[executors]]` table of kind "docker" at `path` ("executors[1]").
/// Throws config_error "file:line:column: key: problem".
void parse_docker_executor(const std::string& file, const toml::table& t, const std::string& path,
                           docker_executor_options& o);

/// Applies one container key to `t`; false when `k` is not a container key.
bool apply_container_setting(const std::string& file, std::string_view k, const toml::node& v, const std::string& key,
                             task_spec& t);

}  // namespace drover::detail
