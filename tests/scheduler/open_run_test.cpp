// Open runs with real processes: tasks submitted from other threads while the run goes,
// close(), per-task cancel and retry, and submissions that a resumed run recreates.
#include <doctest/doctest.h>

#include "scheduler/fixture.hpp"

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <thread>

using namespace drover;
using namespace drover::test;
using namespace std::chrono_literals;

namespace {

task_spec rec(const std::string& id) { return sh(id, "echo '{\"id\":\"" + id + "\"}'"); }

// Waits (up to 10 s) until `pred` holds.
template <class Pred>
bool eventually(Pred pred) {
    for (int i = 0; i < 1000; ++i) {
        if (pred()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return pred();
}

}  // namespace

TEST_CASE("open run: tasks submitted from two threads while it runs all run once, close() ends it" *
          doctest::timeout(120)) {
    sched_fixture f;
    scheduler_options o;
    o.open = true;
    auto s = f.make(4, o);
    std::thread feeders[2];
    for (int k = 0; k < 2; ++k)
        feeders[k] = std::thread([&s, k] {
            for (int i = 0; i < 100; ++i) {
                s.submit(rec("t" + std::to_string(k) + "-" + std::to_string(i)));
                if (i % 10 == 0) std::this_thread::sleep_for(5ms);
            }
        });
    std::thread closer([&] {
        for (auto& t : feeders) t.join();
        s.close();
    });
    auto r = s.run();
    closer.join();
    CHECK(r.ok());
    CHECK(r.counts.total == 200);
    CHECK(r.counts.succeeded == 200);
    CHECK(f.output_records().size() == 200);
    CHECK(s.size() == 200);
    // Closed and finished: no more tasks.
    CHECK_THROWS_WITH_AS(s.submit(rec("late")), doctest::Contains("has finished"), drover::error);
}

TEST_CASE("open run: an open run with nothing to do waits for close(), then ends at once" * doctest::timeout(60)) {
    sched_fixture f;
    scheduler_options o;
    o.open = true;
    auto s = f.make(1, o);
    std::atomic<bool> closed{false};
    std::thread closer([&] {
        std::this_thread::sleep_for(300ms);
        closed = true;
        s.close();
    });
    auto r = s.run();
    closer.join();
    CHECK(closed);
    CHECK(r.ok());
    CHECK(r.counts.total == 0);
}

// The run's dispatcher holds timers and a strand of the caller's io_context: it must be gone
// when async_run completes, although other threads were at it a moment before (close(),
// cancel(), a question on its strand). Were one of them left holding the last reference,
// the dispatcher would be destroyed there, after the io_context (ASan: heap-use-after-free).
TEST_CASE("open run: async_run's io_context can go as soon as it returns, while other threads still call in" *
          doctest::timeout(120)) {
    for (int round = 0; round < 20; ++round) {
        sched_fixture f;
        scheduler_options o;
        o.open = true;
        auto s = f.make(1, o);
        std::atomic<bool> done{false};
        std::atomic<int> calls{0};
        std::thread caller([&] {
            while (!done) {
                s.close();
                s.cancel();
                try {
                    (void)s.cancel_task("none");
                } catch (const drover::error&) {
                    // no run is going (not yet, or no more)
                }
                ++calls;
            }
        });
        bool completed = false;
        std::exception_ptr err;
        {
            boost::asio::io_context ctx;
            s.async_run(ctx.get_executor(), [&](std::exception_ptr e, run_summary) {
                completed = true;
                err = e;
            });
            ctx.run();
        }  // the io_context goes here, the other thread still calling
        std::this_thread::sleep_for(2ms);
        done = true;
        caller.join();
        CHECK(completed);
        CHECK_FALSE(err);
        CHECK(calls > 0);
    }
}

TEST_CASE("open run: while running, submit() checks ids and after at once, and refuses after close()" *
          doctest::timeout(60)) {
    sched_fixture f;
    scheduler_options o;
    o.open = true;
    auto s = f.make(2, o);
    s.submit(sh("first", "sleep 0.2; echo '{\"a\":1}'"));
    std::string dup, unknown, glob, closed;
    std::thread t([&] {
        eventually([&] { return f.events.started_count() > 0; });
        try { s.submit(rec("first")); } catch (const config_error& e) { dup = e.what(); }
        auto bad = rec("x");
        bad.after = {"nope"};
        try { s.submit(bad); } catch (const config_error& e) { unknown = e.what(); }
        bad.after = {"zz-*"};
        try { s.submit(bad); } catch (const config_error& e) { glob = e.what(); }
        auto good = rec("second");
        good.after = {"fir*"};  // resolved now, to "first"
        s.submit(good);
        s.close();
        try { s.submit(rec("third")); } catch (const drover::error& e) { closed = e.what(); }
    });
    auto r = s.run();
    t.join();
    CHECK(dup == "duplicate task id 'first'");
    CHECK(unknown == "task 'x': after 'nope': no task has this id");
    CHECK(glob == "task 'x': after 'zz-*': the pattern matches no other task");
    CHECK(closed == "the run is closed: it takes no more tasks");
    CHECK(r.ok());
    CHECK(r.counts.total == 2);
    CHECK(s.find_task("second")->after == std::vector<std::string>{"first"});
    CHECK(f.events.finished_at("first") <= f.events.starts_of("second").at(0));
}

TEST_CASE("open run: a batch run takes submissions while it goes and ends with its queue" * doctest::timeout(60)) {
    sched_fixture f;
    auto s = f.make(1);
    s.submit(sh("a", "sleep 0.3"));
    std::thread t([&] {
        eventually([&] { return f.events.started_count() > 0; });
        s.submit(rec("b"));
    });
    auto r = s.run();
    t.join();
    CHECK(r.ok());
    CHECK(r.counts.total == 2);
}

TEST_CASE("open run: cancel_task kills a running task, retry_task runs a dead one again" * doctest::timeout(60)) {
    sched_fixture f;
    scheduler_options o;
    o.open = true;
    auto s = f.make(3, o);
    auto marker = f.dir / "ok";
    s.submit(sh("sleeper", "sleep 30"));
    auto after = rec("after-sleeper");
    after.after = {"sleeper"};
    s.submit(after);
    s.submit(sh("flaky", "[ -e " + marker.string() + " ] || exit 3; echo '{\"flaky\":1}'"));
    bool cancelled = false, retried = false, again = false;
    std::string unknown;
    std::thread t([&] {
        eventually([&] { return f.events.has_finished("flaky") && f.events.started_count() >= 2; });
        cancelled = s.cancel_task("sleeper");
        write_file(marker, "");
        retried = s.retry_task("flaky");
        again = s.retry_task("after-sleeper");  // upstream_failed: not dead or cancelled
        try { s.cancel_task("nobody"); } catch (const config_error& e) { unknown = e.what(); }
        eventually([&] { return f.events.has_finished("flaky", task_state::succeeded); });
        s.close();
    });
    auto t0 = std::chrono::steady_clock::now();
    auto r = s.run();
    t.join();
    CHECK(std::chrono::steady_clock::now() - t0 < 20s);  // the sleeper was killed
    CHECK(cancelled);
    CHECK(retried);
    CHECK_FALSE(again);
    CHECK(unknown == "no task 'nobody' in this run");
    CHECK(result(r, "sleeper").state == task_state::cancelled);
    CHECK(result(r, "sleeper").last.failure == failure_class::cancelled);
    CHECK(result(r, "after-sleeper").state == task_state::upstream_failed);
    CHECK(result(r, "after-sleeper").last.message == "upstream task 'sleeper' was cancelled");
    CHECK(result(r, "flaky").state == task_state::succeeded);
    CHECK(result(r, "flaky").attempts == 2);
    CHECK(r.counts.cancelled == 1);
    CHECK(r.exit_code() == 1);
    CHECK_THROWS_WITH_AS(s.cancel_task("flaky"), "no run is going", drover::error);
}

TEST_CASE("open run: mark_succeeded lets the tasks after a dead one run - a resumed run keeps it succeeded" *
          doctest::timeout(60)) {
    sched_fixture f;
    auto journaled = [](bool open) {
        scheduler_options o;
        o.open = open;
        o.journal.enabled = true;
        o.journal.job_name = "j";
        return o;
    };
    {
        auto s = f.make(2, journaled(true));
        s.submit(sh("bad", "exit 3"));
        auto after = rec("after-bad");
        after.after = {"bad"};
        s.submit(after);
        bool marked = false, twice = true;
        std::thread t([&] {
            eventually([&] { return f.events.has_finished("bad"); });
            marked = s.mark_succeeded("bad");
            eventually([&] { return f.events.has_finished("after-bad", task_state::succeeded); });
            twice = s.mark_succeeded("bad");
            s.close();
        });
        auto r = s.run();
        t.join();
        CHECK(marked);
        CHECK_FALSE(twice);
        CHECK(result(r, "bad").state == task_state::succeeded);
        CHECK(result(r, "bad").last.message == "marked succeeded");
        CHECK(result(r, "after-bad").state == task_state::succeeded);
        CHECK(r.exit_code() == 0);
    }
    auto s = f.make(2, journaled(false));
    s.submit(sh("bad", "exit 3"));
    auto after = rec("after-bad");
    after.after = {"bad"};
    s.submit(after);
    auto r = s.run();
    CHECK(r.counts.resumed == 2);  // neither runs again
    CHECK(result(r, "bad").state == task_state::succeeded);
    CHECK(read_records(f.out) == std::vector<std::string>{R"({"id":"after-bad"})"});
}

TEST_CASE("open run: a task submitted while running is journaled - a resumed run recreates and runs it" *
          doctest::timeout(60)) {
    sched_fixture f;
    auto journaled = [] {
        scheduler_options o;
        o.open = true;
        o.journal.enabled = true;
        o.journal.job_name = "j";
        return o;
    };
    {
        auto s = f.make(1, journaled());
        std::thread t([&] {
            eventually([&] { return f.events.is_running(); });  // before the run, a task is the program's
            auto late = rec("late");
            late.env = {{"PLAIN", "v"}, {"API_TOKEN", "s3cr3t-value"}};
            s.submit(late);  // durable once it returns
            s.cancel();      // the run ends before "late" could start
        });
        auto r = s.run();
        t.join();
        INFO("total " << r.counts.total << " succeeded " << r.counts.succeeded << " skipped " << r.counts.skipped);
        CHECK(r.cancelled);
    }
    // The journal holds the task's JSON, without the secret's value.
    auto dump = run_shell("sqlite3 " + (f.dir / "state" / "journal.db").string() +
                          " \"SELECT spec FROM task_specs WHERE task_id='late'\"");
    CHECK(dump.output.find("\"PLAIN\":\"v\"") != std::string::npos);
    CHECK(dump.output.find("s3cr3t") == std::string::npos);
    CHECK(dump.output.find("\"redacted_env\":[\"API_TOKEN\"]") != std::string::npos);
    {
        auto o = journaled();
        o.open = false;
        o.defaults.env = {{"API_TOKEN", "from-defaults"}, {"OTHER", "not-for-late"}};
        auto s = f.make(1, o);
        auto r = s.run();  // nothing submitted: "late" comes from the journal
        CHECK(r.ok());
        CHECK(r.counts.total == 1);
        auto late = s.find_task("late");
        REQUIRE(late);
        CHECK(late->env.at("PLAIN") == "v");
        CHECK(late->env.at("API_TOKEN") == "from-defaults");  // the secret comes from the defaults again
        CHECK(late->env.count("OTHER") == 0);                 // but nothing else: the task is as it was
    }
}

TEST_CASE("open run: an observer's hook may submit a follow-up, and the run waits for it" * doctest::timeout(60)) {
    sched_fixture f;
    auto s = f.make(1);
    struct follow_up final : observer {
        scheduler* s = nullptr;
        void on_task_finished(const task_spec& t, const attempt_outcome&, task_state) override {
            if (t.id == "a") s->submit(sh("b", "echo '{\"b\":1}'"));
            if (t.id == "b") cancelled_unknown = !s->cancel_task("b");  // from the strand itself: no deadlock
        }
        bool cancelled_unknown = false;
    } hook;
    hook.s = &s;
    s.add_observer(hook);
    s.submit(rec("a"));
    auto r = s.run();
    CHECK(r.ok());
    CHECK(r.counts.total == 2);
    CHECK(hook.cancelled_unknown);  // b had finished: nothing to cancel
}
