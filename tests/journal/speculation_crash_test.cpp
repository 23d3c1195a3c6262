// Crash safety of straggler speculation, with the real CLI: an eighth of the tasks straggle in
// their first attempt of each run (then succeed), so backups race them; `drover run` is killed with SIGKILL at
// random moments, also while twins run and while a winner commits, and started again until the
// job completes. Then every task's records are in the output exactly once, and the journal
// shows that backups did win against stragglers (superseded attempts).
#include <doctest/doctest.h>

#include "journal/cli_run.hpp"
#include "journal/sqlite.hpp"
#include "support/support.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <csignal>
#include <random>
#include <sys/wait.h>
#include <thread>

using namespace drover::test;
using namespace std::chrono_literals;

namespace {

constexpr int task_count = 60;
constexpr int kills_wanted = 6;

// Task i prints two records; when i % 8 == 0 its first attempt in each run (the one that takes
// the run's mark: $PPID is drover) sleeps 3 s between them: a straggler that still succeeds
// unless it is killed. Killed runs (at most 2.5 s) never see one succeed by itself, so the run
// that completes has the stragglers no backup finished before. There are fewer stragglers (7)
// than slots (8): once the queue is empty a slot is always idle, so a straggler that started
// late (t-56 starts among the last) gets a backup long before its 3 s are up - also on a loaded
// machine, where with as many stragglers as slots all of them could run at once until the first
// ended, leaving the backups only a few hundred milliseconds to win.
std::string spec_job(const fs::path& dir) {
    return fmt::format(R"(name = "spec-crash"
state_dir = "{0}/state"
[speculation]
multiplier = 1.5
quantile = 0.75
min_runtime = "300ms"
[[executors]]
kind = "local"
slots = 8
[sink]
kind = "file"
path = "{0}/out"
fsync = false
[[tasks]]
id = "t-{{i}}"
foreach = {{ i = {{ from = 1, to = {1} }} }}
command = ["sh", "-c", "echo '{{\"task\":\"t-{{i}}\",\"k\":0}}'; if [ $(( {{i}} % 8 )) = 0 ] && mkdir {0}/mark/t-{{i}}-$PPID 2>/dev/null; then sleep 3; fi; sleep 0.3; echo '{{\"task\":\"t-{{i}}\",\"k\":1}}'"]
)",
                       dir.string(), task_count);
}

int superseded_attempts(const fs::path& state) {
    using drover::detail::sql::database;
    database db(state / "journal.db", database::mode::read_only);
    auto q = db.prepare("SELECT count(*) FROM attempts WHERE message LIKE 'superseded%'");
    REQUIRE(q.step());
    return static_cast<int>(q.int_at(0));
}

}  // namespace

TEST_CASE("speculation crash: SIGKILL while twins run and commit, resumed each time - every record once" *
          doctest::timeout(600)) {
    temp_dir d;
    fs::create_directories(d / "mark");
    write_file(d / "job.toml", spec_job(d.path()));
    std::random_device rd;
    auto seed = rd();
    MESSAGE("seed " << seed);
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> after_ms(300, 2500);
    int kills = 0, runs = 0;
    bool completed = false;
    while (!completed && runs < 40) {
        ++runs;
        pid_t pid = start_cli(d.path());
        int status = 0;
        if (kills < kills_wanted) {
            auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(after_ms(rng));
            pid_t done = 0;
            while (std::chrono::steady_clock::now() < deadline && (done = waitpid(pid, &status, WNOHANG)) == 0)
                std::this_thread::sleep_for(5ms);
            if (done == 0) {
                kill_cli(pid);
                ++kills;
                continue;
            }
        } else {
            REQUIRE(waitpid(pid, &status, 0) == pid);
        }
        require_cli_ok(d.path(), status);
        completed = true;
    }
    MESSAGE(kills << " kills, " << runs << " runs");
    REQUIRE(completed);
    std::vector<std::string> expected;
    for (int i = 1; i <= task_count; ++i)
        for (int k = 0; k < 2; ++k) expected.push_back(fmt::format(R"({{"task":"t-{}","k":{}}})", i, k));
    std::sort(expected.begin(), expected.end());
    auto got = read_records(d / "out");
    REQUIRE(got.size() == expected.size());
    CHECK(got == expected);
    // Backups raced the stragglers and won (in the run that completed, at least).
    auto superseded = superseded_attempts(d / "state");
    MESSAGE(superseded << " superseded attempts");
    CHECK(superseded > 0);
}
