// Warm containers (reuse = slot) against real dockerd daemons: tasks run as execs in one
// long-lived container per slot, with their own env and workdir; a failed or timed-out
// task's container is replaced; what a task leaves in its session is killed; a daemon killed
// mid-run costs no retries; no container is left when the run ends.
#include <doctest/doctest.h>

#include "executors/docker_run.hpp"

#include <boost/json.hpp>

#include <atomic>
#include <map>
#include <set>
#include <thread>

using namespace std::chrono_literals;
using namespace drover::test;
namespace json = boost::json;

namespace {

drover::docker_executor_options warm_options(const dockerd_fleet& fleet, std::size_t slots,
                                             std::vector<std::size_t> which = {}) {
    auto o = docker_options_for(fleet, std::move(which));
    o.slots_per_host = slots;
    o.reuse = drover::container_reuse::slot;
    return o;
}

// Records by their "t" field.
std::map<std::string, json::object> by_task(const fs::path& out) {
    std::map<std::string, json::object> m;
    for (auto& line : read_records(out)) {
        auto o = json::parse(line).as_object();
        m[std::string(o["t"].as_string())] = o;
    }
    return m;
}

std::string str(const json::object& o, const char* k) { return std::string(o.at(k).as_string()); }

}  // namespace

TEST_CASE("docker warm: 40 tasks on two daemons x 2 slots run in at most 4 containers, each with its own env and "
          "workdir, and none is left" * doctest::timeout(300)) {
    DOCKERD_OR_SKIP();
    dockerd_fleet fleet;
    docker_run r;
    auto o = warm_options(fleet, 2);
    auto s = r.make(o);
    for (int i = 0; i < 40; ++i) {
        auto id = "t-" + std::to_string(i);
        auto t = sh(id, "echo \"{\\\"t\\\":\\\"" + id + "\\\",\\\"x\\\":\\\"$X\\\",\\\"pwd\\\":\\\"$(pwd)\\\","
                        "\\\"c\\\":\\\"$(hostname)\\\"}\"");
        t.env = {{"X", "x-" + std::to_string(i)}};
        if (i % 2) t.workdir = "/tmp";
        s.submit(t);
    }
    auto sum = s.run();
    CHECK_MESSAGE(sum.ok(), dump(sum));
    auto recs = by_task(r.out);
    REQUIRE(recs.size() == 40);
    std::set<std::string> containers;
    for (int i = 0; i < 40; ++i) {
        auto& rec = recs.at("t-" + std::to_string(i));
        CHECK(str(rec, "x") == "x-" + std::to_string(i));
        CHECK(str(rec, "pwd") == (i % 2 ? "/tmp" : "/"));
        containers.insert(str(rec, "c"));
    }
    CHECK(containers.size() >= 2);  // both daemons
    CHECK(containers.size() <= 4);  // one per slot: 40 tasks, 4 containers
    CHECK(r.attempts_on(o.hosts[0]) + r.attempts_on(o.hosts[1]) == 40);
    check_no_containers(fleet, sum.run_id);
}

TEST_CASE("docker warm: a slot's next task sees what a successful task left on disk - after a failure it gets a "
          "fresh container, and a task's leftover processes are killed when it ends" * doctest::timeout(240)) {
    DOCKERD_OR_SKIP();
    dockerd_fleet fleet({.plain = 1});
    docker_run r;
    auto s = r.make(warm_options(fleet, 1));
    auto rec = [](const std::string& t, const std::string& more) {
        return "echo \"{\\\"t\\\":\\\"" + t + "\\\",\\\"c\\\":\\\"$(hostname)\\\"" + more + "}\"";
    };
    // One slot, submission order: a, b, c, d, e, f run one after another in that order.
    s.submit(sh("a", "touch /tmp/from-a && " + rec("a", "")));
    s.submit(sh("b", "if [ -e /tmp/from-a ]; then s=1; else s=0; fi; " + rec("b", ",\\\"seen\\\":$s")));
    s.submit(sh("c", "touch /tmp/from-c; " + rec("c", "") + "; exit 3"));
    s.submit(sh("d", "if [ -e /tmp/from-c ]; then s=1; else s=0; fi; " + rec("d", ",\\\"seen\\\":$s")));
    s.submit(sh("e", "sh -c 'sleep 300 &'; sleep 300 & " + rec("e", "")));
    s.submit(sh("f", "n=$(ps | grep -c '[s]leep 300'); " + rec("f", ",\\\"sleeps\\\":$n")));
    auto sum = s.run();
    CHECK(sum.counts.succeeded == 5);
    CHECK(result(sum, "c").state == drover::task_state::dead);
    CHECK(result(sum, "c").last.exit_code == 3);
    auto recs = by_task(r.out);
    REQUIRE(recs.size() == 5);  // c's record is not published: it failed
    CHECK(str(recs.at("a"), "c") == str(recs.at("b"), "c"));  // same container
    CHECK(recs.at("b").at("seen").as_int64() == 1);              // shares a's filesystem
    CHECK(str(recs.at("d"), "c") != str(recs.at("b"), "c"));  // c failed: a fresh container
    CHECK(recs.at("d").at("seen").as_int64() == 0);
    CHECK(str(recs.at("e"), "c") == str(recs.at("f"), "c"));
    CHECK(recs.at("f").at("sleeps").as_int64() == 0);  // e's background sleeps died with its session
    check_no_containers(fleet, sum.run_id);
}

TEST_CASE("docker warm: an exec over the container's memory limit is killed (exit 137), and the slot goes on" *
          doctest::timeout(180)) {
    DOCKERD_OR_SKIP();
    dockerd_fleet fleet({.plain = 1});
    docker_run r;
    auto s = r.make(warm_options(fleet, 1));
    drover::docker_task_options small{.container = {.memory = 16u << 20}};
    auto first = sh("first", "echo \"{\\\"t\\\":\\\"first\\\",\\\"c\\\":\\\"$(hostname)\\\"}\"");
    first.set_extension(small);
    s.submit(first);
    auto hog = sh("hog", "tail /dev/zero");  // one endless line: busybox tail keeps it all
    hog.set_extension(small);
    hog.after = {"first"};
    s.submit(hog);
    auto next = sh("next", "echo \"{\\\"t\\\":\\\"next\\\",\\\"c\\\":\\\"$(hostname)\\\"}\"");
    next.set_extension(small);
    s.submit(next);
    auto sum = s.run();
    // An exec is not the container's PID 1: Docker does not flag it OOMKilled; exit 137 says it.
    CHECK_MESSAGE(result(sum, "hog").last.failure == drover::failure_class::exit_code, dump(sum));
    CHECK(result(sum, "hog").last.exit_code == 137);
    CHECK(contains(result(sum, "hog").last.message, "exit code 137 on " + fleet.tcp_host(0) + ": killed"));
    CHECK(result(sum, "next").state == drover::task_state::succeeded);
    check_no_containers(fleet, sum.run_id);
}

TEST_CASE("docker warm: a timeout removes the task's container with its whole process tree" * doctest::timeout(240)) {
    DOCKERD_OR_SKIP();
    dockerd_fleet fleet({.plain = 1});
    docker_run r;
    auto s = r.make(warm_options(fleet, 1));
    s.submit(sh("before", "echo \"{\\\"t\\\":\\\"before\\\",\\\"c\\\":\\\"$(hostname)\\\"}\""));
    auto slow = sh("slow", "sleep 300 & sh -c 'sleep 300' & sleep 300");
    slow.timeout = 1500ms;
    slow.after = {"before"};
    s.submit(slow);
    auto next = sh("after", "echo \"{\\\"t\\\":\\\"after\\\",\\\"c\\\":\\\"$(hostname)\\\"}\"");
    next.after = {"slow"};
    s.submit(next);
    auto t0 = std::chrono::steady_clock::now();
    auto sum = s.run();
    CHECK(std::chrono::steady_clock::now() - t0 < 60s);
    CHECK(result(sum, "slow").last.failure == drover::failure_class::timeout);
    CHECK(result(sum, "after").state == drover::task_state::upstream_failed);
    // Nothing of the run is left: the timed-out task's container went with its processes.
    check_no_containers(fleet, sum.run_id);
    CHECK(fleet.all_containers(0).empty());
}

TEST_CASE("docker warm: a daemon SIGKILLed mid-run costs no retries" * doctest::timeout(300)) {
    DOCKERD_OR_SKIP();
    dockerd_fleet fleet;
    docker_run r;
    auto o = warm_options(fleet, 2);
    o.down_timeout = std::chrono::minutes(5);
    auto s = r.make(o);
    for (int i = 0; i < 60; ++i)
        s.submit(sh("t-" + std::to_string(i), "sleep 0.3; echo '{\"t\":\"t-" + std::to_string(i) + "\"}'"));
    std::string kill_error;
    std::thread killer([&] {
        try {
            for (auto end = std::chrono::steady_clock::now() + 60s; std::chrono::steady_clock::now() < end;
                 std::this_thread::sleep_for(100ms))
                if (started_on(*r.ex, o.hosts[0]) >= 6) break;
            fleet.kill(0);
        } catch (const std::exception& e) {
            kill_error = e.what();
        }
    });
    auto sum = s.run();
    killer.join();
    REQUIRE_MESSAGE(kill_error.empty(), kill_error);
    CHECK_MESSAGE(sum.ok(), dump(sum));
    CHECK(sum.counts.records == 60);
    CHECK(by_task(r.out).size() == 60);  // exactly once each
    std::size_t lost = 0;
    for (auto& d : r.events.done)
        if (d.outcome.failure == drover::failure_class::executor_lost) {
            ++lost;
            CHECK(d.next == drover::task_state::ready);
        }
    CHECK_MESSAGE(lost >= 1, "no attempt was running on host 0 when it was killed?");
    std::size_t attempts = 0;
    for (auto& t : sum.tasks) attempts += static_cast<std::size_t>(t.attempts);
    CHECK(attempts == 60 + lost);
    auto left = fleet.containers_of_run(1, sum.run_id);
    CHECK(left.empty());
}
