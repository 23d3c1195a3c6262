#pragma once
/// @file
/// Job files (TOML): executors, sink, defaults and tasks. See docs/job-files.md.

#include <drover/executors/docker.hpp>
#include <drover/executors/local.hpp>
#include <drover/executors/ssh.hpp>
#include <drover/scheduler.hpp>
#include <drover/sinks/file.hpp>
#include <drover/sinks/s3.hpp>
#include <drover/task.hpp>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace drover {

/// One `[[executors]]` entry.
struct executor_config {
    std::string kind = "local";     ///< "local", "ssh" or "docker"
    local_executor_options local;   ///< when kind == "local"
    ssh_executor_options ssh;       ///< when kind == "ssh"
    docker_executor_options docker; ///< when kind == "docker"
};

/// The `[sink]` table.
struct sink_config {
    std::string kind = "file";
    file_sink_options file;
    s3_sink_options s3;   ///< when kind == "s3"
};

/// Top-level `schedule`, `timezone` and `overlap`: `drover run` becomes a service.
struct schedule_config {
    std::string cron;              ///< 5-field cron expression or @hourly-style shorthand
    std::string timezone;          ///< TZ database name; empty = the machine's local zone
    std::string overlap = "skip";  ///< "skip" or "queue": a tick during a run (docs/workflows.md)
};

/// The `[on_failure]` table: alerts when a task is dead-lettered or a run ends with failures.
struct alert_config {
    std::vector<std::string> command;  ///< run with the JSON payload on stdin; empty = none
    std::string webhook;               ///< http(s)://host[:port]/path, POSTed the payload; empty = none
    /// For each command and request, and for the whole wait for alerts after a run.
    duration timeout{10'000};
};

/// A parsed, validated job with its tasks expanded (foreach) and templated.
struct job {
    std::string name;
    std::filesystem::path source;                     ///< the file it came from
    scheduler_options options;                        ///< state_dir, halt, pools
    std::vector<executor_config> executors;           ///< never empty after parsing
    std::optional<sink_config> sink;                  ///< unset = scheduler default
    std::vector<task_spec> tasks;
    std::optional<schedule_config> schedule;          ///< unset = run once
    std::optional<alert_config> on_failure;           ///< unset = no alerts
};

/// Reads and validates a job file. Throws config_error ("file:line:column: key: problem").
job load_job(const std::filesystem::path& file);

/// Same, from text; `source_name` is used in error messages.
job parse_job(std::string_view toml_text, const std::string& source_name);

/// A scheduler set up with the job's options, executors, sink and tasks.
scheduler make_scheduler(const job& j);

/// Parses durations like "250ms", "30s", "5m", "1h", "1h30m", "2d". Throws config_error.
duration parse_duration(std::string_view text);

/// Formats a duration the way parse_duration reads it ("1m30s", "250ms").
std::string format_duration(duration d);

}  // namespace drover
