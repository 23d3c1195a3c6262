// Straggler speculation with real processes: backups on idle slots, the first success commits,
// the other attempt is killed and its output discarded; records exactly once.
#include "scheduler/fixture.hpp"

#include <fmt/format.h>

#include <csignal>
#include <thread>

using namespace drover;
using namespace drover::test;
using namespace std::chrono_literals;

namespace {

scheduler_options speculating() {
    scheduler_options o;
    o.speculation = {.enabled = true, .multiplier = 2.0, .quantile = 0.5, .min_runtime = 200ms};
    return o;
}

// Quick tasks that give the run its samples of the template (`echo ... ; sleep 0.05`).
void submit_quick(scheduler& s, int n) {
    for (int k = 1; k <= n; ++k)
        s.submit({.id = fmt::format("q{}", k),
                  .command = {"sh", "-c", fmt::format("sleep 0.05; echo '{{\"t\":\"q{}\"}}'", k)},
                  .params = {{"k", std::to_string(k)}}});
}

bool alive(pid_t pid) { return ::kill(pid, 0) == 0; }

std::vector<std::string> records_of(const std::vector<std::string>& all, std::string_view task) {
    std::vector<std::string> out;
    for (auto& r : all)
        if (r.find(fmt::format("\"t\":\"{}\"", task)) != std::string::npos) out.push_back(r);
    return out;
}

}  // namespace

TEST_CASE("speculation run: a hung attempt gets a backup on an idle slot - it wins, the hung one is killed" *
          doctest::timeout(60)) {
    sched_fixture f;
    auto s = f.make(2, speculating());
    auto d = f.dir.path();
    // The first attempt takes the lock and hangs; any later one prints at once.
    s.submit(sh("slow", fmt::format("if mkdir {0}/slow.lock 2>/dev/null; then echo $$ > {0}/slow.pid; exec sleep 30; fi; "
                                    "echo '{{\"t\":\"slow\"}}'",
                                    d.string())));
    submit_quick(s, 4);
    auto t0 = std::chrono::steady_clock::now();
    auto sum = s.run();
    CHECK(std::chrono::steady_clock::now() - t0 < 15s);
    CHECK(sum.counts.succeeded == 5);
    CHECK(sum.counts.backups == 1);
    CHECK(result(sum, "slow").attempts == 2);
    CHECK(result(sum, "slow").last.attempt == 2);
    auto records = f.output_records();
    CHECK(records.size() == 5);
    CHECK(records_of(records, "slow").size() == 1);
    auto pid = static_cast<pid_t>(std::stol(read_file(d / "slow.pid")));
    CHECK_FALSE(alive(pid));  // killed before the run ended, not orphaned
    // Nothing staged is left behind by the loser.
    CHECK(fs::is_empty(f.out / ".drover" / "staging"));
}

TEST_CASE("speculation run: both attempts succeeding at the same moment - one commit, records once" *
          doctest::timeout(60)) {
    for (int round = 0; round < 3; ++round) {
        CAPTURE(round);
        sched_fixture f;
        auto s = f.make(2, speculating());
        auto d = f.dir.path();
        // Each attempt takes a number, waits until both attempts started, then both print two
        // records carrying their number and exit together.
        s.submit(sh("slow", fmt::format("if mkdir {0}/one 2>/dev/null; then n=1; else n=2; fi; touch {0}/started.$n; "
                                        "while [ ! -e {0}/started.1 ] || [ ! -e {0}/started.2 ]; do sleep 0.01; done; "
                                        "echo '{{\"t\":\"slow\",\"k\":1,\"n\":'$n'}}'; "
                                        "echo '{{\"t\":\"slow\",\"k\":2,\"n\":'$n'}}'",
                                        d.string())));
        submit_quick(s, 4);
        auto sum = s.run();
        CHECK(sum.counts.succeeded == 5);
        CHECK(sum.counts.backups == 1);
        auto slow = records_of(f.output_records(), "slow");
        REQUIRE(slow.size() == 2);
        // Both from one attempt.
        bool from1 = slow[0].find("\"n\":1") != std::string::npos;
        CHECK((slow[1].find("\"n\":1") != std::string::npos) == from1);
        CHECK(fs::is_empty(f.out / ".drover" / "staging"));
    }
}

TEST_CASE("speculation run: a failing backup costs no retry - the original still succeeds" * doctest::timeout(60)) {
    sched_fixture f;
    auto s = f.make(2, speculating());
    auto d = f.dir.path();
    s.submit(sh("slow", fmt::format("if mkdir {0}/lock 2>/dev/null; then sleep 1.5; echo '{{\"t\":\"slow\"}}'; "
                                    "else echo backup fails >&2; exit 3; fi",
                                    d.string())));
    submit_quick(s, 4);
    auto sum = s.run();
    CHECK(sum.counts.succeeded == 5);
    CHECK(sum.counts.dead == 0);
    CHECK(sum.counts.backups == 1);
    CHECK(result(sum, "slow").state == task_state::succeeded);
    CHECK(result(sum, "slow").last.attempt == 1);
    CHECK(records_of(f.output_records(), "slow").size() == 1);
}

TEST_CASE("speculation run: tasks with speculate = false and runs without speculation get no backup" *
          doctest::timeout(60)) {
    for (bool enabled : {true, false}) {
        CAPTURE(enabled);
        sched_fixture f;
        auto o = speculating();
        o.speculation.enabled = enabled;
        auto s = f.make(2, o);
        auto slow = sh("slow", "sleep 1; echo '{\"t\":\"slow\"}'");
        slow.speculate = !enabled;  // the enabled run has it off per task
        s.submit(slow);
        submit_quick(s, 4);
        auto sum = s.run();
        CHECK(sum.counts.succeeded == 5);
        CHECK(sum.counts.backups == 0);
        CHECK(result(sum, "slow").attempts == 1);
    }
}

TEST_CASE("speculation run: bad options are config errors") {
    sched_fixture f;
    for (auto bad : {speculation_options{.enabled = true, .multiplier = 0},
                     speculation_options{.enabled = true, .quantile = 1.5},
                     speculation_options{.enabled = true, .min_runtime = duration(-1)}}) {
        scheduler_options o;
        o.speculation = bad;
        auto s = f.make(1, o);
        s.submit(sh("a", "true"));
        CHECK_THROWS_AS(s.run(), config_error);
    }
}

TEST_CASE("speculation run: before_queued backs up a hung attempt while the queue is still full" *
          doctest::timeout(60)) {
    sched_fixture f;
    auto o = speculating();
    o.speculation.before_queued = true;
    auto s = f.make(2, o);
    auto d = f.dir.path();
    s.submit(sh("slow", fmt::format("if mkdir {0}/slow.lock 2>/dev/null; then exec sleep 30; fi; "
                                    "echo '{{\"t\":\"slow\"}}'",
                                    d.string())));
    submit_quick(s, 40);  // ~2 s of work on the other slot
    auto sum = s.run();
    CHECK(sum.counts.succeeded == 41);
    CHECK(sum.counts.backups == 1);
    CHECK(records_of(f.output_records(), "slow").size() == 1);
    // slow's backup won before the queue drained: quick tasks started after slow ended.
    auto slow_end = f.events.finished_at("slow");
    auto last_start = f.events.starts_of("q40").at(0);
    CHECK(slow_end < last_start);
}
