// Straggler speculation: the machine's backups and commit claims (scripted, without
// processes) and the straggler watch's thresholds (without clocks).
#include "scheduler/machine_harness.hpp"
#include "scheduler/straggler.hpp"

using namespace drover;
using namespace drover::test;
using V = std::vector<std::string>;
using speculation = detail::run_machine::speculation;

namespace {
// Two tasks on one group of `slots`; "a" runs, "b" ran and succeeded: one idle slot.
void one_straggler(machine_fixture& f, std::vector<std::size_t> slots = {2}) {
    f.add({.id = "a", .retries = 1, .backoff = {.initial = duration(10), .jitter = 0}});
    f.add({.id = "b"});
    f.start(std::move(slots));
    f.done("b");
    f.next();
}
}  // namespace

TEST_CASE("speculation: a backup starts on an idle slot - the first to succeed decides, the other is superseded") {
    machine_fixture f;
    one_straggler(f);
    CHECK(f.m->speculate(f.idx("a")) == speculation::launched);
    CHECK(f.next() == V{"launch a#2@0"});
    CHECK(f.m->counts().running == 1);  // tasks, not attempts
    CHECK(f.m->counts().backups == 1);
    // Only one backup at a time, and one per regular launch.
    CHECK(f.m->speculate(f.idx("a")) == speculation::not_eligible);
    auto backup = f.slot_of("a", 2), first = f.slot_of("a", 1);
    CHECK(f.m->twin_of(backup) == first);
    CHECK(f.m->claim_commit(backup));
    CHECK_FALSE(f.m->claim_commit(first));  // the twin claimed first: the original must discard
    f.done_attempt("a", 2);
    CHECK(f.next() == V{"kill a#1", "finished a none -> succeeded committed"});
    CHECK(f.state("a") == task_state::succeeded);
    CHECK_FALSE(f.m->finished());  // the superseded attempt has not ended yet
    CHECK(f.m->superseded(first));
    f.done_attempt("a", 1, failure_class::cancelled);
    CHECK(f.next() == V{"superseded a#1 cancelled", "finish"});
    CHECK(f.driver.final_states[f.idx("a")] == 1);
    CHECK(f.m->records() == 2);  // a's once, b's once
}

TEST_CASE("speculation: both succeeding at once - the one that claimed commits, the other ends superseded") {
    machine_fixture f;
    one_straggler(f);
    REQUIRE(f.m->speculate(f.idx("a")) == speculation::launched);
    CHECK(f.next() == V{"launch a#2@0"});
    auto first = f.slot_of("a", 1), backup = f.slot_of("a", 2);
    REQUIRE(f.m->claim_commit(first));
    REQUIRE_FALSE(f.m->claim_commit(backup));
    // The loser reports first (it discarded its output: cancelled), the winner after its commit.
    f.done_attempt("a", 2, failure_class::cancelled);
    CHECK(f.next() == V{"dropped a#2 cancelled"});
    CHECK(f.state("a") == task_state::running);
    f.done_attempt("a", 1);
    CHECK(f.next() == V{"finished a none -> succeeded committed", "finish"});
    CHECK(f.m->records() == 2);
    CHECK(f.m->attempts(f.idx("a")) == 2);
}

TEST_CASE("speculation: a failing backup is dropped without spending a retry - the original decides") {
    machine_fixture f;
    one_straggler(f);
    REQUIRE(f.m->speculate(f.idx("a")) == speculation::launched);
    CHECK(f.next() == V{"launch a#2@0"});
    f.done_attempt("a", 2, failure_class::exit_code);
    CHECK(f.next() == V{"dropped a#2 exit_code"});
    CHECK(f.state("a") == task_state::running);
    CHECK(f.m->speculate(f.idx("a")) == speculation::not_eligible);  // one backup per launch
    // The original fails: its retry is still there (the backup was not charged).
    f.done_attempt("a", 1, failure_class::exit_code);
    CHECK(f.next() == V{"finished a exit_code -> retry_wait", "arm a"});
    f.retry_due("a");
    CHECK(f.next() == V{"launch a#3@0"});
    // A new regular launch may get a backup again.
    CHECK(f.m->speculate(f.idx("a")) == speculation::launched);
    f.done_attempt("a", 3, failure_class::exit_code);
    f.done_attempt("a", 4, failure_class::exit_code);
    CHECK(f.next() == V{"launch a#4@0", "dropped a#3 exit_code", "finished a exit_code -> dead", "dead_letter a",
                        "finish"});
}

TEST_CASE("speculation: the original failing after the backup won changes nothing") {
    machine_fixture f;
    one_straggler(f);
    REQUIRE(f.m->speculate(f.idx("a")) == speculation::launched);
    CHECK(f.next() == V{"launch a#2@0"});
    REQUIRE(f.m->claim_commit(f.slot_of("a", 2)));
    f.done_attempt("a", 2);
    f.done_attempt("a", 1, failure_class::exit_code);  // it failed before the kill reached it
    CHECK(f.next() == V{"kill a#1", "finished a none -> succeeded committed", "superseded a#1 exit_code", "finish"});
    CHECK(f.state("a") == task_state::succeeded);
    CHECK(f.driver.dead_letters.empty());
}

TEST_CASE("speculation: the winner's commit failing gives the claim up - the twin may still commit") {
    machine_fixture f;
    one_straggler(f);
    REQUIRE(f.m->speculate(f.idx("a")) == speculation::launched);
    CHECK(f.next() == V{"launch a#2@0"});
    REQUIRE(f.m->claim_commit(f.slot_of("a", 1)));
    f.done_attempt("a", 1, failure_class::output_error);
    CHECK(f.next() == V{"dropped a#1 output_error"});
    CHECK(f.m->claim_commit(f.slot_of("a", 2)));
    f.done_attempt("a", 2);
    CHECK(f.state("a") == task_state::succeeded);
}

TEST_CASE("speculation: only on an idle slot - ready tasks, pools and per-group slots come first") {
    machine_fixture f;
    f.opts.pools = {{"net", 1}};
    f.add({.id = "a"});
    f.add({.id = "b"});
    f.add({.id = "p", .pool = "net"});
    f.start({2});
    f.next();
    // Both slots busy (a, b): no backup.
    CHECK(f.m->speculate(f.idx("a")) == speculation::no_slot);
    f.done("b");
    f.next();
    // p's pool holds one and p runs: no backup of p even with a free slot.
    CHECK(f.state("p") == task_state::running);
    CHECK(f.m->speculate(f.idx("p")) == speculation::no_slot);
    CHECK(f.m->speculate(f.idx("a")) == speculation::no_slot);  // the slot p took was the free one
    f.done("p");
    CHECK(f.m->speculate(f.idx("a")) == speculation::launched);
    f.check();
}

TEST_CASE("speculation: a backup prefers another executor group - a group that refuses is skipped") {
    machine_fixture f;
    f.add({.id = "a"});
    f.add({.id = "b"});
    f.add({.id = "c"});
    f.start({2, 1});
    CHECK(f.next() == V{"queued a", "queued b", "queued c", "launch a#1@0", "launch b#1@0", "launch c#1@1"});
    f.done("b");
    f.done("c");
    f.next();
    // Group 0 has a free slot (a runs there), group 1 too: the backup goes to group 1.
    CHECK(f.m->speculate(f.idx("a")) == speculation::launched);
    CHECK(f.next() == V{"launch a#2@1"});

    machine_fixture g;
    g.add({.id = "a"});
    g.add({.id = "b"});
    g.start({2, 1});
    g.done("b");
    g.next();
    g.driver.refuse[1] = true;
    CHECK(g.m->speculate(g.idx("a")) == speculation::launched);
    CHECK(g.next() == V{"launch a#2@0"});  // its own group, as nothing else has room
}

TEST_CASE("speculation: never for speculate = false, a task being cancelled, or a stopping run") {
    machine_fixture f;
    f.add({.id = "side", .speculate = false});
    f.add({.id = "a"});
    f.add({.id = "b"});
    f.add({.id = "x"});
    f.start({4});
    f.done("x");
    CHECK(f.m->speculate(f.idx("side")) == speculation::not_eligible);
    f.m->cancel_task(f.idx("a"));
    CHECK(f.m->speculate(f.idx("a")) == speculation::not_eligible);
    f.done("a", failure_class::cancelled);
    f.m->cancel();
    CHECK(f.m->speculate(f.idx("b")) == speculation::not_eligible);
}

TEST_CASE("speculation: cancelling a task kills both twins - it ends cancelled once both ended") {
    machine_fixture f;
    one_straggler(f);
    REQUIRE(f.m->speculate(f.idx("a")) == speculation::launched);
    CHECK(f.next() == V{"launch a#2@0"});
    CHECK(f.m->cancel_task(f.idx("a")) == run_machine::control_result::done);
    CHECK(f.next() == V{"kill a#1", "kill a#2"});
    f.done_attempt("a", 1, failure_class::cancelled);
    CHECK(f.state("a") == task_state::running);
    f.done_attempt("a", 2, failure_class::cancelled);
    CHECK(f.next() == V{"dropped a#1 cancelled", "finished a cancelled -> cancelled", "finish"});
}

TEST_CASE("speculation: cancelling the run kills every attempt, the superseded ones are waited for") {
    machine_fixture f;
    f.add({.id = "a"});
    f.add({.id = "b"});
    f.add({.id = "c"});
    f.start({4});
    f.done("c");
    f.next();
    REQUIRE(f.m->speculate(f.idx("a")) == speculation::launched);
    CHECK(f.next() == V{"launch a#2@0"});
    REQUIRE(f.m->speculate(f.idx("b")) == speculation::launched);
    f.done_attempt("b", 2);  // b's backup won; b#1 is being killed
    f.next();
    f.m->cancel();
    CHECK(f.next() == V{"kill a#1", "kill a#2"});
    f.done_attempt("a", 2, failure_class::cancelled);
    f.done_attempt("a", 1, failure_class::cancelled);
    CHECK_FALSE(f.m->finished());
    f.done_attempt("b", 1, failure_class::cancelled);
    CHECK(f.m->finished());
    CHECK(f.state("a") == task_state::skipped);
    CHECK(f.state("b") == task_state::succeeded);
}

TEST_CASE("speculation: a lost original leaves the backup to decide") {
    machine_fixture f;
    one_straggler(f);
    REQUIRE(f.m->speculate(f.idx("a")) == speculation::launched);
    CHECK(f.next() == V{"launch a#2@0"});
    f.done_attempt("a", 1, failure_class::executor_lost);
    CHECK(f.m->attempt_slot(f.idx("a")) == f.slot_of("a", 2));
    f.done_attempt("a", 2);
    CHECK(f.state("a") == task_state::succeeded);
}

TEST_CASE("straggler watch: overdue after multiplier x expected and min_runtime - history first, then the run's quantile") {
    using clock = detail::straggler_watch::clock;
    speculation_options o{.enabled = true, .multiplier = 2.0, .quantile = 0.5, .min_runtime = duration(100)};
    detail::straggler_watch w(o, 1);
    auto t0 = clock::time_point{} + std::chrono::hours(1);
    auto ms = [](int n) { return std::chrono::milliseconds(n); };
    // No estimate at all (and no samples): never overdue.
    w.started(0, 7, 0, 0, t0);
    CHECK_FALSE(w.overdue_at(0));
    CHECK(w.overdue(t0 + std::chrono::hours(10)).empty());
    // The template's median from the history, until the run has 3 samples of its own.
    w.started(1, 7, 0, 400, t0);
    CHECK(*w.overdue_at(1) == t0 + ms(800));
    for (std::uint32_t s : {2u, 3u}) {
        w.started(s, 7, 0, 0, t0);
        w.ended(s, 1000);
    }
    CHECK(*w.overdue_at(1) == t0 + ms(800));  // 2 samples: not yet
    w.started(2, 7, 0, 0, t0);
    w.ended(2, 10);
    CHECK(w.expected_ms(1) == 1000);  // median of {1000, 1000, 10}
    CHECK(*w.overdue_at(1) == t0 + ms(2000));
    // The task's own history wins; min_runtime bounds it below.
    w.started(4, 7, 20, 0, t0);
    CHECK(*w.overdue_at(4) == t0 + ms(100));
    // Failed attempts are no samples; the most overdue comes first.
    w.started(5, 7, 0, 0, t0);
    w.ended(5, std::nullopt);
    CHECK(w.expected_ms(1) == 1000);
    w.ended(0, std::nullopt);
    CHECK(w.overdue(t0 + ms(1999)) == std::vector<std::uint32_t>{4});
    CHECK(w.overdue(t0 + ms(2500)) == std::vector<std::uint32_t>{4, 1});  // 125x against 2.5x
    w.ended(4, std::nullopt);
    CHECK(w.overdue(t0 + ms(2500)) == std::vector<std::uint32_t>{1});
    // Another template without samples of its own: the quantile over every template's.
    w.started(6, 8, 0, 0, t0);
    CHECK(w.expected_ms(6) == 1000);
    w.started(7, 8, 0, 300, t0);  // ... after the template's history
    CHECK(w.expected_ms(7) == 300);
}

TEST_CASE("straggler watch: a template's samples are bounded") {
    detail::straggler_watch w({.enabled = true, .quantile = 1.0}, 3);
    for (int k = 0; k < 5000; ++k) {
        w.started(0, 1, 0, 0, {});
        w.ended(0, 10 + (k % 7));
    }
    w.started(0, 1, 0, 0, {});
    auto e = w.expected_ms(0);
    CHECK(e >= 10);
    CHECK(e <= 16);
}

TEST_CASE("speculation: before_queued - a backup waits for the next free slot ahead of the ready tasks") {
    machine_fixture f;
    for (auto id : {"a", "b", "c", "d"}) f.add({.id = id});
    f.start({2});
    f.next();  // a, b run; c, d ready
    CHECK(f.m->speculate(f.idx("a")) == speculation::no_slot);  // only idle slots: none
    CHECK(f.m->speculate(f.idx("a"), true) == speculation::waiting);
    CHECK(f.m->speculate(f.idx("a"), true) == speculation::waiting);  // asked again: still one
    f.done("b");
    CHECK(f.next() == V{"finished b none -> succeeded committed", "launch a#2@0"});  // before c
    CHECK(f.m->speculate(f.idx("a"), true) == speculation::not_eligible);
    f.done_attempt("a", 2);
    CHECK(f.next() == V{"kill a#1", "finished a none -> succeeded committed", "launch c#1@0"});
    f.done_attempt("a", 1, failure_class::cancelled);
    CHECK(f.next() == V{"superseded a#1 cancelled", "launch d#1@0"});
    f.done("c");
    f.done("d");
    CHECK(f.m->finished());
}

TEST_CASE("speculation: before_queued - a waiting backup is forgotten when its straggler ends first") {
    machine_fixture f;
    f.add({.id = "a", .retries = 1, .backoff = {.initial = duration(10), .jitter = 0}});
    for (auto id : {"b", "c"}) f.add({.id = id});
    f.start({2});
    f.next();
    REQUIRE(f.m->speculate(f.idx("a"), true) == speculation::waiting);
    f.done("a", failure_class::exit_code);  // the straggler failed before a slot was free
    f.next();
    f.done("b");
    CHECK(f.next() == V{"finished b none -> succeeded committed"});
    f.retry_due("a");
    CHECK(f.next() == V{"launch a#2@0"});
    f.done("c");  // a free slot: no backup of a's new attempt comes from the old wish
    CHECK(f.next() == V{"finished c none -> succeeded committed"});
    CHECK(f.m->counts().backups == 0);
}

TEST_CASE("speculation: before_queued - a waiting backup whose pool is full does not hold up the others") {
    machine_fixture f;
    f.opts.pools = {{"net", 1}};
    f.add({.id = "p", .pool = "net"});
    f.add({.id = "a"});
    f.add({.id = "x"});
    f.add({.id = "q", .pool = "net"});
    f.start({3});
    f.next();  // p, a, x run; q waits for its pool
    REQUIRE(f.m->speculate(f.idx("p"), true) == speculation::waiting);  // first in line, but its pool is full
    REQUIRE(f.m->speculate(f.idx("a"), true) == speculation::waiting);
    f.done("x");
    CHECK(f.next() == V{"finished x none -> succeeded committed", "launch a#2@0"});
    f.done("p");  // p's wish goes with it; its pool's room goes to q
    CHECK(f.next() == V{"finished p none -> succeeded committed", "launch q#1@0"});
    f.done_attempt("a", 1);
    CHECK(f.next() == V{"kill a#2", "finished a none -> succeeded committed"});
    CHECK(f.m->counts().backups == 1);
}
