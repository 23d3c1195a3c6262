// Dispatch: dynamic pull, pools, observers, the async API.
#include <doctest/doctest.h>

#include "scheduler/fixture.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fstream>
#include <thread>

using namespace std::chrono_literals;
using namespace drover::test;
namespace asio = boost::asio;

TEST_CASE("dispatch: a slow task does not hold back the others (dynamic pull)" * doctest::timeout(60)) {
    sched_fixture f;
    auto s = f.make(2);
    s.submit(sh("slow", "sleep 2"));
    for (int i = 0; i < 20; ++i) s.submit(sh("fast-" + std::to_string(i), "sleep 0.05"));
    auto sum = s.run();
    CHECK(sum.ok());
    CHECK(sum.counts.succeeded == 21);
    // One slot runs the slow task; the other drains all 20 fast ones meanwhile. With a
    // static split (10 + 11 tasks per slot) ten fast tasks would finish after the slow one.
    auto slow_end = f.events.finished_at("slow");
    for (int i = 0; i < 20; ++i) CHECK(f.events.finished_at("fast-" + std::to_string(i)) < slow_end);
    CHECK(f.events.starts_of("slow").size() == 1);
}

TEST_CASE("dispatch: records from many tasks land in their partitions exactly once" * doctest::timeout(60)) {
    sched_fixture f;
    auto s = f.make(2, {}, {.partition = "day={day}"});
    for (int i = 0; i < 30; ++i) {
        auto d = std::to_string(i % 3);
        drover::task_spec t = sh("t" + std::to_string(i),
                                 "for k in 1 2 3; do echo \"{\\\"t\\\":" + std::to_string(i) + ",\\\"k\\\":$k}\"; done");
        t.params = {{"day", d}};
        s.submit(t);
    }
    auto sum = s.run();
    CHECK(sum.ok());
    CHECK(sum.counts.records == 90);
    auto files = list_files(f.out);
    CHECK(files.size() == 30);
    CHECK(files.front() == "day=0/t0.jsonl.gz");
    auto recs = f.output_records();
    CHECK(recs.size() == 90);
    CHECK(std::adjacent_find(recs.begin(), recs.end()) == recs.end());
}

TEST_CASE("dispatch: pool limits bound concurrency while other slots keep working" * doctest::timeout(60)) {
    sched_fixture f;
    auto log = f.dir / "pool.log";
    auto s = f.make(4, {.pools = {{"heavy", 1}}});
    for (int i = 0; i < 4; ++i) {
        auto t = sh("heavy-" + std::to_string(i), "echo start >> " + log.string() + "; sleep 0.3; echo end >> " +
                                                      log.string());
        t.pool = "heavy";
        s.submit(t);
    }
    for (int i = 0; i < 6; ++i) s.submit(sh("light-" + std::to_string(i), "sleep 0.1"));
    auto sum = s.run();
    CHECK(sum.ok());
    // Heavy tasks never overlap: the log alternates start/end.
    auto lines = split_lines(read_file(log));
    REQUIRE(lines.size() == 8);
    for (std::size_t i = 0; i < lines.size(); ++i) CHECK(lines[i] == (i % 2 == 0 ? "start" : "end"));
    // Light tasks ran while the heavy pool was busy: all finished before the last heavy one.
    auto last_heavy = f.events.finished_at("heavy-3");
    for (int i = 0; i < 6; ++i) CHECK(f.events.finished_at("light-" + std::to_string(i)) < last_heavy);
}

TEST_CASE("dispatch: observers see every task queued, started and finished" * doctest::timeout(60)) {
    sched_fixture f;
    auto s = f.make(2);
    for (int i = 0; i < 5; ++i) s.submit(sh("t" + std::to_string(i), "true"));
    auto sum = s.run();
    CHECK(sum.ok());
    CHECK(f.events.queued == 5);
    CHECK(f.events.started.size() == 5);
    CHECK(f.events.done.size() == 5);
    CHECK(f.events.run_finished);
    REQUIRE(!f.events.progress_seen.empty());
    auto last = f.events.progress_seen.back();
    CHECK(last.total == 5);
    CHECK(last.succeeded == 5);
    CHECK(last.running == 0);
    REQUIRE(sum.tasks.size() == 5);
    CHECK(sum.tasks[0].id == "t0");
    CHECK(sum.tasks[0].state == drover::task_state::succeeded);
    CHECK(sum.tasks[0].last.executor == "local");
    CHECK(std::filesystem::exists(sum.run_dir / "summary.json"));
    CHECK(std::filesystem::exists(f.dir / "state" / "runs" / "latest" / "summary.json"));
}

TEST_CASE("dispatch: async_run works with co_await" * doctest::timeout(60)) {
    sched_fixture f;
    auto s = f.make(2);
    s.submit(sh("a", "echo '{\"x\":1}'"));
    asio::io_context ctx;
    drover::run_summary got;
    asio::co_spawn(
        ctx,
        [&]() -> asio::awaitable<void> { got = co_await s.async_run(ctx.get_executor(), asio::use_awaitable); },
        asio::detached);
    ctx.run();
    CHECK(got.ok());
    CHECK(got.counts.records == 1);
}

TEST_CASE("dispatch: submit rejects bad tasks" ) {
    drover::scheduler s({.pools = {{"p", 1}}});
    CHECK_THROWS_AS(s.submit({.id = "a/b", .command = {"true"}}), drover::config_error);
    CHECK_THROWS_AS(s.submit({.id = "a", .command = {}}), drover::config_error);
    CHECK_THROWS_AS(s.submit({.id = "a", .command = {"true"}, .pool = "nope"}), drover::config_error);
    s.submit({.id = "a", .command = {"true"}});
    CHECK_THROWS_WITH_AS(s.submit({.id = "a", .command = {"true"}}), "duplicate task id 'a'", drover::config_error);
}

TEST_CASE("dispatch: a scheduler with no tasks finishes at once") {
    sched_fixture f;
    auto s = f.make(1);
    auto sum = s.run();
    CHECK(sum.ok());
    CHECK(sum.counts.total == 0);
}

// Regression: a spurious wake-up of the exit wait once made the executor kill a running
// task's process group (~1% of 5,000 /bin/true tasks died of SIGKILL).
TEST_CASE("dispatch: thousands of short tasks all succeed" * doctest::timeout(120)) {
    sched_fixture f;
    auto s = f.make(2);
    for (int i = 0; i < 2000; ++i) s.submit({.id = "t" + std::to_string(i), .command = {"/bin/true"}});
    auto sum = s.run();
    CHECK(sum.counts.dead == 0);
    CHECK(sum.counts.succeeded == 2000);
}

namespace {
// A task that sleeps `secs` and prints one record; all of them share one command template.
drover::task_spec sleeper(const std::string& id, const std::string& secs) {
    return {.id = id,
            .command = {"sh", "-c", "sleep \"$0\"; echo '{\"x\":1}'", secs},
            .params = {{"secs", secs}}};
}
std::vector<std::string> start_order(const event_log& e) {
    std::vector<std::string> out;
    for (auto& [id, at] : e.started) out.push_back(id);
    return out;
}
}  // namespace

TEST_CASE("dispatch: the journal's history orders the next run longest first - new tasks of a known template by "
          "its median, unknown ones first" * doctest::timeout(60)) {
    sched_fixture f;
    auto run = [&](bool extra, drover::task_order order) {
        drover::scheduler_options o;
        o.journal.enabled = true;
        o.journal.fresh = true;  // every task runs again; the attempts (the history) stay
        o.order = order;
        auto s = f.make(1, o);
        s.submit(sleeper("a-short", "0.05"));
        s.submit(sleeper("b-long", "0.6"));
        s.submit(sleeper("c-mid", "0.3"));
        if (extra) {
            s.submit(sleeper("d-new", "0.2"));  // no history of its own: the template's median (0.3)
            s.submit({.id = "e-other", .command = {"true"}});  // no history at all
        }
        f.events.started.clear();
        auto sum = s.run();
        CHECK(sum.ok());
        return start_order(f.events);
    };
    // No history yet: submission order.
    CHECK(run(false, drover::task_order::history) == std::vector<std::string>{"a-short", "b-long", "c-mid"});
    CHECK(run(true, drover::task_order::history) ==
          std::vector<std::string>{"e-other", "b-long", "c-mid", "d-new", "a-short"});
    // order = submission ignores the history.
    CHECK(run(true, drover::task_order::submission) ==
          std::vector<std::string>{"a-short", "b-long", "c-mid", "d-new", "e-other"});
}
