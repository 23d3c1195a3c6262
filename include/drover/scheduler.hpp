#pragma once
/// @file
/// The scheduler: an idle slot takes the next ready task.

#include <drover/executor.hpp>
#include <drover/shared_pool.hpp>
#include <drover/export.hpp>
#include <drover/journal.hpp>
#include <drover/observer.hpp>
#include <drover/sink.hpp>
#include <drover/summary.hpp>
#include <drover/task.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace drover {

/// Stop dispatching new tasks once too many are dead. Running attempts finish; tasks
/// never started end as `skipped`. Both limits may be set; the first reached halts.
struct DROVER_API halt_policy {
    std::optional<std::size_t> max_dead{};    ///< halt when dead >= max_dead
    std::optional<double> max_dead_percent{}; ///< halt when dead >= percent of all tasks
};

/// Which ready task an idle slot takes.
enum class task_order {
    /// Longest expected first, from the journal's history (with `journal.enabled`): a task
    /// that succeeded in an earlier run is expected to take what its last successful attempt
    /// took; one that never did, the median of the tasks with the same command template
    /// (the same command with other params: one foreach). With dependencies, a task's
    /// expected chain to the end counts (the critical path). Tasks with no history go first,
    /// in submission order. Without history, the same as `submission`.
    history,
    /// In the order tasks became ready: submission order, retries at the back.
    submission,
};

/// Straggler speculation (docs/workflows.md#speculation): when an attempt runs much longer
/// than expected and a slot is idle (no ready task can take it), a backup attempt of the same
/// task starts there, on another executor when one has room. The first attempt to succeed
/// commits; the other is killed and its staged output discarded: records stay exactly once.
/// Tasks with `speculate = false` never get a backup.
struct DROVER_API speculation_options {
    bool enabled = false;
    /// An attempt is a straggler once it has run `multiplier` times its expected duration ...
    double multiplier = 1.5;
    /// ... where the expected duration is the task's last successful attempt in the journal's
    /// history, or else this `quantile` (0..1] of the run's successful attempts of the same
    /// command template (at least 3 of them), or else the template's median in the history,
    /// or else this quantile of all the run's successful attempts (at least 3).
    double quantile = 0.75;
    /// ... and never before it has run this long.
    duration min_runtime{1000};
    /// false: a backup takes only a slot that no ready task wants (as Spark does). true: a
    /// straggler's backup takes the next free slot ahead of the ready tasks, so an attempt
    /// that hangs early in a long run gives its slot back as soon as its backup succeeds,
    /// not at its timeout (at the price of running wrongly suspected tasks twice).
    bool before_queued = false;
};

/// How much of each attempt's output drover keeps on disk besides the records (per
/// attempt). A task that floods keeps the start of its output and its end (the last 1 MiB
/// at most, half the cap when the cap is smaller), and what was dropped in between is
/// counted where it was. 0 = no limit. See docs/guide.md.
struct DROVER_API attempt_limits {
    /// runs/<id>/logs/<task>.<n>.stderr; the outcome's stderr tail is unaffected.
    std::uint64_t stderr_log_bytes = 8ull << 20;
    /// This attempt's lines in runs/<id>/bad-records.jsonl (their JSON text).
    std::uint64_t bad_record_bytes = 16ull << 20;
    /// More bad stdout lines than this fail the attempt (output_error, process killed).
    std::uint64_t max_bad_records = 0;
};

struct DROVER_API scheduler_options {
    /// Run state: runs/<run-id>/ holds attempt logs, dead-letter.jsonl, bad-records.jsonl
    /// and summary.json; runs/latest points at the newest run; journal.db the journal.
    std::filesystem::path state_dir = ".drover/default";
    halt_policy halt{};
    std::map<std::string, std::size_t> pools{};  ///< pool name -> max running tasks
    /// Caps shared with other runs (shared_pool.hpp): a task whose `pool` is one of these
    /// names runs only while it gets a place there too (and `pools` may set this run's own
    /// limit for the name as well). A pool name may be in either or both.
    std::vector<std::shared_ptr<shared_pool>> shared_pools{};
    std::size_t stderr_tail_lines = 20;         ///< kept in each attempt_outcome
    std::optional<std::uint64_t> seed{};        ///< for backoff jitter; random when unset
    attempt_limits limits{};                    ///< stderr log and bad records kept per attempt
    /// Durable runs and resume (<state_dir>/journal.db): set `journal.enabled` and a run on a
    /// state directory that has a journal continues it (docs/workflows.md). Job files
    /// (make_scheduler) turn it on; a bare scheduler has it off.
    journal_options journal{};
    /// An open run: it keeps going when its queue is empty, taking tasks from submit(),
    /// until close() (or cancel()). A closed run ends when its last task ends.
    bool open = false;
    /// Which ready task an idle slot takes (docs/workflows.md#task-order).
    task_order order = task_order::history;
    /// Backup attempts for stragglers; off by default.
    speculation_options speculation{};
    /// A run still going this long after it started is stopped: running attempts are killed
    /// (their output discarded), tasks not started end skipped, and the run ends halted with
    /// the reason "deadline". Unset: no limit. A job file's top-level `deadline` key.
    std::optional<duration> deadline{};
    /// What tasks fanned out by control lines start from (a job file's [defaults]): every
    /// field but id, command, params and after. `env` values may use {param} placeholders.
    task_spec defaults{};
};

/// Schedules tasks over executors into a sink.
///
/// Use: add executors, set a sink (default: a file sink under state_dir/output), submit
/// tasks, then run() or async_run(). Tasks can also be submitted while the run goes, and
/// a task can fan out child tasks through control lines on its stdout (docs/workflows.md).
///
/// Thread safety: add_executor, set_sink, add_observer and options() are for one thread,
/// before running. submit, close, cancel, cancel_task, retry_task, mark_succeeded, find_task and size may
/// be called from any thread at any time (also from an observer's hook). A scheduler must
/// outlive its run.
///
/// A scheduler runs once. A run that could not start (a config_error: bad `after`, another
/// job's journal, a sink that refused to start, ...) leaves it as it was: fix and run again.
///
/// @code
/// drover::scheduler s{{.state_dir = ".drover/hello"}};
/// s.add_executor(drover::local_executor{{.slots = 4}});
/// s.set_sink(drover::file_sink{{.root = "out", .partition = "date={date}"}});
/// s.submit({.id = "a", .command = {"echo", R"({"x":1})"}});
/// auto summary = s.run();
/// @endcode
class DROVER_API scheduler {
public:
    explicit scheduler(scheduler_options opts = {});
    ~scheduler();
    scheduler(scheduler&&) noexcept;
    scheduler& operator=(scheduler&&) noexcept;

    void add_executor(std::shared_ptr<executor> ex);
    template <std::derived_from<executor> E>
    void add_executor(E ex) { add_executor(std::make_shared<E>(std::move(ex))); }

    /// The executors added, in order (any thread once the run started: e.g. to add or drain
    /// hosts of a host_pool_executor while it runs). A run without any uses a local
    /// executor that is not listed here.
    std::vector<std::shared_ptr<executor>> executors() const;

    void set_sink(std::shared_ptr<sink> s);
    template <std::derived_from<sink> S>
    void set_sink(S s) { set_sink(std::make_shared<S>(std::move(s))); }

    /// Adds a task. Throws config_error for an invalid or duplicate id, an empty command or
    /// an unknown pool. Before the run, `after` is checked when the run starts; while the run
    /// goes, at once (every entry must name a task already in the run, and a glob is
    /// resolved now to the tasks it matches). While a run with a journal goes, the task is
    /// journaled before submit() returns: a crash after that does not lose it. Throws error
    /// when the run was closed or has finished.
    void submit(task_spec t);
    /// Adds several tasks: all of them or, on an error, none. While a run goes, one journal
    /// commit for all of them.
    void submit_many(std::vector<task_spec> tasks);

    /// Lets an open run end once its last task ended; submit() refuses tasks from then on.
    /// Before the run, makes the coming run closed from its start.
    void close();

    /// Cancels one task of the running run: a queued or waiting one ends `cancelled`, a
    /// running attempt is killed (its output discarded). Tasks after it become
    /// upstream_failed. Returns false when the task had already finished. Throws
    /// config_error for an unknown id, error when no run is going.
    bool cancel_task(std::string_view id);
    /// Runs one dead or cancelled task of the running run again, with its retries renewed;
    /// the tasks that failed because of it wait for it again. Returns false when the task is
    /// not dead or cancelled (or the run is stopping). Throws like cancel_task.
    bool retry_task(std::string_view id);
    /// Marks one task of the running run succeeded without running it (Airflow's "mark
    /// success"): a pending, ready, retry_wait, dead, cancelled or upstream_failed task; it
    /// publishes no output, and the tasks after it run (those that failed because of it are
    /// revived). A resumed run keeps it succeeded. Returns false for a running, succeeded or
    /// skipped task (cancel a running one first) or when the run is stopping. Throws like
    /// cancel_task.
    bool mark_succeeded(std::string_view id);

    /// The task with this id (submitted, fanned out, or recreated from the journal), or nullopt.
    std::optional<task_spec> find_task(std::string_view id) const;
    /// Tasks so far, including those submitted while running.
    std::size_t size() const;
    /// Their ids, in the order they entered.
    std::vector<std::string> task_ids() const;

    /// Observers are not owned and must outlive the run.
    void add_observer(observer& o);
    /// Forgets an observer (not while a run is going): a caller whose run() failed to start
    /// takes back what it added before trying again.
    void remove_observer(observer& o);

    /// Runs to completion on an io_context of its own. Throws config_error when the
    /// setup is unusable (no tasks' executor, state_dir not writable, ...).
    run_summary run();

    /// Runs on `ex`. Completion signature: void(std::exception_ptr, run_summary).
    /// Emitting the token's cancellation slot cancels the run like cancel(). A setup that
    /// cannot run (config_error) is thrown by async_run itself.
    template <class Token>
    auto async_run(boost::asio::any_io_executor ex, Token&& token) {
        return boost::asio::async_initiate<Token, void(std::exception_ptr, run_summary)>(
            [this](auto handler, boost::asio::any_io_executor ex) {
                async_run_impl(std::move(ex), std::move(handler));
            },
            token, std::move(ex));
    }

    /// Stops dispatching, kills running attempts, discards their staged output.
    /// Thread-safe; before run() it makes the run end at once.
    void cancel();

    /// The id of the run (runs/<id> in the state directory, the journal's run): set once
    /// async_run() has returned (or while run() goes); empty before. Thread-safe.
    std::string run_id() const;

    const scheduler_options& options() const noexcept;
    /// To change options before running (or after a run that could not start).
    scheduler_options& options() noexcept;

private:
    void async_run_impl(boost::asio::any_io_executor ex,
                        boost::asio::any_completion_handler<void(std::exception_ptr, run_summary)> h);
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace drover
