// Dependencies between tasks (task_spec::after): order, glob fan-in, upstream failure,
// configuration errors.
#include <doctest/doctest.h>

#include "scheduler/fixture.hpp"

#include <algorithm>

using namespace drover;
using namespace drover::test;

namespace {

std::string error_of(scheduler& s) {
    try {
        s.run();
    } catch (const config_error& e) {
        return e.what();
    }
    return "(no config_error)";
}

// Each task appends "start <id>" and "end <id>" to a shared log; O_APPEND lines don't interleave.
task_spec logged(const fs::path& log, std::string id, std::vector<std::string> after = {}, std::string extra = "") {
    auto t = sh(id, "echo start " + id + " >> " + log.string() + "; sleep 0.05; " + extra + "echo end " + id +
                        " >> " + log.string());
    t.after = std::move(after);
    return t;
}

std::size_t line_of(const std::vector<std::string>& lines, const std::string& l) {
    auto it = std::find(lines.begin(), lines.end(), l);
    REQUIRE_MESSAGE(it != lines.end(), l);
    return static_cast<std::size_t>(it - lines.begin());
}

}  // namespace

TEST_CASE("dag: a task starts only after every task it comes after has finished") {
    sched_fixture f;
    auto s = f.make(4);
    auto log = f.dir / "log";
    // Submitted in reverse: the order comes from `after`, not from submission.
    s.submit(logged(log, "c", {"b"}));
    s.submit(logged(log, "b", {"a"}));
    s.submit(logged(log, "a"));
    s.submit(logged(log, "x"));
    auto r = s.run();
    REQUIRE(r.ok());
    auto lines = split_lines(read_file(log));
    CHECK(line_of(lines, "end a") < line_of(lines, "start b"));
    CHECK(line_of(lines, "end b") < line_of(lines, "start c"));
    // An independent task does not wait for the chain.
    CHECK(line_of(lines, "start x") < line_of(lines, "start b"));
}

TEST_CASE("dag: a glob fans in every matching task, never the task itself") {
    sched_fixture f;
    auto s = f.make(4);
    auto log = f.dir / "log";
    for (int i = 0; i < 6; ++i) s.submit(logged(log, "crawl-" + std::to_string(i)));
    s.submit(logged(log, "crawl-merge", {"crawl-*"}));  // matches itself too: ignored
    s.submit(logged(log, "other"));
    auto r = s.run();
    REQUIRE(r.ok());
    auto lines = split_lines(read_file(log));
    auto merge = line_of(lines, "start crawl-merge");
    for (int i = 0; i < 6; ++i) CHECK(line_of(lines, "end crawl-" + std::to_string(i)) < merge);
}

TEST_CASE("dag: a dead upstream marks everything downstream upstream_failed, other tasks run") {
    sched_fixture f;
    auto s = f.make(2);
    auto log = f.dir / "log";
    s.submit(logged(log, "a", {}, "exit 3; "));
    s.submit(logged(log, "b", {"a"}));
    s.submit(logged(log, "c", {"b"}));
    s.submit(logged(log, "d"));
    s.submit(logged(log, "e", {"d", "c"}));
    auto r = s.run();
    CHECK_FALSE(r.ok());
    CHECK(r.exit_code() == 1);
    CHECK(result(r, "a").state == task_state::dead);
    CHECK(result(r, "b").state == task_state::upstream_failed);
    CHECK(result(r, "c").state == task_state::upstream_failed);
    CHECK(result(r, "e").state == task_state::upstream_failed);
    CHECK(result(r, "d").state == task_state::succeeded);
    CHECK(result(r, "b").last.message == "upstream task 'a' is dead");
    CHECK(result(r, "c").attempts == 0);
    CHECK(r.counts.upstream_failed == 3);
    CHECK(r.counts.dead == 1);
    CHECK(r.counts.skipped == 0);
    auto lines = split_lines(read_file(log));
    CHECK(std::find(lines.begin(), lines.end(), "start b") == lines.end());
    std::size_t upstream_events = 0;
    for (auto& e : f.events.done) upstream_events += e.next == task_state::upstream_failed;
    CHECK(upstream_events == 3);
}

TEST_CASE("dag: a retried upstream that finally succeeds releases its downstream") {
    sched_fixture f;
    auto s = f.make(2);
    auto marker = f.dir / "tried";
    auto a = sh("a", "if [ -e " + marker.string() + " ]; then echo '{\"a\":1}'; else touch " + marker.string() +
                         "; exit 1; fi");
    a.retries = 1;
    a.backoff.initial = std::chrono::milliseconds(10);
    s.submit(a);
    auto b = sh("b", "echo '{\"b\":1}'");
    b.after = {"a"};
    s.submit(b);
    auto r = s.run();
    CHECK(r.ok());
    CHECK(f.output_records() == std::vector<std::string>{R"({"a":1})", R"({"b":1})"});
}

TEST_CASE("dag: cycles, unknown ids, empty entries and globs matching nothing are config errors") {
    {
        sched_fixture f;
        auto s = f.make(1);
        auto a = sh("a", "true");
        a.after = {"c"};
        auto b = sh("b", "true");
        b.after = {"a"};
        auto c = sh("c", "true");
        c.after = {"b"};
        s.submit(a);
        s.submit(b);
        s.submit(c);
        s.submit(sh("free", "true"));
        auto msg = error_of(s);
        CHECK(msg.find("dependency cycle") != std::string::npos);
        INFO(msg);
        // "x -> y" reads "x runs before y"; any rotation of the cycle names it.
        bool named = msg.find("a -> b -> c -> a") != std::string::npos ||
                     msg.find("b -> c -> a -> b") != std::string::npos ||
                     msg.find("c -> a -> b -> c") != std::string::npos;
        CHECK(named);
        CHECK(msg.find("free") == std::string::npos);
    }
    {
        sched_fixture f;
        auto s = f.make(1);
        auto a = sh("a", "true");
        a.after = {"a"};
        s.submit(a);
        CHECK(error_of(s) == "task 'a': after 'a': a task cannot come after itself");
    }
    {
        sched_fixture f;
        auto s = f.make(1);
        auto a = sh("a", "true");
        a.after = {"nope"};
        s.submit(a);
        CHECK(error_of(s) == "task 'a': after 'nope': no task has this id");
    }
    {
        sched_fixture f;
        auto s = f.make(1);
        auto a = sh("a", "true");
        a.after = {"crawl-*"};
        s.submit(a);
        CHECK(error_of(s) == "task 'a': after 'crawl-*': the pattern matches no other task");
    }
    {
        sched_fixture f;
        auto s = f.make(1);
        auto a = sh("a", "true");
        a.after = {""};
        s.submit(a);
        CHECK(error_of(s) == "task 'a': after: empty entry");
    }
}
