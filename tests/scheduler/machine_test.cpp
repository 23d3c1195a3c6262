// The run state machine driven by scripts: every transition, without processes.
#include "scheduler/machine_harness.hpp"

#include <algorithm>

using namespace drover;
using namespace drover::test;
using V = std::vector<std::string>;

TEST_CASE("machine: an idle slot takes the next task in submission order - the run finishes when all ended") {
    machine_fixture f;
    for (auto id : {"a", "b", "c"}) f.add({.id = id});
    f.start({2});
    CHECK(f.next() == V{"queued a", "queued b", "queued c", "launch a#1@0", "launch b#1@0"});
    f.done("b");
    CHECK(f.next() == V{"finished b none -> succeeded committed", "launch c#1@0"});
    f.done("a");
    f.done("c");
    CHECK(f.next() == V{"finished a none -> succeeded committed", "finished c none -> succeeded committed", "finish"});
    auto p = f.m->counts();
    CHECK(p.succeeded == 3);
    CHECK(p.records == 3);
    CHECK(f.m->finished());
}

TEST_CASE("machine: retries wait out a growing backoff, then run again - no retries left is dead") {
    machine_fixture f;
    f.opts.seed = 7;
    f.add({.id = "a", .retries = 2, .backoff = {.initial = duration(100), .max = duration(250), .jitter = 0}});
    f.start();
    f.done("a", failure_class::exit_code);
    CHECK(f.next() == V{"queued a", "launch a#1@0", "finished a exit_code -> retry_wait", "arm a"});
    CHECK(f.driver.armed[f.idx("a")] == duration(100));
    f.retry_due("a");
    f.done("a", failure_class::timeout);
    CHECK(f.driver.armed[f.idx("a")] == duration(200));
    f.retry_due("a");
    f.done("a", failure_class::signal);
    CHECK(f.next() == V{"launch a#2@0", "finished a timeout -> retry_wait", "arm a", "launch a#3@0",
                        "finished a signal -> dead", "dead_letter a", "finish"});
    CHECK(f.m->attempts(f.idx("a")) == 3);
    CHECK(f.m->last(f.idx("a")).failure == failure_class::signal);
    // A stale or duplicate retry_due changes nothing.
    f.m->retry_due(f.idx("a"));
    CHECK(f.state("a") == task_state::dead);
}

TEST_CASE("machine: an attempt lost with its executor goes straight back, without spending a retry, at most 5 times") {
    machine_fixture f;
    f.add({.id = "a"});
    f.start();
    for (int k = 0; k < 5; ++k) {
        f.done("a", failure_class::executor_lost);
        CHECK(f.state("a") == task_state::running);  // re-queued and launched at once
    }
    f.done("a", failure_class::executor_lost);
    CHECK(f.state("a") == task_state::dead);
    CHECK(f.m->attempts(f.idx("a")) == 6);
}

TEST_CASE("machine: the halt policy stops dispatching - running attempts finish, retries and the rest are skipped") {
    machine_fixture f;
    f.opts.halt.max_dead = 1;
    f.add({.id = "flaky", .retries = 3});
    f.add({.id = "bad"});
    f.add({.id = "slow"});
    f.add({.id = "later"});
    f.add({.id = "never"});
    f.start({3});
    f.done("flaky", failure_class::exit_code);
    CHECK(f.state("flaky") == task_state::retry_wait);
    CHECK(f.state("later") == task_state::running);  // took the free slot
    f.done("bad", failure_class::exit_code);
    CHECK(f.m->halted());
    CHECK(f.state("flaky") == task_state::skipped);
    CHECK(f.driver.armed.empty());
    CHECK(f.state("never") == task_state::ready);  // never dispatched once halted
    f.done("later", failure_class::exit_code);      // no retries: dead, not skipped
    CHECK(f.driver.finishes == 0);                  // slow still runs
    f.done("slow");
    CHECK(f.driver.finishes == 1);
    CHECK(f.state("never") == task_state::skipped);
    auto p = f.m->counts();
    CHECK(p.dead == 2);
    CHECK(p.skipped == 2);
    CHECK(p.succeeded == 1);
}

TEST_CASE("machine: halt by percentage counts every task of the run") {
    machine_fixture f;
    f.opts.halt.max_dead_percent = 50;
    for (auto id : {"a", "b", "c", "d"}) f.add({.id = id});
    f.start({1});
    f.done("a", failure_class::exit_code);
    CHECK_FALSE(f.m->halted());
    f.done("b", failure_class::exit_code);
    CHECK(f.m->halted());
    CHECK(f.m->counts().skipped == 2);
}

TEST_CASE("machine: pools bound their tasks while other tasks take the free slots") {
    machine_fixture f;
    f.opts.pools = {{"net", 1}};
    f.add({.id = "n1", .pool = "net"});
    f.add({.id = "n2", .pool = "net"});
    f.add({.id = "x"});
    f.start({3});
    CHECK(f.next() == V{"queued n1", "queued n2", "queued x", "launch n1#1@0", "launch x#1@0"});
    f.done("x");
    CHECK(f.next() == V{"finished x none -> succeeded committed"});  // n2 waits for the pool
    f.done("n1");
    CHECK(f.next() == V{"finished n1 none -> succeeded committed", "launch n2#1@0"});
}

TEST_CASE("machine: a shared pool without a free place holds its tasks, others run - a place given back lets them go") {
    machine_fixture f;
    f.opts.shared_pools = {"gpu"};  // no limit of the run's own: only the shared places
    f.driver.shared_free["gpu"] = 1;
    f.add({.id = "g1", .pool = "gpu"});
    f.add({.id = "g2", .pool = "gpu"});
    f.add({.id = "x"});
    f.start({3});
    CHECK(f.next() == V{"queued g1", "queued g2", "queued x", "acquire gpu", "launch g1#1@0", "refused gpu",
                        "launch x#1@0", "refused gpu"});
    // Another run takes the place g1 gives back before this one asks again: g2 still waits.
    f.done("g1");
    auto log = f.next();
    CHECK(std::count(log.begin(), log.end(), "release gpu") == 1);
    CHECK(std::count(log.begin(), log.end(), "acquire gpu") == 1);  // g2 took it at once
    CHECK(f.state("g2") == task_state::running);
    f.driver.shared_free["gpu"] = 0;
    f.done("x");
    f.done("g2");
    CHECK(f.driver.shared_free["gpu"] == 1);  // every place taken was given back
    CHECK(f.driver.finishes == 1);
}

TEST_CASE("machine: a task held by its shared pool waits until capacity_changed finds a place") {
    machine_fixture f;
    f.opts.pools = {{"gpu", 5}};
    f.opts.shared_pools = {"gpu"};
    f.driver.shared_free["gpu"] = 0;  // another run holds every place
    f.add({.id = "g"});
    f.add({.id = "h", .pool = "gpu"});
    f.start({2});
    CHECK(f.state("h") == task_state::ready);
    f.m->capacity_changed();  // a wake-up without a place: still waits
    CHECK(f.state("h") == task_state::ready);
    f.driver.shared_free["gpu"] = 1;  // the other run gave one back
    f.m->capacity_changed();
    CHECK(f.state("h") == task_state::running);
    f.done("g");
    f.done("h");
    CHECK(f.driver.shared_free["gpu"] == 1);
    CHECK(f.driver.finishes == 1);
}

TEST_CASE("machine: executor groups: the one with the most free slots first - one that cannot accept is passed over") {
    machine_fixture f;
    for (auto id : {"a", "b", "c", "d"}) f.add({.id = id});
    f.driver.refuse[1] = true;
    f.start({1, 3});
    CHECK(f.next() == V{"queued a", "queued b", "queued c", "queued d", "launch a#1@0"});
    f.driver.refuse[1] = false;
    f.m->capacity_changed();
    CHECK(f.next() == V{"launch b#1@1", "launch c#1@1", "launch d#1@1"});
}

TEST_CASE("machine: when every executor gave up, ready tasks are dead with the reason, and their downstream fails") {
    machine_fixture f;
    f.add({.id = "a"});
    f.add({.id = "b", .after = {"a"}});
    f.driver.refuse[0] = true;
    f.driver.gave_up[0] = "docker: every host rejected";
    f.start({2});
    CHECK(f.state("a") == task_state::dead);
    CHECK(f.m->last(f.idx("a")).message == "no executor can run it: docker: every host rejected");
    CHECK(f.state("b") == task_state::upstream_failed);
    CHECK(f.driver.dead_letters[f.idx("a")] == 1);
    CHECK(f.driver.finishes == 1);
}

TEST_CASE("machine: after: a dead upstream fails everything downstream, with the reason - other tasks run") {
    machine_fixture f;
    f.add({.id = "a"});
    f.add({.id = "b", .after = {"a"}});
    f.add({.id = "c", .after = {"b"}});
    f.add({.id = "d"});
    f.add({.id = "e", .after = {"d", "c"}});
    f.start({2});
    f.done("a", failure_class::exit_code);
    CHECK(f.state("b") == task_state::upstream_failed);
    CHECK(f.state("c") == task_state::upstream_failed);
    CHECK(f.state("e") == task_state::upstream_failed);
    CHECK(f.m->last(f.idx("b")).message == "upstream task 'a' is dead");
    CHECK(f.m->last(f.idx("c")).message == "upstream task 'b' did not run (upstream failed)");
    f.done("d");
    CHECK(f.driver.finishes == 1);
    CHECK(f.m->counts().upstream_failed == 3);
    for (auto id : {"b", "c", "e"}) CHECK(f.driver.final_states[f.idx(id)] == 1);
}

TEST_CASE("machine: after: a task waits for every upstream - a retried upstream that succeeds releases it") {
    machine_fixture f;
    f.add({.id = "a", .retries = 1});
    f.add({.id = "b"});
    f.add({.id = "c", .after = {"a", "b"}});
    f.start({2});
    f.done("b");
    CHECK(f.state("c") == task_state::pending);
    f.done("a", failure_class::exit_code);
    f.retry_due("a");
    f.done("a");
    CHECK(f.state("c") == task_state::running);
}

TEST_CASE("machine: resume: replayed successes are final, dead ones too unless retry_dead - their downstream follows") {
    for (bool retry_dead : {false, true}) {
        CAPTURE(retry_dead);
        machine_fixture f;
        f.opts.retry_dead = retry_dead;
        f.add({.id = "done"});
        f.add({.id = "dead"});
        f.add({.id = "after-done", .after = {"done"}});
        f.add({.id = "after-dead", .after = {"dead"}});
        f.add({.id = "was-running"});
        auto& m = f.make();
        m.replayed(f.idx("done"), task_state::succeeded, 1, failure_class::none, "");
        m.replayed(f.idx("dead"), task_state::dead, 3, failure_class::exit_code, "exit code 2");
        m.replayed(f.idx("was-running"), task_state::running, 1, failure_class::none, "");
        f.start({4});
        CHECK(f.state("done") == task_state::succeeded);
        CHECK(m.resumed(f.idx("done")));
        CHECK(f.state("after-done") == task_state::running);
        CHECK(f.state("was-running") == task_state::running);
        if (retry_dead) {
            CHECK(f.state("dead") == task_state::running);
            CHECK(f.state("after-dead") == task_state::pending);
        } else {
            CHECK(f.state("dead") == task_state::dead);
            CHECK(m.last(f.idx("dead")).message == "exit code 2 (dead in an earlier run; --retry-dead runs it again)");
            CHECK(f.state("after-dead") == task_state::upstream_failed);
            CHECK(f.driver.dead_letters.empty());  // written in the earlier run
        }
        CHECK(m.counts().resumed == 1);
    }
}

TEST_CASE("machine: cancel kills running attempts, disarms retries and skips everything unfinished") {
    machine_fixture f;
    f.add({.id = "a", .retries = 1});
    f.add({.id = "b"});
    f.add({.id = "c"});
    f.start({2});
    f.done("a", failure_class::exit_code);
    f.next();
    f.m->cancel();
    CHECK(f.next() == V{"disarm a", "sweep a skipped: exit_code", "kill b", "kill c"});
    f.done("b", failure_class::cancelled);
    f.done("c");  // finished before the kill took: its output stands
    CHECK(f.state("b") == task_state::skipped);
    CHECK(f.state("c") == task_state::succeeded);
    CHECK(f.driver.finishes == 1);
    CHECK(f.m->cancelled());
}

TEST_CASE("machine: cancel before start ends the run at once, every task skipped") {
    machine_fixture f;
    f.add({.id = "a"});
    f.make().cancel();
    f.start();
    CHECK(f.next() == V{"queued a", "sweep a skipped", "finish"});
}

TEST_CASE("machine: an open run waits for tasks until close() - a closed run ends with its last task") {
    machine_fixture f;
    f.opts.open = true;
    f.start({1});
    CHECK(f.driver.finishes == 0);
    auto a = f.add({.id = "a"});
    auto b = f.add({.id = "b", .after = {"a"}});
    std::vector<new_task> batch{{a, {}}, {b, {a}}};
    f.m->add_tasks(batch);
    f.check();
    CHECK(f.next() == V{"queued a", "queued b", "launch a#1@0"});
    f.m->close();
    CHECK(f.driver.finishes == 0);
    f.done("a");
    f.done("b");
    CHECK(f.driver.finishes == 1);
    CHECK(f.m->counts().total == 2);
}

TEST_CASE("machine: an open run that is cancelled or halted ends without close()") {
    machine_fixture f;
    f.opts.open = true;
    f.start({1});
    f.m->cancel();
    CHECK(f.driver.finishes == 1);
}

TEST_CASE("machine: the driver may hold the finish while a submission is on its way") {
    machine_fixture f;
    f.add({.id = "a"});
    f.driver.allow_finish = false;
    f.start({1});
    f.done("a");
    CHECK(f.driver.finishes == 0);
    auto b = f.add({.id = "b"});
    f.driver.allow_finish = true;
    std::vector<new_task> batch{{b, {}}};
    f.m->add_tasks(batch);
    f.done("b");
    CHECK(f.driver.finishes == 1);
}

TEST_CASE("machine: a released executor slot takes the next task while the output commits - the pool place is kept") {
    machine_fixture f;
    f.opts.pools = {{"net", 1}};
    for (auto id : {"w", "a"}) f.add({.id = id});
    f.add({.id = "n1", .pool = "net"});
    f.add({.id = "n2", .pool = "net"});
    f.add({.id = "b"});
    f.start({2});
    CHECK(f.next() == V{"queued w", "queued a", "queued n1", "queued n2", "queued b", "launch w#1@0", "launch a#1@0"});
    // Before any commit succeeded in the run, a slot waits for its attempt's commit: a sink
    // that refuses everything must stop the run with no more done than the slots ran.
    f.m->executor_released(f.slot_of("a", 1), f.idx("a"));
    f.check();
    CHECK(f.next().empty());
    CHECK(f.m->counts().committing == 0);
    f.done("w");
    CHECK(f.next() == V{"finished w none -> succeeded committed", "launch n1#1@0"});
    f.m->executor_released(f.slot_of("a", 1), f.idx("a"));
    f.check();
    // a commits (still running, counted committing); its slot runs b (n2 waits for n1's pool place).
    CHECK(f.next() == V{"launch b#1@0"});
    CHECK(f.state("a") == task_state::running);
    CHECK(f.m->counts().running == 3);
    CHECK(f.m->counts().committing == 1);
    // Twice, or for another task: nothing happens.
    f.m->executor_released(f.slot_of("a", 1), f.idx("a"));
    f.m->executor_released(f.slot_of("b", 1), f.idx("a"));
    f.check();
    CHECK(f.next().empty());
    // No backup for an attempt whose process has ended.
    CHECK(f.m->speculate(f.idx("a")) == detail::run_machine::speculation::not_eligible);
    // n1 released: its slot is free, but its pool place is not: n2 waits.
    f.m->executor_released(f.slot_of("n1", 1), f.idx("n1"));
    f.check();
    CHECK(f.next().empty());
    CHECK(f.m->counts().committing == 2);
    // Two commits going on, as many as the group's slots: b's slot waits for b's commit.
    f.m->executor_released(f.slot_of("b", 1), f.idx("b"));
    f.check();
    CHECK(f.m->counts().committing == 2);
    f.done("n1");
    CHECK(f.next() == V{"finished n1 none -> succeeded committed", "launch n2#1@0"});
    // a's commit fails: a failure like any other, and its slot was long given away.
    f.done("a", failure_class::output_error);
    CHECK(f.next() == V{"finished a output_error -> dead", "dead_letter a"});
    CHECK(f.m->counts().committing == 0);
    f.done("b");
    f.done("n2");
    CHECK(f.next() == V{"finished b none -> succeeded committed", "finished n2 none -> succeeded committed", "finish"});
}
