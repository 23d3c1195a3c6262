// Crash safety of checkpoints, with the real CLI: long-running tasks stream records with a
// checkpoint per page into the file sink and into a real s3rver, and `drover run` is killed
// with SIGKILL at random moments and started again until the job completes. Then every
// record is in the output exactly once, and every task that had a journaled checkpoint when
// drover was killed started again from that checkpoint, not from its beginning.
#include <doctest/doctest.h>

#include <drover/sinks/s3.hpp>

#include "journal/cli_run.hpp"
#include "journal/sqlite.hpp"
#include "services/s3rver.hpp"
#include "support/support.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>
#include <sys/wait.h>
#include <thread>

using namespace drover::test;
using namespace std::chrono_literals;

namespace {

constexpr int task_count = 10;
constexpr int pages = 30;
constexpr int kills_wanted = 8;

// Each task: note its start and DROVER_CHECKPOINT, then a page every 40 ms from the
// checkpoint on: two records and a checkpoint.
std::string job(const fs::path& dir, const std::string& sink) {
    return fmt::format(R"(name = "ckpt-crash"
state_dir = "{0}/state"
[[executors]]
kind = "local"
slots = 4
[sink]
{1}
flush_records = 1
[[tasks]]
id = "t-{{i}}"
foreach = {{ i = {{ from = 1, to = {2} }} }}
command = ["sh", "-c", "cp=${{DROVER_CHECKPOINT:-0}}; echo \"start $cp\" >> {0}/side/t-{{i}}; p=$((cp+1)); while [ $p -le {3} ]; do echo '{{\"task\":\"t-{{i}}\",\"page\":'$p',\"k\":0}}'; echo '{{\"task\":\"t-{{i}}\",\"page\":'$p',\"k\":1}}'; echo '{{\"$drover\":{{\"checkpoint\":\"'$p'\"}}}}'; sleep 0.04; p=$((p+1)); done"]
)",
                       dir.string(), sink, task_count, pages);
}

// Journaled checkpoints of tasks not journaled as succeeded.
std::map<std::string, std::string> journaled_checkpoints(const fs::path& state) {
    std::map<std::string, std::string> out;
    if (!fs::exists(state / "journal.db")) return out;
    using drover::detail::sql::database;
    database db(state / "journal.db", database::mode::read_only);
    if (!db.prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name='checkpoints'").step()) return out;
    auto q = db.prepare("SELECT c.task_id, c.token FROM checkpoints c JOIN tasks t USING(task_id) "
                        "WHERE t.state != 'succeeded'");
    while (q.step()) out.emplace(q.text_at(0), q.text_at(1));
    return out;
}

std::map<std::string, std::vector<std::string>> starts(const fs::path& side) {
    std::map<std::string, std::vector<std::string>> out;
    for (const auto& e : fs::directory_iterator(side)) out[e.path().filename().string()] = split_lines(read_file(e.path()));
    return out;
}

std::vector<std::string> expected() {
    std::vector<std::string> out;
    for (int i = 1; i <= task_count; ++i)
        for (int p = 1; p <= pages; ++p)
            for (int k = 0; k < 2; ++k) out.push_back(fmt::format(R"({{"task":"t-{}","page":{},"k":{}}})", i, p, k));
    std::sort(out.begin(), out.end());
    return out;
}

// Runs the job, killing it kills_wanted times at random moments, until it completes.
void kill_loop(const fs::path& dir) {
    std::random_device rd;
    auto seed = rd();
    MESSAGE("seed " << seed);
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> after_ms(150, 1500);
    struct snapshot {
        std::map<std::string, std::string> tokens;
        std::map<std::string, std::vector<std::string>> starts;
    };
    std::vector<snapshot> snapshots;
    int kills = 0, runs = 0;
    bool completed = false;
    while (!completed && runs < 40) {
        ++runs;
        pid_t pid = start_cli(dir);
        int status = 0;
        pid_t done = 0;
        if (kills < kills_wanted) {
            auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(after_ms(rng));
            while (std::chrono::steady_clock::now() < deadline && (done = waitpid(pid, &status, WNOHANG)) == 0)
                std::this_thread::sleep_for(5ms);
            if (done == 0) done = waitpid(pid, &status, WNOHANG);
            if (done == 0) {
                kill_cli(pid);
                ++kills;
                std::this_thread::sleep_for(200ms);  // orphaned tasks die on their closed stdout
                snapshots.push_back({journaled_checkpoints(dir / "state"), starts(dir / "side")});
                continue;
            }
        } else {
            REQUIRE(waitpid(pid, &status, 0) == pid);
        }
        require_cli_ok(dir, status);
        completed = true;
    }
    MESSAGE(kills << " kills, " << runs << " runs");
    REQUIRE(completed);
    CHECK(kills >= 3);

    // A task with a journaled checkpoint at a kill started next from exactly that checkpoint.
    auto final_starts = starts(dir / "side");
    std::size_t resumed = 0;
    for (const auto& snap : snapshots)
        for (const auto& [id, token] : snap.tokens) {
            auto before = snap.starts.count(id) ? snap.starts.at(id).size() : 0;
            INFO(id << " had checkpoint " << token);
            REQUIRE(final_starts[id].size() > before);
            CHECK(final_starts[id][before] == "start " + token);
            ++resumed;
        }
    MESSAGE(resumed << " (task, kill) pairs resumed from a journaled checkpoint");
    CHECK(resumed > 0);
}

}  // namespace

TEST_CASE("checkpoint crash: SIGKILL while tasks stream into the file sink - every record once, resumed at checkpoints" *
          doctest::timeout(600)) {
    temp_dir d;
    fs::create_directories(d / "side");
    write_file(d / "job.toml", job(d.path(), fmt::format("kind = \"file\"\npath = \"{}/out\"", d.path().string())));
    kill_loop(d.path());
    auto got = read_records(d / "out");
    REQUIRE(got.size() == expected().size());
    CHECK(got == expected());
}

TEST_CASE("checkpoint crash: SIGKILL while tasks stream into s3rver - every record once, resumed at checkpoints" *
          doctest::timeout(600)) {
    if (auto why = s3rver_unavailable(); !why.empty()) {
        if (services_required()) FAIL("s3rver required: " << why);
        MESSAGE("skipped: " << why);
        return;
    }
    s3rver server;
    temp_dir d;
    fs::create_directories(d / "side");
    ::setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
    ::setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
    write_file(d / "job.toml",
               job(d.path(), fmt::format("kind = \"s3\"\npath = \"s3://test/ck\"\nendpoint = \"{}\"\nregion = \"us-east-1\"",
                                         server.endpoint())));
    kill_loop(d.path());
    ::unsetenv("AWS_ACCESS_KEY_ID");
    ::unsetenv("AWS_SECRET_ACCESS_KEY");

    drover::s3_reader reader(server.sink_options("ck"));
    std::vector<std::string> got;
    for (const auto& o : reader.list()) reader.read_lines(o.key, [&](std::string_view l) { got.emplace_back(l); });
    std::sort(got.begin(), got.end());
    REQUIRE(got.size() == expected().size());
    CHECK(got == expected());
}
