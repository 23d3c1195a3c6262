#pragma once
// What the SSH and Docker executor tests watch while a run goes on: executor messages, host
// events and finished tasks (observer calls come from the run's strand; tests read them from
// their own thread), and a polling wait.
#include <drover/observer.hpp>

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

}  // namespace drover::test
