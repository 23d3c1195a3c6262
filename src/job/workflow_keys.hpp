#pragma once
// The job file's workflow keys: schedule, timezone, overlap and [on_failure].

#include <drover/job_file.hpp>

#include <toml++/toml.h>

#include <string>

namespace drover::detail {

/// Fills j.schedule and j.on_failure from the root table; config_error with file:line:column.
void parse_workflow_keys(const std::string& file, const toml::table& root, job& j);

}  // namespace drover::detail
