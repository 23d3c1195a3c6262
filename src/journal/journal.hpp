#pragma once
// The run journal: <state_dir>/journal.db, SQLite in WAL mode, written by a thread of its
// own. The scheduler's strand only appends operations to an in-memory queue (a mutex
// held for a push); the writer applies everything queued in one transaction per group
// commit, so the journal's cost per transition is a few prepared statements, not an fsync.
//
// Durability: WAL with synchronous=NORMAL survives the death of the process at any moment
// (kill -9): a committed transaction is in the WAL file. A power loss may lose the last
// group commits; then the tasks they recorded as succeeded run again and their sink
// commits replace their earlier output (see docs/workflows.md, "crash safety").
//
// Order: the queue is applied in order and every transaction holds a prefix of it, so the
// journal on disk is always the state of the run at some moment (never "B succeeded" without
// "A succeeded" when A finished first).

#include <drover/executor.hpp>
#include <drover/journal.hpp>
#include <drover/outcome.hpp>
#include <drover/sink.hpp>
#include <drover/summary.hpp>

#include "detail/fs.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace drover::detail {

/// Parses the journal's state names (to_string(task_state)); nullopt for unknown text.
std::optional<task_state> parse_task_state(std::string_view s) noexcept;
/// Parses failure class names (to_string(failure_class)); nullopt for unknown text.
std::optional<failure_class> parse_failure_class(std::string_view s) noexcept;

class journal {
public:
    /// Opens or creates <state_dir>/journal.db and takes <state_dir>/journal.lock (one drover
    /// process per state directory). Runs left "running" by a dead process become
    /// "interrupted". Throws config_error for another job's journal, error otherwise.
    journal(const std::filesystem::path& state_dir, const journal_options& opts);
    /// Commits what is queued, then stops the writer.
    ~journal();
    journal(const journal&) = delete;
    journal& operator=(const journal&) = delete;

    struct task_row {
        std::string_view id;
        task_state state;
        int attempts;            ///< over all runs
        std::string_view failure;
        std::string_view message;
        std::string_view spec;    ///< JSON of a task that entered a run while it went; empty otherwise
        std::string_view parent;  ///< the task that fanned it out; empty when none
    };
    /// A task fanned out by a successful attempt: its id and its JSON (task_json.hpp).
    struct child_row {
        std::string id;
        std::string spec;
    };
    /// Process groups of attempts that runs before this one started and never saw finish.
    const std::vector<process_ref>& leftovers() const noexcept { return leftovers_; }
    /// Every task row, in no particular order. Before begin_run(); runs on the caller's thread.
    void replay(const std::function<void(const task_row&)>& f);
    /// The elapsed time of each task's most recent successful attempt, over all runs, in no
    /// particular order. Before begin_run(); runs on the caller's thread.
    void history(const std::function<void(std::string_view id, std::int64_t elapsed_ms)>& f);

    // Queued operations: cheap, in order, applied by the writer thread. Each returns its
    // sequence number, for wait_committed(); an operation is committed whole or not at all.
    std::uint64_t begin_run(std::string_view run_id, std::size_t total, std::size_t resumed);
    std::uint64_t task_pending(std::string_view id);
    /// A task that enters the run while it is going, with its JSON (recreated on resume).
    std::uint64_t task_submitted(std::string_view id, std::string spec);
    std::uint64_t attempt_started(std::string_view id, int attempt, std::string_view executor);
    /// The process group the attempt leads on this machine (local executor), cleared when it finishes.
    std::uint64_t attempt_process(std::string_view id, int attempt, const process_ref& p);
    /// `next`: the task's state after the attempt; `out`: what a successful commit published;
    /// `children`: the tasks it fanned out, journaled in the same transaction.
    std::uint64_t attempt_finished(std::string_view id, const attempt_outcome& o, task_state next,
                                   const committed_output* out, std::vector<child_row> children = {});
    /// An attempt that ended without deciding its task's state (speculation: its twin goes
    /// on, or already won): the attempt's row only.
    std::uint64_t attempt_ended(std::string_view id, const attempt_outcome& o);
    /// A checkpoint of the task was published: its next attempt starts with
    /// DROVER_CHECKPOINT=`token` and publishes segments from `next_segment`; `locations` are
    /// all the task's published outputs now. An empty token drops the task's checkpoint (it
    /// succeeded).
    std::uint64_t task_checkpoint(std::string_view id, int attempt, std::string_view token, std::uint32_t next_segment,
                                  std::vector<std::string> locations);
    /// Every journaled checkpoint. Before begin_run(); runs on the caller's thread.
    void checkpoints(const std::function<void(std::string_view id, std::string_view token, std::uint32_t next_segment)>& f);
    /// The sink published, when the run started, what an earlier attempt of the task staged
    /// but could not commit: the task succeeded (its outputs replaced by `locations`).
    std::uint64_t task_recovered(std::string_view id, std::vector<std::string> locations);
    /// A state change without an attempt (upstream_failed, skipped, dead because unrunnable).
    std::uint64_t task_state_changed(std::string_view id, task_state s, std::string_view failure,
                                     std::string_view message);
    std::uint64_t end_run(std::string_view status, const progress& counts);

    /// Blocks until everything queued so far is committed. Throws the writer's error.
    void flush();
    /// Blocks until the operation with sequence number `seq` is committed (it does not wait
    /// for the group-commit interval). Throws the writer's error. Any thread.
    void wait_committed(std::uint64_t seq);
    /// The writer's first error (then nothing more is written), or null.
    std::exception_ptr error() const;

    struct stats {
        std::uint64_t ops = 0;           ///< operations queued
        std::uint64_t commits = 0;       ///< group commits
        std::uint64_t max_enqueue_ns = 0;  ///< longest time the caller spent queuing one operation
        std::uint64_t total_enqueue_ns = 0;
        std::uint64_t writer_wakeups = 0;  ///< times the writer thread was woken (spurious ones too)
    };
    stats statistics() const;
    /// Called on the writer's thread after each group commit: how many operations it made
    /// durable and how long the oldest of them waited (from its call here to the commit's
    /// end, in milliseconds). Any thread; replaces the previous one.
    void on_commit(std::function<void(std::size_t ops, std::int64_t lag_ms)> f);

private:
    struct op;
    struct writer_state;
    /// `decides`: the task's state changes with the attempt (attempt_finished).
    std::uint64_t finish_attempt(std::string_view id, const attempt_outcome& o, task_state next,
                                 const committed_output* out, std::vector<child_row> children, bool decides);
    std::uint64_t push(op&& o);
    void writer_loop();

    std::filesystem::path file_;
    unique_fd lock_fd_;
    std::chrono::milliseconds interval_;
    std::unique_ptr<writer_state> w_;
    std::vector<process_ref> leftovers_;

    mutable std::mutex mutex_;
    std::condition_variable wake_writer_;
    std::condition_variable committed_cv_;
    std::deque<op> queue_;  // a deque: growing it never moves what is queued (enqueue stays short)
    std::uint64_t queued_ = 0, committed_ = 0;
    bool flush_requested_ = false, stopping_ = false;
    // The writer sleeps until there is work (not in its group-commit wait): only then does an
    // enqueue wake it. During the wait, a wake would only put it back to sleep.
    bool writer_idle_ = false;
    std::exception_ptr error_;
    stats stats_;
    std::function<void(std::size_t, std::int64_t)> on_commit_;  // under mutex_
    std::thread writer_;
};

}  // namespace drover::detail
