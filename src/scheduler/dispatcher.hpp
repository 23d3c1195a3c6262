#pragma once
// The Asio driver of a run (scheduler::run/async_run): the run's decisions are the state
// machine's (run_machine.hpp); the dispatcher carries out its actions on one strand —
// attempts on executors, retry timers, the journal, observers, dead letters — and feeds it
// events: attempts ending, timers firing, executors changing, tasks submitted from any thread
// (through the run gate), per-task control, cancel and close.

#include <drover/scheduler.hpp>

#include "journal/journal.hpp"
#include "scheduler/attempt.hpp"
#include "scheduler/dag.hpp"
#include "scheduler/expected.hpp"
#include "scheduler/run_files.hpp"
#include "scheduler/run_gate.hpp"
#include "scheduler/run_machine.hpp"
#include "scheduler/straggler.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/json/parser.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <unordered_map>
#include <vector>

namespace drover::detail {

using run_handler = boost::asio::any_completion_handler<void(std::exception_ptr, run_summary)>;

class dispatcher;

struct run_config {
    scheduler_options opts;
    std::vector<std::shared_ptr<executor>> executors;
    std::shared_ptr<sink> output;
    std::vector<observer*> observers;
    std::shared_ptr<run_gate> gate;
    bool start_cancelled = false;
    bool start_closed = false;
    /// Called on the strand once the run has ended (or failed to start), before its completion
    /// is posted. After it returns, no other thread may take a new reference to the
    /// dispatcher: the references left are handlers on the strand, so the last one goes on the
    /// io_context's thread while the io_context lives (its timers and strand belong to it).
    std::function<void(const dispatcher*)> released;
};

class dispatcher final : public std::enable_shared_from_this<dispatcher>, private run_driver {
public:
    using strand_type = boost::asio::strand<boost::asio::any_io_executor>;

    dispatcher(strand_type strand, run_config cfg);
    const strand_type& strand() const noexcept { return strand_; }
    /// Set by prepare().
    const std::string& run_id() const noexcept { return run_id_; }

    /// On the caller's thread, before anything runs: opens the journal and replays it, checks
    /// the dependencies, then opens the gate for submissions. Throws (config_error, error);
    /// then nothing is left open and the store is as it was.
    void prepare();
    /// On the strand: starts executors and sink, then the machine. Completes `h` at the end.
    void start(run_handler h);

    // On the strand.
    void cancel();
    void close();
    /// Per-task control by id; throws config_error for an id the run does not have.
    run_machine::control_result cancel_task(std::string_view id);
    run_machine::control_result retry_task(std::string_view id);
    run_machine::control_result mark_succeeded(std::string_view id);
    /// Takes what was submitted into the run. `wake`: a submission's wake-up (waits for the
    /// batching window's timer if one is armed); `timer`: that timer; `now`: at once (per-task
    /// control must see a task submitted a moment ago).
    enum class take { wake, timer, now };
    void take_inbox(take how = take::now);

private:
    // run_driver: the machine's questions and actions.
    bool can_accept(std::size_t g) override;
    std::optional<std::string> group_failed(std::size_t g) override;
    bool may_finish() override;
    void queued(std::uint32_t task) override;
    void launch(std::uint32_t task, std::size_t g, int attempt, std::uint32_t slot) override;
    void kill(std::uint32_t task, std::uint32_t slot) override;
    void attempt_dropped(std::uint32_t task, const attempt_outcome& o, bool superseded) override;
    void finished(std::uint32_t task, const attempt_outcome& o, task_state next, const committed_output* out,
                  std::span<const std::uint32_t> children) override;
    void state_changed(std::uint32_t task, task_state s, const attempt_outcome& last, bool sweep) override;
    void arm_retry(std::uint32_t task, duration delay) override;
    void disarm_retry(std::uint32_t task) override;
    void dead_letter(std::uint32_t task) override;
    void progress_changed() override;
    bool acquire_shared(const std::string& pool) override;
    void release_shared(const std::string& pool) override;
    void finish() override;

    std::uint32_t index_of(std::string_view id) const;
    run_machine::control_result revive(std::string_view id,
                                       run_machine::control_result (run_machine::*control)(std::uint32_t));
    void replay();
    /// Longest expected first: priorities for the machine from the journal's history.
    void order_by_history();
    /// The priority of a task entering the running run (task_order::history: its template's median).
    std::uint32_t priority_of_new(const task_spec& t) const;
    std::uint32_t priority_of_new(std::uint32_t task) const;
    void start_executors();
    void recover(const std::string& id, committed_output out);
    void on_attempt_done(std::uint32_t slot, attempt_outcome o, committed_output out, std::vector<child_task> children);
    // Speculation (dispatcher_speculation.cpp).
    void watch_started(std::uint32_t task, std::uint32_t slot, const task_spec& spec, const executor& ex);
    void arm_speculation_timer();
    void on_speculation_timer();
    std::optional<std::string> admit_children(std::uint32_t parent, std::vector<child_task>& children);
    void release_children(const std::vector<child_task>& children);
    void arm_retry_timer();
    void on_retry_timer();
    void check_journal();
    void notify_progress(bool force);
    progress snapshot() const;
    void fail(std::exception_ptr e);

    strand_type strand_;
    run_config cfg_;
    run_gate& gate_;
    task_store& tasks_;  // written only here, under the gate's mutex
    std::unique_ptr<run_machine> machine_;
    task_graph graph_;
    duration_estimates estimates_;  // from the history: templates' medians, for tasks entering later
    std::vector<std::uint32_t> own_ms_;  // speculation: each task's last successful attempt (history), 0 = none
    std::optional<straggler_watch> watch_;  // speculation enabled
    boost::asio::steady_timer speculation_timer_;
    run_handler handler_;
    std::shared_ptr<dispatcher> self_;  // alive from start() until the handler is posted
    // Keeps the io_context running while the run waits with nothing in flight (an open run
    // waiting for submissions, executors probing hosts).
    boost::asio::any_io_executor work_;
    std::shared_ptr<journal> journal_;
    std::exception_ptr journal_error_;
    std::string run_id_;
    std::optional<run_files> files_;
    boost::json::parser parser_;
    std::size_t store_size_before_ = 0;

    std::vector<std::shared_ptr<executor>> groups_;
    std::vector<std::shared_ptr<attempt_run>> running_;  // by the machine's attempt slot
    // Tasks with a published checkpoint (journaled), not yet succeeded: the token their next
    // attempt gets in DROVER_CHECKPOINT, and the segment it publishes first.
    struct checkpoint_state {
        std::string token;
        std::uint32_t next_segment = 0;
    };
    std::unordered_map<std::uint32_t, checkpoint_state> checkpoints_;
    // Tasks whose journal row was written when they entered (submitted, fanned out): [lo, hi).
    std::uint32_t fresh_lo_ = 0, fresh_hi_ = 0;
    // The attempt being reported to the machine: its children (for the journal row) and its task.
    const std::vector<child_task>* reporting_children_ = nullptr;
    const attempt_run* reporting_run_ = nullptr;

    // Retry timers: one Asio timer for the earliest of a heap of (due, task).
    using clock = std::chrono::steady_clock;
    using retry_entry = std::pair<clock::time_point, std::uint32_t>;
    std::priority_queue<retry_entry, std::vector<retry_entry>, std::greater<>> retry_heap_;
    std::unordered_map<std::uint32_t, clock::time_point> retry_due_;
    boost::asio::steady_timer retry_timer_;
    boost::asio::steady_timer deadline_timer_;
    bool deadline_passed_ = false;
    clock::time_point retry_timer_at_ = clock::time_point::max();

    // Submissions arriving in a stream are taken in batches, one wake-up per batch: after a
    // take, the next one waits for this timer (the gate's wake_posted stays set meanwhile).
    boost::asio::steady_timer inbox_timer_;
    bool inbox_timer_armed_ = false;  // guarded by the gate's mutex

    // Shared pools (scheduler_options::shared_pools) by name, with this run's place in each
    // one's line (left when the run finishes, giving back a place handed to it and not taken).
    struct shared_membership {
        std::shared_ptr<shared_pool> pool;
        std::shared_ptr<shared_pool::waiter> member;
    };
    std::map<std::string, shared_membership> shared_;
    void watch_shared_pools();

    bool started_ = false, finished_ = false;
    clock::time_point t0_;
    clock::time_point last_progress_{};
    boost::asio::steady_timer progress_timer_;
    bool progress_pending_ = false;
};

}  // namespace drover::detail
