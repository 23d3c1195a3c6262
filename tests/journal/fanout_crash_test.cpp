// Crash safety of dynamic fan-out, with the real CLI: split tasks fan out page tasks through
// control lines (after a first attempt that fans out a "ghost" child and then fails), a merge
// task comes after every split (and so after every page). `drover run` is killed with SIGKILL
// at random moments and started again until the job completes. Then every page ran to
// success and was not run again once journaled, the output holds every record exactly once,
// and no child of a failed attempt ever existed.
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

constexpr int splits = 8;
constexpr int pages_per_split = 30;
constexpr int kills_wanted = 10;
static_assert(pages_per_split == 30, "split.sh fans out 30 pages");

constexpr const char* split_sh = R"(dir=$1; i=$2
echo run >> $dir/side/split-$i
if [ ! -e $dir/mark/split-$i ]; then
  echo "{\"\$drover\":{\"submit\":{\"id\":\"ghost-$i\",\"command\":[\"sh\",\"$dir/page.sh\",\"$dir\",\"ghost-$i\"]}}}"
  touch $dir/mark/split-$i
  exit 1
fi
n=1
while [ $n -le )" "30" R"( ]; do
  echo "{\"\$drover\":{\"submit\":{\"id\":\"page-$i-$n\",\"command\":[\"sh\",\"$dir/page.sh\",\"$dir\",\"page-$i-$n\"],\"params\":{\"day\":\"$i\"}}}}"
  n=$((n+1))
done
echo "{\"split\":$i}"
)";

constexpr const char* page_sh = R"(echo run >> $1/side/$2
echo "{\"page\":\"$2\",\"k\":0}"
sleep 0.0$(( $(echo $2 | cksum | cut -c1-4) % 9 + 1 ))
echo "{\"page\":\"$2\",\"k\":1}"
)";

constexpr const char* merge_sh = R"(echo run >> $1/side/merge
echo "{\"merge\":true,\"pages_done\":$(ls $1/side | grep -c '^page-')}"
)";

std::string job(const fs::path& dir) {
    return fmt::format(R"(name = "fanout-crash"
state_dir = "{0}/state"
[[executors]]
kind = "local"
slots = 4
[sink]
kind = "file"
path = "{0}/out"
[defaults]
retries = 1
backoff = "10ms"
[[tasks]]
id = "split-{{i}}"
foreach = {{ i = {{ from = 1, to = {1} }} }}
command = ["sh", "{0}/split.sh", "{0}", "{{i}}"]
[[tasks]]
id = "merge"
after = ["split-*"]
command = ["sh", "{0}/merge.sh", "{0}"]
)",
                       dir.string(), splits);
}


// task id -> state, from the journal (empty before the first run created it).
std::map<std::string, std::string> journal_states(const fs::path& state) {
    std::map<std::string, std::string> out;
    if (!fs::exists(state / "journal.db")) return out;
    using drover::detail::sql::database;
    database db(state / "journal.db", database::mode::read_only);
    if (!db.prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name='tasks'").step()) return out;
    auto q = db.prepare("SELECT task_id, state FROM tasks");
    while (q.step()) out.emplace(q.text_at(0), q.text_at(1));
    return out;
}

std::map<std::string, int> side_effects(const fs::path& side) {
    std::map<std::string, int> out;
    for (const auto& e : fs::directory_iterator(side))
        out[e.path().filename().string()] = static_cast<int>(split_lines(read_file(e.path())).size());
    return out;
}

}  // namespace

TEST_CASE("fan-out crash: SIGKILL at random moments, resumed each time: every child once, no child of a failed attempt" *
          doctest::timeout(600)) {
    temp_dir d;
    fs::create_directories(d / "side");
    fs::create_directories(d / "mark");
    write_file(d / "split.sh", split_sh);
    write_file(d / "page.sh", page_sh);
    write_file(d / "merge.sh", merge_sh);
    write_file(d / "job.toml", job(d.path()));
    std::random_device rd;
    auto seed = rd();
    MESSAGE("seed " << seed);
    std::mt19937 rng(seed);
    // Kill moments: some in the first milliseconds (replay, first dispatches), most once the
    // journal has recorded 1-25 more successes than at the last kill (mid fan-out, whatever
    // the machine's speed), plus up to 30 ms.
    std::uniform_int_distribution<int> early_ms(5, 150), more(1, 25), extra_ms(0, 30), coin(0, 9);
    auto succeeded_count = [&] {
        std::size_t n = 0;
        for (const auto& [id, st] : journal_states(d / "state")) n += st == "succeeded";
        return n;
    };

    std::vector<std::pair<std::set<std::string>, std::map<std::string, int>>> snapshots;
    int kills = 0, runs = 0;
    bool completed = false;
    while (!completed && runs < 60) {
        ++runs;
        auto base = succeeded_count();
        pid_t pid = start_cli(d.path());
        int status = 0;
        if (kills < kills_wanted) {
            bool early = coin(rng) < 3;
            auto target = base + static_cast<std::size_t>(more(rng));
            auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(early ? early_ms(rng) : 20000);
            pid_t done = 0;
            while (std::chrono::steady_clock::now() < deadline && (done = waitpid(pid, &status, WNOHANG)) == 0) {
                if (!early && succeeded_count() >= target) {
                    std::this_thread::sleep_for(std::chrono::milliseconds(extra_ms(rng)));
                    break;
                }
                std::this_thread::sleep_for(3ms);
            }
            if (done == 0) done = waitpid(pid, &status, WNOHANG);
            if (done == 0) {
                kill_cli(pid);
                ++kills;
                std::this_thread::sleep_for(150ms);  // orphaned tasks of the killed run leave their side effect
                std::set<std::string> ok;
                for (const auto& [id, st] : journal_states(d / "state"))
                    if (st == "succeeded") ok.insert(id);
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
    CHECK(kills >= kills_wanted);
    // The kills landed at different points: the journal grew between them.
    REQUIRE(snapshots.size() >= 2);
    auto [fewest, most] = std::minmax_element(snapshots.begin(), snapshots.end(),
                                              [](auto& a, auto& b) { return a.first.size() < b.first.size(); });
    CHECK(most->first.size() >= fewest->first.size() + 5);

    // Every split, page and the merge succeeded; no ghost ever existed, in the journal or as a process.
    auto states = journal_states(d / "state");
    CHECK(states.size() == static_cast<std::size_t>(splits + splits * pages_per_split + 1));
    for (const auto& [id, st] : states) {
        INFO(id);
        CHECK(st == "succeeded");
        CHECK_FALSE(id.starts_with("ghost-"));
    }
    auto final_counts = side_effects(d / "side");
    for (const auto& [id, n] : final_counts) CHECK_FALSE(id.starts_with("ghost-"));

    // Each record exactly once; the merge ran after every page.
    std::vector<std::string> expected;
    for (int i = 1; i <= splits; ++i) {
        expected.push_back(fmt::format(R"({{"split":{}}})", i));
        for (int n = 1; n <= pages_per_split; ++n)
            for (int k = 0; k < 2; ++k) expected.push_back(fmt::format(R"({{"page":"page-{}-{}","k":{}}})", i, n, k));
    }
    expected.push_back(fmt::format(R"({{"merge":true,"pages_done":{}}})", splits * pages_per_split));
    std::sort(expected.begin(), expected.end());
    auto got = read_records(d / "out");
    CHECK(got == expected);

    // No task ran again once the journal had it succeeded.
    std::size_t checked = 0;
    for (const auto& [succeeded, counts] : snapshots)
        for (const auto& id : succeeded) {
            INFO(id);
            CHECK(final_counts[id] == counts.at(id));
            ++checked;
        }
    MESSAGE(checked << " (task, kill) pairs checked");
    CHECK(checked > 0);
}
