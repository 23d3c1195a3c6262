// Dynamic fan-out with real processes: a task's control lines on stdout add child tasks,
// which exist only when the parent attempt succeeded.
#include <doctest/doctest.h>

#include "scheduler/fixture.hpp"

#include <fmt/format.h>

using namespace drover;
using namespace drover::test;

namespace {

// A control line submitting `id`, which prints one record {"page": n} and notes its run in side/.
std::string child_line(const fs::path& dir, const std::string& id, int n, const std::string& extra = "") {
    return fmt::format(R"({{"$drover": {{"submit": {{"id": "{0}", "command": ["sh", "-c", "echo x >> {2}/side/{0}; echo '{{\"page\":{1}}}'"], "params": {{"date": "2018-01-06"}}{3}}}}}}})",
                       id, n, dir.string(), extra);
}

// A task that prints the lines of <dir>/<name>.lines (control lines and records) and then runs `tail`.
task_spec printer(const fs::path& dir, const std::string& id, const std::vector<std::string>& lines,
                  const std::string& tail = "true") {
    std::string text;
    for (const auto& l : lines) text += l + "\n";
    write_file(dir / (id + ".lines"), text);
    return sh(id, "cat " + (dir / (id + ".lines")).string() + "; " + tail);
}

int runs_of(const fs::path& dir, const std::string& id) {
    auto p = dir / "side" / id;
    return fs::exists(p) ? static_cast<int>(split_lines(read_file(p)).size()) : 0;
}

}  // namespace

TEST_CASE("fan-out: control lines add child tasks, the fan-in waits for all of them, no control line reaches the output" *
          doctest::timeout(60)) {
    sched_fixture f;
    fs::create_directories(f.dir / "side");
    auto s = f.make(2, {}, {.partition = "date={date}"});
    auto split = printer(f.dir.path(), "split",
                         {child_line(f.dir.path(), "page-1", 1), R"({"split":"2018-01-06"})",
                          child_line(f.dir.path(), "page-2", 2), child_line(f.dir.path(), "page-3", 3, R"(, "after": ["page-1"])")});
    split.params = {{"date", "2018-01-06"}};
    s.submit(split);
    auto merge = sh("merge", "echo '{\"merged\":true}'");
    merge.after = {"split"};
    merge.params = {{"date", "2018-01-06"}};
    s.submit(merge);
    auto r = s.run();
    REQUIRE(r.ok());
    CHECK(r.counts.total == 5);
    CHECK(f.output_records() == std::vector<std::string>{R"({"merged":true})", R"({"page":1})", R"({"page":2})",
                                                         R"({"page":3})", R"({"split":"2018-01-06"})"});
    CHECK(result(r, "split").last.records == 1);  // control lines are not records
    for (auto id : {"page-1", "page-2", "page-3"}) {
        CHECK(runs_of(f.dir.path(), id) == 1);
        CHECK(f.events.finished_at(id) <= f.events.starts_of("merge").at(0));
    }
    CHECK(f.events.finished_at("page-1") <= f.events.starts_of("page-3").at(0));
    CHECK(s.find_task("page-2")->params.at("date") == "2018-01-06");
    CHECK(list_files(f.out) == std::vector<std::string>{"date=2018-01-06/merge.jsonl.gz", "date=2018-01-06/page-1.jsonl.gz",
                                                        "date=2018-01-06/page-2.jsonl.gz", "date=2018-01-06/page-3.jsonl.gz",
                                                        "date=2018-01-06/split.jsonl.gz"});
}

TEST_CASE("fan-out: a failed parent attempt creates no children, its successful retry creates them once" *
          doctest::timeout(60)) {
    sched_fixture f;
    fs::create_directories(f.dir / "side");
    auto s = f.make(2);
    auto marker = (f.dir / "tried").string();
    auto split = printer(f.dir.path(), "split", {child_line(f.dir.path(), "page-1", 1), child_line(f.dir.path(), "page-2", 2)},
                         "[ -e " + marker + " ] || { touch " + marker + "; exit 1; }");
    split.retries = 1;
    split.backoff.initial = std::chrono::milliseconds(10);
    s.submit(split);
    auto r = s.run();
    REQUIRE(r.ok());
    CHECK(result(r, "split").attempts == 2);
    CHECK(r.counts.total == 3);
    CHECK(runs_of(f.dir.path(), "page-1") == 1);
    CHECK(runs_of(f.dir.path(), "page-2") == 1);
    CHECK(f.output_records() == std::vector<std::string>{R"({"page":1})", R"({"page":2})"});
}

TEST_CASE("fan-out: an invalid control line fails the attempt, naming the line and the problem" * doctest::timeout(60)) {
    sched_fixture f;
    fs::create_directories(f.dir / "side");
    auto s = f.make(4);
    s.submit(sh("existing", "true"));
    s.submit(printer(f.dir.path(), "dup", {R"({"a":1})", child_line(f.dir.path(), "existing", 1)}));
    s.submit(printer(f.dir.path(), "twice", {child_line(f.dir.path(), "same", 1), child_line(f.dir.path(), "same", 2)}));
    s.submit(printer(f.dir.path(), "verb", {R"({"$drover": {"explode": {}}})"}));
    s.submit(printer(f.dir.path(), "nocmd", {R"({"$drover": {"submit": {"id": "c"}}})"}));
    s.submit(printer(f.dir.path(), "badafter", {child_line(f.dir.path(), "c2", 1, R"(, "after": ["ghost"])")}));
    s.submit(printer(f.dir.path(), "typo", {R"({"$drover": {"submit": {"id": "c3", "comand": ["true"]}}})"}));
    s.submit(printer(f.dir.path(), "badid", {R"({"$drover": {"submit": {"id": "a/b", "command": ["true"]}}})"}));
    s.submit(printer(f.dir.path(), "shape", {R"({"$drover": 7})"}));
    auto r = s.run();
    auto message = [&](const std::string& id) {
        CHECK(result(r, id).state == task_state::dead);
        CHECK(result(r, id).last.failure == failure_class::control_error);
        return result(r, id).last.message;
    };
    CHECK(message("dup") == "line 2: task id 'existing' (fanned out by 'dup') is already in the run");
    CHECK(message("twice") == "line 2: task id 'same' (fanned out by 'twice') is already in the run");
    CHECK(message("verb") == "line 1: unknown control verb 'explode' (known: submit, checkpoint)");
    CHECK(message("nocmd") == "line 1: submit: command: missing");
    CHECK(message("badafter") == "line 1: submit: after 'ghost': no task has this id");
    CHECK(message("typo").starts_with("line 1: submit: comand: unknown key (known: id, command,"));
    CHECK(message("badid").starts_with("line 1: submit: id: 'a/b' is not a valid task id"));
    CHECK(message("shape") == R"(line 1: a control line is {"$drover": {"submit": {...}}} or {"$drover": {"checkpoint": "TOKEN"}})");
    CHECK(r.counts.total == 9);       // no child of a failed attempt exists
    CHECK(f.output_records().empty());  // "dup" printed a record, but its attempt failed
}

TEST_CASE("fan-out: with control_lines off, such a line is a record like any other" * doctest::timeout(60)) {
    sched_fixture f;
    fs::create_directories(f.dir / "side");
    auto s = f.make(1);
    auto t = printer(f.dir.path(), "plain", {R"({"$drover": {"submit": {"id": "x", "command": ["true"]}}})"});
    t.control_lines = false;
    s.submit(t);
    auto r = s.run();
    REQUIRE(r.ok());
    CHECK(r.counts.total == 1);
    CHECK(f.output_records() == std::vector<std::string>{R"({"$drover": {"submit": {"id": "x", "command": ["true"]}}})"});
}

TEST_CASE("fan-out: children start from the scheduler's defaults, env templates filled from their params" *
          doctest::timeout(60)) {
    sched_fixture f;
    fs::create_directories(f.dir / "side");
    scheduler_options o;
    o.defaults.env = {{"DAY", "{date}"}, {"FIXED", "yes"}};
    o.defaults.retries = 2;
    auto s = f.make(1, o);
    s.submit(printer(f.dir.path(), "split",
                     {R"({"$drover": {"submit": {"id": "c", "command": ["sh", "-c", "echo \"{\\\"day\\\":\\\"$DAY\\\",\\\"f\\\":\\\"$FIXED\\\"}\""], "params": {"date": "2018-01-06"}, "env": {"FIXED": "overridden"}}}})"}));
    auto r = s.run();
    REQUIRE(r.ok());
    CHECK(f.output_records() == std::vector<std::string>{R"({"day":"2018-01-06","f":"overridden"})"});
    CHECK(s.find_task("c")->retries == 2);
    CHECK(s.find_task("split")->retries == 0);  // submitted tasks are as given
}
