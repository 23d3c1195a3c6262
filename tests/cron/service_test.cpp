// The cron service loop with a fake clock: tick times, overlap = skip | queue, no catch-up.
#include <doctest/doctest.h>

#include "cron/service.hpp"

#include <cstdio>
#include <vector>

using namespace drover::detail;
namespace chr = std::chrono;

namespace {

chr::sys_seconds at(int h, int m) { return chr::sys_days(chr::year{2026} / 3 / 1) + chr::hours(h) + chr::minutes(m); }

// A fake clock: sleeping jumps to the wake-up time (plus `oversleep`), a run takes `run_for`.
struct fake_world {
    chr::sys_seconds now = at(10, 5);
    chr::minutes run_for{1};
    chr::minutes oversleep{0};
    std::vector<chr::sys_seconds> ticks, starts;
    std::vector<std::string> log;

    service_hooks hooks() {
        return {.now = [this] { return now; },
                .sleep_until =
                    [this](chr::sys_seconds t) {
                        if (t > now) now = t + oversleep;
                        return true;
                    },
                .run =
                    [this](chr::sys_seconds tick) {
                        ticks.push_back(tick);
                        starts.push_back(now);
                        now += run_for;
                        return true;
                    },
                .log = [this](const std::string& s) { log.push_back(s); }};
    }
};

}  // namespace

TEST_CASE("cron service: runs at each tick, starting with the first tick after startup") {
    fake_world w;
    auto n = run_service(cron_schedule::parse("*/20 * * * *"), time_zone("UTC"), overlap_policy::skip, w.hooks(), 3);
    CHECK(n == 3);
    CHECK(w.ticks == std::vector<chr::sys_seconds>{at(10, 20), at(10, 40), at(11, 0)});
    CHECK(w.starts == w.ticks);
}

TEST_CASE("cron service: overlap = skip drops ticks that come during a run") {
    fake_world w;
    w.run_for = chr::minutes(50);
    run_service(cron_schedule::parse("*/20 * * * *"), time_zone("UTC"), overlap_policy::skip, w.hooks(), 3);
    // 10:20 runs until 11:10: 10:40 and 11:00 are skipped.
    CHECK(w.ticks == std::vector<chr::sys_seconds>{at(10, 20), at(11, 20), at(12, 20)});
    CHECK(std::find(w.log.begin(), w.log.end(), "skipped 2 tick(s) that came during the run") != w.log.end());
}

TEST_CASE("cron service: overlap = queue starts one merged run right after the current one") {
    fake_world w;
    w.run_for = chr::minutes(50);
    run_service(cron_schedule::parse("*/20 * * * *"), time_zone("UTC"), overlap_policy::queue, w.hooks(), 3);
    // 10:20 runs until 11:10; 10:40 and 11:00 merge into one run starting at 11:10, which runs
    // until 12:00 (11:20, 11:40 and 12:00 came meanwhile: one more run at 12:00).
    CHECK(w.ticks == std::vector<chr::sys_seconds>{at(10, 20), at(11, 0), at(12, 0)});
    CHECK(w.starts == std::vector<chr::sys_seconds>{at(10, 20), at(11, 10), at(12, 0)});
}

TEST_CASE("cron service: no catch-up after sleeping past ticks, and a stop from the sleep hook ends it") {
    fake_world w;
    w.oversleep = chr::minutes(180);  // the machine slept: 3 hours of ticks went by
    auto hooks = w.hooks();
    int sleeps = 0;
    auto sleep = hooks.sleep_until;
    hooks.sleep_until = [&](chr::sys_seconds t) { return ++sleeps <= 2 && sleep(t); };
    auto n = run_service(cron_schedule::parse("*/20 * * * *"), time_zone("UTC"), overlap_policy::queue, hooks);
    CHECK(n == 2);
    // One run after each wake-up; the 9 ticks slept through are not run, queue or not.
    REQUIRE(w.ticks.size() == 2);
    CHECK(w.ticks[0] == at(10, 20));
    CHECK(w.starts[0] == at(13, 20));
    CHECK(w.ticks[1] == at(13, 40));
}
