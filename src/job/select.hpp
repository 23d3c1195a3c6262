#pragma once
// job_load_options::only and with_dependencies (`drover run --only GLOB [--no-deps]`): a
// subset of a job's tasks, in their order.

#include "scheduler/dag.hpp"

#include <drover/task.hpp>

#include <string>
#include <vector>

namespace drover::detail {

/// Keeps the tasks whose id matches one of `globs` (fnmatch, as `after` globs), with every
/// task they come after (transitively) when `with_dependencies`. Without, the kept tasks'
/// `after` becomes the ids of the kept tasks it named; the others are dropped. `g` is the
/// graph of `tasks` (build_task_graph). Throws config_error for an empty glob or one that
/// matches no task.
void select_tasks(std::vector<task_spec>& tasks, const task_graph& g, const std::vector<std::string>& globs,
                  bool with_dependencies);

}  // namespace drover::detail
