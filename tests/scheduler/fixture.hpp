#pragma once
// A scheduler in a scratch directory with a file sink, plus an observer that records
// what happened and when.

#include <drover/drover.hpp>

#include <doctest/doctest.h>

#include "support/support.hpp"

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace drover::test {

struct event_log final : observer {
    using clock = std::chrono::steady_clock;
    struct finished {
        std::string id;
        attempt_outcome outcome;
        task_state next;
        clock::time_point at;
    };
    std::size_t queued = 0;
    std::vector<std::pair<std::string, clock::time_point>> started;
    std::vector<finished> done;
    std::vector<progress> progress_seen;
    bool run_finished = false;
    // For other threads while the run goes (the fields above are for after the run).
    mutable std::mutex mutex;
    bool running = false;

    void on_run_started(const progress&) override {
        std::lock_guard lock(mutex);
        running = true;
    }
    void on_task_queued(const task_spec&) override { ++queued; }
    void on_task_started(const task_spec& t, int, std::string_view) override {
        std::lock_guard lock(mutex);
        started.emplace_back(t.id, clock::now());
    }
    void on_task_finished(const task_spec& t, const attempt_outcome& o, task_state next) override {
        std::lock_guard lock(mutex);
        done.push_back({t.id, o, next, clock::now()});
    }
    void on_progress(const progress& p) override { progress_seen.push_back(p); }
    void on_run_finished(const run_summary&) override { run_finished = true; }

    /// Thread-safe, while the run goes.
    bool is_running() const {
        std::lock_guard lock(mutex);
        return running;
    }
    std::size_t started_count() const {
        std::lock_guard lock(mutex);
        return started.size();
    }
    bool has_finished(const std::string& id, std::optional<task_state> next = std::nullopt) const {
        std::lock_guard lock(mutex);
        for (auto& f : done)
            if (f.id == id && (!next || f.next == *next)) return true;
        return false;
    }

    clock::time_point finished_at(const std::string& id) const {
        for (auto& f : done)
            if (f.id == id) return f.at;
        return {};
    }
    std::vector<clock::time_point> starts_of(const std::string& id) const {
        std::vector<clock::time_point> out;
        for (auto& [i, at] : started)
            if (i == id) out.push_back(at);
        return out;
    }
};

struct sched_fixture {
    temp_dir dir;
    fs::path out = dir / "out";
    event_log events;

    scheduler make(std::size_t slots, scheduler_options o = {}, file_sink_options so = {}) {
        o.state_dir = dir / "state";
        if (!o.seed) o.seed = 42;
        scheduler s(std::move(o));
        s.add_executor(local_executor{{.slots = slots, .kill_grace = std::chrono::milliseconds(500)}});
        so.root = out;
        so.fsync = false;
        s.set_sink(file_sink(so));
        s.add_observer(events);
        return s;
    }

    /// All records in the output, one string per line, sorted.
    std::vector<std::string> output_records() const { return read_records(out); }
};

/// The summary's entry for task `id` (fails the test when there is none).
inline const task_result& result(const run_summary& s, const std::string& id) {
    for (auto& t : s.tasks)
        if (t.id == id) return t;
    FAIL("no task " << id);
    throw 0;
}

inline task_spec sh(std::string id, std::string script) {
    return task_spec{.id = std::move(id), .command = {"sh", "-c", std::move(script)}};
}

}  // namespace drover::test
