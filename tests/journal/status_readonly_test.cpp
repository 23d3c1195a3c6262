// `drover status` reads the journal without write access (issue 18, defect 9): on a
// read-only state directory, as a user who cannot write it, after a crash left a WAL
// behind; and it refuses (never hangs on) a FIFO or a directory where the journal should be.
#include <doctest/doctest.h>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <csignal>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

extern char** environ;

using namespace drover::test;
using namespace std::chrono_literals;

namespace {

command_result drover_cli(const temp_dir& d, const std::string& args) {
    return run_shell("cd " + d.path().string() + " && " + DROVER_CLI_PATH + " " + args + " 2>&1");
}

// Runs `drover status` as a user without write access to the state directory: `nobody`
// when the tests run as root (root ignores permissions), else the current user.
command_result status_as_reader(const fs::path& state, const std::string& flags = "") {
    std::string cmd = std::string(DROVER_CLI_PATH) + " status --state " + state.string() + " " + flags;
    if (::geteuid() == 0) cmd = "runuser -u nobody -- " + cmd;
    return run_shell("cd / && timeout 20 " + cmd + " 2>&1");
}

// Makes `p` and everything below it read-only for everyone (and readable by `nobody`).
void make_read_only(const fs::path& p) {
    for (auto& e : fs::recursive_directory_iterator(p))
        fs::permissions(e.path(), e.is_directory() ? fs::perms(0555) : fs::perms(0444));
    fs::permissions(p, fs::perms(0555));
}

const char* job = R"(name = "ro"
[sink]
kind = "file"
path = "out"
[[tasks]]
id = "t-{n}"
command = ["sh", "-c", "if [ {n} = 3 ]; then exit 4; fi; echo '{\"n\":{n}}'"]
foreach.n = [1, 2, 3]
)";

}  // namespace

TEST_CASE("status read-only: a read-only state directory, read by a user who cannot write it" *
          doctest::timeout(60)) {
    temp_dir d;
    fs::permissions(d.path(), fs::perms(0755));
    write_file(d / "job.toml", job);
    REQUIRE(drover_cli(d, "run job.toml --quiet --state st").exit_code == 1);
    REQUIRE_FALSE(fs::exists(d / "st" / "journal.db-wal"));
    make_read_only(d / "st");

    auto r = status_as_reader(d / "st", "--json");
    fs::permissions(d / "st", fs::perms(0755));  // so the temp dir can be removed
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    auto j = boost::json::parse(r.output).as_object();
    CHECK(j.at("counts").at("succeeded").as_int64() == 2);
    CHECK(j.at("counts").at("dead").as_int64() == 1);
    CHECK(j.at("last_run").at("status").as_string() == "finished");
}

TEST_CASE("status read-only: the WAL of a killed run is read without write access" * doctest::timeout(60)) {
    temp_dir d;
    fs::permissions(d.path(), fs::perms(0755));
    write_file(d / "job.toml", R"(name = "ro"
[[tasks]]
id = "quick-{n}"
command = ["sh", "-c", "echo '{\"n\":{n}}'"]
foreach.n = [1, 2]
[[tasks]]
id = "slow"
command = ["sh", "-c", "echo $$ > slow.pid; exec sleep 60"]
)");
    std::string script = "cd " + d.path().string() + " && exec " + DROVER_CLI_PATH +
                         " run job.toml --quiet --state st > /dev/null 2>&1";
    const char* argv[] = {"sh", "-c", script.c_str(), nullptr};
    pid_t pid;
    REQUIRE(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) == 0);
    // Until both quick tasks are journaled as succeeded.
    bool ready = false;
    for (int i = 0; i < 200 && !ready; ++i) {
        std::this_thread::sleep_for(50ms);
        auto s = drover_cli(d, "status --state st --json");
        ready = s.exit_code == 0 && s.output.find("\"succeeded\":2") != std::string::npos;
    }
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    if (fs::exists(d / "slow.pid"))  // the task outlives drover's SIGKILL (defect 3)
        for (int p : read_pids(d / "slow.pid")) ::kill(p, SIGKILL);
    REQUIRE(ready);
    REQUIRE(fs::exists(d / "st" / "journal.db-wal"));
    make_read_only(d / "st");

    auto r = status_as_reader(d / "st", "--json");
    fs::permissions(d / "st", fs::perms(0755));
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    auto j = boost::json::parse(r.output).as_object();
    CHECK(j.at("counts").at("succeeded").as_int64() == 2);
    CHECK(j.at("last_run").at("status").as_string() == "interrupted");
}

TEST_CASE("status read-only: a FIFO or a directory instead of the journal is refused at once" *
          doctest::timeout(60)) {
    temp_dir d;
    fs::create_directories(d / "fifo");
    REQUIRE(::mkfifo((d / "fifo" / "journal.db").c_str(), 0644) == 0);
    auto r = run_shell("timeout 10 " + std::string(DROVER_CLI_PATH) + " status --state " + (d / "fifo").string() +
                       " 2>&1");
    CHECK_MESSAGE(r.exit_code == 2, r.output);
    CHECK(r.output.find("not a regular file") != std::string::npos);

    fs::create_directories(d / "dir" / "journal.db");
    r = run_shell("timeout 10 " + std::string(DROVER_CLI_PATH) + " status --state " + (d / "dir").string() + " 2>&1");
    CHECK_MESSAGE(r.exit_code == 2, r.output);
    CHECK(r.output.find("not a regular file") != std::string::npos);

    // A FIFO in place of the lock file must not hang the check for a live run either.
    write_file(d / "job.toml", job);
    REQUIRE(drover_cli(d, "run job.toml --quiet --state st").exit_code == 1);
    fs::remove(d / "st" / "journal.lock");
    REQUIRE(::mkfifo((d / "st" / "journal.lock").c_str(), 0644) == 0);
    r = run_shell("timeout 10 " + std::string(DROVER_CLI_PATH) + " status --state " + (d / "st").string() + " 2>&1");
    CHECK_MESSAGE(r.exit_code == 0, r.output);
}
