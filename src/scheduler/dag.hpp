#pragma once
// Task dependencies (task_spec::after): ids and globs resolved to task indices, checked for
// unknown ids, globs matching nothing and cycles.

#include <drover/task.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace drover::detail {

struct task_graph {
    /// downstream[i]: tasks that come after task i. Empty when no task has `after`.
    std::vector<std::vector<std::uint32_t>> downstream;
    /// upstream[i]: tasks task i comes after (deduplicated). Empty when no task has `after`.
    std::vector<std::vector<std::uint32_t>> upstream;
    /// Every task index, upstream before downstream. Empty when no task has `after`.
    std::vector<std::uint32_t> topo_order;

    bool empty() const noexcept { return upstream.empty(); }
};

/// What is wrong with a graph: which task and which `after` entry (for job-file positions).
struct graph_problem {
    std::size_t task = 0;
    std::size_t entry = 0;       ///< index into tasks[task].after
    std::string message;         ///< "after 'x': no task has this id", "cycle: a -> b -> a"
};

/// True for entries holding glob characters (`*`, `?`, `[`).
bool is_after_glob(std::string_view entry) noexcept;

/// Resolves every task's `after`; returns the first problem instead of a graph when there is one.
std::optional<graph_problem> build_task_graph(const std::vector<task_spec>& tasks, task_graph& out);

/// Throws config_error("task 'x': after 'y': ...") on a problem.
task_graph build_task_graph(const std::vector<task_spec>& tasks);

}  // namespace drover::detail
