#pragma once
/// @file
/// How attempts end and what state a task is in.

#include <drover/export.hpp>
#include <drover/task.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace drover {

/// Why an attempt failed. `none` means it succeeded.
enum class failure_class {
    none,
    exit_code,      ///< the process exited with a non-zero status
    signal,         ///< the process was killed by a signal it did not get from drover
    timeout,        ///< drover killed it after the task's timeout
    spawn_error,    ///< the command could not be started (not found, not executable, ...)
    executor_lost,  ///< the executor (host, daemon, connection) went away mid-attempt
    output_error,   ///< the task succeeded but its records could not be committed
    cancelled,      ///< the run was cancelled while the attempt ran
    oom_killed,     ///< the kernel killed it for exceeding its memory limit (Docker: State.OOMKilled)
    image_missing,  ///< its container image is not on the daemon (and could not be pulled)
    control_error,  ///< a control line (`{"$drover": ...}` on stdout) was invalid: see the message
    sink_unavailable,  ///< the sink refuses every commit (credentials, missing bucket): the run halts
};

/// Lifecycle: pending -> ready -> running -> (succeeded | retry_wait -> ready ... | dead).
/// `skipped` marks tasks never finished because the run halted or was cancelled.
/// `upstream_failed` marks tasks not run because a task they come `after` is dead,
/// cancelled or upstream_failed itself (or one of the tasks it fanned out is).
/// `cancelled` marks a task cancelled on its own (scheduler::cancel_task): like `dead`, it is
/// final, also for a resumed run, until scheduler::retry_task or `retry_dead` runs it again.
/// The full state machine: docs/architecture.md.
enum class task_state { pending, ready, running, retry_wait, succeeded, dead, skipped, upstream_failed, cancelled };

DROVER_API std::string_view to_string(failure_class) noexcept;
DROVER_API std::string_view to_string(task_state) noexcept;

/// The result of one attempt, as observers and the summary see it.
struct DROVER_API attempt_outcome {
    int attempt = 0;                          ///< 1-based
    failure_class failure = failure_class::none;
    int exit_code = -1;                       ///< when the process exited
    int signal = 0;                           ///< when it was killed by a signal
    std::string message{};                    ///< e.g. "exit code 3", "timed out after 30s"
    std::string executor{};                   ///< which executor ran it
    std::vector<std::string> stderr_tail{};   ///< last lines of the attempt's stderr
    std::uint64_t records = 0;                ///< valid records printed
    std::uint64_t bad_records = 0;            ///< non-JSON lines printed
    duration elapsed{0};

    bool ok() const noexcept { return failure == failure_class::none; }
};

}  // namespace drover
