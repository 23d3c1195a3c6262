// The Slurm executor against a real single-node Slurm cluster (tests/services/slurm.hpp):
// records exactly once, timeouts and cancels that leave no job, a memory kill, kill -9 of
// drover and a resumed run, settings Slurm refuses, a controller that stops answering.
#include <doctest/doctest.h>

#include "journal/cli_run.hpp"
#include "scheduler/fixture.hpp"
#include "services/slurm.hpp"

#include <drover/executors/slurm.hpp>
#include <drover/journal.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <thread>

using namespace std::chrono_literals;
using namespace drover;
using namespace drover::test;

namespace {

slurm_executor_options fast(slurm_executor_options o = {}) {
    o.poll_interval = duration(200);
    o.command_timeout = duration(10'000);
    return o;
}

struct slurm_run {
    temp_dir dir;
    fs::path out = dir / "out";
    event_log events;
    std::shared_ptr<slurm_executor> ex;

    scheduler make(slurm_executor_options o = fast(), bool journal = false) {
        scheduler_options so{.state_dir = dir / "state", .seed = 42};
        so.journal.enabled = journal;
        scheduler s(so);
        ex = std::make_shared<slurm_executor>(std::move(o));
        s.add_executor(std::shared_ptr<executor>(ex));
        s.set_sink(file_sink({.root = out, .fsync = false}));
        s.add_observer(events);
        return s;
    }
};

std::string messages(const run_summary& s) {
    std::string m;
    for (const auto& t : s.tasks) m += t.id + ": " + std::string(to_string(t.last.failure)) + " " + t.last.message + "\n";
    return m + s.halt_reason;
}

// Waits until `pred` holds (polling), up to `limit`.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 20s) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) return true;
        std::this_thread::sleep_for(100ms);
    }
    return pred();
}

}  // namespace

TEST_CASE("slurm: 200 tasks as Slurm jobs, every record exactly once" * doctest::timeout(240)) {
    SLURM_CLUSTER_OR_SKIP(cluster);
    slurm_run r;
    auto o = fast();
    o.slots = 40;
    auto s = r.make(o);
    std::vector<std::string> expected;
    for (int i = 0; i < 200; ++i) {
        s.submit(sh(fmt::format("t-{}", i), fmt::format("echo '{{\"i\":{0},\"k\":\"a\"}}'; echo '{{\"i\":{0},\"k\":\"b\"}}'; "
                                                        "echo 'note {0}' >&2",
                                                        i)));
        expected.push_back(fmt::format("{{\"i\":{},\"k\":\"a\"}}", i));
        expected.push_back(fmt::format("{{\"i\":{},\"k\":\"b\"}}", i));
    }
    std::sort(expected.begin(), expected.end());
    auto sum = s.run();
    CHECK_MESSAGE(sum.ok(), messages(sum));
    CHECK(sum.counts.succeeded == 200);
    CHECK(sum.counts.records == 400);
    CHECK(read_records(r.out) == expected);
    // stderr became the attempt log.
    auto log = read_file(sum.run_dir / "logs" / "t-7.1.stderr");
    CHECK(log.find("note 7") != std::string::npos);
    CHECK(cluster.live_jobs().empty());
    // The per-run directory of scripts and output is gone with the run.
    CHECK_FALSE(fs::exists(r.dir / "state" / "slurm" / "x"));
}

TEST_CASE("slurm: bad records, oversized lines, exit codes and per-task settings" * doctest::timeout(120)) {
    SLURM_CLUSTER_OR_SKIP(cluster);
    slurm_run r;
    auto o = fast();
    o.max_line_bytes = 1000;
    auto s = r.make(o);
    s.submit(sh("mixed", "echo '{\"ok\":1}'; echo 'not json'; head -c 5000 /dev/zero | tr '\\0' x; echo; printf '{\"last\":1}'"));
    s.submit(sh("exit3", "echo '{\"never\":1}'; exit 3"));
    auto placed = sh("placed", "printf '{\"p\":\"%s\",\"c\":\"%s\",\"n\":\"%s\"}\\n' \"$SLURM_JOB_PARTITION\" "
                               "\"$SLURM_CPUS_PER_TASK\" \"$SLURM_JOB_NAME\"");
    placed.set_extension(slurm_task_options{{.partition = "small", .cpus = 1}});
    s.submit(placed);
    auto sum = s.run();
    CHECK(result(sum, "mixed").state == task_state::succeeded);
    CHECK(result(sum, "exit3").state == task_state::dead);
    CHECK(result(sum, "exit3").last.failure == failure_class::exit_code);
    CHECK(result(sum, "exit3").last.exit_code == 3);
    CHECK(result(sum, "placed").state == task_state::succeeded);
    auto recs = read_records(r.out);
    CHECK(std::count(recs.begin(), recs.end(), "{\"ok\":1}") == 1);
    CHECK(std::count(recs.begin(), recs.end(), "{\"last\":1}") == 1);
    CHECK(std::count(recs.begin(), recs.end(), "{\"p\":\"small\",\"c\":\"1\",\"n\":\"drover:placed\"}") == 1);
    CHECK(std::count(recs.begin(), recs.end(), "{\"never\":1}") == 0);
    CHECK(sum.counts.bad_records == 2);  // the non-JSON line and the oversized one
}

TEST_CASE("slurm: a timeout scancels the job and leaves nothing running" * doctest::timeout(120)) {
    SLURM_CLUSTER_OR_SKIP(cluster);
    slurm_run r;
    auto s = r.make();
    auto marker = r.dir / "marker";
    auto t = sh("hang", "echo started > " + marker.string() + "; exec sleep 3101");
    t.timeout = duration(3000);
    s.submit(t);
    auto started = std::chrono::steady_clock::now();
    auto sum = s.run();
    auto took = std::chrono::steady_clock::now() - started;
    CHECK(result(sum, "hang").state == task_state::dead);
    CHECK(result(sum, "hang").last.failure == failure_class::timeout);
    CHECK(fs::exists(marker));
    CHECK(took < 30s);
    CHECK(cluster.live_jobs().empty());
    CHECK(eventually([] { return processes_matching("sleep 3101").empty(); }, 10s));
    auto jobs = cluster.jobs();
    REQUIRE(jobs.size() == 1);
    CHECK(jobs[0].find("|CANCELLED|") != std::string::npos);
}

TEST_CASE("slurm: cancelling the run cancels its queued and running jobs" * doctest::timeout(120)) {
    SLURM_CLUSTER_OR_SKIP(cluster);
    slurm_run r;
    auto o = fast();
    o.slots = 6;
    auto s = r.make(o);
    for (int i = 0; i < 10; ++i) s.submit(sh(fmt::format("long-{}", i), "exec sleep 3102"));
    std::thread canceller([&] {
        eventually([&] { return cluster.live_jobs().size() >= 6; });
        s.cancel();
    });
    auto sum = s.run();
    canceller.join();
    CHECK(sum.cancelled);
    CHECK(sum.counts.succeeded == 0);
    CHECK(cluster.live_jobs().empty());
    CHECK(eventually([] { return processes_matching("sleep 3102").empty(); }, 10s));
    CHECK(cluster.jobs().size() == 6);  // the other four never reached Slurm
}

TEST_CASE("slurm: a job over its memory is oom_killed" * doctest::timeout(120)) {
    SLURM_CLUSTER_OR_SKIP(cluster);
    slurm_run r;
    auto s = r.make();
    auto t = task_spec{.id = "hog",
                       .command = {"/usr/bin/python3", "-c", "import time; x = bytearray(400 << 20); time.sleep(20)"}};
    t.set_extension(slurm_task_options{{.memory = 30u << 20}});
    s.submit(t);
    auto sum = s.run();
    CHECK_MESSAGE(result(sum, "hog").last.failure == failure_class::oom_killed, messages(sum));
    CHECK(cluster.live_jobs().empty());
}

TEST_CASE("slurm: settings the cluster refuses are configuration errors naming the key" * doctest::timeout(120)) {
    SLURM_CLUSTER_OR_SKIP(cluster);
    {
        slurm_run r;
        auto o = fast();
        o.defaults.partition = "nope";
        auto s = r.make(o);
        s.submit(sh("a", "echo '{}'"));
        auto sum = s.run();
        CHECK_FALSE(sum.ok());
        auto m = messages(sum);
        CHECK_MESSAGE(m.find("partition (--partition=nope) is refused by sbatch") != std::string::npos, m);
        CHECK_MESSAGE(m.find("invalid partition") != std::string::npos, m);
        CHECK(cluster.jobs().empty());
    }
    {
        slurm_run r;
        auto o = fast();
        o.defaults.sbatch_args = {"--nice=5", "--no-such-option"};
        auto s = r.make(o);
        s.submit(sh("a", "echo '{}'"));
        auto sum = s.run();
        CHECK_FALSE(sum.ok());
        auto m = messages(sum);
        CHECK_MESSAGE(m.find("sbatch_args[1]") != std::string::npos, m);
        CHECK_MESSAGE(m.find("no-such-option") != std::string::npos, m);
    }
    {
        // A task's own partition: that attempt fails with sbatch's words, the others run.
        slurm_run r;
        auto s = r.make();
        auto bad = sh("bad", "echo '{}'");
        bad.set_extension(slurm_task_options{{.partition = "gpu-nope"}});
        s.submit(bad);
        s.submit(sh("good", "echo '{\"g\":1}'"));
        auto sum = s.run();
        CHECK(result(sum, "good").state == task_state::succeeded);
        CHECK(result(sum, "bad").state == task_state::dead);
        CHECK_MESSAGE(result(sum, "bad").last.message.find("invalid partition") != std::string::npos, messages(sum));
    }
}

TEST_CASE("slurm: kill -9 of drover, then a resumed run cancels its jobs and reruns nothing done" *
          doctest::timeout(240)) {
    SLURM_CLUSTER_OR_SKIP(cluster);
    temp_dir dir;
    auto runs = dir / "runs.txt";
    std::string job = fmt::format(R"(name = "k9"
state_dir = "{0}/state"
[[executors]]
kind = "slurm"
slots = 10
poll_interval = "200ms"
[sink]
kind = "file"
path = "{0}/out"
[[tasks]]
id = "quick-{{i}}"
foreach = {{ i = {{ from = 1, to = 6 }} }}
command = ["sh", "-c", "echo {{i}} >> {1}; echo '{{{{\"q\":{{i}}}}'"]
[[tasks]]
id = "slow-{{i}}"
foreach = {{ i = {{ from = 1, to = 4 }} }}
command = ["sh", "-c", "echo s{{i}} >> {1}; if [ -e {0}/fast ]; then echo '{{{{\"s\":{{i}}}}'; else sleep 3103; fi"]
)",
                                  dir.path().string(), runs.string());
    write_file(dir / "job.toml", job);
    auto pid = start_cli(dir.path());
    // The quick tasks finish; the slow ones hang in Slurm.
    REQUIRE_MESSAGE(eventually([&] { return cluster.live_jobs().size() == 4 && fs::exists(runs) && split_lines(read_file(runs)).size() >= 10; }, 60s),
                    (fs::exists(dir / "cli.log") ? read_file(dir / "cli.log") : std::string("(no log)")));
    REQUIRE(eventually([&] { return read_records(dir / "out").size() == 6; }, 30s));
    // "Done" is what the journal says: it follows the sink by a group commit, and a task whose
    // output is there but whose success is not journaled yet runs again (replacing its output).
    REQUIRE(eventually([&] { return drover::read_journal_status(dir / "state").counts["succeeded"] == 6; }, 30s));
    kill_cli(pid);
    CHECK(cluster.live_jobs().size() == 4);  // orphans, until the next run
    write_file(dir / "fast", "");
    pid = start_cli(dir.path());
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    require_cli_ok(dir.path(), status);
    auto log = read_file(dir / "cli.log");
    CHECK_MESSAGE(log.find("cancelling 4 job(s) left queued or running by 1 earlier run(s)") != std::string::npos, log);
    CHECK(cluster.live_jobs().empty());
    auto lines = split_lines(read_file(runs));
    for (int i = 1; i <= 6; ++i) CHECK(std::count(lines.begin(), lines.end(), std::to_string(i)) == 1);  // not re-run
    for (int i = 1; i <= 4; ++i) CHECK(std::count(lines.begin(), lines.end(), "s" + std::to_string(i)) == 2);
    auto recs = read_records(dir / "out");
    CHECK(recs.size() == 10);
    std::set<std::string> unique(recs.begin(), recs.end());
    CHECK(unique.size() == 10);
}

TEST_CASE("slurm: a controller that stops answering loses its attempts, which run again when it is back" *
          doctest::timeout(180)) {
    SLURM_CLUSTER_OR_SKIP(cluster);
    slurm_run r;
    auto o = fast();
    o.controller_timeout = duration(2000);
    o.command_timeout = duration(3000);
    auto s = r.make(o);
    auto flag = r.dir / "attempts";
    s.submit(sh("survivor", "echo x >> " + flag.string() + "; if [ $(wc -l < " + flag.string() +
                                ") -lt 2 ]; then exec sleep 3104; fi; echo '{\"done\":1}'"));
    std::thread chaos([&] {
        eventually([&] { return fs::exists(flag); }, 30s);
        cluster.stop_controller();
        eventually([&] { return r.events.has_finished("survivor"); }, 60s);
        cluster.start_controller();
    });
    auto sum = s.run();
    chaos.join();
    CHECK_MESSAGE(result(sum, "survivor").state == task_state::succeeded, messages(sum));
    CHECK(result(sum, "survivor").attempts >= 2);
    REQUIRE(!r.events.done.empty());
    CHECK_MESSAGE(r.events.done.front().outcome.failure == failure_class::executor_lost, r.events.done.front().outcome.message);
    CHECK(read_records(r.out) == std::vector<std::string>{"{\"done\":1}"});
    // The lost job was cancelled once the controller answered again.
    CHECK(eventually([&] { return cluster.live_jobs().empty(); }, 20s));
    CHECK(eventually([] { return processes_matching("sleep 3104").empty(); }, 10s));
}

TEST_CASE("slurm: a job cancelled outside drover fails with the reason and is retried" * doctest::timeout(120)) {
    SLURM_CLUSTER_OR_SKIP(cluster);
    slurm_run r;
    auto s = r.make();
    auto flag = r.dir / "attempts";
    auto t = sh("victim", "echo x >> " + flag.string() + "; if [ $(wc -l < " + flag.string() +
                              ") -lt 2 ]; then exec sleep 3105; fi; echo '{\"second\":1}'");
    t.retries = 1;
    t.backoff.initial = duration(100);
    s.submit(t);
    std::thread admin([&] {
        // An administrator cancels the first job from the command line.
        eventually([&] { return fs::exists(flag) && cluster.live_jobs().size() == 1; }, 30s);
        auto job = cluster.live_jobs().front();
        run_shell("scancel " + job.substr(0, job.find('|')));
    });
    auto sum = s.run();
    admin.join();
    CHECK_MESSAGE(result(sum, "victim").state == task_state::succeeded, messages(sum));
    CHECK(result(sum, "victim").attempts == 2);
    REQUIRE(!r.events.done.empty());
    const auto& first = r.events.done.front().outcome;
    CHECK(first.failure == failure_class::signal);
    CHECK_MESSAGE(first.message.find("cancelled outside drover") != std::string::npos, first.message);
    CHECK(read_records(r.out) == std::vector<std::string>{"{\"second\":1}"});
}
