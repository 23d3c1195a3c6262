// The run state machine: fan-out (children of a successful attempt), per-task control, and
// scenarios re-run with a fault injected at every step.
#include "scheduler/machine_harness.hpp"

#include <functional>

using namespace drover;
using namespace drover::test;
using V = std::vector<std::string>;

TEST_CASE("machine fan-out: children enter with the parent's success - tasks after the parent wait for all of them") {
    machine_fixture f;
    f.add({.id = "split"});
    f.add({.id = "merge", .after = {"split"}});
    f.start({2});
    f.next();
    f.done("split", failure_class::none, {f.child("p1"), f.child("p2", {"p1"})});
    CHECK(f.next() == V{"finished split none -> succeeded committed +p1 +p2", "queued p1", "queued p2", "launch p1#1@0"});
    CHECK(f.state("merge") == task_state::pending);
    CHECK(f.m->parent(f.idx("p2")) == f.idx("split"));
    f.done("p1", failure_class::none, {f.child("p1a")});  // a grandchild
    // p2 comes after p1, so after p1's subtree: it waits for p1a too.
    CHECK(f.state("p2") == task_state::pending);
    f.done("p1a");
    CHECK(f.state("merge") == task_state::pending);
    f.done("p2");
    CHECK(f.state("merge") == task_state::running);
    f.done("merge");
    CHECK(f.driver.finishes == 1);
    CHECK(f.m->counts().total == 5);
}

TEST_CASE("machine fan-out: a failed attempt creates no children - a dead child fails the parent's downstream") {
    machine_fixture f;
    f.add({.id = "split", .retries = 1});
    f.add({.id = "merge", .after = {"split"}});
    f.start({2});
    f.done("split", failure_class::exit_code, {new_task{7, {}}});
    CHECK(f.m->size() == 2);  // the child of the failed attempt never entered
    f.retry_due("split");
    f.done("split", failure_class::none, {f.child("p1"), f.child("p2")});
    f.done("p1", failure_class::exit_code);
    CHECK(f.state("merge") == task_state::upstream_failed);
    CHECK(f.m->last(f.idx("merge")).message == "upstream task 'split': task 'p1' it fanned out is dead");
    f.done("p2");
    CHECK(f.driver.finishes == 1);
    CHECK(f.state("split") == task_state::succeeded);
}

TEST_CASE("machine fan-out: retry_task of a dead child revives what failed because of it") {
    machine_fixture f;
    f.add({.id = "split"});
    f.add({.id = "merge", .after = {"split"}});
    f.add({.id = "report", .after = {"merge"}});
    f.driver.allow_finish = false;  // keep the run open for the retry
    f.start({1});
    f.done("split", failure_class::none, {f.child("p1")});
    f.done("p1", failure_class::exit_code);
    CHECK(f.state("report") == task_state::upstream_failed);
    f.next();
    CHECK(f.m->retry_task(f.idx("p1")) == run_machine::control_result::done);
    f.check();
    CHECK(f.next() == V{"queued p1", "queued merge", "queued report", "launch p1#2@0"});
    CHECK(f.state("merge") == task_state::pending);
    f.done("p1");
    f.done("merge");
    f.driver.allow_finish = true;
    f.done("report");
    CHECK(f.driver.finishes == 1);
    CHECK(f.m->counts().succeeded == 4);
}

TEST_CASE("machine fan-out: a resumed parent with unfinished children keeps its downstream waiting") {
    machine_fixture f;
    f.add({.id = "split"});
    f.add({.id = "merge", .after = {"split"}});
    f.add({.id = "p1"});
    f.add({.id = "p2"});
    auto& m = f.make();
    m.replayed(f.idx("split"), task_state::succeeded, 1, failure_class::none, "");
    m.replayed(f.idx("p1"), task_state::succeeded, 1, failure_class::none, "");
    m.set_parent(f.idx("p1"), f.idx("split"));
    m.set_parent(f.idx("p2"), f.idx("split"));
    f.start({1});
    CHECK(f.state("p2") == task_state::running);
    CHECK(f.state("merge") == task_state::pending);
    f.done("p2");
    CHECK(f.state("merge") == task_state::running);
}

TEST_CASE("machine fan-out: a child coming after a task that waits for its own parent is a cycle") {
    machine_fixture f;
    f.add({.id = "split"});
    f.add({.id = "merge", .after = {"split"}});
    f.add({.id = "other"});
    f.start({1});
    auto split = f.idx("split"), merge = f.idx("merge"), other = f.idx("other");
    std::vector<std::uint32_t> up{merge};
    auto cycle = f.m->child_cycle(split, up);
    REQUIRE(cycle);
    CHECK(*cycle == "task 'merge' waits for task 'split', which this task is fanned out from: it would wait for itself");
    std::vector<std::uint32_t> self{split};
    CHECK(f.m->child_cycle(split, self));
    std::vector<std::uint32_t> fine{other};
    CHECK_FALSE(f.m->child_cycle(split, fine));
}

TEST_CASE("machine control: cancel_task in every state - what comes after a cancelled task fails") {
    machine_fixture f;
    f.opts.pools = {{"p", 1}};
    f.add({.id = "run", .pool = "p"});
    f.add({.id = "ready", .pool = "p"});
    f.add({.id = "wait", .retries = 2});
    f.add({.id = "blocked", .after = {"run"}});
    f.add({.id = "after-ready", .after = {"ready"}});
    f.start({3});
    f.done("wait", failure_class::exit_code);
    REQUIRE(f.state("wait") == task_state::retry_wait);
    REQUIRE(f.state("ready") == task_state::ready);  // its pool is full
    using R = run_machine::control_result;
    CHECK(f.m->cancel_task(f.idx("wait")) == R::done);
    CHECK(f.driver.armed.empty());
    CHECK(f.state("wait") == task_state::cancelled);
    CHECK(f.m->cancel_task(f.idx("blocked")) == R::done);
    CHECK(f.state("blocked") == task_state::cancelled);
    CHECK(f.m->cancel_task(f.idx("ready")) == R::done);
    CHECK(f.state("after-ready") == task_state::upstream_failed);
    CHECK(f.m->last(f.idx("after-ready")).message == "upstream task 'ready' was cancelled");
    f.check();
    // "run" is running: the attempt is killed and ends cancelled, without a retry.
    REQUIRE(f.state("run") == task_state::running);
    CHECK(f.m->cancel_task(f.idx("run")) == R::done);
    CHECK(f.driver.kills.count(f.idx("run")));
    f.done("run", failure_class::cancelled);
    CHECK(f.state("run") == task_state::cancelled);
    CHECK(f.m->cancel_task(f.idx("run")) == R::not_applicable);  // already final
    CHECK(f.driver.finishes == 1);
    auto p = f.m->counts();
    CHECK(p.cancelled == 4);
    CHECK(p.upstream_failed == 1);
    for (std::uint32_t i = 0; i < f.m->size(); ++i) CHECK(f.driver.final_states[i] == 1);
}

TEST_CASE("machine control: retry_task runs a dead task again with its retries renewed") {
    machine_fixture f;
    f.opts.open = true;
    f.add({.id = "a", .retries = 1});
    f.start({1});
    f.done("a", failure_class::exit_code);
    f.retry_due("a");
    f.done("a", failure_class::exit_code);
    CHECK(f.state("a") == task_state::dead);
    using R = run_machine::control_result;
    CHECK(f.m->retry_task(f.idx("a")) == R::done);
    f.done("a", failure_class::exit_code);
    CHECK(f.state("a") == task_state::retry_wait);  // one more retry, as the policy says
    f.retry_due("a");
    f.done("a");
    CHECK(f.m->attempts(f.idx("a")) == 4);
    CHECK(f.m->retry_task(f.idx("a")) == R::not_applicable);  // succeeded
    f.m->close();
    CHECK(f.driver.finishes == 1);
}

TEST_CASE("machine control: mark_succeeded of a dead child revives what failed because of it, without an attempt") {
    machine_fixture f;
    f.add({.id = "split"});
    f.add({.id = "merge", .after = {"split"}});
    f.add({.id = "report", .after = {"merge"}});
    f.driver.allow_finish = false;
    f.start({1});
    f.done("split", failure_class::none, {f.child("p1"), f.child("p2")});
    f.done("p1", failure_class::exit_code);
    f.done("p2");
    CHECK(f.state("merge") == task_state::upstream_failed);
    CHECK(f.state("report") == task_state::upstream_failed);
    f.next();
    using R = run_machine::control_result;
    CHECK(f.m->mark_succeeded(f.idx("p1")) == R::done);
    f.check();
    CHECK(f.state("p1") == task_state::succeeded);
    CHECK(f.m->attempts(f.idx("p1")) == 1);  // no attempt was made for it
    CHECK(f.m->last(f.idx("p1")).message == "marked succeeded");
    CHECK(f.state("merge") == task_state::running);  // revived and launched
    CHECK(f.state("report") == task_state::pending);
    CHECK(f.m->mark_succeeded(f.idx("p1")) == R::not_applicable);     // succeeded already
    CHECK(f.m->mark_succeeded(f.idx("merge")) == R::not_applicable);  // running: cancel it first
    f.done("merge");
    f.driver.allow_finish = true;
    f.done("report");
    CHECK(f.driver.finishes == 1);
    CHECK(f.m->counts().succeeded == 5);
    CHECK(f.m->counts().dead == 0);
}

TEST_CASE("machine control: mark_succeeded of waiting, ready and retry_wait tasks - they never launch") {
    machine_fixture f;
    f.add({.id = "slow"});
    f.add({.id = "waits", .after = {"slow"}});
    f.add({.id = "then", .after = {"waits"}});
    f.add({.id = "queued"});
    f.add({.id = "flaky", .retries = 3});
    f.start({1});  // one slot: slow runs, the others wait
    CHECK(f.state("slow") == task_state::running);
    using R = run_machine::control_result;
    CHECK(f.m->mark_succeeded(f.idx("waits")) == R::done);  // pending on slow
    CHECK(f.state("then") == task_state::ready);            // what comes after it may run
    CHECK(f.m->mark_succeeded(f.idx("queued")) == R::done);  // ready
    f.check();
    f.next();
    f.done("slow");  // its completion does not make the marked task ready again
    CHECK(f.state("waits") == task_state::succeeded);
    CHECK(f.state("flaky") == task_state::running);  // ready since the start: first in line
    f.done("flaky", failure_class::exit_code);
    CHECK(f.state("flaky") == task_state::retry_wait);
    CHECK(f.state("then") == task_state::running);
    f.next();
    CHECK(f.m->mark_succeeded(f.idx("flaky")) == R::done);
    auto log = f.next();
    REQUIRE(log.size() >= 2);
    CHECK(log[0] == "disarm flaky");
    CHECK(log[1] == "state flaky succeeded: marked succeeded");
    f.check();
    f.done("then");
    CHECK(f.driver.finishes == 1);
    CHECK(f.m->counts().succeeded == 5);
    for (std::uint32_t i = 0; i < f.m->size(); ++i) CHECK(f.driver.final_states[i] == 1);
}

// ---- a fault at every step ----

namespace {

enum class fault { none, executor_lost, commit_failed, journal_failed, cancel };

// A DAG with fan-out, retries and a pool, driven to the end; at step `at` (the at-th attempt
// end) `inject` happens instead of (or before) the scripted outcome. Every attempt succeeds
// unless a fault says otherwise; "split" fans out three pages once it succeeds.
void run_scenario(fault inject, int at, int& steps) {
    machine_fixture f;
    f.opts.pools = {{"net", 1}};
    f.opts.seed = 1;
    f.add({.id = "split", .retries = 1});
    f.add({.id = "a", .retries = 1, .pool = "net"});
    f.add({.id = "b", .retries = 1, .pool = "net"});
    f.add({.id = "merge", .retries = 1, .after = {"split", "a"}});
    f.add({.id = "report", .retries = 1, .after = {"merge", "b"}});
    f.start({2});
    std::map<std::uint32_t, int> commits;
    int step = 0;
    while (f.driver.finishes == 0) {
        REQUIRE_MESSAGE(step < 100, "no progress");
        if (f.driver.running.empty()) {
            REQUIRE_MESSAGE(!f.driver.armed.empty(), "the run is stuck: nothing runs, nothing is due");
            f.retry_due(f.id_of(f.driver.armed.begin()->first));
            continue;
        }
        auto task = f.driver.running.front().task;
        auto id = f.id_of(task);
        ++step;
        auto outcome = f.driver.kills.count(task) ? failure_class::cancelled : failure_class::none;
        if (step == at) {
            if (inject == fault::executor_lost) outcome = failure_class::executor_lost;
            if (inject == fault::commit_failed) outcome = failure_class::output_error;
            if (inject == fault::journal_failed) f.m->journal_failed();
            if (inject == fault::cancel) f.m->cancel();
            f.check();
            if (f.driver.kills.count(task)) outcome = failure_class::cancelled;
        }
        std::vector<new_task> children;
        if (id == "split" && outcome == failure_class::none)
            children = {f.child("page-1", {}, 1), f.child("page-2", {}, 1), f.child("page-3", {"page-1"}, 1)};
        if (outcome == failure_class::none) ++commits[task];
        f.done(id, outcome, children);
    }
    steps = step;
    // Each task ended exactly once; a succeeded task was committed exactly once; counters equal
    // states (checked after every event); finish came once.
    CHECK(f.driver.finishes == 1);
    for (std::uint32_t i = 0; i < f.m->size(); ++i) {
        CAPTURE(f.id_of(i));
        CHECK(f.driver.final_states[i] == 1);
        CHECK(commits[i] == (f.m->state(i) == task_state::succeeded ? 1 : 0));
        CHECK(f.driver.dead_letters[i] == (f.m->state(i) == task_state::dead ? 1 : 0));
    }
    if (inject == fault::none || inject == fault::executor_lost || inject == fault::commit_failed) {
        // Retries absorb a single fault: everything succeeds.
        CHECK(f.m->counts().succeeded == f.m->size());
        CHECK(f.m->size() == 8);
    } else {
        CHECK(f.m->cancelled());
    }
}

}  // namespace

TEST_CASE("machine faults: a fault injected at every step keeps each task ending once and output once") {
    int steps = 0;
    run_scenario(fault::none, 0, steps);
    REQUIRE(steps == 8);
    for (auto inject : {fault::executor_lost, fault::commit_failed, fault::journal_failed, fault::cancel}) {
        for (int at = 1; at <= steps; ++at) {
            CAPTURE(static_cast<int>(inject));
            CAPTURE(at);
            int s = 0;
            run_scenario(inject, at, s);
        }
    }
}
