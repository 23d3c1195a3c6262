// A slot takes the next task as soon as its task's process ended, while that task's output
// commits: a slow store (S3) does not leave slots idle. Pools still count the commit.
#include <doctest/doctest.h>

#include "scheduler/fixture.hpp"
#include "support/slow_commit_sink.hpp"

#include <set>

using namespace std::chrono_literals;
using namespace drover;
using namespace drover::test;
namespace asio = boost::asio;

namespace {

scheduler make(sched_fixture& f, std::size_t slots, std::shared_ptr<slow_commit_sink>& sink_out,
               std::set<std::string> fail_once = {}, scheduler_options o = {}) {
    o.state_dir = f.dir / "state";
    o.seed = 42;
    scheduler s(std::move(o));
    s.add_executor(local_executor{{.slots = slots}});
    sink_out = std::make_shared<slow_commit_sink>(file_sink_options{.root = f.out, .fsync = false}, 400ms,
                                                  std::move(fail_once));
    s.set_sink(sink_out);
    s.add_observer(f.events);
    return s;
}

}  // namespace

TEST_CASE("commit overlap: a slot takes the next task while the last one's output commits" * doctest::timeout(60)) {
    sched_fixture f;
    std::shared_ptr<slow_commit_sink> sink;
    auto s = make(f, 1, sink);
    for (int i = 0; i < 4; ++i)
        s.submit(sh("t" + std::to_string(i), "echo '{\"n\": " + std::to_string(i) + "}'"));
    auto sum = s.run();
    CHECK(sum.ok());
    CHECK(sum.counts.succeeded == 4);
    CHECK(f.output_records().size() == 4);
    // The first commit is waited for (the sink has to prove it works); then t1's slot runs t2
    // while t1's output commits (400 ms). With the slot held through the commit, t2 would
    // start after t1 finished.
    CHECK(f.events.starts_of("t1").at(0) >= f.events.finished_at("t0"));
    CHECK(f.events.starts_of("t2").at(0) < f.events.finished_at("t1"));
    // At most as many commits go on beside the slots as there are slots: t2's slot waits for
    // t2's own commit while t1's is still going, so t3 starts after t2 finished.
    CHECK(f.events.starts_of("t3").at(0) >= f.events.finished_at("t2"));
    CHECK(sink->most_in_commit == 2);
    // Tasks committing are counted apart: never more processes than slots.
    bool seen_committing = false;
    for (auto& p : f.events.progress_seen) {
        CHECK(p.committing <= 1);
        CHECK(p.running - p.committing <= 1);
        seen_committing = seen_committing || p.committing > 0;
    }
    CHECK(seen_committing);
    CHECK(sum.counts.committing == 0);
}

TEST_CASE("commit overlap: a pool's place is held until the commit ended" * doctest::timeout(60)) {
    sched_fixture f;
    std::shared_ptr<slow_commit_sink> sink;
    scheduler_options o;
    o.pools = {{"one", 1}};
    auto s = make(f, 1, sink, {}, o);
    s.submit(sh("w", "echo '{\"w\": 1}'"));  // the first commit, which every run waits for
    for (int i = 0; i < 3; ++i) {
        auto t = sh("p" + std::to_string(i), "echo '{\"p\": " + std::to_string(i) + "}'");
        t.pool = "one";
        s.submit(t);
    }
    auto sum = s.run();
    CHECK(sum.ok());
    CHECK(f.output_records().size() == 4);
    // The slot is free while p0 commits, but p1 needs p0's place in the pool.
    for (int i = 1; i < 3; ++i)
        CHECK(f.events.starts_of("p" + std::to_string(i)).at(0) >= f.events.finished_at("p" + std::to_string(i - 1)));
    CHECK(sink->most_in_commit == 1);
}

TEST_CASE("commit overlap: a commit that fails after the slot moved on is retried, records once" * doctest::timeout(60)) {
    sched_fixture f;
    std::shared_ptr<slow_commit_sink> sink;
    auto s = make(f, 1, sink, {"flaky"});
    s.submit(sh("first", "echo '{\"task\": \"first\"}'"));  // a commit that works, first
    auto flaky = sh("flaky", "echo '{\"task\": \"flaky\"}'");
    flaky.retries = 1;
    flaky.backoff = {.initial = duration(10), .max = duration(10), .jitter = 0};
    s.submit(flaky);
    s.submit(sh("next", "echo '{\"task\": \"next\"}'"));
    auto sum = s.run();
    CHECK(sum.ok());
    CHECK(result(sum, "flaky").attempts == 2);
    CHECK(result(sum, "next").attempts == 1);
    // "next" took the slot while flaky's first commit was still going to fail.
    CHECK(f.events.starts_of("next").at(0) < f.events.finished_at("flaky"));
    CHECK(f.output_records() ==
          std::vector<std::string>{R"({"task": "first"})", R"({"task": "flaky"})", R"({"task": "next"})"});
}
