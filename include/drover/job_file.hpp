#pragma once
/// @file
/// Job files (TOML): executors, sink, defaults and tasks. See docs/job-files.md.

#include <drover/duration.hpp>
#include <drover/export.hpp>
#include <drover/kinds.hpp>
#include <drover/scheduler.hpp>
#include <drover/shared_pool.hpp>
#include <drover/task.hpp>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace drover {

/// Top-level `schedule`, `timezone` and `overlap`: `drover run` becomes a service.
struct DROVER_API schedule_config {
    std::string cron{};            ///< 5-field cron expression or @hourly-style shorthand
    std::string timezone{};        ///< TZ database name; empty = the machine's local zone
    std::string overlap = "skip";  ///< "skip" or "queue": a tick during a run (docs/workflows.md)
};

/// The `[on_failure]` table: alerts when a task is dead-lettered or a run ends with failures.
struct DROVER_API alert_config {
    std::vector<std::string> command{};  ///< run with the JSON payload on stdin; empty = none
    std::string webhook{};             ///< http(s)://host[:port]/path, POSTed the payload; empty = none
    /// For each command and request, and for the whole wait for alerts after a run.
    duration timeout{10'000};
};

/// A parsed, validated job with its tasks expanded (foreach) and templated.
struct DROVER_API job {
    std::string name{};
    std::filesystem::path source{};                   ///< the file it came from
    scheduler_options options{};                      ///< state_dir, halt, pools, [defaults], journal (on)
    std::vector<executor_config> executors{};         ///< never empty after parsing
    std::optional<sink_config> sink{};                ///< unset = scheduler default
    std::vector<task_spec> tasks{};
    std::optional<schedule_config> schedule{};        ///< unset = run once
    std::optional<alert_config> on_failure{};         ///< unset = no alerts
    /// The kinds the job was read with; they make its executors and sink (make_scheduler).
    drover::kinds kinds{};
};

/// What a loader changes on the way from the file to the job: `drover run` / `validate`'s
/// `--param`, `--only` and `--no-deps`. The defaults change nothing.
///
/// @code
/// auto j = drover::load_job("news.toml", {.params = {{"date", {"2018-01-06"}}}, .only = {"crawl-*"}});
/// @endcode
struct DROVER_API job_load_options {
    /// Values by name that replace what the file gives, before ids, commands, env and `after`
    /// are expanded. For a name in a task's `params`: exactly one value, taken literally (no
    /// placeholders). For a `foreach` variable: the list of values it takes instead of the
    /// file's list or range (one value or several, in order), each checked like the range it
    /// replaces (a date for a date range, an integer for an integer range). A name may be
    /// both, in different `[[tasks]]` entries. A name that no entry has, a name without
    /// values, and several values for a `params` name are config errors.
    std::map<std::string, std::vector<std::string>> params{};
    /// Globs over task ids (`*`, `?`, `[...]` as in `after`): keep only the tasks that match
    /// one, with every task they come `after`, transitively. Empty = every task. A glob
    /// matching no task is a config error.
    std::vector<std::string> only{};
    /// With `only`: false keeps only the matching tasks (`--no-deps`); their `after` entries
    /// become the ids of the kept tasks they name, the others are dropped.
    bool with_dependencies = true;
    /// The most tasks the job may expand to (`--max-tasks`), instead of the file's
    /// `max_tasks` key or the default, 10,000,000. 0 is a config error.
    std::optional<std::size_t> max_tasks{};
    /// Pools shared with other jobs (a `drover serve`'s `--pool`): a task's `pool` may name
    /// one of these without the file's [pools] declaring it; they go to the job's
    /// scheduler_options::shared_pools.
    std::vector<std::shared_ptr<shared_pool>> shared_pools{};
};

/// Reads and validates a job file. Throws config_error ("file:line:column: key: problem").
/// `k`: the executor and sink kinds it may use (default: the built-in kinds).
DROVER_API job load_job(const std::filesystem::path& file, const drover::kinds& k = {});
/// The same with overrides and a task selection (`o`).
DROVER_API job load_job(const std::filesystem::path& file, const job_load_options& o, const drover::kinds& k = {});

/// Same, from text; `source_name` is used in error messages.
DROVER_API job parse_job(std::string_view toml_text, const std::string& source_name, const drover::kinds& k = {});
DROVER_API job parse_job(std::string_view toml_text, const std::string& source_name, const job_load_options& o,
              const drover::kinds& k = {});

/// A scheduler set up with the job's options, executors and sink (made by `j.kinds`) and
/// tasks. Throws config_error for an executor or sink kind `j.kinds` does not have.
DROVER_API scheduler make_scheduler(const job& j);

/// What write_json adds to a job's description.
struct DROVER_API job_json_options {
    std::size_t next_fires = 5;  ///< how many next fire times of the job's schedule
    /// The fire times listed are the first ones after this instant; unset = now.
    std::optional<std::chrono::sys_seconds> now{};
};

/// The job as one JSON document (`drover validate --json`; docs/job-files.md): its executors
/// with their slots, pools, sink, schedule with its next fire times in the job's time zone,
/// and every task with its argv (`command`, and `command_line` quoted for a POSIX shell), its
/// `after` resolved to task ids, pool, params, env (secrets left out) and the executor
/// kinds' own settings. Tasks are written one by one: a large job is never held as one JSON
/// tree. Throws config_error for `after` entries that do not resolve.
DROVER_API void write_json(std::ostream& out, const job& j, const job_json_options& o = {});
DROVER_API std::string to_json(const job& j, const job_json_options& o = {});

/// argv as one POSIX shell command line: words of letters, digits and `_@%+=:,./-` as they
/// are, others single-quoted (a `'` as `'\''`); a first word that is a reserved word or
/// holds `=` is quoted too, so the line runs the program.
DROVER_API std::string shell_command_line(const std::vector<std::string>& argv);

/// Parses durations like "250ms", "30s", "5m", "1h", "1h30m", "2d". Throws config_error.
DROVER_API duration parse_duration(std::string_view text);

/// Formats a duration the way parse_duration reads it ("1m30s", "250ms").
DROVER_API std::string format_duration(duration d);

}  // namespace drover
