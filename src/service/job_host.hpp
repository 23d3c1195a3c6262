#pragma once
// One job file hosted by drover::service: what the file says (read again when it changes), the
// timer of its schedule, the run going now (on a thread of its own) and its metrics.
//
// A run started here is recorded in <state dir>/service-run.json (why it started, its
// parameters, its tick) until it ends by itself or by a request: one a stop or a crash
// interrupted is continued by resume() with the same parameters.

#include <drover/job_file.hpp>
#include <drover/service.hpp>

#include "cron/cron.hpp"
#include "service/metrics.hpp"
#include "service/task_events.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/system_timer.hpp>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace drover::detail {

class job_host {
public:
    using log_fn = std::function<void(std::string_view)>;

    /// `ex`: where the schedule's timer runs (one thread: load(), arm() and the ticks).
    /// `pools`: the service's shared pools, which the job's tasks may name.
    job_host(std::string key, std::filesystem::path file, std::filesystem::path state_dir, drover::kinds kinds,
             std::vector<std::shared_ptr<shared_pool>> pools, boost::asio::any_io_executor ex, log_fn log);
    /// shutdown().
    ~job_host();
    job_host(const job_host&) = delete;
    job_host& operator=(const job_host&) = delete;

    const std::string& key() const noexcept { return key_; }

    /// Reads the file: name, task count and schedule, or the error; arms the schedule. On
    /// the timer's executor (or before it runs).
    void load();
    /// True when the file is not what load() read (size, modification time, inode).
    bool changed() const;
    /// Continues the run service-run.json records, if there is one.
    void resume();

    service_job info() const;
    /// `text` with the values of the job's secret env variables (those of its tasks and
    /// [defaults], and of the runs started here with parameters) replaced by "[redacted]".
    std::string redact(std::string text, redact_cuts cuts = {}) const;
    job_metrics_view metrics() const;
    /// The job's events after `after` (task_events.hpp), messages redacted.
    service_task_events task_events(std::uint64_t after, std::size_t max) const;

    /// Starts a run; returns its id. `reason`: trigger, schedule or resume.
    std::string trigger(const trigger_options& o, std::string_view reason,
                        std::optional<std::chrono::sys_seconds> tick = std::nullopt);
    bool cancel();
    bool cancel_task(std::string_view task);
    bool retry_task(std::string_view task);
    bool mark_succeeded(std::string_view task);
    /// The hosts of the running run's fleet executors (fleet_control.hpp); empty without a run.
    std::vector<service_host> hosts() const;
    void add_host(std::string_view spec, std::optional<std::size_t> executor);
    void drain_host(std::string_view spec, bool remove);
    void submit(std::vector<task_spec> tasks);
    task_spec task_defaults() const;

    /// Disarms the schedule, cancels the run going and waits for it to end; the run stays
    /// resumable. With the timer's executor stopped (or on it).
    void shutdown();

private:
    struct run;
    struct file_id {
        off_t size = -1;
        std::int64_t mtime_ns = 0;
        ino_t inode = 0;
        bool operator==(const file_id&) const = default;
    };
    static file_id identify(const std::filesystem::path& p);

    void arm();
    void on_tick(std::chrono::sys_seconds tick);
    /// Lets go of the run if it has ended: joins its thread, removes service-run.json and
    /// records its result. From the jobs thread (reap) or a trigger; false without one.
    bool retire_finished();
    /// After a run's end, on the jobs thread: retire_finished(), then a queued tick.
    void reap();
    /// The run going now; throws conflict_error without one. Under mutex_.
    scheduler& running_scheduler() const;
    void log(const std::string& m) const;
    /// The job's secret env values: secrets_ becomes them (`replace`: the file was loaded
    /// again) or gains them (a run with parameters).
    void learn_secrets(const job& j, bool replace);

    const std::string key_;
    const std::filesystem::path file_, state_dir_;
    const drover::kinds kinds_;
    const std::vector<std::shared_ptr<shared_pool>> pools_;
    boost::asio::any_io_executor ex_;
    log_fn log_;
    job_metrics metrics_;
    task_event_log events_;

    // On the timer's executor.
    boost::asio::system_timer timer_;
    std::optional<std::chrono::sys_seconds> queued_tick_;
    std::optional<cron_schedule> cron_;
    std::optional<time_zone> tz_;
    std::string overlap_ = "skip";

    std::mutex retire_mutex_;  // one retire_finished() at a time
    mutable std::mutex mutex_;
    std::condition_variable started_;  // starting_ went back to false
    file_id seen_{};
    service_job info_{};
    std::vector<std::string> secrets_;  // longest first
    bool starting_ = false;
    bool shut_ = false;
    std::unique_ptr<run> run_;
};

}  // namespace drover::detail
