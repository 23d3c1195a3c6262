#include "service/metrics.hpp"

#include <fmt/format.h>

#include <chrono>

namespace drover::detail {

namespace {

double unix_now() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// "none" is a success; the other classes name why an attempt failed.
std::string outcome_label(const attempt_outcome& o) {
    return o.ok() ? "success" : std::string(to_string(o.failure));
}

}  // namespace

void job_metrics::on_run_started(const progress& p) {
    std::lock_guard lock(mutex_);
    v_.tasks = p;
    v_.run_active = true;
    v_.run_started_s = unix_now();
    v_.hosts.clear();
    records_before_ = v_.records;
    bad_before_ = v_.bad_records;
    backups_before_ = v_.backups;
}

void job_metrics::on_task_started(const task_spec&, int, std::string_view) {
    std::lock_guard lock(mutex_);
    ++v_.attempts_started;
}

void job_metrics::on_task_finished(const task_spec&, const attempt_outcome& o, task_state next) {
    if (o.attempt == 0) return;  // upstream_failed and the like: no attempt ended
    (void)next;
    std::lock_guard lock(mutex_);
    ++v_.attempts_finished[outcome_label(o)];
    v_.durations.observe(std::chrono::duration<double>(o.elapsed).count());
}

void job_metrics::on_output_committed(const task_spec&, const committed_output& out, duration commit_time) {
    std::lock_guard lock(mutex_);
    v_.sink_bytes += out.bytes;
    v_.commits.observe(std::chrono::duration<double>(commit_time).count());
}

void job_metrics::on_journal_committed(std::size_t, duration lag) {
    std::lock_guard lock(mutex_);
    v_.journal_lag.observe(std::chrono::duration<double>(lag).count());
}

void job_metrics::on_executor_event(std::string_view, std::string_view) {
    std::lock_guard lock(mutex_);
    ++v_.executor_events;
}

void job_metrics::on_host_changed(std::string_view executor, const host_info& h, bool left) {
    std::lock_guard lock(mutex_);
    auto key = std::make_pair(std::string(executor), h.spec);
    if (left)
        v_.hosts.erase(key);
    else
        v_.hosts[key] = std::string(to_string(h.state));
}

void job_metrics::on_progress(const progress& p) {
    std::lock_guard lock(mutex_);
    v_.tasks = p;
    v_.records = records_before_ + p.records;
    v_.bad_records = bad_before_ + p.bad_records;
    v_.backups = backups_before_ + p.backups;
}

void job_metrics::on_run_finished(const run_summary& s) {
    std::lock_guard lock(mutex_);
    v_.tasks = s.counts;
    v_.records = records_before_ + s.counts.records;
    v_.bad_records = bad_before_ + s.counts.bad_records;
    v_.backups = backups_before_ + s.counts.backups;
    v_.run_active = false;
    ++v_.runs[s.cancelled ? "cancelled" : s.halted ? "halted" : s.ok() ? "succeeded" : "failed"];
}

job_metrics::values job_metrics::snapshot() const {
    std::lock_guard lock(mutex_);
    return v_;
}

std::string prometheus_label(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (char c : v) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

namespace {

class writer {
public:
    explicit writer(std::string& out) : out_(out) {}
    void family(std::string_view name, std::string_view type, std::string_view help) {
        name_ = name;
        out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
    }
    // `labels` is the inside of the braces, already escaped.
    void sample(std::string_view suffix, const std::string& labels, double v) {
        out_ += fmt::format("{}{}{{{}}} {}\n", name_, suffix, labels, v);
    }
    void histogram(const std::string& labels, const detail::histogram& h) {
        for (std::size_t i = 0; i < h.bounds.size(); ++i)
            sample("_bucket", fmt::format("{},le=\"{}\"", labels, h.bounds[i]), double(h.counts[i]));
        sample("_bucket", fmt::format("{},le=\"+Inf\"", labels), double(h.count));
        sample("_sum", labels, h.sum);
        sample("_count", labels, double(h.count));
    }

private:
    std::string& out_;
    std::string name_;
};

std::string job_label(const job_metrics_view& j) { return fmt::format("drover_job=\"{}\"", prometheus_label(j.job)); }
std::string pool_label(const service_pool& p) { return fmt::format("pool=\"{}\"", prometheus_label(p.name)); }

}  // namespace

std::string prometheus_text(const std::vector<job_metrics_view>& jobs, const std::vector<service_pool>& pools) {
    std::string out;
    writer w(out);
    w.family("drover_job_loaded", "gauge", "1 when the job file loads, 0 when it has an error.");
    for (auto& j : jobs) w.sample("", job_label(j), j.loaded ? 1 : 0);

    w.family("drover_tasks", "gauge", "Tasks of the job's current (or last) run by state.");
    for (auto& j : jobs) {
        const auto& t = j.v.tasks;
        std::pair<const char*, std::size_t> states[] = {
            {"pending", t.pending},     {"running", t.running}, {"retry_wait", t.retry_wait},
            {"succeeded", t.succeeded}, {"dead", t.dead},       {"skipped", t.skipped},
            {"upstream_failed", t.upstream_failed}, {"cancelled", t.cancelled}};
        for (auto& [state, n] : states) w.sample("", fmt::format("{},state=\"{}\"", job_label(j), state), double(n));
    }
    w.family("drover_slots", "gauge", "Executor slots of the job's running run (hosts up times their slots).");
    for (auto& j : jobs)
        if (j.v.run_active) w.sample("", job_label(j), double(j.slots));
    w.family("drover_slots_busy", "gauge", "Slots of the job's running run with an attempt on them.");
    for (auto& j : jobs)
        if (j.v.run_active) w.sample("", job_label(j), double(j.v.tasks.running - std::min(j.v.tasks.running, j.v.tasks.committing)));
    w.family("drover_pool_limit", "gauge", "Places of a pool shared across jobs (drover serve --pool).");
    for (auto& p : pools) w.sample("", pool_label(p), double(p.limit));
    w.family("drover_pool_in_use", "gauge", "Places of a shared pool taken, over every job: by running attempts and by outputs committing.");
    for (auto& p : pools) w.sample("", pool_label(p), double(p.in_use));
    w.family("drover_pool_waiting", "gauge", "Jobs waiting in line for a place of a shared pool.");
    for (auto& p : pools) w.sample("", pool_label(p), double(p.waiting));
    w.family("drover_run_active", "gauge", "1 while a run of the job is going.");
    for (auto& j : jobs) w.sample("", job_label(j), j.v.run_active ? 1 : 0);
    w.family("drover_run_start_timestamp_seconds", "gauge", "When the job's current (or last) run started.");
    for (auto& j : jobs)
        if (j.v.run_started_s > 0) w.sample("", job_label(j), j.v.run_started_s);
    w.family("drover_runs_total", "counter", "Runs ended, by how they ended.");
    for (auto& j : jobs)
        for (auto& [how, n] : j.v.runs) w.sample("", fmt::format("{},result=\"{}\"", job_label(j), how), double(n));

    w.family("drover_attempts_started_total", "counter", "Attempts started.");
    for (auto& j : jobs) w.sample("", job_label(j), double(j.v.attempts_started));
    w.family("drover_attempts_finished_total", "counter", "Attempts ended, by outcome (success or the failure class).");
    for (auto& j : jobs)
        for (auto& [o, n] : j.v.attempts_finished)
            w.sample("", fmt::format("{},outcome=\"{}\"", job_label(j), prometheus_label(o)), double(n));
    w.family("drover_attempt_duration_seconds", "histogram", "How long attempts ran.");
    for (auto& j : jobs) w.histogram(job_label(j), j.v.durations);
    w.family("drover_sink_commit_duration_seconds", "histogram",
             "How long the sink took to publish a successful attempt's output (upload, rename).");
    for (auto& j : jobs) w.histogram(job_label(j), j.v.commits);
    w.family("drover_sink_bytes_total", "counter", "Bytes the job's sink published (compressed).");
    for (auto& j : jobs) w.sample("", job_label(j), double(j.v.sink_bytes));
    w.family("drover_journal_lag_seconds", "histogram",
             "How long task transitions waited for the journal's group commit (the oldest of each commit).");
    for (auto& j : jobs) w.histogram(job_label(j), j.v.journal_lag);
    w.family("drover_backup_attempts_total", "counter", "Backup attempts started for stragglers.");
    for (auto& j : jobs) w.sample("", job_label(j), double(j.v.backups));
    w.family("drover_records_total", "counter", "Records committed to the job's sink.");
    for (auto& j : jobs) w.sample("", job_label(j), double(j.v.records));
    w.family("drover_bad_records_total", "counter", "Output lines that were not records.");
    for (auto& j : jobs) w.sample("", job_label(j), double(j.v.bad_records));
    w.family("drover_executor_events_total", "counter", "Events executors reported (hosts down, ...).");
    for (auto& j : jobs) w.sample("", job_label(j), double(j.v.executor_events));
    w.family("drover_hosts", "gauge", "Hosts of fleet executors (SSH, Docker) by state.");
    for (auto& j : jobs) {
        std::map<std::pair<std::string, std::string>, std::size_t> by_state;
        for (auto& [key, state] : j.v.hosts) ++by_state[{key.first, state}];
        for (auto& [key, n] : by_state)
            w.sample("", fmt::format("{},executor=\"{}\",state=\"{}\"", job_label(j), prometheus_label(key.first),
                                     prometheus_label(key.second)),
                     double(n));
    }
    w.family("drover_cron_next_fire_timestamp_seconds", "gauge", "The next tick of the job's schedule.");
    for (auto& j : jobs)
        if (j.next_fire_s) w.sample("", job_label(j), *j.next_fire_s);
    return out;
}

}  // namespace drover::detail
