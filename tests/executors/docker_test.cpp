// The Docker executor against real dockerd daemons on this machine (tests/services/dockerd.hpp):
// records, streams, exit codes, OOM, missing images, a daemon killed mid-run, timeouts,
// cancel, reaping after the scheduler itself was killed, and TLS.
#include <doctest/doctest.h>

#include "executors/docker_run.hpp"
#include "scheduler/fixture.hpp"
#include "services/dockerd.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <thread>

using namespace std::chrono_literals;
using namespace drover::test;



TEST_CASE("docker: 60 tasks over two daemons with 2 slots each, records exactly once" * doctest::timeout(300)) {
    DOCKERD_OR_SKIP();
    dockerd_fleet fleet;
    docker_run r;
    auto o = docker_options_for(fleet);
    o.slots_per_host = 2;
    auto s = r.make(o);
    CHECK(r.ex->slots() == 4);
    std::vector<std::string> expected;
    for (int i = 0; i < 60; ++i) {
        auto rec = "{\"i\":" + std::to_string(i) + "}";
        s.submit(sh("t-" + std::to_string(i), "echo '" + rec + "'"));
        expected.push_back(rec);
    }
    std::sort(expected.begin(), expected.end());
    auto sum = s.run();
    CHECK_MESSAGE(sum.ok(), dump(sum));
    CHECK(sum.counts.succeeded == 60);
    CHECK(sum.counts.records == 60);
    CHECK(read_records(r.out) == expected);
    auto a = r.attempts_on(o.hosts[0]), b = r.attempts_on(o.hosts[1]);
    CHECK(a > 0);
    CHECK(b > 0);
    CHECK(a + b == 60);
    check_no_containers(fleet, sum.run_id);
}

TEST_CASE("docker: partial lines across frames, stderr to the attempt log, exit codes" * doctest::timeout(180)) {
    DOCKERD_OR_SKIP();
    dockerd_fleet fleet({.plain = 1});
    docker_run r;
    auto o = docker_options_for(fleet);
    o.hosts = {fleet.unix_host(0)};  // over the Unix socket this time
    o.max_line_bytes = 1000;
    auto s = r.make(o);
    s.submit(sh("long", "head -c 5000 /dev/zero | tr '\\0' x; echo; echo '{\"after\":1}'"));
    // Each printf is its own write, so its own frame: the record is split across three.
    s.submit(sh("split", "printf '{\"a\":'; sleep 0.2; printf '1,\"b\":'; sleep 0.2; printf '2}\\n{\"last\":true}'"));
    s.submit(sh("fails", "echo '{\"before\":1}'; echo oops >&2; exit 3"));
    drover::task_spec env{.id = "env", .command = {"sh", "-c", "echo \"{\\\"v\\\":\\\"$V\\\"}\"; pwd >&2"},
                          .env = {{"V", "it's $HOME a=b"}}};
    env.workdir = "/tmp";
    s.submit(env);
    auto sum = s.run();
    REQUIRE(sum.tasks.size() == 4);
    CHECK(sum.tasks[0].last.bad_records == 1);  // the 5000-byte line, over max_line_bytes
    CHECK(sum.tasks[0].last.records == 1);
    sum.tasks.erase(sum.tasks.begin());
    CHECK_MESSAGE(sum.tasks[0].state == drover::task_state::succeeded, dump(sum));
    auto& f = sum.tasks[1];
    CHECK(f.state == drover::task_state::dead);
    CHECK(f.last.failure == drover::failure_class::exit_code);
    CHECK(f.last.exit_code == 3);
    CHECK(f.last.message == "exit code 3 on " + fleet.unix_host(0));
    CHECK(f.last.stderr_tail == std::vector<std::string>{"oops"});
    CHECK(sum.tasks[2].last.stderr_tail == std::vector<std::string>{"/tmp"});
    auto recs = read_records(r.out);
    std::string all;
    for (auto& x : recs) all += "[" + x + "]";
    INFO("records: ", all, "\n", dump(sum));
    // The failed attempt's record is not committed.
    CHECK(recs == std::vector<std::string>{"{\"a\":1,\"b\":2}", "{\"after\":1}", "{\"last\":true}",
                                           "{\"v\":\"it's $HOME a=b\"}"});
    check_no_containers(fleet, sum.run_id);
}

TEST_CASE("docker: over the memory limit is reported as OOM killed" * doctest::timeout(180)) {
    DOCKERD_OR_SKIP();
    dockerd_fleet fleet({.plain = 1});
    docker_run r;
    auto s = r.make(docker_options_for(fleet));
    auto t = sh("hog", "tail /dev/zero");  // one endless line: busybox tail keeps it all
    t.set_extension(drover::docker_task_options{.container = {.memory = 16u << 20}});
    s.submit(t);
    auto ok = sh("fits", "echo '{\"ok\":1}'");
    ok.set_extension(drover::docker_task_options{.container = {.memory = 16u << 20, .cpus = 0.5}});
    s.submit(ok);
    auto sum = s.run();
    REQUIRE(sum.tasks.size() == 2);
    CHECK_MESSAGE(sum.tasks[0].last.failure == drover::failure_class::oom_killed, dump(sum));
    CHECK(contains(sum.tasks[0].last.message, "OOM killed on " + fleet.tcp_host(0)));
    CHECK(sum.tasks[1].state == drover::task_state::succeeded);
    check_no_containers(fleet, sum.run_id);
}

TEST_CASE("docker: a missing image fails with the daemon's message, and so does a pull that cannot reach a registry" *
          doctest::timeout(180)) {
    DOCKERD_OR_SKIP();
    dockerd_fleet fleet({.plain = 1});
    docker_run r;
    auto s = r.make(docker_options_for(fleet));
    auto t = sh("missing", "true");
    t.set_extension(drover::docker_task_options{.image = "drover-no-such-image:1"});
    s.submit(t);
    // pull = missing against a registry address on loopback where nothing listens.
    auto p = sh("pull", "true");
    p.set_extension(drover::docker_task_options{.image = "127.0.0.1:9/drover/none:1",
                                                .container = {.pull = drover::pull_policy::missing}});
    s.submit(p);
    s.submit({.id = "noprog", .command = {"/no/such/program"}});
    auto sum = s.run();
    REQUIRE(sum.tasks.size() == 3);
    auto& np = sum.tasks[2].last;
    CHECK(np.failure == drover::failure_class::spawn_error);
    CHECK_MESSAGE(contains(np.message, "cannot start container on " + fleet.tcp_host(0) + ": "), np.message);
    CHECK_MESSAGE(contains(np.message, "/no/such/program"), np.message);
    auto& m = sum.tasks[0].last;
    CHECK(m.failure == drover::failure_class::image_missing);
    CHECK_MESSAGE(contains(m.message, "image drover-no-such-image:1 not found on " + fleet.tcp_host(0)), m.message);
    CHECK_MESSAGE(contains(m.message, "No such image"), m.message);
    auto& pm = sum.tasks[1].last;
    CHECK(pm.failure == drover::failure_class::image_missing);
    CHECK_MESSAGE(contains(pm.message, "the pull failed"), pm.message);
    CHECK_MESSAGE(contains(pm.message, "127.0.0.1:9"), pm.message);
    check_no_containers(fleet, sum.run_id);
}

TEST_CASE("docker: a daemon SIGKILLed mid-run costs no retries and rejoins after restart" * doctest::timeout(300)) {
    DOCKERD_OR_SKIP();
    dockerd_fleet fleet;
    docker_run r;
    auto o = docker_options_for(fleet);
    o.slots_per_host = 2;
    auto s = r.make(o);
    for (int i = 0; i < 60; ++i)
        s.submit(sh("t-" + std::to_string(i), "sleep 0.5; echo '{\"i\":" + std::to_string(i) + "}'"));
    std::atomic<std::size_t> at_rejoin{0};
    std::atomic<bool> rejoined{false};
    r.hosts.hook = [&](std::string_view m) {  // on the run's strand
        if (contains(std::string(m), o.hosts[0]) && contains(std::string(m), "up again") && !rejoined) {
            at_rejoin = r.attempts_on(o.hosts[0]);
            rejoined = true;
        }
    };
    std::string flap_error;
    std::thread flapper([&] {
        try {
            // Kill once host 0 has attempts running (the run has started containers there).
            for (auto end = std::chrono::steady_clock::now() + 60s; std::chrono::steady_clock::now() < end;
                 std::this_thread::sleep_for(100ms))
                if (fleet.all_containers(0).size() >= 2) break;
            fleet.kill(0);
            std::this_thread::sleep_for(1500ms);
            fleet.start(0);
        } catch (const std::exception& e) {
            flap_error = e.what();
        }
    });
    auto sum = s.run();
    flapper.join();
    REQUIRE_MESSAGE(flap_error.empty(), flap_error);
    INFO("events:\n", r.hosts.all());
    CHECK_MESSAGE(sum.ok(), dump(sum));
    CHECK(sum.counts.succeeded == 60);
    CHECK(sum.counts.records == 60);
    std::vector<std::string> expected;
    for (int i = 0; i < 60; ++i) expected.push_back("{\"i\":" + std::to_string(i) + "}");
    std::sort(expected.begin(), expected.end());
    CHECK(read_records(r.out) == expected);  // exactly once each, lost attempts' output dropped
    std::size_t lost = 0;
    for (auto& d : r.events.done)
        if (d.outcome.failure == drover::failure_class::executor_lost) {
            ++lost;
            CHECK(d.next == drover::task_state::ready);  // straight back, no retry spent
        }
    CHECK_MESSAGE(lost >= 1, "no attempt was running on host 0 when it was killed?");
    std::size_t attempts = 0;
    for (auto& t : sum.tasks) attempts += static_cast<std::size_t>(t.attempts);
    CHECK(attempts == 60 + lost);
    CHECK(r.hosts.any(o.hosts[0], "is down"));
    CHECK(rejoined);
    CHECK_MESSAGE(r.attempts_on(o.hosts[0]) > at_rejoin, "host 0 ran nothing after it came back");
    // Its containers from before the kill were reaped when it rejoined.
    check_no_containers(fleet, sum.run_id);
}

TEST_CASE("docker: timeout and cancel kill and remove the containers on every daemon" * doctest::timeout(240)) {
    DOCKERD_OR_SKIP();
    dockerd_fleet fleet;
    SUBCASE("timeout") {
        docker_run r;
        auto s = r.make(docker_options_for(fleet));
        for (int i = 0; i < 2; ++i) {
            auto t = sh("slow-" + std::to_string(i), "sleep 300");
            t.timeout = 1500ms;
            s.submit(t);
        }
        auto t0 = std::chrono::steady_clock::now();
        auto sum = s.run();
        CHECK(std::chrono::steady_clock::now() - t0 < 60s);
        CHECK(sum.counts.dead == 2);
        for (auto& t : sum.tasks) CHECK_MESSAGE(t.last.failure == drover::failure_class::timeout, dump(sum));
        CHECK(r.attempts_on(docker_options_for(fleet).hosts[0]) == 1);
        CHECK(r.attempts_on(docker_options_for(fleet).hosts[1]) == 1);
        check_no_containers(fleet, sum.run_id);
    }
    SUBCASE("cancel") {
        docker_run r;
        auto o = docker_options_for(fleet);
        o.slots_per_host = 2;
        auto s = r.make(o);
        for (int i = 0; i < 6; ++i) s.submit(sh("t" + std::to_string(i), "sleep 300"));
        std::thread canceller([&] {
            for (auto end = std::chrono::steady_clock::now() + 60s; std::chrono::steady_clock::now() < end;
                 std::this_thread::sleep_for(100ms))
                if (fleet.all_containers(0).size() + fleet.all_containers(1).size() >= 4) break;
            std::this_thread::sleep_for(300ms);
            s.cancel();
        });
        auto sum = s.run();
        canceller.join();
        CHECK(sum.cancelled);
        CHECK(sum.counts.succeeded == 0);
        CHECK(sum.counts.skipped == 6);
        check_no_containers(fleet, sum.run_id);
        CHECK(fleet.all_containers(0).empty());
        CHECK(fleet.all_containers(1).empty());
    }
}

TEST_CASE("docker: containers of a killed scheduler are reaped by the next run" * doctest::timeout(240)) {
    DOCKERD_OR_SKIP();
    dockerd_fleet fleet;
    temp_dir dir;
    auto write_job = [&](const std::string& name, const std::string& script, int n) {
        std::string job = "name = \"reap\"\nstate_dir = \"" + (dir / "state").string() + "\"\n"
                          "[[executors]]\nkind = \"docker\"\nslots = 2\ndefault_image = \"" + std::string(test_image) +
                          "\"\nhosts = [\"" + fleet.tcp_host(0) + "\", \"" + fleet.unix_host(1) + "\"]\n"
                          "[sink]\nkind = \"file\"\npath = \"" + (dir / "out").string() + "\"\n";
        for (int i = 0; i < n; ++i)
            job += "[[tasks]]\nid = \"t" + std::to_string(i) + "\"\ncommand = [\"sh\", \"-c\", \"" + script + "\"]\n";
        write_file(dir / name, job);
    };
    write_job("slow.toml", "sleep 300", 4);
    write_job("quick.toml", "echo '{}'", 2);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        int devnull = ::open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execl(DROVER_CLI_PATH, DROVER_CLI_PATH, "run", (dir / "slow.toml").c_str(), (char*)nullptr);
        _exit(127);
    }
    std::size_t running = 0;
    for (auto end = std::chrono::steady_clock::now() + 60s; std::chrono::steady_clock::now() < end;
         std::this_thread::sleep_for(100ms))
        if ((running = fleet.all_containers(0).size() + fleet.all_containers(1).size()) >= 4) break;
    std::this_thread::sleep_for(300ms);
    ::kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    REQUIRE(running >= 4);
    std::string killed_run;
    for (auto& e : fs::directory_iterator(dir / "state" / "runs"))
        if (e.path().filename() != "latest") killed_run = e.path().filename().string();
    REQUIRE(!killed_run.empty());
    std::size_t left = fleet.containers_of_run(0, killed_run).size() + fleet.containers_of_run(1, killed_run).size();
    CHECK_MESSAGE(left == 4, "the killed scheduler's containers should still be there before the next run");

    auto second = run_shell(std::string(DROVER_CLI_PATH) + " run " + (dir / "quick.toml").string() + " 2>&1");
    CHECK_MESSAGE(second.exit_code == 0, second.output);
    check_no_containers(fleet, killed_run);
    CHECK(fleet.all_containers(0).empty());
    CHECK(fleet.all_containers(1).empty());
}

TEST_CASE("docker: an unreachable daemon is reported and the run fails after down_timeout" * doctest::timeout(120)) {
    DOCKERD_OR_SKIP();
    docker_run r;
    drover::docker_executor_options o;
    o.hosts = {"tcp://127.0.0.1:9"};  // discard port: nothing listens
    o.default_image = test_image;
    o.connect_timeout = 1s;
    o.reprobe_initial = 200ms;
    o.reprobe_max = 500ms;
    o.down_timeout = 2s;
    auto s = r.make(o);
    for (int i = 0; i < 3; ++i) s.submit(sh("t" + std::to_string(i), "true"));
    auto t0 = std::chrono::steady_clock::now();
    auto sum = s.run();
    CHECK(std::chrono::steady_clock::now() - t0 < 30s);
    CHECK(sum.counts.dead == 3);
    auto f = r.ex->failed();
    REQUIRE(f);
    CHECK_MESSAGE(contains(*f, "every Docker host down for 2s"), *f);
    CHECK_MESSAGE(contains(*f, "tcp://127.0.0.1:9"), *f);
    CHECK(contains(sum.tasks[0].last.message, "tcp://127.0.0.1:9"));
    CHECK(r.hosts.any("tcp://127.0.0.1:9", "is down"));
    CHECK(r.hosts.any("every Docker host is down", "waiting up to 2s"));
}

TEST_CASE("docker: TLS works with the right client certificate and fails naming the host otherwise" *
          doctest::timeout(240)) {
    DOCKERD_OR_SKIP();
    dockerd_fleet fleet({.plain = 0, .tls = true});
    auto good = docker_options_for(fleet, {fleet.tls_index()});
    const std::string host = good.hosts[0];
    REQUIRE(contains(host, "https://127.0.0.1:"));
    {
        docker_run r;
        auto s = r.make(good);
        s.submit(sh("ok", "echo '{\"tls\":true}'"));
        auto sum = s.run();
        CHECK_MESSAGE(sum.ok(), dump(sum));
        CHECK(read_records(r.out) == std::vector<std::string>{"{\"tls\":true}"});
    }
    auto expect_rejected = [&](drover::docker_executor_options o, const std::string& what) {
        CAPTURE(what);
        docker_run r;
        auto s = r.make(o);
        s.submit(sh("t", "true"));
        auto t0 = std::chrono::steady_clock::now();
        auto sum = s.run();
        // Rejected at once, not after down_timeout (300 s by default). 60 s: on a loaded
        // machine under ASan a fresh clone's run once took 16.9 s.
        CHECK(std::chrono::steady_clock::now() - t0 < 60s);
        CHECK(sum.counts.dead == 1);
        auto f = r.ex->failed();
        REQUIRE(f);
        CHECK_MESSAGE(contains(*f, "no usable Docker host"), *f);
        CHECK_MESSAGE(contains(*f, "127.0.0.1:" + std::to_string(fleet.port(fleet.tls_index()))), *f);
        CHECK_MESSAGE(r.hosts.any("cannot be used", std::to_string(fleet.port(fleet.tls_index()))), r.hosts.all());
        MESSAGE(what << ": " << r.hosts.all());
        return *f;
    };
    auto wrong_ca = good;
    wrong_ca.tls.ca_file = (fleet.wrong_cert_dir() / "ca.pem").string();
    auto m1 = expect_rejected(wrong_ca, "wrong CA");
    CHECK_MESSAGE(contains(m1, "certificate verify failed"), m1);

    auto no_cert = good;
    no_cert.tls.cert_file.clear();
    no_cert.tls.key_file.clear();
    auto m2 = expect_rejected(no_cert, "no client certificate");
    CHECK_MESSAGE(contains(m2, "certificate"), m2);

    auto other_client = good;  // a client certificate from a CA the daemon does not trust
    other_client.tls.cert_file = (fleet.wrong_cert_dir() / "cert.pem").string();
    other_client.tls.key_file = (fleet.wrong_cert_dir() / "key.pem").string();
    auto m3 = expect_rejected(other_client, "untrusted client certificate");
    CHECK_MESSAGE(contains(m3, "certificate"), m3);

    auto plain = good;
    plain.hosts = {"tcp://127.0.0.1:" + std::to_string(fleet.port(fleet.tls_index()))};
    auto m4 = expect_rejected(plain, "plain HTTP to the TLS port");
    CHECK_MESSAGE(contains(m4, "HTTP 400"), m4);
    CHECK_MESSAGE(contains(m4, "HTTPS"), m4);
}

TEST_CASE("docker: without hosts the executor uses DOCKER_HOST" * doctest::timeout(180)) {
    DOCKERD_OR_SKIP();
    dockerd_fleet fleet({.plain = 1});
    docker_run r;
    auto o = docker_options_for(fleet);
    o.hosts.clear();
    ::setenv("DOCKER_HOST", fleet.unix_host(0).c_str(), 1);
    ::unsetenv("DOCKER_TLS_VERIFY");
    std::optional<drover::scheduler> s;
    try {
        s.emplace(r.make(o));
    } catch (...) {
        ::unsetenv("DOCKER_HOST");
        throw;
    }
    ::unsetenv("DOCKER_HOST");
    s->submit(sh("t", "echo '{\"via\":\"env\"}'"));
    auto sum = s->run();
    CHECK_MESSAGE(sum.ok(), dump(sum));
    CHECK(read_records(r.out) == std::vector<std::string>{"{\"via\":\"env\"}"});
    CHECK(r.attempts_on(fleet.unix_host(0)) == 1);
}

TEST_CASE("docker: a daemon that stops answering is found by its ping and its attempts run elsewhere" *
          doctest::timeout(300)) {
    DOCKERD_OR_SKIP();
    dockerd_fleet fleet;
    docker_run r;
    auto o = docker_options_for(fleet);
    o.slots_per_host = 2;
    o.connect_timeout = 1s;
    o.request_timeout = 8s;  // a ping gets 1 s + 8 s / 4
    auto s = r.make(o);
    for (int i = 0; i < 30; ++i)
        s.submit(sh("t-" + std::to_string(i), "sleep 0.5; echo '{\"i\":" + std::to_string(i) + "}'"));
    std::string error;
    std::thread hanger([&] {
        try {
            for (auto end = std::chrono::steady_clock::now() + 60s; std::chrono::steady_clock::now() < end;
                 std::this_thread::sleep_for(100ms))
                if (fleet.all_containers(0).size() >= 2) break;
            fleet.pause(0);  // dockerd hangs: connections stay open, nothing answers
            for (auto end = std::chrono::steady_clock::now() + 60s; std::chrono::steady_clock::now() < end;
                 std::this_thread::sleep_for(100ms))
                if (r.hosts.any(o.hosts[0], "is down")) break;
            fleet.resume(0);
        } catch (const std::exception& e) {
            error = e.what();
        }
    });
    auto sum = s.run();
    hanger.join();
    fleet.resume(0);
    REQUIRE_MESSAGE(error.empty(), error);
    INFO("events:\n", r.hosts.all());
    CHECK_MESSAGE(sum.ok(), dump(sum));
    CHECK(sum.counts.succeeded == 30);
    CHECK(read_records(r.out).size() == 30);
    CHECK(r.hosts.any(o.hosts[0], "is down"));
    std::size_t lost = 0;
    for (auto& d : r.events.done)
        if (d.outcome.failure == drover::failure_class::executor_lost) ++lost;
    CHECK_MESSAGE(lost >= 1, "no attempt was running on host 0 when it hung?");
}
