// Checkpoints with real processes and the file sink: `{"$drover": {"checkpoint": "TOKEN"}}`
// publishes the records before it while the task runs, a retry starts with
// DROVER_CHECKPOINT=TOKEN and continues from there, and the output is exactly once.
#include <doctest/doctest.h>

#include "scheduler/fixture.hpp"

#include "journal/sqlite.hpp"

#include <fmt/format.h>

#include <thread>

using namespace drover;
using namespace drover::test;
using namespace std::chrono_literals;

namespace {

// Pages from DROVER_CHECKPOINT+1 to `pages`: two records and a checkpoint each, `pause`
// seconds apart. Notes each start and its checkpoint in <dir>/side/<id>. `fail_at`: the first
// attempt prints that page's records, then exits 1 (before its checkpoint).
task_spec pager(const fs::path& dir, const std::string& id, int pages, const std::string& pause = "0.05",
                int fail_at = 0) {
    std::string fail = fail_at ? fmt::format(R"([ $i -eq {0} ] && [ ! -e {1}/side/{2}.failed ] && {{ touch {1}/side/{2}.failed; exit 1; }};)",
                                             fail_at, dir.string(), id)
                               : "";
    return sh(id, fmt::format(R"(cp=${{DROVER_CHECKPOINT:-0}}; echo "start $cp" >> {0}/side/{1}; i=$((cp+1));
while [ $i -le {2} ]; do
  echo '{{"task":"{1}","page":'$i',"k":0}}'; echo '{{"task":"{1}","page":'$i',"k":1}}'; {4}
  echo '{{"$drover":{{"checkpoint":"'$i'"}}}}'; sleep {3}; i=$((i+1)); done)",
                              dir.string(), id, pages, pause, fail));
}

std::vector<std::string> expected_pages(const std::string& id, int pages) {
    std::vector<std::string> out;
    for (int i = 1; i <= pages; ++i)
        for (int k = 0; k < 2; ++k) out.push_back(fmt::format(R"({{"task":"{}","page":{},"k":{}}})", id, i, k));
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> starts(const fs::path& dir, const std::string& id) { return split_lines(read_file(dir / "side" / id)); }

std::size_t checkpoint_rows(const fs::path& state) {
    using detail::sql::database;
    database db(state / "journal.db", database::mode::read_only);
    auto q = db.prepare("SELECT count(*) FROM checkpoints");
    REQUIRE(q.step());
    return static_cast<std::size_t>(q.int_at(0));
}

}  // namespace

TEST_CASE("checkpoints: records before a checkpoint are published while the task runs" * doctest::timeout(60)) {
    sched_fixture f;
    fs::create_directories(f.dir / "side");
    auto gate = f.dir / "go";
    scheduler_options o;
    o.journal.enabled = true;
    auto s = f.make(1, o, {.flush_records = 1});
    s.submit(sh("t", fmt::format(R"(echo '{{"n":1}}'; echo '{{"$drover":{{"checkpoint":"a"}}}}';
until [ -e {0} ]; do sleep 0.02; done; echo '{{"n":2}}')",
                                 gate.string())));
    std::thread opener([&] {
        // The first record shows up in the output while the task still waits: then let it go on.
        for (int i = 0; i < 1500 && !fs::exists(f.out / "t@0.jsonl.gz"); ++i) std::this_thread::sleep_for(10ms);
        write_file(gate, "");
    });
    auto r = s.run();
    opener.join();
    REQUIRE(r.ok());
    CHECK(list_files(f.out) == std::vector<std::string>{"t@0.jsonl.gz", "t@1.jsonl.gz"});
    CHECK(f.output_records() == std::vector<std::string>{R"({"n":1})", R"({"n":2})"});
    CHECK(r.counts.records == 2);  // the records of its segments count as committed
    CHECK(checkpoint_rows(f.dir / "state") == 0);  // succeeded: its checkpoint is dropped
}

TEST_CASE("checkpoints: a retry resumes from the last checkpoint and the output is exactly once" * doctest::timeout(60)) {
    sched_fixture f;
    fs::create_directories(f.dir / "side");
    auto s = f.make(1, {}, {.flush_records = 1});
    auto t = pager(f.dir.path(), "crawl", 6, "0.1", 4);
    t.retries = 1;
    t.backoff.initial = 10ms;
    s.submit(t);
    auto r = s.run();
    REQUIRE(r.ok());
    CHECK(result(r, "crawl").attempts == 2);
    // The first attempt died after page 4's records, before its checkpoint: the retry starts at page 4.
    CHECK(starts(f.dir.path(), "crawl") == std::vector<std::string>{"start 0", "start 3"});
    CHECK(f.output_records() == expected_pages("crawl", 6));
    for (const auto& name : list_files(f.out)) CHECK(name.starts_with("crawl@"));
}

TEST_CASE("checkpoints: a task without checkpoints publishes at its end, under the plain names" * doctest::timeout(60)) {
    sched_fixture f;
    auto s = f.make(1, {}, {.flush_records = 1});
    s.submit(sh("plain", R"(echo '{"n":1}'; sleep 0.2; echo '{"n":2}')"));
    auto r = s.run();
    REQUIRE(r.ok());
    CHECK(list_files(f.out) == std::vector<std::string>{"plain.jsonl.gz"});
}

TEST_CASE("checkpoints: thousands a second are coalesced into a few publishes, nothing lost" * doctest::timeout(120)) {
    sched_fixture f;
    auto s = f.make(1);  // neither rotate_interval nor flush_records: at most one publish a second
    s.submit(sh("fast", R"(i=0; end=$(( $(date +%s) + 3 )); while [ $(date +%s) -lt $end ]; do
  j=0; while [ $j -lt 300 ]; do j=$((j+1)); i=$((i+1)); echo '{"i":'$i'}'; echo '{"$drover":{"checkpoint":"'$i'"}}'; done; done
echo "$i" > count)"));
    auto r = s.run();
    REQUIRE(r.ok());
    auto records = f.output_records();
    CHECK(records.size() == result(r, "fast").last.records);
    CHECK(records.size() > 1000);
    auto files = list_files(f.out);
    MESSAGE(records.size() << " records, " << files.size() << " chunks");
    CHECK(files.size() >= 2);
    CHECK(files.size() <= 6);  // a 3-4 s task: one publish a second and the end
}

TEST_CASE("checkpoints: bad checkpoint lines fail the attempt with the line and the reason" * doctest::timeout(60)) {
    sched_fixture f;
    auto s = f.make(2);
    auto bad = [&](const std::string& id, const std::string& line) {
        write_file(f.dir / (id + ".lines"), "{\"ok\":1}\n" + line + "\n");
        s.submit(sh(id, "cat " + (f.dir / (id + ".lines")).string()));
    };
    bad("number", R"({"$drover": {"checkpoint": 42}})");
    bad("empty", R"({"$drover": {"checkpoint": ""}})");
    bad("object", R"({"$drover": {"checkpoint": {"page": 1}}})");
    bad("long", R"({"$drover": {"checkpoint": ")" + std::string(5000, 'x') + "\"}}");
    bad("nul", R"({"$drover": {"checkpoint": "a\u0000b"}})");
    auto r = s.run();
    auto message = [&](const std::string& id) {
        CHECK(result(r, id).state == task_state::dead);
        CHECK(result(r, id).last.failure == failure_class::control_error);
        return result(r, id).last.message;
    };
    const std::string shape = R"(line 2: checkpoint: the token must be a string, as in {"$drover": {"checkpoint": "page-42"}})";
    CHECK(message("number") == shape);
    CHECK(message("object") == shape);
    CHECK(message("empty") == "line 2: checkpoint: the token must not be empty");
    CHECK(message("long") == "line 2: checkpoint: a token of 5000 bytes is over the limit of 4096 bytes");
    CHECK(message("nul").starts_with("line 2: checkpoint: the token must not contain NUL"));
    CHECK(f.output_records().empty());
}

TEST_CASE("checkpoints: a resumed run starts the task from its journaled checkpoint" * doctest::timeout(60)) {
    sched_fixture f;
    fs::create_directories(f.dir / "side");
    {
        // The first run gives up on the task after page 4's records (no retries): it is dead.
        scheduler_options o;
        o.journal.enabled = true;
        auto s = f.make(1, o, {.flush_records = 1});
        s.submit(pager(f.dir.path(), "crawl", 6, "0.1", 4));
        auto r = s.run();
        CHECK(result(r, "crawl").state == task_state::dead);
        CHECK(checkpoint_rows(f.dir / "state") == 1);
    }
    scheduler_options o;
    o.journal.enabled = true;
    o.journal.retry_dead = true;
    auto s = f.make(1, o, {.flush_records = 1});
    s.submit(pager(f.dir.path(), "crawl", 6, "0.1", 4));
    auto r = s.run();
    REQUIRE(r.ok());
    CHECK(starts(f.dir.path(), "crawl") == std::vector<std::string>{"start 0", "start 3"});
    CHECK(f.output_records() == expected_pages("crawl", 6));
    CHECK(checkpoint_rows(f.dir / "state") == 0);
}
