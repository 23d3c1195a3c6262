// Pools: tasks record their own start and end times; at no moment do more tasks of a pool
// run than the pool allows, while tasks outside the pool use the other slots.
#include <doctest/doctest.h>

#include "scheduler/fixture.hpp"

#include <algorithm>
#include <sstream>
#include <thread>

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

// `label`: what read_intervals calls its pool (default: the pool, or "none").
task_spec timed(const fs::path& dir, const std::string& id, const std::string& pool, std::string label = {},
                const char* sleep = "0.1") {
    auto f = (dir / id).string();
    if (label.empty()) label = pool.empty() ? std::string("none") : pool;
    auto t = sh(id, "echo " + label + " start $(date +%s%N) >> " + f + "; sleep " + sleep + "; echo " + label +
                        " end $(date +%s%N) >> " + f);
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

TEST_CASE("shared pools: two runs on their own threads share a pool - its cap holds over both, each run's own limit too" *
          doctest::timeout(60)) {
    auto heavy = std::make_shared<shared_pool>("heavy", 2);
    sched_fixture fa, fb;
    auto times = fa.dir / "times";
    fs::create_directories(times);
    scheduler_options oa;
    oa.shared_pools = {heavy};  // no [pools] entry of its own: only the shared cap
    auto a = fa.make(4, oa);
    scheduler_options ob;
    ob.shared_pools = {heavy};
    ob.pools = {{"heavy", 1}};  // and a cap of this run's own
    auto b = fb.make(4, ob);
    for (int i = 0; i < 6; ++i) a.submit(timed(times, "a-" + std::to_string(i), "heavy", "A", "0.2"));
    for (int i = 0; i < 6; ++i) b.submit(timed(times, "b-" + std::to_string(i), "heavy", "B", "0.2"));
    for (int i = 0; i < 4; ++i) a.submit(timed(times, "free-" + std::to_string(i), ""));
    run_summary ra, rb;
    std::thread ta([&] { ra = a.run(); });
    std::thread tb([&] { rb = b.run(); });
    ta.join();
    tb.join();
    REQUIRE(ra.ok());
    REQUIRE(rb.ok());
    auto ivs = read_intervals(times);
    REQUIRE(ivs.size() == 16);
    std::vector<interval> both;
    for (auto iv : ivs)
        if (iv.pool != "none") {
            iv.pool = "heavy";
            both.push_back(iv);
        }
    CHECK(max_concurrency(both, "heavy") == 2);  // reached, never passed, over both runs
    CHECK(max_concurrency(ivs, "B") == 1);       // b's own [pools] limit
    CHECK(max_concurrency(ivs, "none") >= 2);    // tasks outside the pool were not held up
    CHECK(heavy->in_use() == 0);                  // every place given back
}

TEST_CASE("shared pool: places given back go to the waiters in line, first come first served") {
    shared_pool pool("heavy", 2);
    std::vector<std::string> handed;
    auto a = pool.join([&] { handed.push_back("a"); });
    auto b = pool.join([&] { handed.push_back("b"); });
    auto c = pool.join([&] { handed.push_back("c"); });
    CHECK(pool.try_acquire(a.get()));
    CHECK(pool.try_acquire(a.get()));
    CHECK_FALSE(pool.try_acquire(b.get()));  // full: b waits, then c
    CHECK_FALSE(pool.try_acquire(c.get()));
    CHECK_FALSE(pool.try_acquire(b.get()));  // asking again keeps b's place in line
    CHECK(pool.waiting() == 2);
    pool.release();  // a gives one back: it is b's, a cannot take it again
    CHECK(handed == std::vector<std::string>{"b"});
    CHECK(pool.in_use() == 2);
    CHECK_FALSE(pool.try_acquire(a.get()));  // a now waits behind c
    CHECK_FALSE(pool.try_acquire());         // nor can anyone outside the line
    CHECK(pool.try_acquire(b.get()));        // b takes what it was handed
    CHECK_FALSE(pool.try_acquire(b.get()));  // once
    pool.release();
    CHECK(handed == std::vector<std::string>{"b", "c"});
    pool.decline(*c);  // c had nothing left to run: the place goes on to a
    CHECK(handed == std::vector<std::string>{"b", "c", "a"});
    CHECK(pool.waiting() == 1);              // b asked again above
    a.reset();                               // a leaves with the place it did not take: b's
    CHECK(handed == std::vector<std::string>{"b", "c", "a", "b"});
    CHECK(pool.in_use() == 2);
    b.reset();  // gone with a handed place: nobody waits, so it is free
    CHECK(pool.in_use() == 1);
    CHECK(pool.waiting() == 0);
    pool.release();
    CHECK(pool.in_use() == 0);
    CHECK(pool.try_acquire(c.get()));  // free places while nobody waits
    pool.release();
}

TEST_CASE("shared pools: runs get places in the order they came to wait - one with many tasks goes to the back of the line" *
          doctest::timeout(60)) {
    auto heavy = std::make_shared<shared_pool>("heavy", 1);
    const std::string names = "ABCDEF";
    std::vector<std::unique_ptr<sched_fixture>> fixtures;
    std::vector<scheduler> runs;
    sched_fixture files;
    auto times = files.dir / "times";
    fs::create_directories(times);
    for (char n : names) {
        scheduler_options o;
        o.shared_pools = {heavy};
        fixtures.push_back(std::make_unique<sched_fixture>());
        runs.push_back(fixtures.back()->make(2, o));
        // A: 3 tasks of 1.5 s; B to F: one short task each.
        for (int i = 0; i < (n == 'A' ? 3 : 1); ++i)
            runs.back().submit(timed(times, std::string(1, n) + "-" + std::to_string(i), "heavy", std::string(1, n),
                                     n == 'A' ? "1.5" : "0.1"));
    }
    std::vector<run_summary> sums(names.size());
    std::vector<std::thread> threads;
    threads.emplace_back([&] { sums[0] = runs[0].run(); });
    for (int i = 0; i < 500 && !fs::exists(times / "A-0"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    REQUIRE(fs::exists(times / "A-0"));
    // B to F come to wait one after another while A's first task holds the place (A waits
    // in line already, for its second task).
    auto in_line = [&](std::size_t n) {
        for (int i = 0; i < 1000 && heavy->waiting() < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return heavy->waiting() == n;
    };
    CHECK(in_line(1));
    for (std::size_t r = 1; r < names.size(); ++r) {
        threads.emplace_back([&, r] { sums[r] = runs[r].run(); });
        CHECK(in_line(r + 1));
    }
    for (auto& t : threads) t.join();
    for (auto& s : sums) REQUIRE(s.ok());
    auto ivs = read_intervals(times);
    REQUIRE(ivs.size() == 8);
    std::sort(ivs.begin(), ivs.end(), [](const auto& x, const auto& y) { return x.start < y.start; });
    std::string order;
    for (const auto& iv : ivs) order += iv.pool;
    // First come, first served: A came to wait first (its second task, at its start), then B
    // to F in turn; A's third task asked again only when its second started, so it waits
    // behind all five. (A place given to whoever asks first after it is given back had no
    // order: with four tasks of A, ABACDAFAE, ABEACAFAD and ABEDAAFAC in three runs.)
    CHECK(order == "AABCDEFA");
    std::vector<interval> all = ivs;
    for (auto& iv : all) iv.pool = "heavy";
    CHECK(max_concurrency(all, "heavy") == 1);
    CHECK(heavy->in_use() == 0);
    CHECK(heavy->waiting() == 0);
}

TEST_CASE("shared pools: a task may name one that [pools] does not declare - job files too, with a located error otherwise") {
    auto heavy = std::make_shared<shared_pool>("heavy", 3);
    CHECK_THROWS_AS(shared_pool("x", 0), config_error);
    CHECK_THROWS_AS(shared_pool("", 1), config_error);
    scheduler_options o;
    o.shared_pools = {heavy};
    scheduler s(o);
    task_spec t{.id = "t", .command = {"true"}};
    t.pool = "heavy";
    CHECK_NOTHROW(s.submit(t));
    t.id = "u";
    t.pool = "light";
    CHECK_THROWS_WITH_AS(s.submit(t), "task 'u': unknown pool 'light'", config_error);

    const char* text = R"(name = "p"
[[tasks]]
id = "h"
command = ["x"]
pool = "heavy"
)";
    CHECK_THROWS_WITH_AS(parse_job(text, "p.toml"),
                         doctest::Contains("pool 'heavy' is not declared in [pools] (there is no [pools] table)"),
                         config_error);
    auto j = parse_job(text, "p.toml", job_load_options{.shared_pools = {heavy}});
    CHECK(j.tasks[0].pool == "heavy");
    REQUIRE(j.options.shared_pools.size() == 1);
    CHECK(j.options.shared_pools[0] == heavy);
    auto other = std::make_shared<shared_pool>("gpu", 1);
    CHECK_THROWS_WITH_AS(parse_job(std::string(text) + "[[tasks]]\nid = \"x\"\ncommand = [\"x\"]\npool = \"cpu\"\n",
                                   "p.toml", job_load_options{.shared_pools = {heavy, other}}),
                         doctest::Contains("p.toml:9:8: tasks[1].pool: pool 'cpu' is not declared in [pools] "
                                           "(there is no [pools] table; shared: heavy, gpu)"),
                         config_error);
}
