// The run state machine's events: start, tasks added, dispatch, attempt ends, retries,
// cancel, close, per-task control. Dependencies and fan-out (subtree status propagation)
// are in run_machine_graph.cpp.

#include "scheduler/run_machine.hpp"

#include "scheduler/backoff.hpp"

#include <algorithm>
#include <limits>

namespace drover::detail {

namespace {
// A task whose executor keeps vanishing under it is not retried for free forever.
constexpr int max_free_losses = 5;

bool is_final(task_state s) noexcept {
    return s == task_state::succeeded || s == task_state::dead || s == task_state::upstream_failed ||
           s == task_state::cancelled || s == task_state::skipped;
}

const attempt_outcome empty_outcome{};
}  // namespace

run_machine::run_machine(const task_store& tasks, run_driver& driver, run_machine_options opts)
    : tasks_(tasks), d_(driver), opts_(std::move(opts)), rng_(opts_.seed) {
    pool_names_.emplace_back();
    pool_limit_.push_back(0);
    for (auto& [name, size] : opts_.pools) {
        pool_names_.push_back(name);
        pool_limit_.push_back(size);
    }
    for (auto& name : opts_.shared_pools)
        if (std::find(pool_names_.begin(), pool_names_.end(), name) == pool_names_.end()) {
            pool_names_.push_back(name);  // no limit of this run's own
            pool_limit_.push_back(std::numeric_limits<std::size_t>::max());
        }
    pool_shared_.assign(pool_names_.size(), false);
    for (std::size_t p = 1; p < pool_names_.size(); ++p) pool_shared_[p] = opts_.shared_pools.contains(pool_names_[p]);
    pool_running_.assign(pool_names_.size(), 0);
    ready_.resize(pool_names_.size());
    grow_to(tasks_.size());
}

void run_machine::grow_to(std::size_t n) {
    if (rt_.size() >= n) return;
    count_[static_cast<std::size_t>(task_state::pending)] += n - rt_.size();
    rt_.resize(n);
    if (!up_.empty()) {
        up_.resize(n);
        down_.resize(n);
    }
    if (!priority_.empty()) priority_.resize(n, 0);
}

void run_machine::set_priorities(std::vector<std::uint32_t> priorities) {
    priority_ = std::move(priorities);
    if (!priority_.empty()) priority_.resize(rt_.size(), 0);
}

const attempt_outcome& run_machine::last(std::uint32_t i) const noexcept {
    return rt_[i].last ? *rt_[i].last : empty_outcome;
}

attempt_outcome run_machine::take_last(std::uint32_t i) noexcept {
    if (!rt_[i].last) return {};
    auto o = std::move(*rt_[i].last);
    rt_[i].last.reset();
    return o;
}

attempt_outcome& run_machine::last_mut(std::uint32_t i) {
    if (!rt_[i].last) rt_[i].last = std::make_unique<attempt_outcome>();
    return *rt_[i].last;
}

void run_machine::set_state(std::uint32_t i, task_state s) {
    auto& t = rt_[i];
    --count_[static_cast<std::size_t>(t.state)];
    ++count_[static_cast<std::size_t>(s)];
    t.state = s;
}

std::uint32_t run_machine::pool_of(std::uint32_t i) {
    auto pid = tasks_.policy_id(i);
    if (pid >= policy_pool_.size()) policy_pool_.resize(tasks_.policy_count(), -1);
    auto& cached = policy_pool_[pid];
    if (cached < 0) {
        const auto& name = tasks_.policy(i).pool;
        auto it = std::find(pool_names_.begin(), pool_names_.end(), name);
        // submit() refuses unknown pools; a pool missing here runs without a limit.
        cached = it == pool_names_.end() ? 0 : static_cast<std::int32_t>(it - pool_names_.begin());
    }
    return static_cast<std::uint32_t>(cached);
}

progress run_machine::counts() const {
    progress p;
    p.total = rt_.size();
    p.pending = count(task_state::pending) + count(task_state::ready);
    p.running = count(task_state::running);
    p.retry_wait = count(task_state::retry_wait);
    p.succeeded = count(task_state::succeeded);
    p.dead = count(task_state::dead);
    p.skipped = count(task_state::skipped);
    p.upstream_failed = count(task_state::upstream_failed);
    p.cancelled = count(task_state::cancelled);
    p.resumed = resumed_;
    p.backups = backups_;
    // Released attempts are few (at most the slots): counted here, not kept in step.
    for (const auto& a : attempts_) p.committing += a.released && a.twin == no_task && !a.superseded;
    p.resumed_dead = resumed_dead_;
    p.records = records_;
    p.bad_records = bad_records_;
    return p;
}

// ---- before start ----

void run_machine::replayed(std::uint32_t i, task_state s, int attempts, failure_class failure,
                           std::string_view message) {
    grow_to(std::size_t{i} + 1);
    auto& t = rt_[i];
    if (s == task_state::succeeded) {
        set_state(i, s);
        t.flags |= flag_resumed;
        ++resumed_;
    } else if ((s == task_state::dead || s == task_state::cancelled) && !opts_.retry_dead) {
        set_state(i, s);
        t.flags |= flag_resumed;
        if (s == task_state::dead) ++resumed_dead_;
        t.attempts = attempts;
        auto& last = last_mut(i);
        last.failure = failure;
        last.message = std::string(message) + (s == task_state::dead
                                                   ? " (dead in an earlier run; --retry-dead runs it again)"
                                                   : " (cancelled in an earlier run; --retry-dead runs it again)");
    }
}

void run_machine::recovered(std::uint32_t i) {
    grow_to(std::size_t{i} + 1);
    if (rt_[i].state == task_state::succeeded) return;
    rt_[i].last.reset();
    replayed(i, task_state::succeeded, 0, failure_class::none, {});
}

// ---- events ----

void run_machine::start(task_graph graph, std::vector<std::size_t> group_slots) {
    started_ = true;
    if (!graph.empty()) {
        up_ = std::move(graph.upstream);
        down_ = std::move(graph.downstream);
        up_.resize(rt_.size());
        down_.resize(rt_.size());
    }
    grow_to(tasks_.size());
    for (auto s : group_slots) groups_.push_back({s, 0});
    settle_families();
    if (graph.topo_order.empty()) {
        for (std::uint32_t i = 0; i < rt_.size(); ++i) enter(i);
    } else {
        for (auto i : graph.topo_order) enter(i);
    }
    if (cancelled_) stop();
    dispatch();
    d_.progress_changed();
    maybe_finish();
}

void run_machine::add_tasks(std::span<const new_task> tasks) {
    for (const auto& t : tasks) {
        grow_to(std::size_t{t.index} + 1);
        link(t, no_task);
    }
    for (const auto& t : tasks) enter(t.index);
    dispatch();
    d_.progress_changed();
    maybe_finish();
}

void run_machine::capacity_changed(std::span<const std::size_t> group_slots) {
    if (!started_ || finished_) return;
    for (std::size_t g = 0; g < groups_.size() && g < group_slots.size(); ++g) groups_[g].slots = group_slots[g];
    dispatch();
    maybe_finish();
}

void run_machine::attempt_done(std::uint32_t i, attempt_outcome o, const committed_output& out,
                               std::span<const new_task> children) {
    if (i >= rt_.size() || rt_[i].state != task_state::running) return;
    attempt_ended(rt_[i].slot, std::move(o), out, children);
}

void run_machine::executor_released(std::uint32_t slot, std::uint32_t task) {
    if (!started_ || finished_ || slot >= attempts_.size()) return;
    auto& a = attempts_[slot];
    if (a.task != task || a.released || a.superseded || !committed_once_) return;
    auto& g = groups_[a.group];
    if (g.released >= g.slots) return;
    a.released = true;
    --g.busy;
    ++g.released;
    d_.progress_changed();
    dispatch();
}

void run_machine::attempt_ended(std::uint32_t slot, attempt_outcome o, const committed_output& out,
                                std::span<const new_task> children) {
    if (slot >= attempts_.size() || attempts_[slot].task == no_task) return;
    auto i = attempts_[slot].task;
    auto& t = rt_[i];
    auto twin = attempts_[slot].twin;
    if (attempts_[slot].superseded || (twin != no_task && !o.ok())) return drop_attempt(slot, o);
    if (twin != no_task) {
        // The first twin to succeed decides; the other one is killed, its end changes nothing.
        attempts_[twin].twin = no_task;
        attempts_[twin].superseded = true;
        ++superseded_live_;
        d_.kill(i, twin);
    }
    free_slot(slot);
    bad_records_ += o.bad_records;
    bool lost = o.failure == failure_class::executor_lost && t.losses < max_free_losses;
    if (lost) ++t.losses;
    bool killed = (t.flags & flag_kill) != 0;
    if (t.flags & flag_backup_waits) std::erase(backups_waiting_, i);  // its straggler ended first
    t.flags &= static_cast<std::uint8_t>(~(flag_kill | flag_backed_up | flag_backup_waits));
    bool retries_left = charged(t) <= tasks_.policy(i).retries;

    task_state next;
    if (o.ok()) {
        next = task_state::succeeded;
        records_ += out.records;
        committed_once_ = true;
    } else if (killed) {
        next = task_state::cancelled;
    } else if (o.failure == failure_class::sink_unavailable) {
        // Not the task's fault, and every commit would fail the same way: stop dispatching.
        // The task keeps its retries; its staged records wait for the next run.
        next = task_state::skipped;
        if (!halted_ && !cancelled_) {
            halted_ = true;
            halt_reason_ = "the sink refuses commits: " + o.message;
            stop();
        }
    } else if (cancelled_ || (halted_ && (retries_left || lost))) {
        next = task_state::skipped;
    } else if (lost) {
        next = task_state::ready;
    } else if (retries_left) {
        next = task_state::retry_wait;
    } else {
        next = task_state::dead;
    }

    // Children enter with the parent's success, never without it.
    std::vector<std::uint32_t> child_ids;
    if (next == task_state::succeeded) {
        child_ids.reserve(children.size());
        for (const auto& c : children) {
            grow_to(std::size_t{c.index} + 1);
            link(c, i);
            child_ids.push_back(c.index);
        }
    }
    auto before = status(i);
    set_state(i, next);
    auto& last = last_mut(i) = std::move(o);
    d_.finished(i, last, next, next == task_state::succeeded ? &out : nullptr, child_ids);
    if (next == task_state::ready) push_ready(i);
    if (next == task_state::retry_wait) {
        std::uniform_real_distribution<double> u(0.0, 1.0);
        d_.arm_retry(i, backoff_delay(tasks_.policy(i).backoff, t.attempts - t.budget_base, u(rng_)));
    }
    if (next == task_state::dead) d_.dead_letter(i);
    propagate(i, before);
    for (auto c : child_ids) enter(c);
    if (next == task_state::dead) check_halt();
    dispatch();
    d_.progress_changed();
    maybe_finish();
}

void run_machine::retry_due(std::uint32_t i) {
    if (finished_ || rt_[i].state != task_state::retry_wait) return;
    set_state(i, task_state::ready);
    push_ready(i);
    dispatch();
    d_.progress_changed();
    maybe_finish();
}

void run_machine::cancel() {
    if (finished_ || cancelled_) return;
    cancelled_ = true;
    if (!started_) return;  // start() stops at once
    stop();
    std::vector<std::pair<std::uint32_t, std::uint32_t>> running;  // kill() may report an attempt done at once
    for (std::uint32_t s = 0; s < attempts_.size(); ++s)
        if (attempts_[s].task != no_task && !attempts_[s].superseded) running.emplace_back(attempts_[s].task, s);
    std::sort(running.begin(), running.end());  // in submission order, as they are reported
    for (auto [i, s] : running) d_.kill(i, s);
    d_.progress_changed();
    maybe_finish();
}

void run_machine::journal_failed() { cancel(); }

void run_machine::close() {
    if (closed_) return;
    closed_ = true;
    maybe_finish();
}

run_machine::control_result run_machine::cancel_task(std::uint32_t i) {
    if (!started_ || finished_ || i >= rt_.size()) return control_result::not_applicable;
    auto& t = rt_[i];
    switch (t.state) {
        case task_state::running:
            if (!(t.flags & flag_kill)) {
                t.flags |= flag_kill;
                auto slot = t.slot, twin = attempts_[slot].twin;
                d_.kill(i, slot);
                if (twin != no_task && attempts_[twin].task == i) d_.kill(i, twin);
            }
            return control_result::done;
        case task_state::ready:
        case task_state::pending:
        case task_state::retry_wait: {
            if (t.state == task_state::ready) remove_ready(i);
            if (t.state == task_state::retry_wait) d_.disarm_retry(i);
            auto before = status(i);
            set_state(i, task_state::cancelled);
            auto& last = last_mut(i) = attempt_outcome{};
            last.attempt = t.attempts;
            last.failure = failure_class::cancelled;
            last.message = "cancelled";
            d_.state_changed(i, task_state::cancelled, last, false);
            propagate(i, before);
            d_.progress_changed();
            maybe_finish();
            return control_result::done;
        }
        default:
            return control_result::not_applicable;
    }
}

run_machine::control_result run_machine::retry_task(std::uint32_t i) {
    if (!started_ || finished_ || stopping_ || i >= rt_.size()) return control_result::not_applicable;
    auto& t = rt_[i];
    if (t.state != task_state::dead && t.state != task_state::cancelled) return control_result::not_applicable;
    auto before = status(i);
    t.budget_base = t.attempts;
    t.losses = 0;
    if ((t.flags & flag_resumed) && t.state == task_state::dead) --resumed_dead_;
    t.flags &= static_cast<std::uint8_t>(~flag_resumed);
    t.last.reset();
    set_state(i, task_state::pending);
    enter(i);
    propagate(i, before);
    dispatch();
    d_.progress_changed();
    maybe_finish();
    return control_result::done;
}

run_machine::control_result run_machine::mark_succeeded(std::uint32_t i) {
    if (!started_ || finished_ || stopping_ || i >= rt_.size()) return control_result::not_applicable;
    auto& t = rt_[i];
    switch (t.state) {
        case task_state::pending:
        case task_state::ready:
        case task_state::retry_wait:
        case task_state::dead:
        case task_state::cancelled:
        case task_state::upstream_failed: break;
        default: return control_result::not_applicable;  // running, succeeded, skipped
    }
    if (t.state == task_state::ready) remove_ready(i);
    if (t.state == task_state::retry_wait) d_.disarm_retry(i);
    if ((t.flags & flag_resumed) && t.state == task_state::dead) --resumed_dead_;
    t.flags &= static_cast<std::uint8_t>(~flag_resumed);
    t.waiting = 0;
    auto before = status(i);
    set_state(i, task_state::succeeded);
    auto& last = last_mut(i) = attempt_outcome{};
    last.attempt = t.attempts;
    last.message = "marked succeeded";
    d_.state_changed(i, task_state::succeeded, last, false);
    propagate(i, before);
    dispatch();
    d_.progress_changed();
    maybe_finish();
    return control_result::done;
}

// ---- dispatch ----

namespace {
// std's heaps keep the greatest in front; the ready queues want the least.
constexpr auto heap_order = [](const auto& a, const auto& b) { return b < a; };
}  // namespace

void run_machine::push_ready(std::uint32_t i) {
    std::uint32_t p = priority_.empty() ? 0 : priority_[i];
    auto& q = ready_[pool_of(i)];
    q.push_back({seq_++, p == 0 ? 0 : std::numeric_limits<std::uint32_t>::max() - p + 1, i});
    std::push_heap(q.begin(), q.end(), heap_order);
}

void run_machine::remove_ready(std::uint32_t i) {
    auto& q = ready_[pool_of(i)];
    auto it = std::find_if(q.begin(), q.end(), [i](const auto& e) { return e.task == i; });
    if (it == q.end()) return;
    *it = q.back();
    q.pop_back();
    std::make_heap(q.begin(), q.end(), heap_order);
}

bool run_machine::take_pool_place(std::size_t p) {
    if (pool_full(p)) return false;
    return !pool_shared_[p] || d_.acquire_shared(pool_names_[p]);
}

// The first ready task (by priority, then age) whose pool has room; with `take_places`, a
// task of a shared pool comes with its place there (a pool without one is passed over).
std::optional<std::uint32_t> run_machine::next_ready(bool take_places) {
    std::vector<bool> refused;  // shared pools without a free place, this time
    for (;;) {
        std::vector<ready_entry>* best = nullptr;
        std::size_t best_pool = 0;
        for (std::size_t p = 0; p < ready_.size(); ++p) {
            auto& q = ready_[p];
            if (q.empty() || pool_full(p) || (p < refused.size() && refused[p])) continue;
            if (!best || q.front() < best->front()) best = &q, best_pool = p;
        }
        if (!best) return std::nullopt;
        if (take_places && pool_shared_[best_pool] && !d_.acquire_shared(pool_names_[best_pool])) {
            refused.resize(ready_.size(), false);
            refused[best_pool] = true;
            continue;
        }
        return pop_ready(*best);
    }
}

std::uint32_t run_machine::pop_ready(std::vector<ready_entry>& best) {
    auto i = best.front().task;
    std::pop_heap(best.begin(), best.end(), heap_order);
    best.pop_back();
    return i;
}

void run_machine::dispatch() {
    if (!backups_waiting_.empty() && !stopping_) start_waiting_backups();
    while (!stopping_ && count(task_state::ready) > 0) {
        // Spread over executors: the one with the most free slots goes first.
        std::size_t best = groups_.size();
        for (std::size_t g = 0; g < groups_.size(); ++g)
            if (groups_[g].free() > 0 && (best == groups_.size() || groups_[g].free() > groups_[best].free()) &&
                d_.can_accept(g))
                best = g;
        if (best == groups_.size()) return;
        auto i = next_ready();
        if (!i) return;
        launch(*i, best);
    }
}

void run_machine::launch(std::uint32_t i, std::size_t g) {
    auto& t = rt_[i];
    set_state(i, task_state::running);
    ++t.attempts;
    t.slot = take_slot(i, g);
    d_.launch(i, g, t.attempts, t.slot);
    d_.progress_changed();
}

std::uint32_t run_machine::take_slot(std::uint32_t i, std::size_t g) {
    ++groups_[g].busy;
    ++pool_running_[pool_of(i)];
    std::uint32_t slot = 0;
    if (free_attempts_.empty()) {
        slot = static_cast<std::uint32_t>(attempts_.size());
        attempts_.emplace_back();
    } else {
        slot = free_attempts_.back();
        free_attempts_.pop_back();
    }
    attempts_[slot] = {i, static_cast<std::uint32_t>(g)};
    return slot;
}

void run_machine::free_slot(std::uint32_t slot) {
    auto& a = attempts_[slot];
    if (a.released)
        --groups_[a.group].released;
    else
        --groups_[a.group].busy;
    auto p = pool_of(a.task);
    --pool_running_[p];
    if (pool_shared_[p]) d_.release_shared(pool_names_[p]);
    a = {};
    free_attempts_.push_back(slot);
}

void run_machine::check_halt() {
    const auto& h = opts_.halt;
    auto dead = count(task_state::dead);
    bool by_count = h.max_dead && dead >= *h.max_dead;
    bool by_percent = h.max_dead_percent && !rt_.empty() &&
                      static_cast<double>(dead) * 100.0 / static_cast<double>(rt_.size()) >= *h.max_dead_percent;
    if (!halted_ && (by_count || by_percent)) {
        halted_ = true;
        halt_reason_ = "the halt policy stopped dispatching new tasks (" + std::to_string(dead) + " dead)";
        stop();
    }
}

// No more dispatching; tasks waiting for a retry will not run again.
void run_machine::stop() {
    stopping_ = true;
    for (std::uint32_t i = 0; i < rt_.size(); ++i) {
        if (rt_[i].state != task_state::retry_wait) continue;
        d_.disarm_retry(i);
        set_state(i, task_state::skipped);
        d_.state_changed(i, task_state::skipped, last(i), true);
    }
}

// Ready tasks that no executor will ever run (every executor gave up) are dead.
void run_machine::fail_unrunnable() {
    std::string why;
    for (std::size_t g = 0; g < groups_.size(); ++g) {
        auto f = d_.group_failed(g);
        if (!f) return;
        why += (why.empty() ? "" : "; ") + *f;
    }
    // (Nothing runs, so no pool is full: next_ready() drains every queue, taking no places.)
    while (auto i = next_ready(false)) {
        auto before = status(*i);
        set_state(*i, task_state::dead);
        auto& last = last_mut(*i) = attempt_outcome{};
        last.attempt = rt_[*i].attempts;
        last.failure = failure_class::executor_lost;
        last.message = "no executor can run it: " + why;
        d_.state_changed(*i, task_state::dead, last, false);
        d_.dead_letter(*i);
        propagate(*i, before);
    }
}

void run_machine::maybe_finish() {
    if (!started_ || finished_ || count(task_state::running) > 0 || superseded_live_ > 0) return;
    if (!stopping_ && count(task_state::ready) > 0 && !groups_.empty()) fail_unrunnable();
    if (!stopping_ && (count(task_state::ready) > 0 || count(task_state::retry_wait) > 0)) return;
    if (!stopping_ && opts_.open && !closed_) return;
    if (!d_.may_finish()) return;
    finish();
}

void run_machine::finish() {
    finished_ = true;
    for (auto& q : ready_) q.clear();
    for (std::uint32_t i = 0; i < rt_.size(); ++i) {
        if (is_final(rt_[i].state)) continue;
        set_state(i, task_state::skipped);
        d_.state_changed(i, task_state::skipped, last(i), true);
    }
    d_.finish();
}

}  // namespace drover::detail
