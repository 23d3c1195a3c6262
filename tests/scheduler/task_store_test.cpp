// The scheduler's compact task store: every field of a task_spec comes back as submitted,
// tasks sharing a policy share one copy, and the id index finds every task.
#include <doctest/doctest.h>

#include "scheduler/fixture.hpp"
#include "scheduler/task_store.hpp"

#include <drover/drover.hpp>

#include <string>

using namespace drover;
using drover::detail::task_store;

namespace {

task_spec full_task() {
    task_spec t;
    t.id = "crawl-2018-01-01";
    t.command = {"crawler", "--date", "2018-01-01", "", std::string("nul\0inside", 10), "ünïcødé"};
    t.env = {{"A", "1"}, {"EMPTY", ""}, {"Z", std::string(300, 'z')}};
    t.params = {{"date", "2018-01-01"}, {"lang", "en"}};
    t.retries = 3;
    t.timeout = std::chrono::seconds(30);
    t.backoff = {std::chrono::milliseconds(250), std::chrono::seconds(9), 3.0, 0.25};
    t.pool = "heavy";
    t.workdir = "/tmp/work";
    t.after = {"setup", "fetch-*"};
    t.set_extension(docker_task_options{"news:1", {512u << 20, 1.5, container_network::host, pull_policy::missing}});
    return t;
}

// The task's Docker settings, or the defaults when it has none.
docker_task_options docker(const task_spec& t) {
    const auto* d = t.extension<docker_task_options>();
    return d ? *d : docker_task_options{};
}

void check_equal(const task_spec& a, const task_spec& b) {
    CHECK(a.id == b.id);
    CHECK(a.command == b.command);
    CHECK(a.env == b.env);
    CHECK(a.params == b.params);
    CHECK(a.retries == b.retries);
    CHECK(a.timeout == b.timeout);
    CHECK(a.backoff.initial == b.backoff.initial);
    CHECK(a.backoff.max == b.backoff.max);
    CHECK(a.backoff.multiplier == b.backoff.multiplier);
    CHECK(a.backoff.jitter == b.backoff.jitter);
    CHECK(a.pool == b.pool);
    CHECK(a.workdir == b.workdir);
    CHECK(a.after == b.after);
    CHECK(docker(a).image == docker(b).image);
    CHECK(docker(a).container.memory == docker(b).container.memory);
    CHECK(docker(a).container.cpus == docker(b).container.cpus);
    CHECK(docker(a).container.network == docker(b).container.network);
    CHECK(docker(a).container.pull == docker(b).container.pull);
}

}  // namespace

TEST_CASE("task store: every field of a task comes back as submitted") {
    task_store s;
    auto full = full_task();
    task_spec minimal{.id = "m", .command = {"true"}};
    auto i = s.add(full);
    auto j = s.add(minimal);
    REQUIRE(s.size() == 2);
    check_equal(s.spec(i), full);
    check_equal(s.spec(j), minimal);
    CHECK(s.id(i) == "crawl-2018-01-01");
    CHECK(s.id(i).data()[s.id(i).size()] == '\0');  // fnmatch relies on it
    CHECK(s.has_after(i));
    CHECK_FALSE(s.has_after(j));
    auto after = s.after(i);
    REQUIRE(after.size() == 2);
    CHECK(after[1] == "fetch-*");
    CHECK(after[1].data()[after[1].size()] == '\0');
    CHECK(s.policy(i).pool == "heavy");
    CHECK(s.policy(i).retries == 3);
    CHECK(s.policy(j).pool.empty());
}

TEST_CASE("task store: tasks with equal policies share one, any difference makes another") {
    task_store s;
    auto a = full_task();
    auto b = full_task();
    b.id = "other";
    b.command = {"x"};
    b.params.clear();
    s.add(a);
    s.add(b);
    CHECK(&s.policy(0) == &s.policy(1));
    auto before = s.memory_bytes();
    for (int k = 0; k < 1000; ++k) {
        b.id = "same-policy-" + std::to_string(k);
        s.add(b);
    }
    CHECK(&s.policy(0) == &s.policy(1001));
    CHECK(s.memory_bytes() - before < 1000 * 64);

    auto c = full_task();
    c.id = "c";
    c.backoff.jitter = 0.5;  // one field differs
    auto ci = s.add(c);
    CHECK(&s.policy(ci) != &s.policy(0));
    CHECK(s.policy(ci).backoff.jitter == 0.5);
    CHECK(s.policy(0).backoff.jitter == 0.25);
    auto d = full_task();
    d.id = "d";
    d.timeout.reset();
    auto di = s.add(d);
    CHECK(&s.policy(di) != &s.policy(0));
    CHECK_FALSE(s.spec(di).timeout.has_value());
}

TEST_CASE("task store: the id index finds each of 200,000 tasks and nothing else") {
    task_store s;
    CHECK(s.find("anything") == -1);
    constexpr std::uint32_t n = 200'000;
    for (std::uint32_t i = 0; i < n; ++i) s.add({.id = "task-" + std::to_string(i), .command = {"true"}});
    std::uint32_t wrong = 0;
    for (std::uint32_t i = 0; i < n; ++i)
        if (s.find("task-" + std::to_string(i)) != i) ++wrong;
    CHECK(wrong == 0);
    CHECK(s.find("task-200000") == -1);
    CHECK(s.find("task-") == -1);
    CHECK(s.find("") == -1);
    CHECK(s.find("task-1x") == -1);
    // Compact: well under the 300 bytes per queued task the issue allows.
    CHECK(s.memory_bytes() / n < 100);
}

TEST_CASE("task store: a task larger than an arena block is stored whole") {
    task_store s;
    task_spec big{.id = "big", .command = {"echo", std::string(3u << 20, 'x')}};
    s.add({.id = "a", .command = {"true"}});
    s.add(big);
    s.add({.id = "b", .command = {"true"}});
    CHECK(s.spec(1).command[1].size() == (3u << 20));
    CHECK(s.spec(1).command[1] == big.command[1]);
    CHECK(s.spec(2).id == "b");
    CHECK(s.find("b") == 2);
}

namespace {
struct spec_capture final : observer {
    std::vector<task_spec> queued, started, finished;
    void on_task_queued(const task_spec& t) override { queued.push_back(t); }
    void on_task_started(const task_spec& t, int, std::string_view) override { started.push_back(t); }
    void on_task_finished(const task_spec& t, const attempt_outcome&, task_state) override { finished.push_back(t); }
};
}  // namespace

TEST_CASE("task store: a run uses the stored task whole: command, env, params, and observers see every field") {
    test::sched_fixture f;
    auto s = f.make(2, {}, {.partition = "lang={lang}"});
    spec_capture cap;
    s.add_observer(cap);
    task_spec t{.id = "x",
                .command = {"sh", "-c", "echo '{\"v\":\"'\"$V\"'\"}'"},
                .env = {{"V", "from-env"}},
                .params = {{"lang", "de"}},
                .retries = 1};
    s.submit(t);
    CHECK_THROWS_WITH_AS(s.submit({.id = "x", .command = {"true"}}), "duplicate task id 'x'", config_error);
    auto r = s.run();
    REQUIRE(r.tasks.size() == 1);
    CHECK(r.tasks[0].state == task_state::succeeded);
    CHECK(r.tasks[0].id == "x");
    CHECK(test::list_files(f.out) == std::vector<std::string>{"lang=de/x.jsonl.gz"});
    CHECK(f.output_records() == std::vector<std::string>{R"({"v":"from-env"})"});
    REQUIRE(cap.queued.size() == 1);
    REQUIRE(cap.started.size() == 1);
    REQUIRE(cap.finished.size() == 1);
    for (auto* seen : {&cap.queued[0], &cap.started[0], &cap.finished[0]}) check_equal(*seen, t);
}

TEST_CASE("task store: equal extension values are kept once, different ones apart") {
    task_store s;
    auto with = [](std::string id, std::string image) {
        task_spec t{.id = std::move(id), .command = {"true"}};
        t.set_extension(docker_task_options{.image = std::move(image)});  // a value of its own each time
        return t;
    };
    auto a = s.add(with("a", "news:1"));
    auto b = s.add(with("b", "news:1"));
    auto c = s.add(with("c", "news:2"));
    auto d = s.add({.id = "d", .command = {"true"}});
    CHECK(s.policy_id(a) == s.policy_id(b));
    CHECK(s.policy(a).extensions.find("docker")->value == s.policy(b).extensions.find("docker")->value);
    CHECK(s.policy_id(c) != s.policy_id(a));
    CHECK(s.policy_id(d) != s.policy_id(a));
    CHECK(s.spec(b).extension<docker_task_options>()->image == "news:1");
    CHECK(s.spec(c).extension<docker_task_options>()->image == "news:2");
    CHECK_FALSE(s.spec(d).extension<docker_task_options>());
    CHECK(s.policy_count() == 3);
}
