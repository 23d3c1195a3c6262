#pragma once
// Drives the run state machine (src/scheduler/run_machine.hpp) without processes, sockets or
// timers: a driver that records every action as text, and helpers to script events by task id.

#include <doctest/doctest.h>

#include "scheduler/run_machine.hpp"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace drover::test {

using detail::new_task;
using detail::run_machine;

struct script_driver final : detail::run_driver {
    const detail::task_store& store;
    std::vector<std::string> log;                  // every action, in order
    std::map<std::size_t, bool> refuse;            // group -> can_accept() false
    std::map<std::size_t, std::string> gave_up;    // group -> group_failed()
    bool allow_finish = true;
    int finishes = 0;
    struct launched {
        std::uint32_t task;
        int attempt;
        std::uint32_t slot;
        std::size_t group;
    };
    std::vector<launched> running;  // launched, not yet done
    std::map<std::uint32_t, duration> armed;
    std::set<std::uint32_t> kills;
    std::set<std::pair<std::uint32_t, int>> kills_of;  // (task, attempt)
    std::set<std::uint32_t> backed_up;                 // tasks that had two attempts at once: kills name the attempt
    std::map<std::uint32_t, int> final_states;   // task -> times it reached a final state
    std::map<std::uint32_t, int> dead_letters;
    std::map<std::string, int> shared_free;  // shared pool -> places free (acquire_shared takes one)

    explicit script_driver(const detail::task_store& s) : store(s) {}
    std::string id(std::uint32_t i) const { return std::string(store.id(i)); }
    static bool is_final(task_state s) {
        return s == task_state::succeeded || s == task_state::dead || s == task_state::upstream_failed ||
               s == task_state::cancelled || s == task_state::skipped;
    }

    bool can_accept(std::size_t g) override { return !refuse[g]; }
    std::optional<std::string> group_failed(std::size_t g) override {
        if (auto it = gave_up.find(g); it != gave_up.end()) return it->second;
        return std::nullopt;
    }
    bool may_finish() override { return allow_finish; }
    void queued(std::uint32_t t) override { log.push_back("queued " + id(t)); }
    void launch(std::uint32_t t, std::size_t g, int attempt, std::uint32_t slot) override {
        log.push_back("launch " + id(t) + "#" + std::to_string(attempt) + "@" + std::to_string(g));
        if (is_running(t)) backed_up.insert(t);
        running.push_back({t, attempt, slot, g});
    }
    void kill(std::uint32_t t, std::uint32_t slot) override {
        std::string line = "kill " + id(t);
        for (auto& r : running)
            if (r.slot == slot && r.task == t) {
                kills_of.insert({t, r.attempt});
                if (backed_up.count(t)) line += "#" + std::to_string(r.attempt);
            }
        log.push_back(line);
        kills.insert(t);
    }
    void attempt_dropped(std::uint32_t t, const attempt_outcome& o, bool superseded) override {
        log.push_back(std::string(superseded ? "superseded " : "dropped ") + id(t) + "#" + std::to_string(o.attempt) +
                      " " + std::string(to_string(o.failure)));
    }
    void finished(std::uint32_t t, const attempt_outcome& o, task_state next, const committed_output* out,
                  std::span<const std::uint32_t> children) override {
        std::string line = "finished " + id(t) + " " + std::string(to_string(o.failure)) + " -> " +
                           std::string(to_string(next));
        if (out) line += " committed";
        for (auto c : children) line += " +" + id(c);
        log.push_back(line);
        if (is_final(next)) ++final_states[t];
    }
    void state_changed(std::uint32_t t, task_state s, const attempt_outcome& last, bool sweep) override {
        log.push_back(std::string(sweep ? "sweep " : "state ") + id(t) + " " + std::string(to_string(s)) +
                      (last.message.empty() ? "" : ": " + last.message));
        if (is_final(s)) ++final_states[t];
    }
    void arm_retry(std::uint32_t t, duration d) override {
        log.push_back("arm " + id(t));
        armed[t] = d;
    }
    void disarm_retry(std::uint32_t t) override {
        log.push_back("disarm " + id(t));
        armed.erase(t);
    }
    void dead_letter(std::uint32_t t) override {
        log.push_back("dead_letter " + id(t));
        ++dead_letters[t];
    }
    void progress_changed() override {}
    bool acquire_shared(const std::string& pool) override {
        auto& n = shared_free[pool];
        bool ok = n > 0;
        if (ok) --n;
        log.push_back(std::string(ok ? "acquire " : "refused ") + pool);
        return ok;
    }
    void release_shared(const std::string& pool) override {
        ++shared_free[pool];
        log.push_back("release " + pool);
    }
    void finish() override {
        log.push_back("finish");
        ++finishes;
    }

    /// Actions logged since `from`, then `from` moves to the end.
    std::vector<std::string> since(std::size_t& from) const {
        std::vector<std::string> out(log.begin() + static_cast<std::ptrdiff_t>(from), log.end());
        from = log.size();
        return out;
    }
    bool is_running(std::uint32_t t) const {
        for (auto& r : running)
            if (r.task == t) return true;
        return false;
    }
    void forget(std::uint32_t t) {
        std::erase_if(running, [t](auto& r) { return r.task == t; });
    }
    /// The slot of attempt `attempt` of `t` (removed from running), or no_task.
    std::uint32_t take(std::uint32_t t, int attempt) {
        for (auto it = running.begin(); it != running.end(); ++it)
            if (it->task == t && it->attempt == attempt) {
                auto s = it->slot;
                running.erase(it);
                return s;
            }
        return detail::no_task;
    }
};

/// A store, a driver and a machine over them; tasks by id.
struct machine_fixture {
    detail::task_store store;
    script_driver driver{store};
    detail::run_machine_options opts;
    std::unique_ptr<run_machine> m;
    std::size_t seen = 0;  // for next()

    std::uint32_t add(task_spec t) {
        if (t.command.empty()) t.command = {"true"};
        return store.add(t);
    }
    std::uint32_t idx(const std::string& id) const {
        auto i = store.find(id);
        REQUIRE_MESSAGE(i >= 0, "no task " << id);
        return static_cast<std::uint32_t>(i);
    }
    run_machine& make() {
        m = std::make_unique<run_machine>(store, driver, opts);
        return *m;
    }
    void start(std::vector<std::size_t> slots = {1}) {
        if (!m) make();
        m->start(detail::build_task_graph(store), std::move(slots));
        check();
    }
    void check() const {
        auto problem = m->check_invariants();
        CHECK_MESSAGE(!problem, *problem);
    }
    std::string id_of(std::uint32_t i) const { return std::string(store.id(i)); }
    task_state state(const std::string& id) const { return m->state(idx(id)); }
    std::vector<std::string> next() { return driver.since(seen); }

    /// Ends the running attempt of `id` with `f` (none = success).
    void done(const std::string& id, failure_class f = failure_class::none, std::vector<new_task> children = {},
              std::uint64_t records = 1) {
        auto i = idx(id);
        REQUIRE_MESSAGE(driver.is_running(i), id << " is not running");
        driver.forget(i);
        attempt_outcome o;
        o.failure = f;
        if (f != failure_class::none) o.message = std::string(to_string(f));
        committed_output out;
        if (f == failure_class::none) out = {{"out/" + id}, records, 10};
        m->attempt_done(i, o, out, children);
        check();
    }
    /// Ends attempt `attempt` of `id` (one of two twins) with `f` (none = success).
    void done_attempt(const std::string& id, int attempt, failure_class f = failure_class::none,
                      std::uint64_t records = 1) {
        auto slot = driver.take(idx(id), attempt);
        REQUIRE_MESSAGE(slot != detail::no_task, id << "#" << attempt << " is not running");
        attempt_outcome o;
        o.attempt = attempt;
        o.failure = f;
        if (f != failure_class::none) o.message = std::string(to_string(f));
        committed_output out;
        if (f == failure_class::none) out = {{"out/" + id}, records, 10};
        m->attempt_ended(slot, o, out);
        check();
    }
    /// The slot of attempt `attempt` of `id`, still running.
    std::uint32_t slot_of(const std::string& id, int attempt) const {
        for (auto& r : driver.running)
            if (r.task == idx(id) && r.attempt == attempt) return r.slot;
        return detail::no_task;
    }
    /// Adds a child task to the store (as the driver does after the parent's commit).
    new_task child(const std::string& id, std::vector<std::string> after = {}, int retries = 0) {
        auto i = add({.id = id, .retries = retries});
        new_task t{i, {}};
        for (auto& a : after) t.upstream.push_back(idx(a));
        return t;
    }
    void retry_due(const std::string& id) {
        auto i = idx(id);
        REQUIRE(driver.armed.count(i));
        driver.armed.erase(i);
        m->retry_due(i);
        check();
    }
};

}  // namespace drover::test
