// examples/custom_kind: a program's own executor kind ("inline") and task key ("scale"),
// registered in a drover::kinds and used from a job file, next to the built-in kinds.

#include <doctest/doctest.h>

#include "inline_kind.hpp"
#include "support/support.hpp"

#include <boost/json.hpp>

#include <filesystem>

using namespace drover::test;

namespace {

std::string error_of(std::string_view text, const drover::kinds& k) {
    try {
        (void)drover::parse_job(text, "k.toml", k);
    } catch (const drover::config_error& e) {
        return e.what();
    }
    return "(no error)";
}

drover::kinds with_inline() {
    drover::kinds k;
    inline_kind::add_to(k);
    return k;
}

const std::string example_job = std::string(DROVER_SOURCE_DIR) + "/examples/custom_kind/squares.toml";

}  // namespace

#define CHECK_HAS(msg, part) CHECK_MESSAGE((msg).find(part) != std::string::npos, "message: " << (msg))

TEST_CASE("custom kind: the example job runs through its program, fan-out included" * doctest::timeout(60)) {
    temp_dir dir;
    auto r = run_shell("cd '" + dir.path().string() + "' && '" CUSTOM_KIND_PATH "' '" + example_job + "'");
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    auto summary = boost::json::parse(r.output).as_object();
    CHECK(summary.at("succeeded").to_number<int>() == 7);  // 5 tasks + 2 fanned out
    auto out = dir / "out/squares";
    CHECK(fs::exists(out / "n=3/squares-3.jsonl.gz"));
    CHECK(fs::exists(out / "n=square-2/square-2.jsonl.gz"));
    CHECK(split_lines(read_gzip(out / "n=2/squares-2.jsonl.gz")) ==
          std::vector<std::string>{R"({"i":1,"square":10})", R"({"i":2,"square":40})"});  // [defaults] scale = 10
    CHECK(split_lines(read_gzip(out / "n=unscaled/unscaled.jsonl.gz")) ==
          std::vector<std::string>{R"({"i":1,"square":1})", R"({"i":2,"square":4})"});  // its own scale = 1
    CHECK(split_lines(read_gzip(out / "n=square-2/square-2.jsonl.gz")) ==
          std::vector<std::string>{R"({"i":1,"square":100})", R"({"i":2,"square":400})"});  // "scale": 100 in JSON
}

TEST_CASE("custom kind: its keys are read by its own code, with the loader's errors") {
    auto k = with_inline();
    auto j = drover::load_job(example_job, k);
    REQUIRE(j.executors.size() == 1);
    CHECK(j.executors[0].kind == "inline");
    CHECK(j.executors[0].options_as<inline_kind::options>().slots == 2);
    CHECK(j.kinds.slots(j.executors[0]) == 2);  // what `drover validate` counts
    CHECK(j.kinds.location(*j.sink) == "out/squares");
    REQUIRE(j.tasks.size() == 5);
    CHECK(j.tasks[0].extension<inline_kind::task_options>()->scale == 10);
    CHECK(j.tasks[3].id == "unscaled");
    CHECK(j.tasks[3].extension<inline_kind::task_options>()->scale == 1);
    CHECK(j.options.defaults.extension<inline_kind::task_options>()->scale == 10);  // fanned-out tasks start here

    const std::string head = "name = \"k\"\n[[executors]]\nkind = \"inline\"\n";
    const std::string task = "[[tasks]]\nid = \"a\"\ncommand = [\"squares\", \"1\"]\n";
    auto m = error_of(head + "slts = 2\n" + task, k);
    CHECK_HAS(m, "k.toml:4:1: executors[0].slts: unknown key 'slts' (did you mean 'slots'?)");
    m = error_of(head + "slots = 0\n" + task, k);
    CHECK_HAS(m, "k.toml:4:9: executors[0].slots: must be between 1 and 64, got 0");
    m = error_of(head + task + "scale = 0\n", k);
    CHECK_HAS(m, "k.toml:7:9: tasks[0].scale: must be between 1 and 1000, got 0");
    m = error_of(head + task + "scael = 2\n", k);
    CHECK_HAS(m, "tasks[0].scael: unknown key 'scael' (did you mean 'scale'?)");
    m = error_of(head + "[[tasks]]\nid = \"a\"\ncommand = [\"x\"]\n", drover::kinds{});  // not registered there
    CHECK_HAS(m, "k.toml:3:8: executors[0].kind: unknown executor kind 'inline' (known kinds: local, ssh, docker, slurm)");
    m = error_of("name = \"k\"\n[[executors]]\nkind = \"nope\"\n" + task, k);
    CHECK_HAS(m, "(known kinds: local, ssh, docker, slurm, inline)");
}

TEST_CASE("custom kind: registries are values, and a task key has one owner") {
    drover::kinds plain;
    auto k = with_inline();
    CHECK(k.find_executor("inline"));
    CHECK_FALSE(plain.find_executor("inline"));  // adding to one registry changes no other
    CHECK(drover::kinds{}.executor_names() == std::vector<std::string>{"local", "ssh", "docker", "slurm"});

    auto read = [](const drover::job_table&) { return inline_kind::options{}; };
    auto make = [](const inline_kind::options& o) { return std::make_shared<inline_kind::executor>(o); };
    auto noop = [](const drover::job_table&, drover::task_spec&) {};
    CHECK_THROWS_WITH_AS(k.add_executor<inline_kind::options>(
                             "podman", {.read = read, .make = make, .task_keys = {"image"}, .read_task = noop}),
                         "executor kind 'podman': task key 'image' belongs to kind 'docker'", drover::config_error);
    CHECK_THROWS_WITH_AS(k.add_executor<inline_kind::options>(
                             "x", {.read = read, .make = make, .task_keys = {"retries"}, .read_task = noop}),
                         "executor kind 'x': task key 'retries' is one of drover's own", drover::config_error);
    CHECK_THROWS_AS(k.add_executor<inline_kind::options>("y", {.read = read}), drover::config_error);

    // Options of the wrong type for a kind: a clear error, not a crash.
    drover::executor_config wrong{"inline", drover::local_executor_options{}};
    CHECK_THROWS_AS(k.make_executor(wrong), drover::config_error);
}

TEST_CASE("custom kind: a control line may carry the extension's key when only the executor knows it" *
          doctest::timeout(60)) {
    temp_dir dir;
    auto j = drover::parse_job("name = \"k\"\nstate_dir = \"" + (dir / "state").string() +
                                   "\"\n[[executors]]\nkind = \"inline\"\n[sink]\nkind = \"file\"\npath = \"" +
                                   (dir / "out").string() +
                                   "\"\nfsync = false\n[[tasks]]\nid = \"split\"\ncommand = [\"split\", \"1\"]\n",
                               "k.toml", with_inline());
    CHECK_FALSE(j.options.defaults.extension<inline_kind::task_options>());  // no [defaults] scale
    auto s = drover::make_scheduler(j);
    auto summary = s.run();
    REQUIRE(summary.ok());
    CHECK(summary.counts.succeeded == 2);
    auto child = s.find_task("square-1");
    REQUIRE(child);
    REQUIRE(child->extension<inline_kind::task_options>());
    CHECK(child->extension<inline_kind::task_options>()->scale == 100);
    CHECK(read_records(dir / "out") == std::vector<std::string>{R"({"i":1,"square":100})"});
}
