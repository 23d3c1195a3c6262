#pragma once
/// @file
/// Progress snapshots and the summary of a finished run.

#include <drover/export.hpp>
#include <drover/outcome.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace drover {

/// Counts at one moment of a run. pending counts tasks not yet started (including ready).
struct DROVER_API progress {
    std::size_t total = 0;
    std::size_t pending = 0;
    std::size_t running = 0;
    std::size_t retry_wait = 0;
    std::size_t succeeded = 0;
    std::size_t dead = 0;
    std::size_t skipped = 0;
    std::size_t upstream_failed = 0; ///< not run: a task they come `after` is dead
    std::size_t cancelled = 0;       ///< cancelled one by one (scheduler::cancel_task)
    std::size_t resumed = 0;         ///< succeeded in an earlier run of the journal (in `succeeded`, not run again)
    std::size_t backups = 0;         ///< backup attempts started for stragglers (scheduler_options::speculation)
    std::size_t resumed_dead = 0;    ///< dead in an earlier run of the journal (in `dead`, not run again)
    /// Of `running`: tasks whose process has ended and whose output is being committed. Their
    /// executor slots already run other tasks, so `running - committing` slots are busy.
    std::size_t committing = 0;
    std::uint64_t records = 0;       ///< committed records
    std::uint64_t bad_records = 0;
    duration elapsed{0};

    std::size_t finished() const noexcept { return succeeded + dead + skipped + upstream_failed + cancelled; }
    /// Tasks this run took to an end by running them: succeeded or dead, not resumed ones.
    std::size_t ran() const noexcept {
        return (succeeded - std::min(succeeded, resumed)) + (dead - std::min(dead, resumed_dead));
    }
};

struct DROVER_API task_result {
    std::string id{};
    task_state state = task_state::pending;
    int attempts = 0;
    attempt_outcome last{};          ///< the last attempt (empty when never started)
    bool resumed = false;            ///< succeeded (or dead) in an earlier run of the journal; not run now
};

struct DROVER_API run_summary {
    std::string run_id{};
    progress counts{};               ///< final counts
    bool cancelled = false;          ///< cancel() or a signal stopped the run
    bool halted = false;             ///< dispatching stopped early: the halt policy, or the sink refused commits
    std::string halt_reason{};       ///< why, when halted
    std::filesystem::path run_dir{}; ///< logs, dead letters, bad records of this run
    std::string output{};            ///< where the sink put records
    std::vector<task_result> tasks{};  ///< in submission order

    bool ok() const noexcept {
        return !cancelled && counts.dead == 0 && counts.skipped == 0 && counts.upstream_failed == 0 &&
               counts.succeeded == counts.total;
    }
    /// CLI convention: 0 all succeeded, 1 some failed or halted, 130 cancelled.
    int exit_code() const noexcept { return cancelled ? 130 : (ok() ? 0 : 1); }
};

/// The summary as one JSON object (what `drover run --json` prints and summary.json holds).
DROVER_API std::string to_json(const run_summary& s);

}  // namespace drover
