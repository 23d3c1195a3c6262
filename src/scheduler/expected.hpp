#pragma once
// Longest expected first (scheduler_options::order = task_order::history): what the journal
// says about how long each task takes, and the priorities the run machine orders ready tasks
// by. Without sockets, files or clocks: the dispatcher reads the journal and hands the rows in.
//
// A task's expected duration is its own most recent successful attempt's; a task that never
// succeeded takes the median over the tasks of its command template (the same command with
// other params: one foreach). Its priority is its critical path: its expected duration plus
// the longest expected chain of tasks after it. A task with neither (priority 0) is unknown.

#include "scheduler/dag.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace drover::detail {

class task_store;

/// The task's command with each param's value replaced by `{name}` (longest values first),
/// its arguments separated by NUL: `crawl --date 2018-01-01` with params {date: 2018-01-01}
/// and `crawl --date 2018-01-02` with {date: 2018-01-02} share `crawl\0--date\0{date}`.
std::string command_template(const task_spec& t);
/// A hash of command_template(t): what estimates are kept by.
std::uint64_t template_hash(const task_spec& t);

struct duration_estimates {
    /// By task index: expected milliseconds (at least 1), 0 when unknown.
    std::vector<std::uint32_t> task_ms;
    /// The median over the tasks of each command template that have history, by template_hash.
    std::unordered_map<std::uint64_t, std::uint32_t> template_ms;

    bool empty() const noexcept { return template_ms.empty(); }
    /// A task entering the run later: its template's median, or 0.
    std::uint32_t of(const task_spec& t) const;
};

/// Estimates for every task in the store from `own`: (task index, elapsed ms of its last
/// successful attempt). Empty (and nothing computed) when `own` is.
duration_estimates estimate_durations(const task_store& tasks,
                                      std::span<const std::pair<std::uint32_t, std::int64_t>> own);

/// Critical paths over `graph` (empty graph: each task's own estimate), saturating at
/// 2^32 - 1 ms. Unknown tasks count 0 on a path.
std::vector<std::uint32_t> critical_paths(std::vector<std::uint32_t> expected_ms, const task_graph& graph);

}  // namespace drover::detail
