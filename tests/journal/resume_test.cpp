// Resume through the library: what a second run on the same state directory runs again.
#include <doctest/doctest.h>

#include "scheduler/fixture.hpp"

#include <drover/journal.hpp>

#include "journal/journal.hpp"

#include <boost/asio/io_context.hpp>

#include <map>
#include <thread>

using namespace drover;
using namespace drover::test;

namespace {

scheduler_options journaled(std::string job = "j") {
    scheduler_options o;
    o.journal.enabled = true;
    o.journal.job_name = std::move(job);
    return o;
}

// A task that counts its runs in <dir>/runs-<id> and fails while <dir>/fail-<id> exists.
task_spec counted(const fs::path& dir, const std::string& id) {
    auto runs = (dir / ("runs-" + id)).string(), fail = (dir / ("fail-" + id)).string();
    return sh(id, "echo x >> " + runs + "; [ -e " + fail + " ] && exit 4; echo '{\"id\":\"" + id + "\"}'");
}

int runs_of(const fs::path& dir, const std::string& id) {
    auto p = dir / ("runs-" + id);
    return fs::exists(p) ? static_cast<int>(split_lines(read_file(p)).size()) : 0;
}

}  // namespace

TEST_CASE("resume: succeeded tasks are not run again, dead ones only with retry_dead") {
    sched_fixture f;
    write_file(f.dir / "fail-b", "");
    auto submit_all = [&](scheduler& s) {
        for (auto id : {"a", "b", "c"}) s.submit(counted(f.dir.path(), id));
    };
    {
        auto s = f.make(2, journaled());
        submit_all(s);
        auto r = s.run();
        CHECK(r.counts.succeeded == 2);
        CHECK(r.counts.dead == 1);
    }
    fs::remove(f.dir / "fail-b");
    {
        auto s = f.make(2, journaled());
        submit_all(s);
        auto r = s.run();
        // b stays dead without retry_dead: nothing runs.
        CHECK(r.counts.resumed == 2);
        CHECK(r.counts.succeeded == 2);
        CHECK(r.counts.dead == 1);
        CHECK(result(r, "b").resumed);
        CHECK(result(r, "b").last.failure == failure_class::exit_code);
        CHECK(runs_of(f.dir.path(), "a") == 1);
        CHECK(runs_of(f.dir.path(), "b") == 1);
    }
    {
        auto o = journaled();
        o.journal.retry_dead = true;
        auto s = f.make(2, o);
        submit_all(s);
        auto r = s.run();
        CHECK(r.ok());
        CHECK(r.counts.resumed == 2);
        CHECK(runs_of(f.dir.path(), "a") == 1);
        CHECK(runs_of(f.dir.path(), "b") == 2);
        CHECK(runs_of(f.dir.path(), "c") == 1);
    }
    CHECK(f.output_records() ==
          std::vector<std::string>{R"({"id":"a"})", R"({"id":"b"})", R"({"id":"c"})"});
    // The journal knows where each task's output went.
    auto st = read_journal_status(f.dir / "state");
    CHECK(st.counts["succeeded"] == 3);
    CHECK(st.runs == 3);
    CHECK(st.dead.empty());
}

TEST_CASE("resume: new tasks run, a changed job name is refused, fresh runs everything again") {
    sched_fixture f;
    {
        auto s = f.make(2, journaled());
        s.submit(counted(f.dir.path(), "a"));
        CHECK(s.run().ok());
    }
    {
        auto s = f.make(2, journaled());
        s.submit(counted(f.dir.path(), "a"));
        s.submit(counted(f.dir.path(), "new"));
        auto r = s.run();
        CHECK(r.ok());
        CHECK(r.counts.resumed == 1);
        CHECK(runs_of(f.dir.path(), "a") == 1);
        CHECK(runs_of(f.dir.path(), "new") == 1);
    }
    {
        auto s = f.make(2, journaled("other"));
        s.submit(counted(f.dir.path(), "a"));
        CHECK_THROWS_WITH_AS(s.run(), doctest::Contains("holds the journal of job 'j', not 'other'"), config_error);
    }
    {
        auto o = journaled();
        o.journal.fresh = true;
        auto s = f.make(2, o);
        s.submit(counted(f.dir.path(), "a"));
        auto r = s.run();
        CHECK(r.ok());
        CHECK(r.counts.resumed == 0);
        CHECK(runs_of(f.dir.path(), "a") == 2);
    }
}

TEST_CASE("resume: upstream_failed tasks run once their dead upstream is retried and succeeds") {
    sched_fixture f;
    write_file(f.dir / "fail-up", "");
    auto submit_all = [&](scheduler& s) {
        s.submit(counted(f.dir.path(), "up"));
        auto d = counted(f.dir.path(), "down");
        d.after = {"up"};
        s.submit(d);
    };
    {
        auto s = f.make(1, journaled());
        submit_all(s);
        auto r = s.run();
        CHECK(result(r, "down").state == task_state::upstream_failed);
    }
    {
        auto s = f.make(1, journaled());
        submit_all(s);
        auto r = s.run();  // up is still dead: down is upstream_failed again, nothing runs
        CHECK(result(r, "down").state == task_state::upstream_failed);
        CHECK(runs_of(f.dir.path(), "up") == 1);
    }
    fs::remove(f.dir / "fail-up");
    {
        auto o = journaled();
        o.journal.retry_dead = true;
        auto s = f.make(1, o);
        submit_all(s);
        auto r = s.run();
        CHECK(r.ok());
        CHECK(runs_of(f.dir.path(), "down") == 1);
    }
    auto st = read_journal_status(f.dir / "state");
    CHECK(st.counts["succeeded"] == 2);
    CHECK(st.counts["upstream_failed"] == 0);
}

TEST_CASE("resume: a second process on the same state directory is refused while the first runs") {
    sched_fixture f;
    auto s1 = f.make(1, journaled());
    auto gate = f.dir / "gate";
    s1.submit(sh("slow", "while [ ! -e " + gate.string() + " ]; do sleep 0.02; done"));
    boost::asio::io_context ctx;
    bool done = false;
    s1.async_run(ctx.get_executor(), [&](std::exception_ptr, run_summary) { done = true; });
    // Run until the first task is running, then try a second scheduler on the same directory.
    while (f.events.started.empty()) ctx.run_one();
    // The writer commits within its interval: wait for the journal to show the attempt.
    journal_status st;
    for (int i = 0; i < 500 && (st = read_journal_status(f.dir / "state")).running.empty(); ++i) {
        ctx.poll();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    CHECK(st.live);
    CHECK(st.counts["running"] == 1);
    REQUIRE(st.running.size() == 1);
    CHECK(st.running[0].task_id == "slow");
    CHECK(st.running[0].attempt == 1);
    scheduler s2({.state_dir = f.dir / "state", .journal = {.enabled = true, .job_name = "j"}});
    s2.submit(sh("x", "true"));
    CHECK_THROWS_WITH(s2.run(), doctest::Contains("is in use by another drover run"));
    write_file(gate, "");
    ctx.run();
    CHECK(done);
    CHECK_FALSE(read_journal_status(f.dir / "state").live);
}

TEST_CASE("status: no journal is a clear error") {
    temp_dir d;
    CHECK_THROWS_WITH(read_journal_status(d.path()), doctest::Contains("no journal in"));
}

TEST_CASE("status: a journal killed before its schema existed is a clear error, and the next run starts it") {
    sched_fixture f;
    auto state = f.dir / "state";
    fs::create_directories(state);
    write_file(state / "journal.db", "");  // what a run killed right after creating the file leaves
    CHECK_THROWS_WITH(read_journal_status(state), doctest::Contains("has no runs yet"));
    auto s = f.make(2, journaled());
    s.submit(sh("a", "echo '{\"a\":1}'"));
    CHECK(s.run().counts.succeeded == 1);
    CHECK(read_journal_status(state).counts.at("succeeded") == 1);
}

TEST_CASE("journal: a damaged, foreign or newer journal fails the run before any task runs") {
    auto expect_error = [](const fs::path& state, const std::string& part) {
        scheduler s({.state_dir = state, .journal = {.enabled = true, .job_name = "j"}});
        auto marker = state.parent_path() / "ran";
        s.submit(sh("a", "touch " + marker.string()));
        try {
            s.run();
            FAIL("no error");
        } catch (const std::exception& e) {
            CHECK_MESSAGE(std::string(e.what()).find(part) != std::string::npos, e.what());
        }
        CHECK_FALSE(fs::exists(marker));
    };
    {
        temp_dir d;
        fs::create_directories(d / "st");
        write_file(d / "st" / "journal.db", std::string(5000, 'x'));  // not SQLite
        expect_error(d / "st", "journal.db");
        expect_error(d / "st", "not a database");
    }
    {
        temp_dir d;
        fs::create_directories(d / "st" / "journal.db");  // a directory in its place
        expect_error(d / "st", "journal");
    }
    {
        temp_dir d;
        {
            scheduler s({.state_dir = d / "st", .journal = {.enabled = true, .job_name = "j"}});
            s.submit(sh("a", "true"));
            CHECK(s.run().ok());
        }
        auto r = run_shell("sqlite3 " + (d / "st" / "journal.db").string() +
                           " \"UPDATE meta SET value='99' WHERE key='schema_version'\" 2>&1");
        if (r.exit_code != 0) {
            MESSAGE("sqlite3 shell not available: " << r.output);
            return;
        }
        expect_error(d / "st", "schema version 99");
    }
}

TEST_CASE("journal: pending tasks queued in bulk are batched, interleaved transitions keep their order, flush returns" *
          doctest::timeout(60)) {
    temp_dir dir;
    journal_options jo;
    jo.enabled = true;
    jo.job_name = "bulk";
    constexpr int n = 10'000;
    {
        detail::journal j(dir.path(), jo);
        j.begin_run("run-1", n, 0);
        attempt_outcome ok;
        ok.attempt = 1;
        for (int i = 0; i < n; ++i) {
            j.task_pending("t-" + std::to_string(i));
            // Every 1000th task starts and finishes before the next ones are queued: those
            // transitions land between two pending batches and must not be overtaken.
            if (i % 1000 == 999) {
                auto id = "t-" + std::to_string(i);
                j.attempt_started(id, 1, "local");
                j.attempt_finished(id, ok, task_state::succeeded, nullptr);
            }
        }
        j.flush();  // hangs (timeout) if batched ids were counted differently from single ops
        CHECK(j.error() == nullptr);
    }
    detail::journal j(dir.path(), jo);
    std::map<std::string, task_state> rows;
    j.replay([&](const detail::journal::task_row& r) { rows[std::string(r.id)] = r.state; });
    REQUIRE(rows.size() == static_cast<std::size_t>(n));
    int succeeded = 0, pending = 0;
    for (auto& [id, st] : rows) {
        if (st == task_state::succeeded) ++succeeded;
        if (st == task_state::pending) ++pending;
    }
    CHECK(succeeded == n / 1000);
    CHECK(pending == n - n / 1000);
    CHECK(rows.at("t-999") == task_state::succeeded);
    CHECK(rows.at("t-998") == task_state::pending);
    CHECK(rows.at("t-9999") == task_state::succeeded);
}

TEST_CASE("status: the last run's hosts.json is read, and a broken or hostile one gives no hosts, never an error") {
    sched_fixture f;
    {
        auto s = f.make(1, journaled());
        s.submit(sh("a", "true"));
        REQUIRE(s.run().ok());
    }
    auto state = f.dir / "state";
    auto st = read_journal_status(state);
    REQUIRE(st.last_run);
    CHECK(st.hosts.empty());  // a local executor has no hosts
    auto file = state / "runs" / st.last_run->run_id / "hosts.json";
    write_file(file, R"([{"executor":"ssh","host":"u@h:22","state":"down","since_ms":1700000000000,"reason":"refused"},)"
                     R"({"host":7},"x",{"executor":"docker","host":"tcp://h:2375","state":"up"}])");
    st = read_journal_status(state);
    REQUIRE(st.hosts.size() == 2);
    CHECK(st.hosts[0].spec == "u@h:22");
    CHECK(st.hosts[0].state == "down");
    CHECK(st.hosts[0].since_ms == 1700000000000);
    CHECK(st.hosts[0].reason == "refused");
    CHECK(st.hosts[1].executor == "docker");
    CHECK(to_json(st).find("\"hosts\":[{\"executor\":\"ssh\"") != std::string::npos);
    for (std::string bad : {std::string("[{\"host\":"), std::string("{}"), std::string(100000, '['), std::string("\xff\xfe")}) {
        write_file(file, bad);
        CHECK_NOTHROW(st = read_journal_status(state));
        CHECK(st.hosts.empty());
    }
    fs::remove(file);
    fs::create_directory(file);  // not a file at all
    CHECK(read_journal_status(state).hosts.empty());
}
