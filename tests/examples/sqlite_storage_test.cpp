// examples/sqlite_storage: the complete small storage of docs/extending.md, through
// drover::storage_sink in real scheduler runs (real processes, a real SQLite database).
// What storage_sink owns is checked here for a storage that is neither the file nor the S3
// sink: rotation and partitions, replacement on re-run, retries after failed puts, chunks
// kept for the next run, and commits that never hold up the scheduler's strand.

#include <doctest/doctest.h>

#include "sqlite_storage.hpp"
#include "support/support.hpp"

#include <drover/drover.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

using namespace drover::test;
using namespace std::chrono_literals;

namespace {

using sqlite_example::sqlite_storage;
using sqlite_example::sqlite_storage_options;

// name -> records of every row, gunzipped through a scratch file.
std::map<std::string, std::vector<std::string>> rows(const fs::path& db) {
    temp_dir scratch;
    std::map<std::string, std::vector<std::string>> out;
    for (const auto& r : sqlite_example::read_chunks(db)) {
        write_file(scratch / "c.gz", r.gzip);
        out[r.name] = split_lines(read_gzip(scratch / "c.gz"));
    }
    return out;
}

std::vector<std::string> all_records(const fs::path& db) {
    std::vector<std::string> out;
    for (auto& [name, recs] : rows(db)) out.insert(out.end(), recs.begin(), recs.end());
    std::sort(out.begin(), out.end());
    return out;
}

drover::task_spec day_task(int day, int records, const fs::path& runs_dir = {}) {
    std::string date = "2018-01-" + std::string(day < 10 ? "0" : "") + std::to_string(day);
    std::string script = runs_dir.empty() ? "" : "echo x >> " + (runs_dir / ("day-" + std::to_string(day))).string() + "; ";
    script += "i=1; while [ $i -le " + std::to_string(records) + " ]; do printf '{\"date\":\"" + date +
              "\",\"i\":%s}\\n' $i; i=$((i+1)); done";
    drover::task_spec t;
    t.id = "day-" + std::to_string(day);
    t.command = {"sh", "-c", script};
    t.params = {{"date", date}};
    return t;
}

drover::storage_sink_options rotated(std::uint64_t max_records) {
    drover::storage_sink_options o;
    o.partition = "date={date}";
    o.max_records = max_records;
    o.fsync = false;
    return o;
}

drover::run_summary run(const fs::path& state, std::shared_ptr<drover::storage> where, drover::storage_sink_options how,
                        std::vector<drover::task_spec> tasks, std::size_t slots = 4, drover::observer* watch = nullptr) {
    drover::scheduler_options o;
    o.state_dir = state;
    drover::scheduler s(o);
    s.add_executor(drover::local_executor{{.slots = slots, .kill_grace = 500ms}});
    s.set_sink(std::make_shared<drover::storage_sink>(std::move(where), std::move(how)));
    if (watch) s.add_observer(*watch);
    for (auto& t : tasks) s.submit(std::move(t));
    return s.run();
}

std::shared_ptr<sqlite_storage> sqlite_at(const fs::path& db) {
    sqlite_storage_options o;
    o.db = db;
    o.fsync = false;
    return std::make_shared<sqlite_storage>(o);
}

// A storage that passes every call to `inner`; the wrappers below change put().
struct forwarding_storage : drover::storage {
    std::shared_ptr<drover::storage> inner;
    explicit forwarding_storage(std::shared_ptr<drover::storage> s) : inner(std::move(s)) {}
    std::string name() const override { return inner->name(); }
    std::string describe() const override { return inner->describe(); }
    fs::path start(const drover::sink_context& c) override { return inner->start(c); }
    void stop() noexcept override { inner->stop(); }
    void put(const std::vector<drover::staged_object>& objects) override { inner->put(objects); }
    void remove(const std::vector<std::string>& n) override { inner->remove(n); }
    std::vector<std::string> list(std::string_view p) override { return inner->list(p); }
    std::string location(std::string_view n) const override { return inner->location(n); }
};

// Fails its first `failures` puts (what a real SQLite cannot be made to do on cue), with
// sink_unavailable when `unavailable`.
struct flaky_storage final : forwarding_storage {
    std::atomic<int> failures;
    bool unavailable = false;
    std::atomic<int> puts{0};
    flaky_storage(std::shared_ptr<drover::storage> s, int n, bool u)
        : forwarding_storage(std::move(s)), failures(n), unavailable(u) {}
    void put(const std::vector<drover::staged_object>& objects) override {
        ++puts;
        if (failures.fetch_sub(1) > 0) {
            if (unavailable) throw drover::sink_unavailable("injected: the database refuses writes");
            throw std::runtime_error("injected: disk I/O error");
        }
        inner->put(objects);
    }
};

// Holds the puts of one task until released (or 30 s pass).
struct held_storage final : forwarding_storage {
    std::string held_name;
    std::mutex m;
    std::condition_variable cv;
    bool released = false;
    std::atomic<bool> holding{false};
    held_storage(std::shared_ptr<drover::storage> s, std::string n)
        : forwarding_storage(std::move(s)), held_name(std::move(n)) {}
    void put(const std::vector<drover::staged_object>& objects) override {
        if (objects.front().name.find(held_name) != std::string::npos) {
            holding = true;
            std::unique_lock lock(m);
            cv.wait_for(lock, 30s, [&] { return released; });
        }
        inner->put(objects);
    }
    void release() {
        std::lock_guard lock(m);
        released = true;
        cv.notify_all();
    }
};

struct finish_counter final : drover::observer {
    std::atomic<int> finished{0};
    void on_task_finished(const drover::task_spec&, const drover::attempt_outcome&, drover::task_state) override {
        ++finished;
    }
};

}  // namespace

TEST_CASE("sqlite storage: every record once, rotated and partitioned, and a re-run replaces the rows" *
          doctest::timeout(120)) {
    temp_dir d;
    auto db = d / "out/days.db";
    std::vector<drover::task_spec> tasks;
    for (int day = 1; day <= 20; ++day) tasks.push_back(day_task(day, 5));
    auto first = run(d / "state1", sqlite_at(db), rotated(2), tasks);
    REQUIRE(first.ok());
    auto r = rows(db);
    CHECK(r.size() == 60);  // 5 records in chunks of 2, 2, 1
    CHECK(r.at("date=2018-01-07/day-7.jsonl.gz").size() == 2);
    CHECK(r.at("date=2018-01-07/day-7~1.jsonl.gz").size() == 2);
    CHECK(r.at("date=2018-01-07/day-7~2.jsonl.gz") ==
          std::vector<std::string>{R"({"date":"2018-01-07","i":5})"});
    auto recs = all_records(db);
    CHECK(recs.size() == 100);
    CHECK(std::adjacent_find(recs.begin(), recs.end()) == recs.end());

    // A new run (new state directory, same database) where every task prints one record:
    // each task's rows are replaced, its rotated rows removed.
    tasks.clear();
    for (int day = 1; day <= 20; ++day) tasks.push_back(day_task(day, 1));
    auto second = run(d / "state2", sqlite_at(db), rotated(2), tasks);
    REQUIRE(second.ok());
    r = rows(db);
    CHECK(r.size() == 20);
    for (const auto& [name, lines] : r) {
        CHECK(name.find('~') == std::string::npos);
        CHECK(lines.size() == 1);
    }
}

TEST_CASE("sqlite storage: a put that fails is retried with the task, and its records land once" *
          doctest::timeout(120)) {
    temp_dir d;
    auto db = d / "days.db";
    auto flaky = std::make_shared<flaky_storage>(sqlite_at(db), 2, false);
    auto t = day_task(3, 5);
    t.retries = 3;
    t.backoff = {.initial = 10ms, .max = 10ms};
    auto sum = run(d / "state", flaky, rotated(2), {t}, 1);
    REQUIRE(sum.tasks.size() == 1);
    CHECK(sum.tasks[0].state == drover::task_state::succeeded);
    CHECK(sum.tasks[0].attempts == 3);
    CHECK(flaky->puts == 3);
    auto recs = all_records(db);
    CHECK(recs.size() == 5);
    CHECK(std::adjacent_find(recs.begin(), recs.end()) == recs.end());
    CHECK(rows(db).size() == 3);
}

TEST_CASE("sqlite storage: a refusing storage halts the run, keeps the records, and the next run publishes them "
          "without running the task again" *
          doctest::timeout(120)) {
    temp_dir d;
    auto db = d / "days.db";
    fs::create_directories(d / "runs");
    auto refusing = std::make_shared<flaky_storage>(sqlite_at(db), 1000, true);
    auto first = run(d / "state", refusing, rotated(2), {day_task(4, 3, d / "runs")}, 1);
    CHECK(first.halted);
    CHECK(first.halt_reason.find("injected: the database refuses writes") != std::string::npos);
    CHECK(first.halt_reason.find("records kept in") != std::string::npos);
    CHECK(rows(db).empty());
    CHECK(list_files(db.string() + ".spool/pending").size() == 3);  // two chunks and the index

    auto second = run(d / "state", sqlite_at(db), rotated(2), {day_task(4, 3, d / "runs")}, 1);
    CHECK(second.ok());
    REQUIRE(second.tasks.size() == 1);
    CHECK(second.tasks[0].state == drover::task_state::succeeded);
    CHECK(second.tasks[0].resumed);
    CHECK(split_lines(read_file(d / "runs/day-4")).size() == 1);  // ran once over both runs
    CHECK(all_records(db).size() == 3);
    CHECK(list_files(db.string() + ".spool/pending").empty());
}

TEST_CASE("sqlite storage: a commit that takes long does not hold up the other tasks" * doctest::timeout(120)) {
    temp_dir d;
    auto held = std::make_shared<held_storage>(sqlite_at(d / "days.db"), "day-1.jsonl.gz");
    finish_counter watch;
    std::vector<drover::task_spec> tasks;
    for (int day = 1; day <= 8; ++day) tasks.push_back(day_task(day, 2));
    std::atomic<bool> others_done{false};
    std::thread releaser([&] {
        // Day 1's commit is held; the seven others must run and commit meanwhile.
        auto deadline = std::chrono::steady_clock::now() + 30s;
        while (std::chrono::steady_clock::now() < deadline && !(held->holding && watch.finished >= 7))
            std::this_thread::sleep_for(10ms);
        others_done = held->holding && watch.finished >= 7;
        held->release();
    });
    auto sum = run(d / "state", held, rotated(0), tasks, 2, &watch);
    releaser.join();
    CHECK(others_done);
    CHECK(sum.ok());
    CHECK(all_records(d / "days.db").size() == 16);
}

TEST_CASE("sqlite kind: a job file runs through the example program, and its mistakes name file, line and key" *
          doctest::timeout(120)) {
    temp_dir d;
    auto job = d / "days.toml";
    auto text = [&](const std::string& sink_extra) {
        return "name = \"days\"\nstate_dir = \"" + (d / "state").string() +
               "\"\n[[executors]]\nkind = \"local\"\nslots = 2\n[sink]\nkind = \"sqlite\"\npath = \"" +
               (d / "days.db").string() + "\"\npartition = \"date={date}\"\n" + sink_extra +
               R"([[tasks]]
id = "n-{date}"
command = ["sh", "-c", "printf '{\"d\":\"%s\"}\\n' {date}"]
foreach.date = ["2018-01-01", "2018-01-02"]
)";
    };
    write_file(job, text("max_records = 1\n"));
    auto r = run_shell(std::string(SQLITE_SINK_PATH) + " " + job.string() + " 2>&1");
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    auto cat = run_shell(std::string(SQLITE_SINK_PATH) + " --cat " + (d / "days.db").string());
    CHECK(cat.exit_code == 0);
    CHECK(cat.output == "date=2018-01-01/n-2018-01-01.jsonl.gz\t{\"d\":\"2018-01-01\"}\n"
                        "date=2018-01-02/n-2018-01-02.jsonl.gz\t{\"d\":\"2018-01-02\"}\n");

    write_file(job, text("tabel = \"x\"\n"));
    r = run_shell(std::string(SQLITE_SINK_PATH) + " " + job.string() + " 2>&1");
    CHECK(r.exit_code == 2);
    CHECK_MESSAGE(r.output.find("days.toml:10") != std::string::npos, r.output);
    CHECK_MESSAGE(r.output.find("tabel") != std::string::npos, r.output);

    write_file(job, text("table = \"no; drop\"\n"));
    r = run_shell(std::string(SQLITE_SINK_PATH) + " " + job.string() + " 2>&1");
    CHECK(r.exit_code == 2);
    CHECK_MESSAGE(r.output.find("table") != std::string::npos, r.output);

    write_file(job, text(""));
    r = run_shell(std::string(SQLITE_SINK_PATH) + " --cat " + (d / "missing.db").string() + " 2>&1");
    CHECK(r.exit_code == 2);
    CHECK_MESSAGE(r.output.find("missing.db") != std::string::npos, r.output);
}
