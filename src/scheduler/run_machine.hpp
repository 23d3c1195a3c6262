#pragma once
// The lifecycle of every task of a run, as a state machine without I/O: no sockets, no
// timers, no threads, no files. Events come in as calls (the run starts with what the journal
// replayed, tasks are added, a slot is free, an attempt ended, a retry is due, cancel, close,
// cancel or retry one task); actions go out through run_driver (launch an attempt, kill one,
// arm a retry, journal and notify a transition, write a dead letter, finish). The dispatcher
// is the Asio driver (dispatcher.hpp); tests drive the machine with scripts and inject faults
// at every step (tests/scheduler/machine_test.cpp).
//
// States (docs/architecture.md has the picture):
//   pending ── upstream complete ──▶ ready ── slot free ──▶ running
//   running ── success (committed) ──▶ succeeded
//           ── failure, retries left ──▶ retry_wait ── retry due ──▶ ready
//           ── failure, none left ──▶ dead            (lost with its executor: straight to ready)
//   pending ── an upstream failed ──▶ upstream_failed
//   any unfinished ── cancel_task ──▶ cancelled;  dead | cancelled ── retry_task ──▶ ready | pending
//   not running, not succeeded ── mark_succeeded ──▶ succeeded (no attempt, no output)
//   unfinished when the run ends (cancelled, halted) ──▶ skipped
//
// Speculation (speculate()): a running task may get a backup attempt on an idle slot. Its two
// attempts are twins; the first to claim the commit (claim_commit) may publish, the other is
// killed once the task succeeded (superseded: its end changes nothing). An attempt that fails
// while its twin goes on is dropped (not charged to retries); the task's state is decided by
// the last attempt standing. The run does not finish before superseded attempts have ended.
//
// Dependencies see a task's *subtree*: a task that comes `after` u waits until u succeeded
// and so did every task u fanned out, transitively (u's subtree is "complete"). When any task
// in it ends dead, cancelled or upstream_failed, the subtree is "failed" and everything after
// u becomes upstream_failed; retry_task of the failed task revives them.
//
// Counters are never kept by hand: counts()[state] changes only in set_state().

#include <drover/outcome.hpp>
#include <drover/scheduler.hpp>
#include <drover/sink.hpp>
#include <drover/summary.hpp>

#include "scheduler/dag.hpp"
#include "scheduler/task_store.hpp"

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace drover::detail {

inline constexpr std::uint32_t no_task = 0xffffffffu;
inline constexpr std::size_t task_state_count = 9;  // task_state values

/// What the machine needs from whoever drives it: two questions about executors, one about
/// submissions, and the actions. Every call happens inside an event call.
class run_driver {
public:
    /// Whether executor group `g` can take one more attempt now (e.g. a host is up).
    virtual bool can_accept(std::size_t g) = 0;
    /// Set when group `g` will never run anything again; says why.
    virtual std::optional<std::string> group_failed(std::size_t g) = 0;
    /// The run is about to finish: true when no task can arrive any more (the driver stops
    /// taking submissions); false when one arrived meanwhile (it comes as add_tasks).
    virtual bool may_finish() = 0;

    /// The task entered the run (again, after a revival or retry_task): journal it pending.
    virtual void queued(std::uint32_t task) = 0;
    /// Start attempt `attempt` of `task` on group `g`, as attempt slot `slot` (its end comes
    /// as attempt_ended(slot)). A backup's twin_of(slot) is the attempt it backs up.
    virtual void launch(std::uint32_t task, std::size_t g, int attempt, std::uint32_t slot) = 0;
    /// Kill the running attempt in `slot` (of `task`); it still ends through attempt_ended.
    virtual void kill(std::uint32_t task, std::uint32_t slot) = 0;
    /// An attempt ended without deciding its task's state: its twin goes on (`superseded`
    /// false), or the twin already succeeded (true).
    virtual void attempt_dropped(std::uint32_t task, const attempt_outcome& o, bool superseded) = 0;
    /// An attempt ended and the task is now `next`. `out` is what the commit published (on
    /// success); `children` the tasks it fanned out, added with it atomically.
    virtual void finished(std::uint32_t task, const attempt_outcome& o, task_state next, const committed_output* out,
                          std::span<const std::uint32_t> children) = 0;
    /// A state change without an attempt: upstream_failed, cancelled, dead (no executor can
    /// run it) or skipped. `sweep`: part of the final sweep of a finishing run (skipped).
    virtual void state_changed(std::uint32_t task, task_state s, const attempt_outcome& last, bool sweep) = 0;
    virtual void arm_retry(std::uint32_t task, duration delay) = 0;
    virtual void disarm_retry(std::uint32_t task) = 0;
    virtual void dead_letter(std::uint32_t task) = 0;
    virtual void progress_changed() = 0;
    /// A place in shared pool `pool` for an attempt about to launch (false: none free now;
    /// the driver calls capacity_changed() when one may be). Given back by release_shared
    /// when the attempt ends.
    virtual bool acquire_shared(const std::string& /*pool*/) { return true; }
    virtual void release_shared(const std::string& /*pool*/) {}
    /// Nothing runs and nothing will: summarise and complete the run.
    virtual void finish() = 0;

protected:
    ~run_driver() = default;
};

struct run_machine_options {
    halt_policy halt;
    /// Pool name -> this run's limit (none: no limit of its own, only the shared one).
    std::map<std::string, std::size_t> pools;
    bool open = false;        ///< stay running with an empty queue until close()
    bool retry_dead = false;  ///< replayed dead and cancelled tasks run again
    std::uint64_t seed = 0;   ///< backoff jitter
    /// Pools shared with other runs: an attempt of a task in one starts only when the driver
    /// gets a place (acquire_shared) and gives it back when it ends (release_shared).
    std::set<std::string> shared_pools{};
};

/// A task entering a running run: its index in the store, its resolved upstream tasks and
/// its priority (expected milliseconds, expected.hpp; 0 = unknown).
struct new_task {
    std::uint32_t index = 0;
    std::vector<std::uint32_t> upstream;
    std::uint32_t priority = 0;
};

class run_machine {
public:
    run_machine(const task_store& tasks, run_driver& driver, run_machine_options opts);
    run_machine(const run_machine&) = delete;
    run_machine& operator=(const run_machine&) = delete;

    // ---- before start: what the journal replayed ----
    /// A journal row of a task in the store. Succeeded tasks are final (resumed); dead and
    /// cancelled ones too unless retry_dead; anything else runs again.
    void replayed(std::uint32_t task, task_state s, int attempts, failure_class failure, std::string_view message);
    /// The sink published, when it started, what an earlier run of the task staged but could
    /// not commit: the task is done (resumed), whatever the journal said.
    void recovered(std::uint32_t task);
    /// `child` was fanned out by `parent` (both in the store).
    void set_parent(std::uint32_t child, std::uint32_t parent);
    /// Ready tasks start by priority (by task index: the expected milliseconds of the task
    /// and the longest chain after it, expected.hpp), highest first; tasks with priority 0
    /// (unknown) before all others; equal priorities in the order they became ready. Without
    /// priorities, the order they became ready.
    void set_priorities(std::vector<std::uint32_t> priorities);

    // ---- events ----
    /// Every task in the store so far enters the run; `graph` holds their dependencies
    /// (build_task_graph), `group_slots` the slots of each executor group.
    void start(task_graph graph, std::vector<std::size_t> group_slots);
    /// Tasks submitted while the run is going (already in the store).
    void add_tasks(std::span<const new_task> tasks);
    /// An executor may accept more now (or failed).
    /// An executor may take more (or fewer) attempts now; `group_slots` as in start, or empty
    /// when no executor's slots changed.
    void capacity_changed(std::span<const std::size_t> group_slots = {});
    /// The running attempt of `task` ended. On success `out` is its committed output and
    /// `children` the tasks it fanned out (already in the store), which enter the run with it.
    void attempt_done(std::uint32_t task, attempt_outcome o, const committed_output& out,
                      std::span<const new_task> children = {});
    /// The attempt in `slot` is done with its executor: its process ended, and its output is
    /// being committed. Its executor slot takes the next task now; the attempt keeps its pool
    /// place and its task stays running until attempt_ended. Not before a commit succeeded in
    /// this run (a sink that refuses every commit stops the run with no more work done than
    /// what its slots ran), and not while as many attempts of the group commit as it has
    /// slots (the commits are the bottleneck: staged output must not pile up); then the slot
    /// waits for the commit. Ignored unless `slot` holds a running attempt of `task` that was
    /// not released yet.
    void executor_released(std::uint32_t slot, std::uint32_t task);
    /// The attempt in `slot` ended (attempt_done for a task that may run two attempts).
    void attempt_ended(std::uint32_t slot, attempt_outcome o, const committed_output& out,
                       std::span<const new_task> children = {});
    /// Straggler speculation: starts a backup attempt of running `task` on an idle slot
    /// (preferably of another executor group than its attempt's), within its pool's limit.
    /// Not while the run stops, for a task being cancelled, one that already has a backup or
    /// had one since its last regular launch, one whose attempt is committing (its executor
    /// was released), or one whose policy says speculate = false.
    /// `before_queued`: without an idle slot, the backup waits for the next free slot ahead
    /// of the ready tasks (`waiting`); else it is not started (`no_slot`).
    enum class speculation { launched, waiting, no_slot, not_eligible };
    speculation speculate(std::uint32_t task, bool before_queued = false);
    /// An attempt that succeeded asks before it commits: true for the first of two twins
    /// (and for an attempt without a twin), false for the other, which must discard its
    /// output. An attempt that ends gives its claim up.
    bool claim_commit(std::uint32_t slot);
    void retry_due(std::uint32_t task);
    /// Stop dispatching, kill running attempts; unfinished tasks end skipped.
    void cancel();
    /// An open run finishes once its last task ended.
    void close();
    /// The journal cannot be written: stop like cancel() (going on would do work a resume
    /// could not know about).
    void journal_failed();

    enum class control_result { done, not_applicable };
    /// Cancels one unfinished task (a running attempt is killed).
    control_result cancel_task(std::uint32_t task);
    /// Runs one dead or cancelled task again, with its retries renewed; revives what failed
    /// because of it.
    control_result retry_task(std::uint32_t task);
    /// Marks a task that is not running and not finished well (pending, ready, retry_wait,
    /// dead, cancelled, upstream_failed) succeeded without running it: no output, and what
    /// comes after it runs (tasks that failed because of it are revived).
    control_result mark_succeeded(std::uint32_t task);

    // ---- state ----
    std::size_t size() const noexcept { return rt_.size(); }
    task_state state(std::uint32_t i) const noexcept { return rt_[i].state; }
    int attempts(std::uint32_t i) const noexcept { return rt_[i].attempts; }
    bool resumed(std::uint32_t i) const noexcept { return (rt_[i].flags & flag_resumed) != 0; }
    /// The task's last outcome (empty when it has none).
    const attempt_outcome& last(std::uint32_t i) const noexcept;
    attempt_outcome take_last(std::uint32_t i) noexcept;
    std::uint32_t parent(std::uint32_t i) const noexcept;
    std::size_t count(task_state s) const noexcept { return count_[static_cast<std::size_t>(s)]; }
    /// Counts as observers see them (elapsed left 0).
    progress counts() const;
    bool started() const noexcept { return started_; }
    bool finished() const noexcept { return finished_; }
    bool stopping() const noexcept { return stopping_; }
    bool cancelled() const noexcept { return cancelled_; }
    bool halted() const noexcept { return halted_; }
    const std::string& halt_reason() const noexcept { return halt_reason_; }
    bool closed() const noexcept { return closed_; }
    /// A running task's attempt slot: a small number, unique among the running attempts, that
    /// a driver can index its attempts by (valid until the task's attempt_done).
    std::uint32_t attempt_slot(std::uint32_t task) const noexcept { return rt_[task].slot; }
    /// The other running attempt of the same task (no_task: none).
    std::uint32_t twin_of(std::uint32_t slot) const noexcept {
        return slot < attempts_.size() ? attempts_[slot].twin : no_task;
    }
    /// The task of a running attempt slot (no_task: free).
    std::uint32_t task_of(std::uint32_t slot) const noexcept {
        return slot < attempts_.size() ? attempts_[slot].task : no_task;
    }
    /// Whether the attempt in `slot` lost to its twin and is being killed.
    bool superseded(std::uint32_t slot) const noexcept { return slot < attempts_.size() && attempts_[slot].superseded; }
    std::uint64_t records() const noexcept { return records_; }
    /// Records an attempt published at a checkpoint (counted as committed, whatever the attempt's end).
    void checkpoint_published(std::uint64_t records) noexcept { records_ += records; }

    /// Why a child of `parent` coming after `upstream` would wait for itself (a task that
    /// waits for `parent`, or for a task `parent` descends from), or nullopt.
    std::optional<std::string> child_cycle(std::uint32_t parent, std::span<const std::uint32_t> upstream) const;

    /// Every invariant re-checked from scratch (tests): counters equal the states, queues hold
    /// exactly the ready tasks, waiting counts and fan-out counters match the graph.
    std::optional<std::string> check_invariants() const;

private:
    enum class sub : std::uint8_t { open, complete, failed };
    static constexpr std::uint8_t flag_resumed = 1, flag_kill = 2, flag_backed_up = 4, flag_backup_waits = 8;

    struct task_rt {
        task_state state = task_state::pending;
        std::uint8_t flags = 0;
        std::uint8_t losses = 0;      // attempts lost with their executor: not charged to retries
        std::uint8_t spared = 0;      // attempts dropped while their twin went on: not charged either
        int attempts = 0;             // in this run
        int budget_base = 0;          // attempts before the last retry_task
        std::uint32_t waiting = 0;    // upstream tasks whose subtree is not complete (pending only)
        std::uint32_t slot = 0;       // running only: its entry in attempts_ (one of two twins)
        std::unique_ptr<attempt_outcome> last;
    };
    struct family {
        std::uint32_t parent = no_task;
        std::uint32_t open_children = 0;    // children whose subtree is not complete
        std::uint32_t failed_children = 0;  // children whose subtree failed
        std::vector<std::uint32_t> children;
    };
    struct group {
        std::size_t slots = 0;  // may change while the run goes on (elastic executors)
        std::size_t busy = 0;
        std::size_t released = 0;  // attempts committing after executor_released (not in busy)
        std::size_t free() const noexcept { return slots > busy ? slots - busy : 0; }
    };

    void grow_to(std::size_t n);
    attempt_outcome& last_mut(std::uint32_t i);
    void set_state(std::uint32_t i, task_state s);
    sub status(std::uint32_t i) const;
    /// After task i's subtree status may have changed from `before`: everything that follows.
    void propagate(std::uint32_t i, sub before);
    std::string failure_of(std::uint32_t u, std::uint32_t cause) const;
    std::uint32_t waiting_for(std::uint32_t i, std::uint32_t* failed_upstream) const;
    void settle_families();
    void link(const new_task& t, std::uint32_t parent);
    void enter(std::uint32_t i);
    void push_ready(std::uint32_t i);
    void remove_ready(std::uint32_t i);
    std::uint32_t pool_of(std::uint32_t i);
    /// Pool `p` runs as many as it may (pool 0, no pool, never does).
    bool pool_full(std::size_t p) const noexcept { return p > 0 && pool_running_[p] >= pool_limit_[p]; }
    /// Room in pool `p` for one more attempt, taking a place in its shared pool if it has one
    /// (given back in free_slot).
    bool take_pool_place(std::size_t p);
    std::optional<std::uint32_t> next_ready(bool take_places = true);
    void dispatch();
    void launch(std::uint32_t i, std::size_t g);
    std::uint32_t take_slot(std::uint32_t i, std::size_t g);
    void free_slot(std::uint32_t slot);
    /// Ends an attempt that does not decide its task (see attempt_ended).
    void drop_attempt(std::uint32_t slot, const attempt_outcome& o);
    bool may_back_up(std::uint32_t i) const;
    /// A backup of `i` on a free slot, if its pool and an executor group have room.
    speculation launch_backup(std::uint32_t i);
    /// Backups waiting for a slot ahead of the ready tasks (speculate(before_queued)) start.
    void start_waiting_backups();
    int charged(const task_rt& t) const noexcept { return t.attempts - t.losses - t.spared - t.budget_base; }
    void check_halt();
    void stop();
    void fail_unrunnable();
    void maybe_finish();
    void finish();
    const std::vector<std::uint32_t>& upstream(std::uint32_t i) const;
    const std::vector<std::uint32_t>& downstream(std::uint32_t i) const;
    const family* family_of(std::uint32_t i) const;

    const task_store& tasks_;
    run_driver& d_;
    run_machine_options opts_;
    std::mt19937_64 rng_;

    std::vector<task_rt> rt_;
    std::array<std::size_t, task_state_count> count_{};
    std::size_t resumed_ = 0, resumed_dead_ = 0;
    std::uint64_t records_ = 0, bad_records_ = 0;

    // Dependencies, empty until some task has one.
    std::vector<std::vector<std::uint32_t>> up_, down_;
    std::unordered_map<std::uint32_t, family> families_;

    // Ready queues by pool (index 0: no pool): binary heaps, the front the least
    // (rank, sequence). rank 0: unknown priority; else the higher the priority, the lower.
    struct ready_entry {
        std::uint64_t seq = 0;
        std::uint32_t rank = 0;
        std::uint32_t task = 0;
        bool operator<(const ready_entry& o) const noexcept {
            return rank != o.rank ? rank < o.rank : seq < o.seq;
        }
    };
    std::vector<std::string> pool_names_;
    std::vector<std::size_t> pool_limit_, pool_running_;
    std::vector<bool> pool_shared_;  // by pool: one of opts_.shared_pools
    std::vector<std::vector<ready_entry>> ready_;
    std::uint32_t pop_ready(std::vector<ready_entry>& queue);
    std::vector<std::uint32_t> priority_;  // by task; empty: every task 0
    std::vector<std::int32_t> policy_pool_;  // policy id -> pool index, -1 = not looked up yet
    std::uint64_t seq_ = 0;

    std::vector<group> groups_;
    // The running attempts, by attempt slot (reused: at most as many as executor slots, plus
    // the attempts whose executor was released while they commit).
    struct running_attempt {
        std::uint32_t task = no_task;  // no_task: free
        std::uint32_t group = 0;
        std::uint32_t twin = no_task;  // the task's other running attempt
        bool claimed = false;          // claim_commit() said yes
        bool superseded = false;       // its twin succeeded; killed, its end changes nothing
        bool released = false;         // executor_released: its group slot is free again
    };
    std::vector<running_attempt> attempts_;
    std::vector<std::uint32_t> free_attempts_;
    std::size_t superseded_live_ = 0;  // superseded attempts not ended yet
    bool committed_once_ = false;      // an attempt succeeded in this run: its commit worked
    std::deque<std::uint32_t> backups_waiting_;  // tasks, flag_backup_waits set
    std::size_t backups_ = 0;

    bool started_ = false, finished_ = false, stopping_ = false, cancelled_ = false, halted_ = false;
    bool closed_ = false;
    std::string halt_reason_;
};

}  // namespace drover::detail
