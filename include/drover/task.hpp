#pragma once
/// @file
/// What to run: task_spec and its retry/backoff policy.
/// Executor-specific settings are extensions (task_extension.hpp), not fields of task_spec.

#include <drover/export.hpp>
#include <drover/task_extension.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace drover {

using duration = std::chrono::milliseconds;

/// Delay before retry k (k = 1 for the first retry):
///   d = min(max, initial * multiplier^(k-1)), then jittered uniformly in [d*(1-jitter), d].
struct DROVER_API backoff_policy {
    duration initial{1000};          ///< delay before the first retry
    duration max{5 * 60 * 1000};     ///< upper bound for any delay
    double multiplier = 2.0;         ///< growth per retry (>= 1)
    double jitter = 0.5;             ///< fraction of the delay that is randomised (0..1)
};

/// One unit of work. Ids are unique within a scheduler and may contain only
/// letters, digits, '.', '_', '-' and '=' (they name output files).
///
/// @code
/// drover::task_spec t{.id = "day-2018-01-01",
///                     .command = {"crawler", "--date", "2018-01-01"},
///                     .params = {{"date", "2018-01-01"}},
///                     .retries = 2,
///                     .timeout = std::chrono::seconds(30)};
/// @endcode
struct DROVER_API task_spec {
    std::string id{};
    std::vector<std::string> command{};          ///< argv; argv[0] is looked up in PATH
    std::map<std::string, std::string> env{};    ///< added to (and overriding) the inherited environment
    std::map<std::string, std::string> params{}; ///< feed partition templates (`date={date}`)
    int retries = 0;                             ///< extra attempts after the first failure
    /// Per attempt; kills the whole process tree. Unset or 0: no timeout; longer than 100
    /// years counts as 100 years (a timer cannot hold more).
    std::optional<duration> timeout{};
    backoff_policy backoff{};
    std::string pool{};                          ///< empty = no pool limit
    std::string workdir{};                       ///< empty = the scheduler's working directory
    /// Runs only after these tasks succeeded: ids, or globs over ids (`crawl-*`; `*`, `?`,
    /// `[...]` as in fnmatch). A glob never matches the task itself; one that matches no
    /// task, an unknown id and a cycle are config errors when the run starts.
    std::vector<std::string> after{};
    /// Read stdout lines that are a JSON object with the single key `"$drover"` as control
    /// lines (a task fanning out child tasks: docs/workflows.md) instead of records. Turn it
    /// off for tasks whose records could be such an object.
    bool control_lines = true;
    /// May get a backup attempt when it straggles (scheduler_options::speculation). Turn it
    /// off for tasks with side effects outside their records: two attempts may run at once.
    bool speculate = true;
    /// Executor-specific settings (docker_task_options, or a program's own type): typed values
    /// shared between copies of the task. See task_extension.hpp.
    task_extensions extensions{};

    /// The extension of type T, or nullptr.
    template <task_extension T>
    const T* extension() const noexcept { return extensions.get<T>(); }
    /// Sets (replaces) the extension of type T.
    template <task_extension T>
    void set_extension(T value) { extensions.set(std::move(value)); }
};

/// True if `id` is a valid task id (see task_spec).
DROVER_API bool valid_task_id(std::string_view id) noexcept;

}  // namespace drover
