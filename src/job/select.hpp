#pragma once
// job_load_options::only and with_dependencies (`drover run --only GLOB [--no-deps]`): a
// subset of a job's tasks, in their order.

#include "scheduler/dag.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace drover::detail {

/// Which tasks to keep: those whose id matches one of `globs` (fnmatch, as `after` globs),
/// with every task they come after (transitively) when `with_dependencies`. `g` is the graph
/// of `tasks` (build_task_graph). Throws config_error for an empty glob or one that matches
/// no task.
std::vector<bool> select_tasks(const task_list& tasks, const task_graph& g, const std::vector<std::string>& globs,
                               bool with_dependencies);

/// Without dependencies, a kept task's `after`: the ids of the kept tasks it came after (in
/// task order); the others are dropped.
std::vector<std::string> kept_after(const task_list& tasks, const task_graph& g, const std::vector<bool>& keep,
                                    std::uint32_t task);

}  // namespace drover::detail
