#pragma once
// The service loop behind `drover run` for a job with a schedule: sleep until the next
// tick, run the job, repeat. Clock, sleep and the run itself are hooks, so the rules are
// testable with a fake clock.
//
// Rules (docs/workflows.md):
// - No catch-up: the first tick is the first one after the service starts; ticks missed
//   while it was down, or while the machine slept past them, are not run.
// - Runs never overlap. A tick that comes while a run is in progress is dropped with
//   overlap = skip; with overlap = queue, one run starts as soon as the current one ends
//   (all ticks that came during the run merge into that one queued run).

#include "cron/cron.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>

namespace drover::detail {

enum class overlap_policy { skip, queue };

struct service_hooks {
    std::function<std::chrono::sys_seconds()> now;
    /// Waits until `t` (returns at once for a time in the past); false stops the service.
    std::function<bool(std::chrono::sys_seconds)> sleep_until;
    /// Runs the job once for `tick`; false stops the service.
    std::function<bool(std::chrono::sys_seconds tick)> run;
    std::function<void(const std::string&)> log = [](const std::string&) {};
};

/// Runs until a hook says stop or `max_runs` runs have started. Returns the runs started.
std::size_t run_service(const cron_schedule& schedule, const time_zone& tz, overlap_policy overlap,
                        const service_hooks& hooks, std::optional<std::size_t> max_runs = std::nullopt);

/// "2026-11-22T07:20:00Z".
std::string format_utc(std::chrono::sys_seconds t);

}  // namespace drover::detail
