// Failures: timeouts, retries with backoff, exactly-once output, bad records, halt, cancel.
#include <doctest/doctest.h>

#include "scheduler/fixture.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include <fstream>
#include <thread>

using namespace std::chrono_literals;
using namespace drover::test;

namespace {
std::vector<boost::json::object> read_jsonl(const std::filesystem::path& p) {
    std::vector<boost::json::object> out;
    for (auto& l : split_lines(read_file(p))) out.push_back(boost::json::parse(l).as_object());
    return out;
}
}  // namespace

TEST_CASE("failure: a timeout kills the task's whole process tree" * doctest::timeout(60)) {
    sched_fixture f;
    auto pidfile = f.dir / "pids";
    auto s = f.make(1);
    auto t = sh("slow", "sleep 300 & echo $! >> " + pidfile.string() + "; sh -c 'sleep 300 & echo $! >> " +
                            pidfile.string() + "; wait' & wait");
    t.timeout = 300ms;
    s.submit(t);
    auto t0 = std::chrono::steady_clock::now();
    auto sum = s.run();
    CHECK(std::chrono::steady_clock::now() - t0 < 5s);
    CHECK(sum.counts.dead == 1);
    CHECK(sum.exit_code() == 1);
    CHECK(sum.tasks[0].last.failure == drover::failure_class::timeout);
    CHECK(sum.tasks[0].last.message == "timed out after 300ms");
    auto pids = read_pids(pidfile);
    REQUIRE(pids.size() == 2);
    for (int pid : pids) CHECK_MESSAGE(process_gone(pid), "grandchild " << pid << " survived the timeout");
}

TEST_CASE("failure: retries wait out an exponential backoff, then succeed" * doctest::timeout(60)) {
    sched_fixture f;
    auto counter = f.dir / "count";
    auto s = f.make(1);
    // Fails on attempts 1 and 2, succeeds on 3.
    auto t = sh("flaky", "n=$(cat " + counter.string() + " 2>/dev/null || echo 0); n=$((n+1)); echo $n > " +
                             counter.string() + "; echo \"try $n\" >&2; [ $n -ge 3 ]");
    t.retries = 3;
    t.backoff = {.initial = 200ms, .max = 10s, .multiplier = 2.0, .jitter = 0.0};
    s.submit(t);
    auto sum = s.run();
    CHECK(sum.ok());
    CHECK(sum.tasks[0].attempts == 3);
    auto starts = f.events.starts_of("flaky");
    REQUIRE(starts.size() == 3);
    CHECK(starts[1] - starts[0] >= 200ms);
    CHECK(starts[2] - starts[1] >= 400ms);
    CHECK(starts[2] - starts[1] < 2000ms);
    REQUIRE(f.events.done.size() == 3);
    CHECK(f.events.done[0].next == drover::task_state::retry_wait);
    CHECK(f.events.done[0].outcome.failure == drover::failure_class::exit_code);
    CHECK(f.events.done[0].outcome.stderr_tail == std::vector<std::string>{"try 1"});
    CHECK(f.events.done[2].next == drover::task_state::succeeded);
    // Each attempt has its own stderr log.
    CHECK(read_file(sum.run_dir / "logs" / "flaky.2.stderr") == "try 2\n");
}

TEST_CASE("failure: records of a failed attempt never reach the output, the retry's appear once" *
          doctest::timeout(60)) {
    sched_fixture f;
    auto marker = f.dir / "failed-once";
    auto s = f.make(1, {}, {.partition = "date={date}"});
    auto t = sh("day", "for i in 1 2 3; do echo \"{\\\"i\\\":$i}\"; done; if [ ! -e " + marker.string() +
                           " ]; then touch " + marker.string() + "; exit 1; fi");
    t.params = {{"date", "2018-01-06"}};
    t.retries = 2;
    t.backoff.initial = 10ms;
    s.submit(t);
    auto sum = s.run();
    CHECK(sum.ok());
    CHECK(sum.tasks[0].attempts == 2);
    CHECK(sum.counts.records == 3);
    CHECK(list_files(f.out) == std::vector<std::string>{"date=2018-01-06/day.jsonl.gz"});
    CHECK(f.output_records() == std::vector<std::string>{R"({"i":1})", R"({"i":2})", R"({"i":3})"});
}

TEST_CASE("failure: bad records are counted and kept with task id and line number" * doctest::timeout(60)) {
    sched_fixture f;
    auto s = f.make(1);
    s.submit(sh("mixed", "echo '{\"ok\":1}'; echo 'not json'; echo '[1,2]'; echo; echo '{\"ok\":2}'; "
                         "printf '{\"bad\":\"\\377\"}\\n'; echo '{\"ok\":3} trailing'"));
    auto sum = s.run();
    CHECK(sum.ok());  // bad records do not fail a task
    CHECK(sum.counts.records == 2);
    CHECK(sum.counts.bad_records == 4);
    CHECK(sum.tasks[0].last.bad_records == 4);
    auto bad = read_jsonl(sum.run_dir / "bad-records.jsonl");
    REQUIRE(bad.size() == 4);
    CHECK(bad[0].at("task").as_string() == "mixed");
    CHECK(bad[0].at("attempt").as_int64() == 1);
    CHECK(bad[0].at("line").as_int64() == 2);
    CHECK(bad[0].at("text").as_string() == "not json");
    CHECK(bad[1].at("line").as_int64() == 3);
    CHECK(bad[1].at("error").as_string() == "not a JSON object");
    CHECK(bad[2].at("line").as_int64() == 6);  // line 4 was blank: not a record, not bad
    CHECK(bad[2].contains("hex"));             // invalid UTF-8 kept byte for byte
    CHECK(bad[3].at("line").as_int64() == 7);
    CHECK(f.output_records() == std::vector<std::string>{R"({"ok":1})", R"({"ok":2})"});
}

TEST_CASE("failure: dead tasks are dead-lettered with attempts, reason and stderr tail" * doctest::timeout(60)) {
    sched_fixture f;
    auto s = f.make(1);
    auto t = sh("doomed", "echo 'first line' >&2; echo 'last words' >&2; exit 7");
    t.retries = 1;
    t.backoff.initial = 10ms;
    s.submit(t);
    s.submit({.id = "missing", .command = {"/nonexistent/program"}});
    auto sum = s.run();
    CHECK(sum.counts.dead == 2);
    CHECK(sum.exit_code() == 1);
    auto dl = read_jsonl(sum.run_dir / "dead-letter.jsonl");
    REQUIRE(dl.size() == 2);
    auto& doomed = dl[0].at("task").as_string() == "doomed" ? dl[0] : dl[1];
    auto& missing = dl[0].at("task").as_string() == "doomed" ? dl[1] : dl[0];
    CHECK(doomed.at("attempts").as_int64() == 2);
    CHECK(doomed.at("failure").as_string() == "exit_code");
    CHECK(doomed.at("exit_code").as_int64() == 7);
    REQUIRE(doomed.at("stderr_tail").as_array().size() == 2);
    CHECK(doomed.at("stderr_tail").as_array()[1].as_string() == "last words");
    CHECK(missing.at("failure").as_string() == "spawn_error");
    CHECK(std::string(missing.at("message").as_string()).find("cannot start") != std::string::npos);
}

TEST_CASE("failure: the halt policy stops dispatching after N dead tasks" * doctest::timeout(60)) {
    sched_fixture f;
    auto s = f.make(1, {.halt = {.max_dead = 3}});
    for (int i = 0; i < 20; ++i) s.submit(sh("t" + std::to_string(i), "exit 1"));
    auto sum = s.run();
    CHECK(sum.halted);
    CHECK(sum.counts.dead == 3);
    CHECK(sum.counts.skipped == 17);
    CHECK(sum.exit_code() == 1);
    CHECK(f.events.started.size() == 3);
}

TEST_CASE("failure: the halt policy by percentage" * doctest::timeout(60)) {
    sched_fixture f;
    auto s = f.make(1, {.halt = {.max_dead_percent = 10.0}});
    for (int i = 0; i < 20; ++i) s.submit(sh("t" + std::to_string(i), i % 2 ? "exit 1" : "true"));
    auto sum = s.run();
    CHECK(sum.halted);
    CHECK(sum.counts.dead == 2);  // 2 of 20 = 10%
    CHECK(sum.counts.succeeded == 2);
    CHECK(sum.counts.skipped == 16);
}

TEST_CASE("failure: cancel kills running children, discards staged output, skips the rest" *
          doctest::timeout(60)) {
    sched_fixture f;
    auto pidfile = f.dir / "pids";
    auto s = f.make(2);
    for (int i = 0; i < 6; ++i)
        s.submit(sh("t" + std::to_string(i), "echo '{\"partial\":true}'; sleep 300 & echo $! >> " +
                                                 pidfile.string() + "; wait"));
    std::thread canceller([&] {
        std::this_thread::sleep_for(500ms);
        s.cancel();
    });
    auto t0 = std::chrono::steady_clock::now();
    auto sum = s.run();
    canceller.join();
    CHECK(std::chrono::steady_clock::now() - t0 < 5s);
    CHECK(sum.cancelled);
    CHECK(sum.exit_code() == 130);
    CHECK(sum.counts.succeeded == 0);
    CHECK(sum.counts.skipped == 6);
    auto pids = read_pids(pidfile);
    CHECK(pids.size() == 2);  // only two slots ever started
    for (int pid : pids) CHECK_MESSAGE(process_gone(pid), "pid " << pid << " survived cancel");
    CHECK(list_files(f.out).empty());
    CHECK(std::filesystem::is_empty(f.out / ".drover" / "staging"));
}

TEST_CASE("failure: cancel before run ends the run at once") {
    sched_fixture f;
    auto s = f.make(1);
    s.submit(sh("t", "sleep 300"));
    s.cancel();
    auto sum = s.run();
    CHECK(sum.cancelled);
    CHECK(sum.counts.skipped == 1);
    CHECK(f.events.started.empty());
}

TEST_CASE("failure: oversized record lines are bad records" * doctest::timeout(60)) {
    sched_fixture f;
    f.dir.path();
    drover::scheduler s({.state_dir = f.dir / "state"});
    s.add_executor(drover::local_executor{{.slots = 1, .max_line_bytes = 100}});
    s.set_sink(drover::file_sink{{.root = f.out}});
    s.submit(sh("big", "head -c 1000 /dev/zero | tr '\\0' a; echo; echo '{\"small\":1}'"));
    auto sum = s.run();
    CHECK(sum.counts.records == 1);
    CHECK(sum.counts.bad_records == 1);
    auto bad = read_jsonl(sum.run_dir / "bad-records.jsonl");
    REQUIRE(bad.size() == 1);
    CHECK(bad[0].at("length").as_int64() == 1000);
}

namespace {
// Stands for an executor with a queue of its own (Slurm): the attempt waits `queued`, then
// runs `runs` (forever when 0) and prints one record.
struct queueing_executor final : drover::executor {
    std::chrono::milliseconds queued, runs;
    queueing_executor(std::chrono::milliseconds q, std::chrono::milliseconds r) : queued(q), runs(r) {}
    std::string name() const override { return "queueing"; }
    std::size_t slots() const override { return 1; }
    void async_execute(boost::asio::any_io_executor ex, const drover::attempt_request&, drover::attempt_io& io,
                       completion_handler handler) override {
        struct state {
            boost::asio::steady_timer timer;
            completion_handler handler;
            bool done = false;
        };
        auto st = std::make_shared<state>(state{boost::asio::steady_timer(ex), std::move(handler)});
        auto finish = [st](drover::execution_result r) {
            if (st->done) return;
            st->done = true;
            st->timer.cancel();
            std::move(st->handler)(std::move(r));
        };
        auto slot = boost::asio::get_associated_cancellation_slot(st->handler);
        slot.assign([st, finish, ex](boost::asio::cancellation_type) {
            boost::asio::post(ex, [finish] { finish({drover::failure_class::cancelled, -1, 0, "cancelled"}); });
        });
        io.on_queued();
        st->timer.expires_after(queued);
        st->timer.async_wait([this, st, finish, &io](boost::system::error_code ec) {
            if (ec || st->done) return;
            io.on_running();
            if (runs.count() == 0) return;
            st->timer.expires_after(runs);
            st->timer.async_wait([st, finish, &io](boost::system::error_code ec) {
                if (ec || st->done) return;
                io.on_stdout_line(R"({"ran":1})");
                finish({drover::failure_class::none, 0, 0, {}});
            });
        });
    }
};
}  // namespace

// One task with timeout `timeout` on a queueing_executor; the summary and how long the run took.
std::pair<drover::run_summary, std::chrono::steady_clock::duration> run_queued(std::chrono::milliseconds queued,
                                                                             std::chrono::milliseconds runs,
                                                                             std::chrono::milliseconds timeout) {
    sched_fixture f;
    drover::scheduler_options o;
    o.state_dir = f.dir / "state";
    drover::scheduler s(o);
    s.add_executor(queueing_executor{queued, runs});
    s.set_sink(drover::file_sink({.root = f.out, .fsync = false}));
    auto t = sh("t", "true");
    t.timeout = timeout;
    s.submit(t);
    auto t0 = std::chrono::steady_clock::now();
    auto sum = s.run();
    return {sum, std::chrono::steady_clock::now() - t0};
}

TEST_CASE("failure: the timeout does not count time in an executor's queue" * doctest::timeout(60)) {
    auto [sum, took] = run_queued(1500ms, 300ms, 1s);
    CHECK(result(sum, "t").state == drover::task_state::succeeded);
    CHECK(result(sum, "t").last.records == 1);
    CHECK(took >= 1800ms);
}

TEST_CASE("failure: the timeout counts from when a queued attempt runs" * doctest::timeout(60)) {
    auto [sum, took] = run_queued(700ms, 0ms, 500ms);
    CHECK(result(sum, "t").last.failure == drover::failure_class::timeout);
    CHECK(took >= 1200ms);
    CHECK(took < 10s);
}
