// The run state machine's dependencies and fan-out: a task's subtree status (open,
// complete, failed), how a change of it reaches the tasks that come after it and the task
// that fanned it out, tasks entering the run, and the invariant check.

#include "scheduler/run_machine.hpp"

#include <algorithm>
#include <unordered_set>

namespace drover::detail {

namespace {
const std::vector<std::uint32_t> no_edges;

std::string_view failed_as(task_state s) noexcept {
    switch (s) {
        case task_state::dead: return "is dead";
        case task_state::cancelled: return "was cancelled";
        default: return "did not run (upstream failed)";
    }
}
}  // namespace

const std::vector<std::uint32_t>& run_machine::upstream(std::uint32_t i) const {
    return i < up_.size() ? up_[i] : no_edges;
}

const std::vector<std::uint32_t>& run_machine::downstream(std::uint32_t i) const {
    return i < down_.size() ? down_[i] : no_edges;
}

const run_machine::family* run_machine::family_of(std::uint32_t i) const {
    if (families_.empty()) return nullptr;
    auto it = families_.find(i);
    return it == families_.end() ? nullptr : &it->second;
}

std::uint32_t run_machine::parent(std::uint32_t i) const noexcept {
    auto* f = family_of(i);
    return f ? f->parent : no_task;
}

run_machine::sub run_machine::status(std::uint32_t i) const {
    auto s = rt_[i].state;
    if (s == task_state::dead || s == task_state::upstream_failed || s == task_state::cancelled) return sub::failed;
    if (s != task_state::succeeded) return sub::open;
    auto* f = family_of(i);
    if (!f || (f->failed_children == 0 && f->open_children == 0)) return sub::complete;
    return f->failed_children > 0 ? sub::failed : sub::open;
}

void run_machine::set_parent(std::uint32_t child, std::uint32_t parent) {
    grow_to(std::size_t{std::max(child, parent)} + 1);
    families_[child].parent = parent;
    auto& pf = families_[parent];
    pf.children.push_back(child);
    ++pf.open_children;  // settled by settle_families() at start
}

// Replayed families start with every child counted open; settle the finished ones.
void run_machine::settle_families() {
    std::vector<std::uint32_t> members;
    members.reserve(families_.size());
    for (const auto& [i, f] : families_)
        if (f.parent != no_task) members.push_back(i);
    for (auto i : members)
        if (status(i) != sub::open) propagate(i, sub::open);
}

void run_machine::link(const new_task& t, std::uint32_t parent) {
    if (t.priority) {
        if (priority_.empty()) priority_.resize(rt_.size(), 0);
        priority_[t.index] = t.priority;
    }
    if (!t.upstream.empty()) {
        if (up_.empty()) {
            up_.resize(rt_.size());
            down_.resize(rt_.size());
        }
        auto& up = up_[t.index] = t.upstream;
        std::sort(up.begin(), up.end());
        up.erase(std::unique(up.begin(), up.end()), up.end());
        for (auto u : up) down_[u].push_back(t.index);
    }
    if (parent != no_task) {
        families_[t.index].parent = parent;
        auto& pf = families_[parent];
        pf.children.push_back(t.index);
        ++pf.open_children;
    }
}

// Upstream tasks whose subtree is not complete; `failed` gets the first failed one.
std::uint32_t run_machine::waiting_for(std::uint32_t i, std::uint32_t* failed) const {
    std::uint32_t n = 0;
    *failed = no_task;
    for (auto u : upstream(i)) {
        auto s = status(u);
        if (s == sub::complete) continue;
        ++n;
        if (s == sub::failed && *failed == no_task) *failed = u;
    }
    return n;
}

// A pending task takes its place: upstream_failed, ready, or waiting for its upstream.
void run_machine::enter(std::uint32_t i) {
    auto& t = rt_[i];
    if (t.state != task_state::pending) return;  // finished already (resumed, or failed upstream)
    std::uint32_t failed = no_task;
    auto waiting = waiting_for(i, &failed);
    if (failed != no_task) {
        auto before = status(i);
        set_state(i, task_state::upstream_failed);
        auto& last = last_mut(i) = attempt_outcome{};
        last.message = failure_of(failed, no_task);
        d_.state_changed(i, task_state::upstream_failed, last, false);
        propagate(i, before);
        return;
    }
    d_.queued(i);
    t.waiting = waiting;
    if (waiting == 0) {
        set_state(i, task_state::ready);
        push_ready(i);
    }
}

// What a task after `u` is told when u's subtree failed; `cause` the failed task in it, if known.
std::string run_machine::failure_of(std::uint32_t u, std::uint32_t cause) const {
    auto s = rt_[u].state;
    std::string text = "upstream task '" + std::string(tasks_.id(u)) + "'";
    if (s != task_state::succeeded) return text + " " + std::string(failed_as(s));
    if (cause == no_task || cause == u) {  // find a failed task in u's subtree
        std::vector<std::uint32_t> stack{u};
        cause = no_task;
        while (!stack.empty() && cause == no_task) {
            auto n = stack.back();
            stack.pop_back();
            if (auto* f = family_of(n))
                for (auto c : f->children) {
                    if (status(c) != sub::failed) continue;
                    if (rt_[c].state != task_state::succeeded) cause = c;
                    stack.push_back(c);
                }
        }
        if (cause == no_task) return text + " failed";
    }
    return text + ": task '" + std::string(tasks_.id(cause)) + "' it fanned out " +
           std::string(failed_as(rt_[cause].state));
}

// A subtree status changed: the task that fanned it out and the tasks after it learn it,
// and so on (a work list, not recursion: chains can be a million tasks long).
void run_machine::propagate(std::uint32_t i, sub before) {
    struct item {
        std::uint32_t task;
        sub before;
        std::uint32_t cause;  // the failed task whose failure travels up the fan-out
    };
    std::vector<item> work{{i, before, i}};
    while (!work.empty()) {
        auto [n, b, cause] = work.back();
        work.pop_back();
        auto a = status(n);
        if (a == b) continue;
        if (auto* f = family_of(n); f && f->parent != no_task) {
            auto p = f->parent;
            auto pb = status(p);
            auto& pf = families_.find(p)->second;
            if (b == sub::complete) ++pf.open_children;
            if (a == sub::complete) --pf.open_children;
            if (b == sub::failed) --pf.failed_children;
            if (a == sub::failed) ++pf.failed_children;
            work.push_back({p, pb, rt_[n].state == task_state::succeeded ? cause : n});
        }
        for (auto d : downstream(n)) {
            auto& t = rt_[d];
            if (a == sub::complete && t.state == task_state::pending) {
                if (t.waiting > 0 && --t.waiting == 0) {
                    set_state(d, task_state::ready);
                    push_ready(d);
                }
            } else if (a == sub::failed) {
                if (t.state != task_state::pending) continue;
                auto db = status(d);
                set_state(d, task_state::upstream_failed);
                auto& last = last_mut(d) = attempt_outcome{};
                last.message = failure_of(n, cause);
                d_.state_changed(d, task_state::upstream_failed, last, false);
                work.push_back({d, db, d});
            } else if (b == sub::failed && t.state == task_state::upstream_failed) {
                // Revived (its upstream was retried, or marked succeeded): runs once nothing it
                // comes after has failed any more.
                std::uint32_t failed = no_task;
                auto waiting = waiting_for(d, &failed);
                if (failed != no_task) {
                    last_mut(d).message = failure_of(failed, no_task);
                    continue;
                }
                auto db = status(d);
                t.last.reset();
                set_state(d, task_state::pending);
                d_.queued(d);
                t.waiting = waiting;
                if (waiting == 0) {
                    set_state(d, task_state::ready);
                    push_ready(d);
                }
                work.push_back({d, db, d});
            }
        }
    }
}

std::optional<std::string> run_machine::child_cycle(std::uint32_t parent,
                                                    std::span<const std::uint32_t> upstream) const {
    std::unordered_set<std::uint32_t> ancestors;
    for (auto p = parent; p != no_task && ancestors.insert(p).second; p = this->parent(p)) {
    }
    for (auto y : upstream) {
        std::vector<std::uint32_t> stack{y};
        std::unordered_set<std::uint32_t> seen;
        while (!stack.empty()) {
            auto n = stack.back();
            stack.pop_back();
            if (ancestors.contains(n))
                return "task '" + std::string(tasks_.id(y)) + "' waits for task '" + std::string(tasks_.id(n)) +
                       "', which this task is fanned out from: it would wait for itself";
            if (!seen.insert(n).second) continue;
            for (auto u : this->upstream(n)) stack.push_back(u);
            if (auto* f = family_of(n)) stack.insert(stack.end(), f->children.begin(), f->children.end());
        }
    }
    return std::nullopt;
}

std::optional<std::string> run_machine::check_invariants() const {
    auto name = [&](std::uint32_t i) { return "task '" + std::string(tasks_.id(i)) + "' "; };
    std::array<std::size_t, task_state_count> recount{};
    for (const auto& t : rt_) ++recount[static_cast<std::size_t>(t.state)];
    if (recount != count_) return "counters differ from the task states";
    std::vector<int> queued(rt_.size(), 0);
    std::size_t in_queues = 0;
    for (const auto& q : ready_)
        for (auto [seq, rank, i] : q) {
            ++queued[i];
            ++in_queues;
            if (rt_[i].state != task_state::ready) return name(i) + "is queued but " + std::string(to_string(rt_[i].state));
        }
    if (in_queues != count(task_state::ready)) return "ready queues hold " + std::to_string(in_queues) + " entries";
    for (std::uint32_t i = 0; i < rt_.size(); ++i)
        if (queued[i] > 1) return name(i) + "is queued twice";
    std::vector<std::size_t> busy(groups_.size(), 0), released(groups_.size(), 0), pools(pool_running_.size(), 0);
    std::size_t in_use = 0, backups = 0, superseded = 0;
    for (std::uint32_t s = 0; s < attempts_.size(); ++s) {
        const auto& a = attempts_[s];
        auto i = a.task;
        if (i == no_task) continue;
        ++in_use;
        ++(a.released ? released : busy)[a.group];
        ++pools[const_cast<run_machine*>(this)->pool_of(i)];
        if (a.superseded) {
            ++superseded;
            if (i >= rt_.size() || rt_[i].state != task_state::succeeded || a.twin != no_task)
                return "superseded attempt slot " + std::to_string(s) + " of a task that did not succeed";
            continue;
        }
        if (i >= rt_.size() || rt_[i].state != task_state::running) return "attempt slot " + std::to_string(s) + " holds a task that is not running";
        if (a.twin != no_task) {
            if (a.twin >= attempts_.size() || attempts_[a.twin].twin != s || attempts_[a.twin].task != i)
                return name(i) + "has twins that do not point at each other";
            if (rt_[i].slot != s && rt_[i].slot != a.twin) return name(i) + "has a wrong attempt slot";
            if (a.claimed && attempts_[a.twin].claimed) return name(i) + "has two attempts claiming the commit";
            backups += s < a.twin;
        } else if (rt_[i].slot != s) {
            return name(i) + "has a wrong attempt slot";
        }
    }
    if (superseded != superseded_live_) return "superseded attempts miscounted";
    if (in_use - superseded - backups != count(task_state::running)) return "running attempts differ from running tasks";
    if (in_use + free_attempts_.size() != attempts_.size()) return "attempt slots leak";
    for (std::size_t g = 0; g < groups_.size(); ++g)
        if (groups_[g].busy != busy[g] || groups_[g].released != released[g])
            return "slots of group " + std::to_string(g) + " leak";
    if (pools != pool_running_) return "pool counters differ from running tasks";
    for (std::uint32_t i = 0; started_ && !finished_ && i < rt_.size(); ++i) {
        const auto& t = rt_[i];
        std::uint32_t failed = no_task;
        auto waiting = waiting_for(i, &failed);
        if (t.state == task_state::pending && (waiting == 0 || waiting != t.waiting || failed != no_task))
            return name(i) + "is pending with a wrong waiting count";
        if (t.state == task_state::ready && waiting != 0) return name(i) + "is ready before its upstream";
        if (t.state == task_state::upstream_failed && failed == no_task)
            return name(i) + "is upstream_failed with no failed upstream";
    }
    for (const auto& [i, f] : families_) {
        std::uint32_t open = 0, failed = 0;
        for (auto c : f.children) {
            auto s = status(c);
            open += s != sub::complete;
            failed += s == sub::failed;
            if (parent(c) != i) return name(c) + "has a wrong parent";
        }
        if (open != f.open_children || failed != f.failed_children) return name(i) + "has wrong fan-out counters";
    }
    return std::nullopt;
}

}  // namespace drover::detail
