#pragma once
/// @file
/// Durable runs: the journal (<state_dir>/journal.db, SQLite in WAL mode) and what
/// `drover status` reads from it. Schema and resume rules: docs/workflows.md.

#include <drover/export.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace drover {

/// Journal and resume settings (scheduler_options::journal).
///
/// With `enabled`, every task, attempt, outcome and committed output is recorded in
/// <state_dir>/journal.db, and a run on a state directory that already has a journal
/// continues it: tasks journaled as succeeded are not run again, dead ones only with
/// `retry_dead`, everything else (pending, running when the last run died, ...) runs.
/// A task is identified by its id alone: a changed command under the same id is still
/// "the same task" (use `fresh` to start over).
struct DROVER_API journal_options {
    bool enabled = false;            ///< off in the library; `drover run` turns it on
    bool retry_dead = false;         ///< run dead and cancelled tasks again on resume (upstream-failed ones always run again)
    bool fresh = false;              ///< forget earlier task states: run every task
    /// Recorded on first use; resuming a state directory of another job is a config_error.
    std::string job_name{};
    /// A transition waits at most this long before its group commit starts.
    std::chrono::milliseconds commit_interval{20};
};

/// What `drover status` shows: the journal's view of a state directory.
struct DROVER_API journal_status {
    std::filesystem::path state_dir{};
    std::string job_name{};
    bool live = false;                          ///< a drover process holds the state directory now
    std::map<std::string, std::size_t> counts{};  ///< task state -> number of tasks (all states listed)
    std::size_t total = 0;

    struct run_info {
        std::string run_id{};
        std::string status{};      ///< running, finished, cancelled, halted, interrupted
        std::int64_t started_ms = 0;
        std::int64_t finished_ms = 0;  ///< 0 while running / when interrupted
    };
    std::optional<run_info> last_run{};
    std::size_t runs = 0;

    struct running_attempt {
        std::string task_id{};
        int attempt = 0;
        std::string run_id{};
        std::string executor{};
        std::int64_t started_ms = 0;
    };
    std::vector<running_attempt> running{};  ///< attempts the journal shows as running

    struct dead_task {
        std::string task_id{};
        std::string state{};   ///< dead, upstream_failed or cancelled
        int attempts = 0;      ///< over all runs
        std::string failure{}; ///< failure class of the last attempt
        std::string message{};
    };
    std::vector<dead_task> dead{};

    /// The hosts of the last run's fleet executors (SSH, Docker) as they last changed; for a
    /// run that ended, as they were at its end. From <run dir>/hosts.json.
    struct host {
        std::string executor{};
        std::string spec{};
        std::string state{};  ///< probing, up, down, rejected, draining
        std::int64_t since_ms = 0;
        std::string reason{};
    };
    std::vector<host> hosts{};
};

/// Reads the journal of `state_dir` (read-only; safe while a run is writing it).
/// Throws drover::error when there is no journal or it cannot be read.
DROVER_API journal_status read_journal_status(const std::filesystem::path& state_dir);

/// The status as one JSON object (`drover status --json`).
DROVER_API std::string to_json(const journal_status& s);

/// The journal file of a state directory.
inline std::filesystem::path journal_path(const std::filesystem::path& state_dir) {
    return state_dir / "journal.db";
}

}  // namespace drover
