#pragma once
/// @file
/// A long-running service over a directory of job files (`drover serve`, docs/service.md):
/// it runs their schedules, starts runs on request (with parameters), passes control
/// requests to running runs, resumes runs that a stop or a crash interrupted, and serves an
/// HTTP API with Prometheus metrics.

#include <drover/error.hpp>
#include <drover/executors/host_pool.hpp>
#include <drover/export.hpp>
#include <drover/shared_pool.hpp>
#include <drover/kinds.hpp>
#include <drover/summary.hpp>
#include <drover/task.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace drover {

struct DROVER_API service_options {
    /// Every `*.toml` file here is a job; its file name without `.toml` is the job's key (in
    /// URLs and metrics): letters, digits, '.', '_' and '-' only, other files are ignored.
    std::filesystem::path jobs_dir{};
    /// `<state_dir>/<key>/` is each job's state directory (journal, runs, default output);
    /// a job file's own `state_dir` is not used.
    std::filesystem::path state_dir{};
    /// "host:port" of the HTTP API and /metrics ("[::1]:8080" for IPv6); port 0 takes a free
    /// port (see service::port()). Empty: no HTTP. Listening on an address that is not a
    /// loopback address needs a tokens file.
    std::string listen = "127.0.0.1:8080";
    /// Bearer tokens, one per line: "admin TOKEN" or "read TOKEN" (at least 16 characters;
    /// '#' starts a comment line). Without a file, reading endpoints answer anyone on the
    /// listening address and changing ones are refused (403).
    std::filesystem::path tokens_file{};
    /// How often jobs_dir is looked at for added, changed and removed files.
    std::chrono::milliseconds reload_interval{2000};
    /// HTTPS instead of HTTP: a PEM certificate chain and its private key (both or neither;
    /// TLS 1.2 at least). Read at start().
    std::filesystem::path tls_cert_file{};
    std::filesystem::path tls_key_file{};
    /// Requests per second one client address may make (bursts of twice as many); more get
    /// 429 with Retry-After. 0 = no limit. Behind a proxy every client is the proxy's address.
    double rate_limit = 0;
    std::size_t max_body_bytes = 1 << 20;  ///< larger request bodies get 413
    std::size_t max_connections = 256;     ///< more are refused (503) until some close
    /// Pools shared by every job (name -> places; Airflow's pools): a task whose `pool` names
    /// one runs only while a place is free, whichever job it is in. A job file's tasks may
    /// name these pools without declaring them in its [pools] (which would add a limit of
    /// the job's own). Names: letters, digits, '.', '_' and '-'.
    std::map<std::string, std::size_t> pools{};
    /// The executor and sink kinds job files may use (default: the built-in kinds).
    drover::kinds kinds{};
    /// Messages ("news: run 20261130T... started"): from any of the service's threads.
    std::function<void(std::string_view)> log{};
};

/// One job file as the service sees it.
struct DROVER_API service_job {
    std::string key{};                   ///< the file name without .toml
    std::filesystem::path file{};
    std::filesystem::path state_dir{};
    std::string name{};                  ///< the job's `name` (empty when the file does not load)
    std::string error{};                 ///< why the file does not load ("file:line:column: key: ..."); empty = loads
    std::size_t tasks = 0;               ///< tasks the file expands to without parameters
    std::string schedule{};              ///< cron expression; empty = none
    std::string timezone{};
    std::optional<std::int64_t> next_fire_ms{};  ///< the next tick, Unix milliseconds
    std::string run_id{};                ///< the run going now; empty = none
    /// How the run going now was started: "trigger", "schedule" or "resume".
    std::string run_reason{};
    std::map<std::string, std::vector<std::string>> run_params{};  ///< its parameters
    progress counts{};                   ///< of the run going now, or the last one in this process
    std::string last_run_id{};           ///< the last run this process ran of the job
    std::string last_result{};           ///< succeeded, failed, cancelled, halted, error: ...
};

/// A host of a fleet executor (ssh, docker) of a job's running run.
struct DROVER_API service_host {
    std::size_t executor = 0;  ///< the executor's position in the job file's [[executors]]
    std::string kind{};        ///< its kind: "ssh", "docker"
    host_info host{};
};

/// A pool shared by the service's jobs (service_options::pools).
struct DROVER_API service_pool {
    std::string name{};
    std::size_t limit = 0;
    std::size_t in_use = 0;  ///< attempts running in it now, over every job
    std::size_t waiting = 0; ///< jobs waiting in line for a place now (first come, first served)
};

/// Something that happened in a job's runs (service::task_events): a run started or ended, an
/// attempt of a task started, or a task's state changed (an attempt ended, or a request or the
/// run's rules moved it: cancelled, upstream_failed, marked succeeded).
struct DROVER_API service_task_event {
    std::uint64_t seq = 0;     ///< 1, 2, ... per job, over the service's life
    std::int64_t time_ms = 0;  ///< Unix milliseconds
    std::string run_id{};
    /// "run_started", "run_finished", "task_started" (an attempt began) or "task_state".
    std::string kind{};
    std::string task{};  ///< the task's id (task_started, task_state)
    /// task_started: "running"; task_state: the task's new state (succeeded, retry_wait, dead,
    /// cancelled, upstream_failed, ...); run_finished: succeeded, failed, cancelled or halted.
    std::string state{};
    int attempt = 0;             ///< the attempt (task events; 0: none ran)
    std::string executor{};      ///< where the attempt runs or ran
    std::string failure{};       ///< task_state: the attempt's failure class ("none": it succeeded)
    int exit_code = -1;          ///< task_state: when the process exited
    std::int64_t elapsed_ms = 0; ///< task_state: how long the attempt ran
    std::uint64_t records = 0;   ///< task_state: records the attempt printed
    /// task_state, run_finished: why ("exit code 3", a halt's reason), secrets redacted.
    std::string message{};
    std::size_t tasks = 0;  ///< run_started, run_finished: tasks in the run
};

/// What service::task_events answers.
struct DROVER_API service_task_events {
    std::vector<service_task_event> events{};  ///< oldest first
    /// Events after the number asked for that are no longer kept (the service keeps the
    /// newest 10,000 of each job): a reader that fell behind learns how many it missed.
    std::uint64_t lost = 0;
    std::uint64_t last_seq = 0;  ///< the newest event's number (0: none yet)
};

/// How service::trigger starts a run.
struct DROVER_API trigger_options {
    /// As job_load_options::params: a name in a task's `params` takes one value, a `foreach`
    /// variable the list of values it takes instead.
    std::map<std::string, std::vector<std::string>> params{};
    bool fresh = false;       ///< forget the journal's task states (journal_options::fresh)
    bool retry_dead = false;  ///< run dead and cancelled tasks again (journal_options::retry_dead)
};

/// Where a text given to service::redact was cut out of a longer one: at its `front` (the tail
/// of a log), at its `back` (a log still being written). A secret cut there shows only a part,
/// which is redacted too.
struct redact_cuts {
    bool front = false;
    bool back = false;
};

/// Hosts the jobs of a directory. Thread-safe: every member may be called from any thread.
///
/// A job runs at most one run at a time (its journal is locked by the run). A run started
/// with parameters is resumed with the same parameters: after stop(), a crash or `kill -9`,
/// start() continues every run that did not end, without running its finished tasks again.
/// A schedule's ticks are not caught up: the first tick is the first one after start().
///
/// @code
/// drover::service svc({.jobs_dir = "jobs", .state_dir = "state", .listen = "127.0.0.1:0"});
/// svc.start();
/// auto run = svc.trigger("news", {.params = {{"date", {"2018-01-06"}}}});
/// svc.wait();  // until stop()
/// @endcode
class DROVER_API service {
public:
    explicit service(service_options o);
    /// stop().
    ~service();
    service(const service&) = delete;
    service& operator=(const service&) = delete;

    /// Loads the job files, resumes the runs that did not end, arms the schedules and opens
    /// the HTTP listener, on threads of its own. Throws config_error: jobs_dir missing, an
    /// address it cannot listen on, a bad tokens file. A job file that does not load is not an
    /// error: it is listed with its error, and loaded again when it changes.
    void start();
    /// Closes the listener, disarms the schedules and cancels the runs going (their tasks
    /// are killed); those runs are resumed by the next start(). Waits until they ended.
    void stop();
    /// Blocks until stop() was called and has finished.
    void wait();

    /// The port the HTTP API listens on (after start(); 0 without HTTP).
    std::uint16_t port() const;

    /// Every job file, in key order.
    std::vector<service_job> jobs() const;
    /// Throws not_found_error for an unknown key.
    service_job job(std::string_view key) const;

    /// Starts a run of the job now; returns its run id once the run has opened its journal.
    /// Throws not_found_error (no such job), conflict_error (a run of it is going), and
    /// config_error (the file does not load, a bad parameter, a run that cannot start).
    std::string trigger(std::string_view key, const trigger_options& o = {});
    /// Cancels the job's run. Returns false when none is going. Throws not_found_error.
    bool cancel(std::string_view key);
    /// scheduler::cancel_task / retry_task on the job's run. Throw not_found_error for an
    /// unknown job or task, conflict_error when no run of the job is going.
    bool cancel_task(std::string_view key, std::string_view task);
    bool retry_task(std::string_view key, std::string_view task);
    /// scheduler::mark_succeeded on the job's run. Throws like cancel_task.
    bool mark_succeeded(std::string_view key, std::string_view task);
    /// scheduler::submit_many on the job's run (all or none). Throws like cancel_task, and
    /// config_error for a bad task.
    void submit(std::string_view key, std::vector<task_spec> tasks);
    /// The `[defaults]` of the job's running run: what tasks given as JSON start from.
    task_spec task_defaults(std::string_view key) const;

    /// The hosts of the fleet executors of the job's running run (empty without a run).
    /// Throws not_found_error for an unknown job.
    std::vector<service_host> hosts(std::string_view key) const;
    /// Adds a host to a fleet executor of the job's running run (probed first, then it takes
    /// attempts; it is not written to the job file: the next run starts with the file's
    /// hosts). `executor`: its position in [[executors]], needed when the job has several
    /// fleet executors. Throws conflict_error without a run, config_error for a malformed host
    /// or a job without a fleet executor.
    void add_host(std::string_view key, std::string_view spec, std::optional<std::size_t> executor = std::nullopt);
    /// The host takes no new attempts and leaves when its running ones end; `remove`: it
    /// leaves now and its running attempts go back to the queue without spending retries.
    /// Throws conflict_error without a run, not_found_error for a host no executor has.
    void drain_host(std::string_view key, std::string_view spec, bool remove = false);

    /// `text` (a task's stderr, a message) with the values of the job's secret env variables
    /// replaced by "[redacted]": what the HTTP API does to everything it shows of a task.
    /// Throws not_found_error for an unknown job.
    std::string redact(std::string_view key, std::string text, redact_cuts cuts = {}) const;

    /// The job's events numbered after `after` (0: from the oldest kept), at most `max`,
    /// oldest first; their messages have the job's secrets redacted. Read again with the last
    /// `seq` seen to follow the job. Throws not_found_error for an unknown job.
    service_task_events task_events(std::string_view key, std::uint64_t after = 0, std::size_t max = 1000) const;

    /// The shared pools, in name order.
    std::vector<service_pool> pools() const;

    /// Looks at jobs_dir now (it is also looked at every reload_interval).
    void reload();

    /// The Prometheus text exposition of every job's metrics (what GET /metrics answers).
    std::string metrics() const;

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

}  // namespace drover
