// Pools: tasks record their own start and end times; at no moment do more tasks of a pool
// run than the pool allows, while tasks outside the pool use the other slots.
#include <doctest/doctest.h>

#include "scheduler/fixture.hpp"

#include <algorithm>
#include <sstream>

using namespace drover;
using namespace drover::test;

namespace {

struct interval {
    long long start, end;
    std::string pool;
};

// Lines "<pool> start|end <ns>" from the tasks' own clock (date +%s%N).
std::vector<interval> read_intervals(const fs::path& dir) {
    std::vector<interval> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        interval iv{0, 0, ""};
        for (const auto& line : split_lines(read_file(e.path()))) {
            std::istringstream in(line);
            std::string pool, what;
            long long ns = 0;
            in >> pool >> what >> ns;
            iv.pool = pool;
            (what == "start" ? iv.start : iv.end) = ns;
        }
        REQUIRE(iv.start > 0);
        REQUIRE(iv.end >= iv.start);
        out.push_back(iv);
    }
    return out;
}

// The most intervals of `pool` open at one moment.
std::size_t max_concurrency(const std::vector<interval>& ivs, const std::string& pool) {
    std::vector<std::pair<long long, int>> events;
    for (const auto& iv : ivs)
        if (iv.pool == pool) {
            events.emplace_back(iv.start, +1);
            events.emplace_back(iv.end, -1);
        }
    std::sort(events.begin(), events.end());  // at equal times an end (-1) sorts first
    int cur = 0, best = 0;
    for (auto [t, d] : events) best = std::max(best, cur += d);
    return static_cast<std::size_t>(best);
}

task_spec timed(const fs::path& dir, const std::string& id, const std::string& pool) {
    auto f = (dir / id).string();
    auto t = sh(id, "echo " + (pool.empty() ? std::string("none") : pool) + " start $(date +%s%N) >> " + f +
                        "; sleep 0.1; echo " + (pool.empty() ? std::string("none") : pool) + " end $(date +%s%N) >> " +
                        f);
    t.pool = pool;
    return t;
}

}  // namespace

TEST_CASE("pools: observed concurrency never exceeds the pool size, other tasks fill the slots") {
    sched_fixture f;
    scheduler_options o;
    o.pools = {{"heavy", 2}, {"single", 1}};
    auto s = f.make(6, o);
    auto times = f.dir / "times";
    fs::create_directories(times);
    for (int i = 0; i < 10; ++i) s.submit(timed(times, "heavy-" + std::to_string(i), "heavy"));
    for (int i = 0; i < 4; ++i) s.submit(timed(times, "single-" + std::to_string(i), "single"));
    for (int i = 0; i < 8; ++i) s.submit(timed(times, "free-" + std::to_string(i), ""));
    auto r = s.run();
    REQUIRE(r.ok());
    auto ivs = read_intervals(times);
    REQUIRE(ivs.size() == 22);
    CHECK(max_concurrency(ivs, "heavy") <= 2);
    CHECK(max_concurrency(ivs, "single") == 1);
    // The limit was reached (the test would notice a scheduler that ran pools one by one),
    // and tasks without a pool ran beside them.
    CHECK(max_concurrency(ivs, "heavy") == 2);
    CHECK(max_concurrency(ivs, "none") >= 2);
}

TEST_CASE("pools: [pools] and pool = in a job file reach the scheduler") {
    auto j = parse_job(R"(name = "p"
[pools]
heavy = 3
[[tasks]]
id = "h-{n}"
command = ["x"]
pool = "heavy"
foreach.n = [1, 2]
)", "p.toml");
    CHECK(j.options.pools.at("heavy") == 3);
    CHECK(j.tasks[0].pool == "heavy");
    CHECK(j.tasks[1].pool == "heavy");
}
