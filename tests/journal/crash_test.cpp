// Crash safety of durable runs, with the real CLI: `drover run` is killed with SIGKILL at
// random moments and started again until the job completes. Then every task succeeded,
// the output holds each task's records exactly once, and no task that the journal had
// recorded as succeeded ran again (the tasks leave a side effect each time they start).
#include <doctest/doctest.h>

#include "journal/sqlite.hpp"
#include "journal/cli_run.hpp"
#include "support/support.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <csignal>
#include <map>
#include <random>
#include <set>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>

using namespace drover::test;
using namespace std::chrono_literals;

namespace {

constexpr int task_count = 500;
constexpr int records_per_task = 4;
constexpr int kills_wanted = 12;

// Each task: note that it started (side effect), print half its records, sleep 10-90 ms,
// print the rest. A kill can land before, between or after the records, or in a commit.
std::string crash_job(const fs::path& dir) {
    return fmt::format(R"(name = "crash"
state_dir = "{0}/state"
[[executors]]
kind = "local"
slots = 4
[sink]
kind = "file"
path = "{0}/out"
[[tasks]]
id = "t-{{i}}"
foreach = {{ i = {{ from = 1, to = {1} }} }}
command = ["sh", "-c", "echo run >> {0}/side/t-{{i}}; echo '{{\"task\":\"t-{{i}}\",\"k\":0}}'; echo '{{\"task\":\"t-{{i}}\",\"k\":1}}'; sleep 0.0$(( {{i}} % 9 + 1 )); echo '{{\"task\":\"t-{{i}}\",\"k\":2}}'; echo '{{\"task\":\"t-{{i}}\",\"k\":3}}'"]
)",
                       dir.string(), task_count);
}


std::set<std::string> journaled_succeeded(const fs::path& state) {
    std::set<std::string> out;
    if (!fs::exists(state / "journal.db")) return out;
    using drover::detail::sql::database;
    database db(state / "journal.db", database::mode::read_only);
    // Killed before the first run created the schema: nothing is journaled yet.
    if (!db.prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name='tasks'").step()) return out;
    auto q = db.prepare("SELECT task_id FROM tasks WHERE state='succeeded'");
    while (q.step()) out.emplace(q.text_at(0));
    return out;
}

std::map<std::string, int> side_effects(const fs::path& side) {
    std::map<std::string, int> out;
    for (const auto& e : fs::directory_iterator(side))
        out[e.path().filename().string()] = static_cast<int>(split_lines(read_file(e.path())).size());
    return out;
}

}  // namespace

TEST_CASE("crash: SIGKILL at random moments, resumed each time: every record once, no succeeded task re-run" *
          doctest::timeout(600)) {
    temp_dir d;
    fs::create_directories(d / "side");
    write_file(d / "job.toml", crash_job(d.path()));
    std::random_device rd;
    auto seed = rd();
    MESSAGE("seed " << seed);
    std::mt19937 rng(seed);
    // Mostly mid-run, sometimes right at startup (during replay or the first dispatches). A
    // mid-run kill waits until the journal has recorded 1-25 more successes than at the last
    // kill (so kills land mid-run however slow the build, e.g. under ASan), plus 0-30 ms.
    // 12 kills of at most 25 successes each cannot finish the 500 tasks, so every wanted
    // kill lands.
    std::uniform_int_distribution<int> early_ms(5, 150), more(1, 25), extra_ms(0, 30), coin(0, 9);

    // Snapshots after each kill: what the journal said had succeeded, and how often each
    // of those tasks had started by then.
    std::vector<std::pair<std::set<std::string>, std::map<std::string, int>>> snapshots;
    int kills = 0, runs = 0;
    bool completed = false;
    while (!completed && runs < 60) {
        ++runs;
        pid_t pid = start_cli(d.path());
        int status = 0;
        if (kills < kills_wanted) {
            bool early = coin(rng) < 3;
            auto target = journaled_succeeded(d / "state").size() + static_cast<std::size_t>(more(rng));
            auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(early ? early_ms(rng) : 60000);
            pid_t done = 0;
            while (std::chrono::steady_clock::now() < deadline && (done = waitpid(pid, &status, WNOHANG)) == 0) {
                if (!early && journaled_succeeded(d / "state").size() >= target) {
                    std::this_thread::sleep_for(std::chrono::milliseconds(extra_ms(rng)));
                    break;
                }
                std::this_thread::sleep_for(3ms);
            }
            if (done == 0) done = waitpid(pid, &status, WNOHANG);
            if (done == 0) {
                kill_cli(pid);
                ++kills;
                // Orphaned tasks of the killed run may still be starting: give them a moment
                // to leave their side effect before it is counted.
                std::this_thread::sleep_for(150ms);
                auto ok = journaled_succeeded(d / "state");
                auto counts = side_effects(d / "side");
                for (const auto& id : ok) REQUIRE_MESSAGE(counts.contains(id), id << " succeeded without running");
                snapshots.emplace_back(std::move(ok), std::move(counts));
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
    CHECK(kills >= 10);
    // The kills landed at different points: the journal grew between them.
    REQUIRE(snapshots.size() >= 2);
    CHECK(snapshots.back().first.size() > snapshots.front().first.size());

    // Every task succeeded, according to the journal.
    auto ok = journaled_succeeded(d / "state");
    CHECK(ok.size() == static_cast<std::size_t>(task_count));

    // Each task's records exactly once, by content.
    std::vector<std::string> expected;
    for (int i = 1; i <= task_count; ++i)
        for (int k = 0; k < records_per_task; ++k) expected.push_back(fmt::format(R"({{"task":"t-{}","k":{}}})", i, k));
    std::sort(expected.begin(), expected.end());
    auto got = read_records(d / "out");
    REQUIRE(got.size() == expected.size());
    CHECK(got == expected);

    // No task ran again once the journal recorded it as succeeded.
    auto final_counts = side_effects(d / "side");
    CHECK(final_counts.size() == static_cast<std::size_t>(task_count));
    std::size_t checked = 0;
    for (const auto& [succeeded, counts] : snapshots)
        for (const auto& id : succeeded) {
            INFO(id);
            CHECK(final_counts[id] == counts.at(id));
            ++checked;
        }
    MESSAGE(checked << " (task, kill) pairs checked; tasks re-run after a kill: "
                    << std::count_if(final_counts.begin(), final_counts.end(), [](auto& p) { return p.second > 1; }));
    CHECK(checked > 0);
}
