// Local tasks never outlive the drover that started them: `drover run` killed with SIGKILL
// takes its running tasks (and their children) with it within about a second, through its
// watchdog; and when the watchdog died too, the resumed run kills what is left (the journal
// has each attempt's process group and its leader's start time) before it starts anything.
#include <doctest/doctest.h>

#include "journal/sqlite.hpp"
#include "journal/cli_run.hpp"
#include "support/support.hpp"

#include <fmt/format.h>

#include <csignal>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>

using namespace drover::test;
using namespace std::chrono_literals;

namespace {

constexpr int tasks = 3;

// A task leads its process group (its shell) and leaves a child in the same group. On the
// second run (marker file) it records whether the first run's group still had live members
// when it started, then ends.
constexpr const char* task_sh = R"(dir=$1; i=$2
if [ -e $dir/resume ]; then
  old=$(cat $dir/pg-$i)
  for s in /proc/[0-9]*/stat; do
    set -- $(sed 's/^.*) //' $s 2>/dev/null)
    if [ "$3" = "$old" ] && [ "$1" != Z ]; then echo alive >> $dir/overlap-$i; fi
  done
  echo "{\"task\":$i}"
  exit 0
fi
sleep 300 &
echo $$ > $dir/pg-$i.tmp && mv $dir/pg-$i.tmp $dir/pg-$i
sleep 300
)";

std::string job(const fs::path& dir) {
    return fmt::format(R"(name = "orphans"
state_dir = "{0}/state"
[[executors]]
kind = "local"
slots = {1}
[sink]
kind = "file"
path = "{0}/out"
[[tasks]]
id = "t-{{i}}"
foreach = {{ i = {{ from = 1, to = {1} }} }}
command = ["sh", "{0}/task.sh", "{0}", "{{i}}"]
)",
                       dir.string(), tasks);
}


// Fields after the command name of /proc/PID/stat: [0] state, [1] ppid, [2] pgrp.
std::vector<std::string> stat_fields(const fs::path& stat) {
    auto text = read_file(stat);
    auto close = text.rfind(')');
    std::vector<std::string> out;
    if (close == std::string::npos) return out;
    std::istringstream in(text.substr(close + 2));
    for (std::string f; in >> f && out.size() < 3;) out.push_back(f);
    return out;
}

template <class F>
void each_process(F f) {
    for (const auto& e : fs::directory_iterator("/proc")) {
        auto name = e.path().filename().string();
        if (name.find_first_not_of("0123456789") != std::string::npos) continue;
        std::vector<std::string> fields;
        try {
            fields = stat_fields(e.path() / "stat");
        } catch (...) {
            continue;  // gone meanwhile
        }
        if (fields.size() == 3) f(std::stoi(name), fields);
    }
}

// Processes of group `pgid` that are not zombies.
int live_members(pid_t pgid) {
    int n = 0;
    each_process([&](int, const std::vector<std::string>& f) { n += f[2] == std::to_string(pgid) && f[0] != "Z"; });
    return n;
}

std::vector<pid_t> task_groups(const fs::path& dir) {
    std::vector<pid_t> out;
    for (int i = 1; i <= tasks; ++i) {
        auto p = dir / fmt::format("pg-{}", i);
        if (!fs::exists(p)) return {};
        out.push_back(std::stoi(read_file(p)));
    }
    return out;
}

std::vector<pid_t> wait_for_groups(const fs::path& dir) {
    auto deadline = std::chrono::steady_clock::now() + 20s;
    std::vector<pid_t> groups;
    while ((groups = task_groups(dir)).empty() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(10ms);
    REQUIRE(groups.size() == tasks);
    for (auto g : groups) REQUIRE(live_members(g) >= 2);  // the shell and its background sleep (and more)
    return groups;
}

void kill_and_reap(pid_t pid) {
    REQUIRE(::kill(pid, SIGKILL) == 0);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
}

// Seconds until no group has a live member (or -1 after `limit`).
double seconds_until_gone(const std::vector<pid_t>& groups, std::chrono::milliseconds limit) {
    auto t0 = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - t0 < limit) {
        int live = 0;
        for (auto g : groups) live += live_members(g);
        if (live == 0) return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::this_thread::sleep_for(10ms);
    }
    return -1;
}

void kill_groups(const std::vector<pid_t>& groups) {
    for (auto g : groups) ::kill(-g, SIGKILL);
}

}  // namespace

TEST_CASE("orphans: drover run killed with SIGKILL takes its running tasks and their children with it" *
          doctest::timeout(120)) {
    temp_dir d;
    write_file(d / "task.sh", task_sh);
    write_file(d / "job.toml", job(d.path()));
    pid_t cli = start_cli(d.path());
    auto groups = wait_for_groups(d.path());
    kill_and_reap(cli);
    auto gone = seconds_until_gone(groups, 3s);
    kill_groups(groups);  // never leave sleeps behind, whatever happened
    INFO(read_file(d / "cli.log"));
    MESSAGE("tasks gone " << gone << " s after drover was killed");
    CHECK(gone >= 0);
    CHECK(gone < 1.5);
}

TEST_CASE("orphans: with the watchdog killed too, the resumed run kills the leftovers before it starts the tasks again" *
          doctest::timeout(120)) {
    temp_dir d;
    write_file(d / "task.sh", task_sh);
    write_file(d / "job.toml", job(d.path()));
    pid_t cli = start_cli(d.path());
    auto groups = wait_for_groups(d.path());
    // The journal has every attempt's process group before the kill.
    auto deadline = std::chrono::steady_clock::now() + 10s;
    for (;;) {
        using drover::detail::sql::database;
        database db(d / "state/journal.db", database::mode::read_only);
        auto q = db.prepare("SELECT count(*) FROM attempt_processes WHERE started LIKE '%:%'");
        REQUIRE(q.step());
        if (q.int_at(0) == tasks) break;
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        std::this_thread::sleep_for(20ms);
    }
    // The watchdog (awk, a child of drover) goes first, then drover: nothing kills the tasks.
    pid_t watchdog = 0;
    each_process([&](int pid, const std::vector<std::string>& f) {
        if (f[1] == std::to_string(cli) && read_file(fs::path("/proc") / std::to_string(pid) / "comm") == "awk\n")
            watchdog = pid;
    });
    REQUIRE(watchdog > 0);
    REQUIRE(::kill(watchdog, SIGKILL) == 0);
    std::this_thread::sleep_for(100ms);
    kill_and_reap(cli);
    std::this_thread::sleep_for(1s);
    int left = 0;
    for (auto g : groups) left += live_members(g);
    CHECK(left >= 2 * tasks);  // without the watchdog they survive: the resumed run must deal with them

    write_file(d / "resume", "");
    int status = 0;
    pid_t again = start_cli(d.path());
    REQUIRE(waitpid(again, &status, 0) == again);
    auto log = read_file(d / "cli.log");
    kill_groups(groups);
    INFO(log);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    for (auto g : groups) CHECK(live_members(g) == 0);
    for (int i = 1; i <= tasks; ++i) {
        INFO("task " << i);
        CHECK_FALSE(fs::exists(d / fmt::format("overlap-{}", i)));  // no moment with two copies
    }
    CHECK(log.find("killed process group") != std::string::npos);
    // Every attempt of the resumed run ended: none of them is left for the next open to kill.
    drover::detail::sql::database db(d / "state/journal.db", drover::detail::sql::database::mode::read_only);
    auto q = db.prepare("SELECT count(*) FROM attempt_processes");
    REQUIRE(q.step());
    CHECK(q.int_at(0) == 0);
}
