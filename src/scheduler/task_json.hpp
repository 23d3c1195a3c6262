#pragma once
// A task as a JSON object: what a control line's "submit" carries, and what the journal keeps
// of a task that entered a run while it was going (so a resumed run recreates it).
//
//   {"id": "page-7", "command": ["crawl", "7"], "params": {"date": "2018-01-06"},
//    "after": ["split-2018-01-06"], "env": {...}, "retries": 2, "timeout": "30s",
//    "backoff": {"initial": "1s", "max": "5m", "multiplier": 2, "jitter": 0.5},
//    "pool": "net", "workdir": "/tmp", "control_lines": true,
//    "image": "crawler", "container": {"memory": 268435456, "cpus": 0.5, "network": "none", "pull": "never"}}
//
// "image" and "container" belong to the Docker executor's task extension
// (docker_task_options): each extension writes and reads its own keys. The keys of the
// extensions `defaults` carries are known; add_executor_extensions gives a run's defaults those
// its executors read. Keys left out take the value of `defaults` (a scheduler's task
// defaults: the job file's [defaults]); unknown keys are errors, so a typo never silently
// means "default".

#include <drover/executor.hpp>
#include <drover/task.hpp>

#include <boost/json/fwd.hpp>

#include <memory>
#include <string>
#include <vector>

namespace drover::detail {

/// The task as one JSON object, every field written. Environment variables that count as
/// secrets (detail/secrets.hpp) are left out; their names are listed in "redacted_env", and
/// task_from_json takes them from its defaults.
std::string task_to_json(const task_spec& t);

/// Reads a task. Throws config_error("key: problem"), e.g. "timeout: invalid duration ...".
/// `defaults.env` values may hold placeholders ({date}) filled from the task's params.
task_spec task_from_json(const boost::json::object& o, const task_spec& defaults);

/// Reads what task_to_json wrote, as it was: only the secret variables it left out come from
/// `defaults.env` (templates filled from the task's params); missing ones stay missing.
task_spec task_from_journal(const boost::json::object& o, const task_spec& defaults);

/// Gives `defaults` a default value of each task extension the executors read that it has
/// none of, so that tasks entering the run as JSON may carry their keys.
void add_executor_extensions(task_spec& defaults, const std::vector<std::shared_ptr<executor>>& executors);

}  // namespace drover::detail
