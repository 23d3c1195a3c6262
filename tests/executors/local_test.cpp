// The local executor on its own: real processes, no scheduler.
#include <doctest/doctest.h>

#include <drover/executors/local.hpp>

#include "support/support.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <fstream>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using drover::test::read_pids;
using drover::test::temp_dir;

namespace {

struct capture final : drover::attempt_io {
    std::vector<std::string> lines;
    std::vector<std::uint64_t> oversized;
    std::string err;
    void on_stdout_line(std::string_view l) override { lines.emplace_back(l); }
    void on_stdout_oversized(std::uint64_t n, std::string_view) override { oversized.push_back(n); }
    void on_stderr(std::string_view b) override { err.append(b); }
};

struct result_of_run {
    drover::execution_result result;
    capture io;
    std::chrono::milliseconds elapsed;
};

result_of_run run(drover::task_spec t, drover::local_executor_options o = {},
                  std::optional<std::chrono::milliseconds> cancel_after = {}) {
    asio::io_context ctx;
    drover::local_executor ex(o);
    result_of_run r;
    asio::cancellation_signal sig;
    asio::steady_timer timer(ctx);
    if (cancel_after) {
        timer.expires_after(*cancel_after);
        timer.async_wait([&](boost::system::error_code ec) {
            if (!ec) sig.emit(asio::cancellation_type::terminal);
        });
    }
    bool done = false;
    auto t0 = std::chrono::steady_clock::now();
    drover::attempt_request req{t, 1, "run"};
    ex.async_execute(ctx.get_executor(), req, r.io,
                     asio::bind_cancellation_slot(sig.slot(), [&](drover::execution_result res) {
                         r.result = std::move(res);
                         done = true;
                         timer.cancel();
                     }));
    ctx.run();
    REQUIRE(done);
    r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
    return r;
}


}  // namespace

TEST_CASE("local: stdout lines, stderr bytes and exit status" * doctest::timeout(30)) {
    auto r = run({.id = "t", .command = {"sh", "-c", "printf 'one\\ntwo\\r\\nthree'; echo oops >&2; exit 3"}});
    CHECK(r.result.failure == drover::failure_class::exit_code);
    CHECK(r.result.exit_code == 3);
    CHECK(r.result.message == "exit code 3");
    REQUIRE(r.io.lines.size() == 3);
    CHECK(r.io.lines[0] == "one");
    CHECK(r.io.lines[1] == "two");
    CHECK(r.io.lines[2] == "three");
    CHECK(r.io.err == "oops\n");
}

TEST_CASE("local: success, env overrides and workdir" * doctest::timeout(30)) {
    temp_dir d;
    auto r = run({.id = "t",
                  .command = {"sh", "-c", "echo \"$GREETING $(pwd)\""},
                  .env = {{"GREETING", "hello world"}},
                  .workdir = d.path().string()});
    CHECK(r.result.failure == drover::failure_class::none);
    CHECK(r.result.exit_code == 0);
    REQUIRE(r.io.lines.size() == 1);
    CHECK(r.io.lines[0] == "hello world " + std::filesystem::canonical(d.path()).string());
}

TEST_CASE("local: spawn errors name the program" * doctest::timeout(30)) {
    auto r = run({.id = "t", .command = {"/nonexistent/drover-no-such-program"}});
    CHECK(r.result.failure == drover::failure_class::spawn_error);
    CHECK(r.result.message.find("cannot start '/nonexistent/drover-no-such-program'") != std::string::npos);
    CHECK(r.result.message.find("No such file") != std::string::npos);
}

TEST_CASE("local: death by signal is reported with the signal's name" * doctest::timeout(30)) {
    auto r = run({.id = "t", .command = {"sh", "-c", "kill -KILL $$"}});
    CHECK(r.result.failure == drover::failure_class::signal);
    CHECK(r.result.signal == 9);
    CHECK(r.result.message == "killed by SIGKILL");
}

TEST_CASE("local: cancel kills the whole process group, grandchildren included" * doctest::timeout(30)) {
    temp_dir d;
    auto pidfile = d / "pids";
    std::string script = "sleep 300 & echo $! > " + pidfile.string() + "; sh -c 'sleep 300' & echo $! >> " +
                         pidfile.string() + "; wait";
    auto r = run({.id = "t", .command = {"sh", "-c", script}}, {.kill_grace = 5000ms}, 300ms);
    CHECK(r.result.failure == drover::failure_class::cancelled);
    CHECK(r.elapsed < 5000ms);  // SIGTERM was enough, no grace period needed
    auto pids = read_pids(pidfile);
    REQUIRE(pids.size() == 2);
    for (int pid : pids) CHECK_MESSAGE(drover::test::process_gone(pid), "pid " << pid << " survived");
}

TEST_CASE("local: a child ignoring SIGTERM gets SIGKILL after the grace period" * doctest::timeout(30)) {
    auto r = run({.id = "t", .command = {"sh", "-c", "trap '' TERM; sleep 300 & wait; sleep 300"}},
                 {.kill_grace = 300ms}, 200ms);
    CHECK(r.result.failure == drover::failure_class::cancelled);
    CHECK(r.elapsed >= 450ms);
    CHECK(r.elapsed < 5000ms);
}

TEST_CASE("local: processes left behind by a finished task are killed" * doctest::timeout(30)) {
    temp_dir d;
    auto pidfile = d / "pids";
    // The background sleep keeps stdout open; without the group kill this would hang.
    auto r = run({.id = "t", .command = {"sh", "-c", "sleep 300 & echo $! > " + pidfile.string() + "; echo done"}});
    CHECK(r.result.failure == drover::failure_class::none);
    CHECK(r.elapsed < 5000ms);
    REQUIRE(r.io.lines.size() == 1);
    auto pids = read_pids(pidfile);
    REQUIRE(pids.size() == 1);
    CHECK(drover::test::process_gone(pids[0]));
}

TEST_CASE("local: overlong stdout lines are reported as oversized" * doctest::timeout(30)) {
    auto r = run({.id = "t", .command = {"sh", "-c", "head -c 5000 /dev/zero | tr '\\0' x; echo; echo ok"}},
                 {.max_line_bytes = 1000});
    REQUIRE(r.io.oversized.size() == 1);
    CHECK(r.io.oversized[0] == 5000);
    REQUIRE(r.io.lines.size() == 1);
    CHECK(r.io.lines[0] == "ok");
}

TEST_CASE("local: slots default to the number of cores") {
    drover::local_executor ex;
    CHECK(ex.slots() >= 1);
    drover::local_executor three({.slots = 3});
    CHECK(three.slots() == 3);
}

namespace {

// A `prog` script in `dir` that prints `word`; mode 0755 unless told.
void write_prog(const std::filesystem::path& dir, const std::string& word, std::filesystem::perms mode =
                                                                                 std::filesystem::perms::owner_all) {
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "drover-path-prog") << "#!/bin/sh\necho " << word << "\n";
    std::filesystem::permissions(dir / "drover-path-prog", mode);
}

std::string run_prog() {
    auto r = run({.id = "t", .command = {"drover-path-prog"}});
    if (r.result.failure != drover::failure_class::none) return "failed: " + r.result.message;
    return r.io.lines.empty() ? "" : r.io.lines[0];
}

struct path_env {
    std::string saved = std::getenv("PATH") ? std::getenv("PATH") : "";
    explicit path_env(const std::string& p) { ::setenv("PATH", p.c_str(), 1); }
    ~path_env() { ::setenv("PATH", saved.c_str(), 1); }
};

}  // namespace

TEST_CASE("local: a program named without a slash is searched on PATH once, and again when it moves" *
          doctest::timeout(30)) {
    temp_dir d;
    auto dir = [&](const char* n) { return (d.path() / n).string(); };
    // Skipped like execvp skips them: a directory of that name, a file we may not execute.
    std::filesystem::create_directories(d.path() / "has-dir" / "drover-path-prog");
    write_prog(d.path() / "not-exec", "not-exec", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    write_prog(d.path() / "b", "b");
    path_env p(dir("empty") + ":" + dir("has-dir") + ":" + dir("not-exec") + ":" + dir("b") + ":/usr/bin:/bin");
    CHECK(run_prog() == "b");
    // Remembered, as a shell's command hash remembers it: a program that appears earlier on
    // the same PATH is not seen while the remembered one still starts.
    write_prog(d.path() / "empty", "earlier");
    CHECK(run_prog() == "b");
    // The remembered one is gone: searched again, and found where it is now.
    std::filesystem::remove(d.path() / "b" / "drover-path-prog");
    CHECK(run_prog() == "earlier");
    // A new PATH: searched on it.
    write_prog(d.path() / "c", "c");
    ::setenv("PATH", (dir("c") + ":" + dir("empty") + ":/usr/bin:/bin").c_str(), 1);
    CHECK(run_prog() == "c");
    // Nowhere on PATH: the error names the program.
    std::filesystem::remove(d.path() / "c" / "drover-path-prog");
    std::filesystem::remove(d.path() / "empty" / "drover-path-prog");
    auto gone = run_prog();
    CHECK(gone.find("cannot start 'drover-path-prog'") != std::string::npos);
    CHECK(gone.find("No such file") != std::string::npos);
    // Relative PATH entries depend on the task's workdir: not remembered, the child searches.
    write_prog(d.path() / "rel" / "bin", "relative");
    ::setenv("PATH", "bin:/usr/bin:/bin", 1);
    auto r = run({.id = "t", .command = {"drover-path-prog"}, .workdir = dir("rel")});
    REQUIRE(r.io.lines.size() == 1);
    CHECK(r.io.lines[0] == "relative");
}
