#pragma once
/// @file
/// The scheduler: an idle slot takes the next ready task.

#include <drover/executor.hpp>
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

namespace drover {

/// Stop dispatching new tasks once too many are dead. Running attempts finish; tasks
/// never started end as `skipped`. Both limits may be set; the first reached halts.
struct halt_policy {
    std::optional<std::size_t> max_dead;      ///< halt when dead >= max_dead
    std::optional<double> max_dead_percent;   ///< halt when dead >= percent of all tasks
};

/// How much of each attempt's output drover keeps on disk besides the records (per
/// attempt). A task that floods keeps the start of its output and its end (the last 1 MiB
/// at most, half the cap when the cap is smaller), and what was dropped in between is
/// counted where it was. 0 = no limit. See docs/guide.md.
struct attempt_limits {
    /// runs/<id>/logs/<task>.<n>.stderr; the outcome's stderr tail is unaffected.
    std::uint64_t stderr_log_bytes = 8ull << 20;
    /// This attempt's lines in runs/<id>/bad-records.jsonl (their JSON text).
    std::uint64_t bad_record_bytes = 16ull << 20;
    /// More bad stdout lines than this fail the attempt (output_error, process killed).
    std::uint64_t max_bad_records = 0;
};

struct scheduler_options {
    /// Run state: runs/<run-id>/ holds attempt logs, dead-letter.jsonl, bad-records.jsonl
    /// and summary.json; runs/latest points at the newest run.
    std::filesystem::path state_dir = ".drover/default";
    halt_policy halt;
    std::map<std::string, std::size_t> pools;  ///< pool name -> max running tasks
    std::size_t stderr_tail_lines = 20;         ///< kept in each attempt_outcome
    std::optional<std::uint64_t> seed;          ///< for backoff jitter; random when unset
    attempt_limits limits;                      ///< stderr log and bad records kept per attempt
    /// Durable runs and resume (<state_dir>/journal.db); off by default. See docs/workflows.md.
    journal_options journal;
};

/// Schedules tasks over executors into a sink.
///
/// Use: add executors, set a sink (default: a file sink under state_dir/output),
/// submit tasks, then run() or async_run(). A scheduler runs once.
/// Thread safety: configure from one thread before running; cancel() may be called
/// from any thread (or a signal handler's strand) while running.
///
/// @code
/// drover::scheduler s{{.state_dir = ".drover/hello"}};
/// s.add_executor(drover::local_executor{{.slots = 4}});
/// s.set_sink(drover::file_sink{{.root = "out", .partition = "date={date}"}});
/// s.submit({.id = "a", .command = {"echo", R"({"x":1})"}});
/// auto summary = s.run();
/// @endcode
class scheduler {
public:
    explicit scheduler(scheduler_options opts = {});
    ~scheduler();
    scheduler(scheduler&&) noexcept;
    scheduler& operator=(scheduler&&) noexcept;

    void add_executor(std::shared_ptr<executor> ex);
    template <std::derived_from<executor> E>
    void add_executor(E ex) { add_executor(std::make_shared<E>(std::move(ex))); }

    void set_sink(std::shared_ptr<sink> s);
    template <std::derived_from<sink> S>
    void set_sink(S s) { set_sink(std::make_shared<S>(std::move(s))); }

    /// Adds a task. Throws config_error for an invalid or duplicate id, an empty
    /// command, or an unknown pool.
    void submit(task_spec t);

    /// Observers are not owned and must outlive the run.
    void add_observer(observer& o);

    /// Runs to completion on an io_context of its own. Throws config_error when the
    /// setup is unusable (no tasks' executor, state_dir not writable, ...).
    run_summary run();

    /// Runs on `ex`. Completion signature: void(std::exception_ptr, run_summary).
    /// Emitting the token's cancellation slot cancels the run like cancel().
    template <class Token>
    auto async_run(boost::asio::any_io_executor ex, Token&& token) {
        return boost::asio::async_initiate<Token, void(std::exception_ptr, run_summary)>(
            [this](auto handler, boost::asio::any_io_executor ex) {
                async_run_impl(std::move(ex), std::move(handler));
            },
            token, std::move(ex));
    }

    /// Stops dispatching, kills running attempts, discards their staged output.
    /// Thread-safe; a no-op when not running.
    void cancel();

    const scheduler_options& options() const noexcept;

private:
    void async_run_impl(boost::asio::any_io_executor ex,
                        boost::asio::any_completion_handler<void(std::exception_ptr, run_summary)> h);
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace drover
