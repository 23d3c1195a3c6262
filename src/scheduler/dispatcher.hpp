#pragma once
// The run loop behind scheduler::run/async_run. Everything happens on one strand:
// an idle executor slot takes the next ready task (FIFO, honouring pool limits), failed
// attempts wait out their backoff and go to the back of the queue, and the run ends when
// nothing is running or waiting (or it was cancelled or halted).

#include <drover/scheduler.hpp>

#include "journal/journal.hpp"
#include "scheduler/attempt.hpp"
#include "scheduler/dag.hpp"
#include "scheduler/run_files.hpp"
#include "scheduler/task_store.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/json/parser.hpp>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <vector>

namespace drover::detail {

using run_handler = boost::asio::any_completion_handler<void(std::exception_ptr, run_summary)>;

struct run_config {
    scheduler_options opts;
    std::vector<std::shared_ptr<executor>> executors;
    std::shared_ptr<sink> output;
    std::vector<observer*> observers;
    const task_store* tasks;
    bool start_cancelled = false;
    task_graph graph;  ///< empty when no task has `after`
};

class dispatcher : public std::enable_shared_from_this<dispatcher> {
public:
    using strand_type = boost::asio::strand<boost::asio::any_io_executor>;

    dispatcher(strand_type strand, run_config cfg, run_handler handler);
    const strand_type& strand() const noexcept { return strand_; }

    void start();   // on the strand
    void cancel();  // on the strand

private:
    // Per task, kept small (a million of them wait in a big run): the outcome and the
    // retry timer exist only once the task has one.
    struct task_rt {
        task_state state = task_state::pending;
        bool resumed = false;   // final state taken from the journal; not run in this run
        int attempts = 0;
        int losses = 0;  // attempts lost with their executor: not charged to retries
        std::uint32_t waiting = 0;  // upstream tasks (after) not yet succeeded
        std::unique_ptr<attempt_outcome> last_outcome;
        std::shared_ptr<attempt_run> current;
        std::unique_ptr<boost::asio::steady_timer> retry_timer;

        attempt_outcome& last() {
            if (!last_outcome) last_outcome = std::make_unique<attempt_outcome>();
            return *last_outcome;
        }
    };
    struct slot_group {
        std::shared_ptr<executor> exec;
        std::size_t free;
    };

    void enqueue(std::size_t idx);
    std::optional<std::size_t> next_ready();
    void dispatch();
    void launch(std::size_t idx, slot_group& g);
    void on_attempt_done(std::size_t idx, slot_group& g, attempt_outcome o, committed_output committed);
    // Journal and dependencies (resume.cpp).
    void open_journal();
    void queue_initial();
    void release_downstream(std::size_t idx);
    void fail_downstream(std::size_t idx);
    void check_journal();
    void close_journal(run_summary& s, std::exception_ptr& err);
    void schedule_retry(std::size_t idx);
    void check_halt();
    void start_executors();
    void fail_unrunnable();
    void write_dead_letter(std::size_t idx);
    void stop_waiting();
    void maybe_finish();
    void finish();
    void fail(std::exception_ptr e);
    void notify_queued(std::uint32_t idx);
    void notify_finished(std::uint32_t idx, const attempt_outcome& last, task_state next);
    progress snapshot() const;
    void notify_progress(bool force);

    strand_type strand_;
    std::shared_ptr<dispatcher> self_;  // alive from start() until the handler is posted
    run_config cfg_;
    run_handler handler_;
    const task_store& tasks_;
    std::vector<task_rt> rt_;
    std::vector<slot_group> groups_;
    // Ready tasks per pool ("" = no pool), each entry (sequence, task index).
    std::map<std::string, std::deque<std::pair<std::uint64_t, std::size_t>>> ready_;
    std::map<std::string, std::size_t> pool_running_;
    std::uint64_t seq_ = 0;
    std::size_t ready_count_ = 0, running_ = 0, retry_wait_ = 0, succeeded_ = 0, dead_ = 0;
    std::size_t blocked_ = 0, upstream_failed_ = 0, resumed_ = 0;
    std::unique_ptr<journal> journal_;
    std::exception_ptr journal_error_;
    std::uint64_t records_ = 0, bad_records_ = 0;
    bool started_ = false, stopping_ = false, cancelled_ = false, halted_ = false, finished_ = false;
    std::string run_id_;
    std::optional<run_files> files_;
    boost::json::parser parser_;
    std::mt19937_64 rng_;
    std::chrono::steady_clock::time_point t0_;
    std::chrono::steady_clock::time_point last_progress_{};
    boost::asio::steady_timer progress_timer_;
    bool progress_pending_ = false;
};

}  // namespace drover::detail
