#include "cron/service.hpp"

#include <algorithm>
#include <cstdio>

namespace drover::detail {

namespace chr = std::chrono;

std::string format_utc(chr::sys_seconds t) {
    auto days = chr::floor<chr::days>(t);
    chr::year_month_day ymd(days);
    chr::hh_mm_ss hms(t - days);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                  static_cast<int>(hms.seconds().count()));
    return buf;
}

std::size_t run_service(const cron_schedule& schedule, const time_zone& tz, overlap_policy overlap,
                        const service_hooks& hooks, std::optional<std::size_t> max_runs) {
    std::size_t runs = 0;
    auto next = schedule.next_after(hooks.now(), tz);
    while (next && (!max_runs || runs < *max_runs)) {
        hooks.log("next run at " + format_utc(*next));
        if (!hooks.sleep_until(*next)) break;
        auto tick = *next;
        auto started = hooks.now();
        ++runs;
        if (!hooks.run(tick)) break;
        auto finished = hooks.now();
        // Ticks that came while the run was in progress. Ticks before `started` (the machine
        // slept past them, or a queued run started late) are not counted: no catch-up.
        std::size_t missed = 0;
        std::optional<chr::sys_seconds> last_missed;
        for (auto t = schedule.next_after(std::max(tick, started), tz); t && *t <= finished && missed < 1000000;
             t = schedule.next_after(*t, tz)) {
            ++missed;
            last_missed = t;
        }
        if (missed > 0 && overlap == overlap_policy::queue) {
            hooks.log(std::to_string(missed) + " tick(s) came during the run: one queued run starts now");
            next = last_missed;
        } else {
            if (missed > 0) hooks.log("skipped " + std::to_string(missed) + " tick(s) that came during the run");
            next = schedule.next_after(finished, tz);
        }
    }
    return runs;
}

}  // namespace drover::detail
