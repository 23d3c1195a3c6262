// Longest expected first: command templates, estimates from history, critical paths, and the
// run machine's ready queues ordered by priority (scripted, without processes).
#include "scheduler/expected.hpp"
#include "scheduler/machine_harness.hpp"

using namespace drover;
using namespace drover::test;
using drover::detail::command_template;
using drover::detail::critical_paths;
using drover::detail::estimate_durations;
using V = std::vector<std::string>;

namespace {

std::string shown(std::string s) {
    for (auto& c : s)
        if (c == '\0') c = '|';
    return s;
}

// The tasks launched, in order, from a fixture's log.
V launched(machine_fixture& f) {
    V out;
    for (auto& line : f.next())
        if (line.starts_with("launch ")) out.push_back(line.substr(7, line.find('#') - 7));
    return out;
}

}  // namespace

TEST_CASE("order: a command template replaces each param's value by its name, longest value first") {
    CHECK(shown(command_template({.id = "a", .command = {"crawl", "--date", "2018-01-01"},
                                  .params = {{"date", "2018-01-01"}}})) == "crawl|--date|{date}|");
    CHECK(shown(command_template({.id = "a", .command = {"crawl", "--date=2018-01-02", "--out", "d/2018-01-02/x"},
                                  .params = {{"date", "2018-01-02"}}})) == "crawl|--date={date}|--out|d/{date}/x|");
    // "12" before "1": a value inside a longer one does not split it.
    CHECK(shown(command_template({.id = "a", .command = {"run", "12", "1-12"}, .params = {{"n", "1"}, {"m", "12"}}})) ==
          "run|{m}|{n}-{m}|");
    // No params: the command itself; an empty value is not a placeholder.
    CHECK(shown(command_template({.id = "a", .command = {"sleep", "1"}})) == "sleep|1|");
    CHECK(shown(command_template({.id = "a", .command = {"x"}, .params = {{"e", ""}}})) == "x|");
    // The same template for other values, another one for another command.
    task_spec a{.id = "a", .command = {"c", "2018-01-01"}, .params = {{"d", "2018-01-01"}}};
    task_spec b{.id = "b", .command = {"c", "2019-12-31"}, .params = {{"d", "2019-12-31"}}};
    task_spec c{.id = "c", .command = {"c2", "2019-12-31"}, .params = {{"d", "2019-12-31"}}};
    CHECK(command_template(a) == command_template(b));
    CHECK(command_template(a) != command_template(c));
    // Arguments stay apart: ["a b"] is not ["a", "b"].
    CHECK(command_template({.id = "x", .command = {"a b"}}) != command_template({.id = "x", .command = {"a", "b"}}));
}

TEST_CASE("order: estimates - a task's own history, else its template's median, else unknown") {
    detail::task_store store;
    auto day = [&](const std::string& d) {
        return store.add({.id = "crawl-" + d, .command = {"crawl", d}, .params = {{"date", d}}});
    };
    auto d1 = day("01"), d2 = day("02"), d3 = day("03"), d4 = day("04");
    auto other = store.add({.id = "agg", .command = {"aggregate"}});
    auto none = estimate_durations(store, {});
    CHECK(none.task_ms.empty());
    CHECK(none.empty());

    std::vector<std::pair<std::uint32_t, std::int64_t>> own{{d1, 100}, {d2, 300}, {d3, 0}, {99, 5}};
    auto e = estimate_durations(store, own);
    REQUIRE(e.task_ms.size() == store.size());
    CHECK(e.task_ms[d1] == 100);
    CHECK(e.task_ms[d2] == 300);
    CHECK(e.task_ms[d3] == 1);    // a task that took 0 ms is known, not unknown
    CHECK(e.task_ms[d4] == 100);  // median of {1, 100, 300}
    CHECK(e.task_ms[other] == 0);
    // A task entering later: by template.
    CHECK(e.of({.id = "crawl-05", .command = {"crawl", "05"}, .params = {{"date", "05"}}}) == 100);
    CHECK(e.of({.id = "new", .command = {"new"}}) == 0);
    // Out of range: saturates.
    auto big = estimate_durations(store, std::vector<std::pair<std::uint32_t, std::int64_t>>{{d1, 1ll << 40}});
    CHECK(big.task_ms[d1] == 0xffffffffu);
}

TEST_CASE("order: a task's priority is its critical path - its own time plus the longest chain after it") {
    detail::task_store store;
    // a -> b -> d, a -> c -> d; e alone.
    store.add({.id = "a", .command = {"x"}});
    store.add({.id = "b", .command = {"x"}, .after = {"a"}});
    store.add({.id = "c", .command = {"x"}, .after = {"a"}});
    store.add({.id = "d", .command = {"x"}, .after = {"b", "c"}});
    store.add({.id = "e", .command = {"x"}});
    auto g = detail::build_task_graph(store);
    auto p = critical_paths({10, 50, 20, 5, 60}, g);
    CHECK(p == std::vector<std::uint32_t>{65, 55, 25, 5, 60});
    // Unknown tasks count 0 on a path; a graph-free job keeps its estimates.
    CHECK(critical_paths({0, 50, 0, 5, 0}, g) == std::vector<std::uint32_t>{55, 55, 5, 5, 0});
    CHECK(critical_paths({3, 4}, detail::task_graph{}) == std::vector<std::uint32_t>{3, 4});
    CHECK(critical_paths({0xfffffff0u, 0xfffffff0u, 0, 0, 0}, g)[0] == 0xffffffffu);
}

TEST_CASE("machine order: unknown tasks first in submission order, then the longest expected first") {
    machine_fixture f;
    for (auto id : {"s1", "s2", "u1", "s3", "u2", "s4"}) f.add({.id = id});
    f.make().set_priorities({10, 40, 0, 30, 0, 40});
    f.start({1});
    V order;
    for (int k = 0; k < 6; ++k) {
        auto l = launched(f);
        REQUIRE(l.size() == 1);
        order.push_back(l[0]);
        f.done(l[0]);
    }
    // Equal priorities (s2, s4) in submission order.
    CHECK(order == V{"u1", "u2", "s2", "s4", "s3", "s1"});
}

TEST_CASE("machine order: without priorities, submission order - retries rejoin by priority") {
    machine_fixture f;
    for (auto id : {"a", "b", "c"}) f.add({.id = id});
    f.start({1});
    CHECK(launched(f) == V{"a"});
    f.done("a");
    CHECK(launched(f) == V{"b"});

    machine_fixture g;
    g.add({.id = "short", .retries = 1, .backoff = {.initial = duration(1), .jitter = 0}});
    g.add({.id = "long"});
    g.add({.id = "mid"});
    g.make().set_priorities({5, 100, 50});
    g.start({1});
    CHECK(launched(g) == V{"long"});
    g.done("long");
    CHECK(launched(g) == V{"mid"});
    g.done("mid");
    CHECK(launched(g) == V{"short"});
    g.done("short", failure_class::exit_code);
    g.retry_due("short");
    CHECK(launched(g) == V{"short"});
    g.done("short");
    CHECK(g.m->finished());
}

TEST_CASE("machine order: pools and priorities - the best task whose pool has room") {
    machine_fixture f;
    f.opts.pools = {{"net", 1}};
    f.add({.id = "n1", .pool = "net"});
    f.add({.id = "n2", .pool = "net"});
    f.add({.id = "free"});
    f.make().set_priorities({100, 90, 10});
    f.start({2});
    CHECK(launched(f) == V{"n1", "free"});  // n2 waits for the pool, not for "free"
    f.done("free");
    CHECK(launched(f).empty());
    f.done("n1");
    CHECK(launched(f) == V{"n2"});
}

TEST_CASE("machine order: tasks entering a running run with a priority, and a cancelled ready task") {
    machine_fixture f;
    f.add({.id = "a"});
    f.add({.id = "b"});
    f.add({.id = "c"});
    f.make().set_priorities({30, 20, 10});
    f.start({1});
    CHECK(launched(f) == V{"a"});
    auto late = f.add({.id = "late"});
    auto later = f.add({.id = "later"});
    std::vector<new_task> batch{{late, {}, 25}, {later, {}, 0}};
    f.m->add_tasks(batch);
    f.check();
    CHECK(f.m->cancel_task(f.idx("b")) == run_machine::control_result::done);
    f.check();
    f.next();
    V order;
    f.done("a");
    for (int k = 0; k < 3; ++k) {
        auto l = launched(f);
        REQUIRE(l.size() == 1);
        order.push_back(l[0]);
        f.done(l[0]);
    }
    // later: unknown, first; late (25) before c (10); b was cancelled.
    CHECK(order == V{"later", "late", "c"});
    CHECK(f.m->finished());
}

TEST_CASE("machine order: with dependencies the critical path goes first") {
    machine_fixture f;
    // chain: head -> tail (head 10 ms, tail 100 ms); single: 50 ms.
    f.add({.id = "single"});
    f.add({.id = "head"});
    f.add({.id = "tail", .after = {"head"}});
    auto g = detail::build_task_graph(f.store);
    f.make().set_priorities(critical_paths({50, 10, 100}, g));
    f.start({1});
    CHECK(launched(f) == V{"head"});  // 110 on its path against 50
    f.done("head");
    CHECK(launched(f) == V{"tail"});
    f.done("tail");
    CHECK(launched(f) == V{"single"});
}
