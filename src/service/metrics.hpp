#pragma once
// What `drover serve` exposes at /metrics: one job's counters, kept by an observer of its
// runs, and the Prometheus text exposition format (version 0.0.4) for all jobs.
//
// Names follow Prometheus conventions: the drover_ prefix, base units (seconds), _total for
// counters. Labels are bounded: job keys, task states, failure classes, executor names and
// host states; never task ids or run ids. The job's key is the label `drover_job`: Prometheus
// keeps `job` for its scrape job.

#include <drover/observer.hpp>
#include <drover/service.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace drover::detail {

/// A Prometheus histogram: counts per upper bound (cumulative), their count and sum.
struct histogram {
    std::vector<double> bounds;          ///< upper bounds, ascending (+Inf is implied)
    std::vector<std::uint64_t> counts{};  ///< per bound, cumulative
    std::uint64_t count = 0;
    double sum = 0;
    explicit histogram(std::vector<double> b) : bounds(std::move(b)), counts(bounds.size(), 0) {}
    void observe(double v) {
        for (std::size_t i = 0; i < bounds.size(); ++i)
            if (v <= bounds[i]) ++counts[i];
        ++count;
        sum += v;
    }
};

/// Counters of one job over the service's life. The observer's hooks come from the run's
/// strand; snapshot() from any thread.
class job_metrics final : public observer {
public:

    struct values {
        progress tasks{};                   ///< the run going now, or the last one
        bool run_active = false;
        double run_started_s = 0;           ///< Unix time of the current/last run's start
        std::uint64_t attempts_started = 0;
        std::map<std::string, std::uint64_t> attempts_finished;  ///< outcome -> count
        /// How long attempts ran, seconds.
        histogram durations{{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600}};
        /// How long the sink took to publish a successful attempt's output, seconds.
        histogram commits{{0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60}};
        /// How long task transitions waited for the journal's group commit, seconds.
        histogram journal_lag{{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10}};
        std::uint64_t sink_bytes = 0;       ///< published by the sink (compressed), over all runs
        std::uint64_t records = 0;          ///< committed, over all runs
        std::uint64_t bad_records = 0;
        std::uint64_t backups = 0;
        std::map<std::string, std::uint64_t> runs;  ///< how a run ended -> count
        std::uint64_t executor_events = 0;
        /// (executor, host) -> state, for fleet executors' hosts.
        std::map<std::pair<std::string, std::string>, std::string> hosts;
    };

    void on_run_started(const progress& p) override;
    void on_task_started(const task_spec&, int attempt, std::string_view executor) override;
    void on_task_finished(const task_spec&, const attempt_outcome& o, task_state next) override;
    void on_executor_event(std::string_view executor, std::string_view message) override;
    void on_host_changed(std::string_view executor, const host_info& h, bool left) override;
    void on_output_committed(const task_spec&, const committed_output& out, duration commit_time) override;
    void on_journal_committed(std::size_t changes, duration lag) override;
    void on_progress(const progress& p) override;
    void on_run_finished(const run_summary& s) override;

    values snapshot() const;

private:
    mutable std::mutex mutex_;
    values v_;
    std::uint64_t records_before_ = 0;  // of earlier runs
    std::uint64_t bad_before_ = 0;
    std::uint64_t backups_before_ = 0;
};

/// One job as /metrics shows it.
struct job_metrics_view {
    std::string job;                       ///< the job's key
    bool loaded = true;                    ///< false: its file does not load
    std::optional<double> next_fire_s{};   ///< next cron tick, Unix time
    std::size_t slots = 0;                 ///< executor slots of the running run (0: none going)
    job_metrics::values v{};
};

/// The Prometheus text exposition of these jobs (each family with HELP and TYPE once).
std::string prometheus_text(const std::vector<job_metrics_view>& jobs, const std::vector<service_pool>& pools = {});

/// A label value escaped for the text format (backslash, double quote, newline).
std::string prometheus_label(std::string_view v);

}  // namespace drover::detail
