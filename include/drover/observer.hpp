#pragma once
/// @file
/// Observer hooks for progress bars, dashboards and bindings.

#include <drover/executors/host_pool.hpp>
#include <drover/export.hpp>
#include <drover/outcome.hpp>
#include <drover/sink.hpp>
#include <drover/summary.hpp>
#include <drover/task.hpp>

#include <cstddef>
#include <string_view>

namespace drover {

/// Override what you need. All calls come from the scheduler's strand, so an observer
/// needs no locking for its own state — but it must not block: the scheduler waits.
/// References passed to a hook are valid only during the call (the scheduler stores tasks
/// compactly and rebuilds the task_spec for it): copy what you keep.
class DROVER_API observer {
public:
    virtual ~observer() = default;
    virtual void on_run_started(const progress&) {}
    /// Not called for tasks a resumed run takes as finished from the journal.
    virtual void on_task_queued(const task_spec&) {}
    virtual void on_task_started(const task_spec&, int /*attempt*/, std::string_view /*executor*/) {}
    /// `next` is succeeded, retry_wait, dead, skipped (the run was cancelled or halted), or
    /// ready (the attempt was lost with its executor and goes straight back in the queue).
    /// It is upstream_failed, with an empty outcome whose message names the dead upstream
    /// task, for a task that will not run because a task it comes `after` is dead.
    virtual void on_task_finished(const task_spec&, const attempt_outcome&, task_state /*next*/) {}
    /// An executor reports something about its hosts ("host a:22 is down: ...").
    virtual void on_executor_event(std::string_view /*executor*/, std::string_view /*message*/) {}
    /// A host of a fleet executor joined, changed state (up, down, draining, ...) or left.
    virtual void on_host_changed(std::string_view /*executor*/, const host_info&, bool /*left*/) {}
    /// The sink published a successful attempt's output: records and (compressed) bytes, and
    /// `commit_time`, from the attempt's end until the sink confirmed (an upload, a rename).
    virtual void on_output_committed(const task_spec&, const committed_output&, duration /*commit_time*/) {}
    /// The journal made `changes` task transitions durable in one group commit; `lag` is how
    /// long the oldest of them waited (from its transition to the commit's end).
    virtual void on_journal_committed(std::size_t /*changes*/, duration /*lag*/) {}
    /// After every state change, at most every 100 ms, and once at the end.
    virtual void on_progress(const progress&) {}
    virtual void on_run_finished(const run_summary&) {}
};

}  // namespace drover
