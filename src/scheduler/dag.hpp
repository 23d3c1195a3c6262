#pragma once
// Task dependencies (task_spec::after): ids and globs resolved to task indices, checked for
// unknown ids, globs matching nothing and cycles.

#include <drover/task.hpp>

#include <cstdint>
#include <functional>
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

/// The tasks as the graph builder sees them: ids and `after` entries by index. Every view's
/// data must be NUL-terminated (globs go through fnmatch).
struct task_list {
    std::size_t size = 0;
    std::function<std::string_view(std::uint32_t)> id;
    std::function<std::vector<std::string_view>(std::uint32_t)> after;
    std::function<bool(std::uint32_t)> has_after;
    /// Index of the task with this id, or -1; when empty the builder indexes the ids itself.
    std::function<std::int64_t(std::string_view)> find;
};

/// Resolves every task's `after`; returns the first problem instead of a graph when there is one.
std::optional<graph_problem> build_task_graph(const task_list& tasks, task_graph& out);
std::optional<graph_problem> build_task_graph(const std::vector<task_spec>& tasks, task_graph& out);

/// Throws config_error("task 'x': after 'y': ...") on a problem.
task_graph build_task_graph(const task_list& tasks);

class task_store;
/// The graph of every task in the store. Throws config_error like the above.
task_graph build_task_graph(const task_store& tasks);

}  // namespace drover::detail
