#pragma once
// What the SSH and Docker executor tests watch while a run goes on: executor messages, host
// events and finished tasks (observer calls come from the run's strand; tests read them from
// their own thread), and a polling wait.
#include <drover/observer.hpp>
#include <drover/scheduler.hpp>
#include <drover/sinks/file.hpp>

#include "scheduler/fixture.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace drover::test {

inline bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

struct fleet_watch final : drover::observer {
    mutable std::mutex mu;
    std::vector<std::string> messages;
    std::vector<std::pair<std::string, drover::host_state>> host_events;  // "spec" or "spec left"
    std::atomic<int> finished{0};                                         // attempts that succeeded
    std::function<void(std::string_view)> hook;                           // called with each message

    void on_executor_event(std::string_view, std::string_view m) override {
        std::lock_guard lk(mu);
        messages.emplace_back(m);
        if (hook) hook(m);
    }
    void on_host_changed(std::string_view, const drover::host_info& h, bool left) override {
        std::lock_guard lk(mu);
        host_events.emplace_back(h.spec + (left ? " left" : ""), h.state);
    }
    void on_task_finished(const drover::task_spec&, const drover::attempt_outcome& o, drover::task_state) override {
        if (o.ok()) ++finished;
    }
    std::vector<std::string> snapshot() const {
        std::lock_guard lk(mu);
        return messages;
    }
    std::string all() const {
        std::string s;
        for (auto& m : snapshot()) s += m + "\n";
        return s;
    }
    bool any(const std::string& a, const std::string& b) const {
        for (auto& m : snapshot())
            if (contains(m, a) && contains(m, b)) return true;
        return false;
    }
    std::size_t count(const std::string& a) const {
        auto m = snapshot();
        return static_cast<std::size_t>(std::count_if(m.begin(), m.end(), [&](auto& x) { return contains(x, a); }));
    }
    bool was(const std::string& spec, drover::host_state s) const {
        std::lock_guard lk(mu);
        return std::any_of(host_events.begin(), host_events.end(),
                           [&](auto& e) { return e.first == spec && e.second == s; });
    }
};

/// Polls `p` every 20 ms; false when it is still false after `limit`.
template <class Pred>
bool wait_for(Pred p, std::chrono::seconds limit = std::chrono::seconds(60)) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (!p()) {
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

/// Attempts started on `host` (by spec) in the executor's life.
template <class Executor>
std::size_t started_on(const Executor& ex, const std::string& host) {
    std::size_t n = 0;
    for (auto& [h, k] : ex.attempts_per_host())
        if (h == host) n += k;
    return n;
}

/// A scheduler (no journal) in a scratch directory whose only executor is a host-pool
/// executor, with a file sink, an event log and a fleet_watch; keeps the executor so tests
/// can ask it for per-host counts and failures.
template <class Executor>
struct pool_run {
    temp_dir dir;
    fs::path out = dir / "out";
    event_log events;
    fleet_watch hosts;
    std::shared_ptr<Executor> ex;

    template <class Options>
    drover::scheduler make(Options o) {
        drover::scheduler s({.state_dir = dir / "state", .seed = 42});
        ex = std::make_shared<Executor>(std::move(o));
        s.add_executor(std::shared_ptr<drover::executor>(ex));
        s.set_sink(drover::file_sink({.root = out, .fsync = false}));
        s.add_observer(events);
        s.add_observer(hosts);
        return s;
    }
    std::vector<std::string> output_records() const { return read_records(out); }
    /// Attempts started on `host`; fails the test when the executor has no such host.
    std::size_t attempts_on(const std::string& host) const {
        for (auto& [h, n] : ex->attempts_per_host())
            if (h == host) return n;
        FAIL("no host " << host << " in attempts_per_host()");
        return 0;
    }
};

/// A journaled scheduler in a scratch directory whose only executor is a fleet executor,
/// with a file sink and a fleet_watch; `list` replaces a host list file atomically.
template <class Executor>
struct fleet_run {
    temp_dir dir;
    fs::path out = dir / "out";
    fleet_watch w;
    std::shared_ptr<Executor> ex;

    template <class Options>
    drover::scheduler make(Options o) {
        drover::scheduler_options so{.state_dir = dir / "state", .seed = 7};
        so.journal.enabled = true;
        drover::scheduler s(so);
        ex = std::make_shared<Executor>(std::move(o));
        s.add_executor(std::shared_ptr<drover::executor>(ex));
        s.set_sink(drover::file_sink({.root = out, .fsync = false}));
        s.add_observer(w);
        return s;
    }
    void list(const fs::path& file, const std::vector<std::string>& hosts) const {
        std::string text = "# the fleet, as a spot-fleet script would write it\n";
        for (auto& h : hosts) text += h + "\n";
        write_file(dir / "list.tmp", text);
        fs::rename(dir / "list.tmp", file);
    }
    std::size_t running_on(const std::string& host) const {
        for (auto& h : ex->hosts())
            if (h.spec == host) return h.running;
        return 0;
    }
};

/// Every task's state, attempts, last failure and stderr tail (for failure messages).
inline std::string dump(const drover::run_summary& sum) {
    std::string s;
    for (auto& t : sum.tasks) {
        s += t.id + ": " + std::string(drover::to_string(t.state)) + " after " + std::to_string(t.attempts) +
             " attempts: " + std::string(drover::to_string(t.last.failure)) + ": " + t.last.message;
        for (auto& l : t.last.stderr_tail) s += "\n    | " + l;
        s += "\n";
        if (s.size() > 4000) break;
    }
    return s;
}

/// n tasks printing {"i":N} after `sleep`; the records they print, sorted.
inline std::vector<std::string> submit_numbered(drover::scheduler& s, int n, const std::string& sleep) {
    std::vector<std::string> expected;
    for (int i = 0; i < n; ++i) {
        auto rec = "{\"i\":" + std::to_string(i) + "}";
        s.submit(sh("t-" + std::to_string(i), "sleep " + sleep + "; echo '" + rec + "'"));
        expected.push_back(rec);
    }
    std::sort(expected.begin(), expected.end());
    return expected;
}

}  // namespace drover::test
