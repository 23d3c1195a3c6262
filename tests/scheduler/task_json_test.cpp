// The task JSON codec (control lines, the journal) with task extensions: "image" and
// "container" belong to the Docker executor's docker_task_options and keep their format.

#include <doctest/doctest.h>

#include "scheduler/task_json.hpp"

#include <drover/drover.hpp>

#include <boost/json.hpp>

#include <limits>

using namespace drover;
using drover::detail::task_from_json;
using drover::detail::task_from_journal;
using drover::detail::task_to_json;

namespace {

boost::json::object parse(std::string_view text) { return boost::json::parse(text).as_object(); }

// Defaults that know the Docker extension, as a run with a Docker executor has them.
task_spec docker_defaults() {
    task_spec d;
    std::vector<std::shared_ptr<executor>> executors{std::make_shared<docker_executor>(docker_executor_options{})};
    detail::add_executor_extensions(d, executors);
    return d;
}

}  // namespace

TEST_CASE("task json: the Docker extension round-trips through the journal with its own keys") {
    task_spec t{.id = "crawl-1", .command = {"crawl", "1"}, .params = {{"date", "2018-01-01"}}};
    t.set_extension(docker_task_options{"news:1", {256u << 20, 0.5, container_network::host, pull_policy::missing}});
    auto o = parse(task_to_json(t));
    CHECK(o.at("image") == "news:1");
    CHECK(o.at("container").at("memory").to_number<std::uint64_t>() == 256u << 20);
    CHECK(o.at("container").at("network") == "host");
    CHECK(o.at("container").at("pull") == "missing");

    auto back = task_from_journal(o, docker_defaults());
    REQUIRE(back.extension<docker_task_options>());
    CHECK(*back.extension<docker_task_options>() == *t.extension<docker_task_options>());
    CHECK(back.params == t.params);

    task_spec plain{.id = "p", .command = {"true"}};  // no extension: no Docker keys, none back
    auto p = parse(task_to_json(plain));
    CHECK_FALSE(p.contains("image"));
    CHECK_FALSE(task_from_journal(p, docker_defaults()).extension<docker_task_options>());
}

TEST_CASE("task json: a control line's Docker keys go on top of the defaults' values") {
    auto defaults = docker_defaults();
    defaults.set_extension(docker_task_options{.image = "base:1", .container = {.memory = 64u << 20}});
    auto t = task_from_json(parse(R"({"id": "c", "command": ["x"], "container": {"cpus": 2}})"), defaults);
    REQUIRE(t.extension<docker_task_options>());
    CHECK(t.extension<docker_task_options>()->image == "base:1");
    CHECK(t.extension<docker_task_options>()->container.memory == 64u << 20);
    CHECK(t.extension<docker_task_options>()->container.cpus == 2.0);
    t = task_from_json(parse(R"({"id": "c", "command": ["x"], "image": "other:2"})"), defaults);
    CHECK(t.extension<docker_task_options>()->image == "other:2");

    CHECK_THROWS_WITH_AS(task_from_json(parse(R"({"id": "c", "command": ["x"], "container": {"network": "bridge"}})"),
                                        defaults),
                         "container.network: must be \"none\" or \"host\", not \"bridge\"", config_error);
    CHECK_THROWS_WITH_AS(task_from_json(parse(R"({"id": "c", "command": ["x"], "image": 5})"), defaults),
                         "image: must be a string, not a number", config_error);
}

TEST_CASE("task json: without a Docker executor, Docker keys are unknown keys") {
    auto e = std::string();
    try {
        (void)task_from_json(parse(R"({"id": "c", "command": ["x"], "image": "i"})"), task_spec{});
    } catch (const config_error& x) {
        e = x.what();
    }
    CHECK(e.starts_with("image: unknown key (known: id, command,"));
    e.clear();
    try {
        (void)task_from_json(parse(R"({"id": "c", "command": ["x"], "imgae": "i"})"), docker_defaults());
    } catch (const config_error& x) {
        e = x.what();
    }
    CHECK(e.find(", image, container)") != std::string::npos);
}

TEST_CASE("task json: any retries count the C++ API takes survives the journal, a negative one or a fraction is refused") {
    // A task submitted from C++ with a large retry budget is journaled as JSON and must resume.
    task_spec t{.id = "patient", .command = {"true"}, .retries = std::numeric_limits<int>::max()};
    auto back = task_from_journal(parse(task_to_json(t)), task_spec{});
    CHECK(back.retries == std::numeric_limits<int>::max());
    CHECK_THROWS_WITH_AS(task_from_json(parse(R"({"id":"x","command":["true"],"retries":-1})"), task_spec{}),
                         doctest::Contains("retries"), config_error);
    CHECK_THROWS_WITH_AS(task_from_json(parse(R"({"id":"x","command":["true"],"retries":2147483648})"), task_spec{}),
                         doctest::Contains("retries"), config_error);
    CHECK_THROWS_WITH_AS(task_from_json(parse(R"({"id":"x","command":["true"],"retries":1.5})"), task_spec{}),
                         doctest::Contains("retries"), config_error);
}
