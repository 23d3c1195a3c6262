#pragma once
// What happened to a job's tasks, as events (service::task_events, GET /api/v1/jobs/{job}/events):
// an observer of the job's runs keeps the newest ones in a ring, numbered over the service's
// life. The hooks come from the run's strand and only append (no I/O, no client waits); readers
// on any thread copy what is newer than the number they have seen. A reader that fell behind
// the ring is told how many it lost.

#include <drover/observer.hpp>
#include <drover/service.hpp>

#include <boost/json/object.hpp>

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

namespace drover::detail {

class task_event_log final : public observer {
public:
    /// Keeps the newest `capacity` events (at least 1).
    explicit task_event_log(std::size_t capacity = 10'000);

    /// The run the next events belong to. Before the run's thread starts.
    void begin_run(std::string run_id);

    /// Events numbered after `after`, oldest first, at most `max`. A number above the newest
    /// (a reader's from before the service restarted) reads from the oldest kept.
    service_task_events read(std::uint64_t after, std::size_t max) const;
    /// The number of the newest event (0: none yet).
    std::uint64_t last_seq() const;

    void on_run_started(const progress& p) override;
    void on_task_started(const task_spec& t, int attempt, std::string_view executor) override;
    void on_task_finished(const task_spec& t, const attempt_outcome& o, task_state next) override;
    void on_run_finished(const run_summary& s) override;

private:
    void add(service_task_event e);

    const std::size_t capacity_;
    mutable std::mutex mutex_;
    std::deque<service_task_event> ring_;
    std::uint64_t seq_ = 0;
    std::string run_id_;
};

/// An event as JSON (its `message` as given: the caller redacts it).
boost::json::object task_event_json(const service_task_event& e);

}  // namespace drover::detail
