// `drover run` with [on_failure] alerts that never answer (issue 18, defect 1): the summary
// comes first, the wait for alerts is bounded as a whole, and a signal ends it.
#include <doctest/doctest.h>

#include "support/support.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <csignal>
#include <spawn.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <thread>

extern char** environ;

using namespace drover::test;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

// A TCP port on 127.0.0.1 that accepts connections (the kernel's backlog does) and never
// answers: an unresponsive webhook.
struct black_hole {
    int fd = -1;
    int port = 0;
    black_hole() {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(fd, 512) == 0);
        socklen_t len = sizeof a;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        port = ntohs(a.sin_port);
    }
    ~black_hole() { ::close(fd); }
};

std::string failing_job(int port, int tasks) {
    return "name = \"alerting\"\n[[executors]]\nkind = \"local\"\nslots = 4\n"
           "[on_failure]\nwebhook = \"http://127.0.0.1:" + std::to_string(port) + "/hook\"\n"
           "[[tasks]]\nid = \"t-{n}\"\ncommand = [\"sh\", \"-c\", \"exit 1\"]\n"
           "foreach.n = { from = 1, to = " + std::to_string(tasks) + " }\n";
}

struct cli_process {
    pid_t pid = -1;
    fs::path out;
    steady::time_point started = steady::now();
    int status = -1;

    cli_process(const temp_dir& d, const std::string& args) : out(d / "cli.out") {
        std::string script = "cd " + d.path().string() + " && exec " + DROVER_CLI_PATH + " " + args + " > " +
                             out.string() + " 2>&1";
        const char* argv[] = {"sh", "-c", script.c_str(), nullptr};
        REQUIRE(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) == 0);
    }
    ~cli_process() {
        if (status == -1) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
    }
    std::string output() const {
        std::error_code ec;
        return fs::exists(out, ec) ? read_file(out) : std::string();
    }
    // Time from start until `text` shows in the output, or nothing after `limit`.
    std::optional<std::chrono::milliseconds> wait_for(std::string_view text, std::chrono::milliseconds limit) {
        while (steady::now() - started < limit) {
            if (output().find(text) != std::string::npos)
                return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - started);
            std::this_thread::sleep_for(20ms);
        }
        return std::nullopt;
    }
    // Waits up to `limit` for the exit; true when it exited.
    bool wait_exit(std::chrono::milliseconds limit) {
        auto until = steady::now() + limit;
        while (steady::now() < until) {
            int st = 0;
            if (::waitpid(pid, &st, WNOHANG) == pid) {
                status = st;
                return true;
            }
            std::this_thread::sleep_for(20ms);
        }
        return false;
    }
};

}  // namespace

TEST_CASE("cli alerts: an unresponsive webhook delays neither the summary nor the exit for long" *
          doctest::timeout(100)) {
    black_hole hook;
    temp_dir d;
    write_file(d / "job.toml", failing_job(hook.port, 12));
    cli_process p(d, "run job.toml --quiet");
    auto summary = p.wait_for("drover: alerting failed", 8s);
    REQUIRE_MESSAGE(summary, "no summary within 8 s: " << p.output());
    // 13 alerts (12 dead tasks and the run) wait together, at most 10 s in all.
    bool exited = p.wait_exit(16s);
    auto total = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - p.started);
    REQUIRE_MESSAGE(exited, "still waiting after " << total.count() << " ms");
    MESSAGE("summary after " << summary->count() << " ms, exit after " << total.count() << " ms");
    CHECK(WIFEXITED(p.status));
    CHECK(WEXITSTATUS(p.status) == 1);
    CHECK(p.output().find("alert") != std::string::npos);  // says that alerts were not delivered
}

TEST_CASE("cli alerts: SIGTERM or SIGINT ends the wait for alerts at once" * doctest::timeout(100)) {
    black_hole hook;
    for (int sig : {SIGTERM, SIGINT}) {
        CAPTURE(sig);
        temp_dir d;
        write_file(d / "job.toml", failing_job(hook.port, 3));
        cli_process p(d, "run job.toml --quiet");
        REQUIRE_MESSAGE(p.wait_for("drover: alerting failed", 8s), "no summary within 8 s: " << p.output());
        std::this_thread::sleep_for(300ms);
        auto t0 = steady::now();
        ::kill(p.pid, sig);
        bool exited = p.wait_exit(3s);
        auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0);
        REQUIRE_MESSAGE(exited, "no exit within 3 s of the signal");
        MESSAGE("exit " << waited.count() << " ms after the signal");
        CHECK(WIFEXITED(p.status));
    }
}
