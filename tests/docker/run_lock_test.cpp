// The run lock files that tell the reaper which runs are live, and host specs to client options.
#include <doctest/doctest.h>

#include <drover/error.hpp>

#include "executors/docker_hosts.hpp"
#include "executors/run_lock.hpp"
#include "support/support.hpp"

#include <sys/wait.h>
#include <unistd.h>

using namespace drover;
using namespace drover::test;

TEST_CASE("docker run lock: live while any executor of the run holds it, the last one removes it") {
    temp_dir d;
    auto state = d / "state";
    CHECK_FALSE(detail::run_live(state, "docker", "r1"));  // no file: dead
    auto a = detail::lock_run(state, "docker", "r1");
    auto b = detail::lock_run(state, "docker", "r1");      // a second docker executor of the same run
    CHECK(detail::run_live(state, "docker", "r1"));
    CHECK_FALSE(detail::run_live(state, "docker", "r2"));
    detail::unlock_run(a, state, "docker", "r1");
    CHECK(fs::exists(state / "docker" / "r1.lock"));
    CHECK(detail::run_live(state, "docker", "r1"));
    detail::unlock_run(b, state, "docker", "r1");
    CHECK_FALSE(fs::exists(state / "docker" / "r1.lock"));
    CHECK_FALSE(detail::run_live(state, "docker", "r1"));
}

TEST_CASE("docker run lock: a killed process's run is dead, its file notwithstanding") {
    temp_dir d;
    auto state = d / "state";
    int ready[2];
    REQUIRE(pipe(ready) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        auto l = detail::lock_run(state, "docker", "child-run");
        (void)!write(ready[1], "x", 1);
        pause();
        _exit(0);
    }
    char c;
    REQUIRE(read(ready[0], &c, 1) == 1);
    CHECK(detail::run_live(state, "docker", "child-run"));
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    CHECK(fs::exists(state / "docker" / "child-run.lock"));
    CHECK_FALSE(detail::run_live(state, "docker", "child-run"));
    close(ready[0]);
    close(ready[1]);
}

TEST_CASE("docker run lock: hostile run ids from container labels are never live and never touch files") {
    temp_dir d;
    auto state = d / "state";
    fs::create_directories(state / "docker");
    write_file(d / "victim.lock", "keep");
    for (std::string bad : std::vector<std::string>{"../../victim", "", ".hidden", "a/b", std::string(300, 'x')}) {
        CHECK_FALSE(detail::run_live(state, "docker", bad));
        detail::forget_run(state, "docker", bad);
    }
    CHECK(fs::exists(d / "victim.lock"));
}

TEST_CASE("docker hosts: endpoints, default ports and TLS") {
    docker_executor_options o;
    auto u = detail::docker_client_options("unix:///run/docker.sock", o);
    CHECK(u.target.kind == http::transport::unix_socket);
    CHECK(u.target.socket_path == "/run/docker.sock");
    auto t = detail::docker_client_options("tcp://127.0.0.1", o);
    CHECK(t.target.kind == http::transport::tcp);
    CHECK(t.target.port == 2375);
    o.tls.enabled = true;
    o.tls.ca_file = "/ca.pem";
    auto s = detail::docker_client_options("tcp://127.0.0.1", o);
    CHECK(s.target.kind == http::transport::tls);
    CHECK(s.target.port == 2376);
    CHECK(s.tls.ca_file == "/ca.pem");
    CHECK(detail::docker_client_options("https://h:3000", {}).target.kind == http::transport::tls);
    CHECK(detail::docker_client_options("unix:///x", o).target.kind == http::transport::unix_socket);
    CHECK_THROWS_AS(detail::docker_client_options("ssh://u@h", o), config_error);
    CHECK_THROWS_AS(detail::docker_client_options("tcp://h:99999", o), config_error);
    CHECK_THROWS_AS(detail::docker_client_options("/var/run/docker.sock", o), config_error);
}

TEST_CASE("docker hosts: the state label depends on the state directory") {
    temp_dir d;
    auto a = detail::state_label(d / "a");
    CHECK(a.size() == 16);
    CHECK(a == detail::state_label(d / "a"));
    CHECK(a == detail::state_label(d / "x" / ".." / "a"));
    CHECK(a != detail::state_label(d / "b"));
}
