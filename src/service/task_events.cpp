#include "service/task_events.hpp"

#include <drover/outcome.hpp>
#include <drover/summary.hpp>

#include "detail/utf8.hpp"
#include "detail/unix_time.hpp"

#include <algorithm>
#include <chrono>

namespace drover::detail {

task_event_log::task_event_log(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {}

void task_event_log::begin_run(std::string run_id) {
    std::lock_guard lock(mutex_);
    run_id_ = std::move(run_id);
}

void task_event_log::add(service_task_event e) {
    e.time_ms = unix_now_ms();
    std::lock_guard lock(mutex_);
    e.seq = ++seq_;
    e.run_id = run_id_;
    if (ring_.size() == capacity_) ring_.pop_front();
    ring_.push_back(std::move(e));
}

service_task_events task_event_log::read(std::uint64_t after, std::size_t max) const {
    service_task_events out;
    std::lock_guard lock(mutex_);
    out.last_seq = seq_;
    if (after > seq_) after = 0;  // a number from before the service restarted: from the oldest
    if (ring_.empty() || after == seq_) return out;
    std::uint64_t first = ring_.front().seq;  // the ring holds first .. seq_, one after another
    if (after + 1 < first) out.lost = first - after - 1;
    std::size_t from = after + 1 < first ? 0 : static_cast<std::size_t>(after + 1 - first);
    std::size_t n = std::min(max, ring_.size() - from);
    out.events.assign(ring_.begin() + static_cast<std::ptrdiff_t>(from),
                      ring_.begin() + static_cast<std::ptrdiff_t>(from + n));
    return out;
}

std::uint64_t task_event_log::last_seq() const {
    std::lock_guard lock(mutex_);
    return seq_;
}

void task_event_log::on_run_started(const progress& p) {
    service_task_event e;
    e.kind = "run_started";
    e.tasks = p.total;
    add(std::move(e));
}

void task_event_log::on_task_started(const task_spec& t, int attempt, std::string_view executor) {
    service_task_event e;
    e.kind = "task_started";
    e.task = t.id;
    e.state = "running";
    e.attempt = attempt;
    e.executor = std::string(executor);
    add(std::move(e));
}

void task_event_log::on_task_finished(const task_spec& t, const attempt_outcome& o, task_state next) {
    service_task_event e;
    e.kind = "task_state";
    e.task = t.id;
    e.state = std::string(to_string(next));
    e.attempt = o.attempt;
    e.executor = o.executor;
    e.failure = std::string(to_string(o.failure));
    e.exit_code = o.exit_code;
    e.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(o.elapsed).count();
    e.records = o.records;
    e.message = o.message;
    add(std::move(e));
}

void task_event_log::on_run_finished(const run_summary& s) {
    service_task_event e;
    e.kind = "run_finished";
    e.state = s.cancelled ? "cancelled" : s.halted ? "halted" : s.ok() ? "succeeded" : "failed";
    e.message = s.halt_reason;
    e.tasks = s.counts.total;
    add(std::move(e));
}

boost::json::object task_event_json(const service_task_event& e) {
    boost::json::object o{{"seq", e.seq}, {"time_ms", e.time_ms}, {"run_id", e.run_id}, {"kind", e.kind}};
    if (e.kind == "run_started" || e.kind == "run_finished") {
        o["tasks"] = e.tasks;
        if (e.kind == "run_finished") {
            o["state"] = e.state;
            if (!e.message.empty()) o["message"] = repair_utf8(e.message);
        }
        return o;
    }
    o["task"] = repair_utf8(e.task);  // any bytes a task printed or was named: valid UTF-8 in JSON
    o["state"] = e.state;
    o["attempt"] = e.attempt;
    if (!e.executor.empty()) o["executor"] = e.executor;
    if (e.kind == "task_state") {
        o["failure"] = e.failure;
        if (e.exit_code >= 0) o["exit_code"] = e.exit_code;
        o["elapsed_ms"] = e.elapsed_ms;
        o["records"] = e.records;
        if (!e.message.empty()) o["message"] = repair_utf8(e.message);
    }
    return o;
}

}  // namespace drover::detail
