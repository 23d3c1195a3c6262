// `drover run` and `validate` with --param, --only and --no-deps, and `validate --json`
// (issue 20, part of 3): what runs, what is printed, and every mistake an exit code 2.
#include <doctest/doctest.h>

#include "support/support.hpp"

#include <boost/json.hpp>

using namespace drover::test;

namespace {

command_result drover_cli(const temp_dir& d, const std::string& args) {
    return run_shell("cd " + d.path().string() + " && " + std::string(DROVER_CLI_PATH) + " " + args + " 2>&1");
}

// Two days crawled and counted, then merged; each task prints what it is.
const char* dag_job = R"(name = "dag"
[[executors]]
kind = "local"
slots = 2
[sink]
kind = "file"
path = "out"
partition = "task={task}"
[[tasks]]
id = "crawl-{date}"
command = ["sh", "-c", "echo '{\"date\":\"{date}\",\"depth\":{depth}}'"]
foreach.date = ["2018-01-01", "2018-01-02"]
params = { task = "crawl-{date}", depth = 1 }
[[tasks]]
id = "count-{date}"
command = ["sh", "-c", "echo '{\"count\":\"{date}\"}'"]
foreach.date = ["2018-01-01", "2018-01-02"]
params = { task = "count-{date}" }
after = ["crawl-{date}"]
[[tasks]]
id = "merge"
command = ["sh", "-c", "echo '{\"merge\":1}'"]
params = { task = "merge" }
after = ["count-*"]
)";

bool has(const command_result& r, const std::string& part) { return r.output.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("cli job options: --param replaces foreach values and params for run" * doctest::timeout(60)) {
    temp_dir d;
    write_file(d / "job.toml", dag_job);
    auto r = drover_cli(d, "run job.toml --quiet --param date=2018-03-01 --param date=2018-03-02 --param depth=7");
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    CHECK_MESSAGE(has(r, "5 succeeded, 0 dead, 0 skipped of 5 tasks"), r.output);
    CHECK(list_files(d / "out") ==
          std::vector<std::string>{"task=count-2018-03-01/count-2018-03-01.jsonl.gz",
                                   "task=count-2018-03-02/count-2018-03-02.jsonl.gz",
                                   "task=crawl-2018-03-01/crawl-2018-03-01.jsonl.gz",
                                   "task=crawl-2018-03-02/crawl-2018-03-02.jsonl.gz", "task=merge/merge.jsonl.gz"});
    CHECK(read_gzip(d / "out" / "task=crawl-2018-03-02" / "crawl-2018-03-02.jsonl.gz") ==
          "{\"date\":\"2018-03-02\",\"depth\":7}\n");
}

TEST_CASE("cli job options: --only runs the matching tasks and what they come after and --no-deps only them" *
          doctest::timeout(60)) {
    temp_dir d;
    write_file(d / "job.toml", dag_job);
    auto r = drover_cli(d, "run job.toml --quiet --only 'count-*01' --state a");
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    CHECK_MESSAGE(has(r, "2 succeeded, 0 dead, 0 skipped of 2 tasks"), r.output);
    CHECK(list_files(d / "out") == std::vector<std::string>{"task=count-2018-01-01/count-2018-01-01.jsonl.gz",
                                                            "task=crawl-2018-01-01/crawl-2018-01-01.jsonl.gz"});

    std::filesystem::remove_all(d / "out");
    r = drover_cli(d, "run job.toml --quiet --only merge --no-deps --state b");
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    CHECK_MESSAGE(has(r, "1 succeeded, 0 dead, 0 skipped of 1 tasks"), r.output);
    CHECK(list_files(d / "out") == std::vector<std::string>{"task=merge/merge.jsonl.gz"});

    // validate takes them too, and shows what would run.
    r = drover_cli(d, "validate job.toml --only merge --only crawl-2018-01-02 --no-deps");
    CHECK(r.exit_code == 0);
    CHECK_MESSAGE(has(r, "2 task(s)"), r.output);
}

TEST_CASE("cli job options: malformed --param, unknown keys and globs matching nothing exit 2" *
          doctest::timeout(60)) {
    temp_dir d;
    write_file(d / "job.toml", dag_job);
    struct bad {
        const char* args;
        const char* says;
    };
    for (auto [args, says] :
         {bad{"run job.toml --param date", "--param: expected NAME=VALUE, got 'date'"},
          bad{"run job.toml --param =2018-01-01", "expected NAME=VALUE"},
          bad{"validate job.toml --param", "--param"},
          bad{"run job.toml --param dat=2018-01-01",
              "configuration error: param override 'dat': no task has a param or foreach variable of this name"},
          bad{"validate job.toml --param depth=1 --param depth=2", "only foreach variables take several values"},
          bad{"run job.toml --only 'nothing-*'", "only 'nothing-*': matches no task"},
          bad{"run job.toml --only ''", "a glob must not be empty"},
          bad{"run job.toml --no-deps", "--no-deps requires --only"},
          bad{"status --state s --only x", "--only"}}) {
        CAPTURE(args);
        auto r = drover_cli(d, args);
        CHECK(r.exit_code == 2);
        CHECK_MESSAGE(has(r, says), r.output);
    }
    CHECK(!std::filesystem::exists(d / "out"));
}

TEST_CASE("cli job options: validate --json lists tasks, argv, dependencies, pools and fire times" *
          doctest::timeout(60)) {
    temp_dir d;
    write_file(d / "job.toml", R"(name = "svc"
schedule = "30 2 * * *"
timezone = "Europe/Berlin"
[pools]
net = 3
[[executors]]
kind = "local"
slots = 2
[[tasks]]
id = "a-{n}"
command = ["sh", "-c", "echo 'it''s {n}'", "x y", ""]
foreach.n = [1, 2]
pool = "net"
[[tasks]]
id = "b"
command = ["b"]
after = ["a-*"]
)");
    auto r = run_shell("cd " + d.path().string() + " && " + DROVER_CLI_PATH + " validate job.toml --json");
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    auto j = boost::json::parse(r.output).as_object();
    CHECK(j.at("job") == "svc");
    CHECK(j.at("slots") == 2);
    CHECK(j.at("pools").at("net") == 3);
    CHECK(j.at("executors").at(0).at("kind") == "local");
    CHECK(j.at("task_count") == 3);
    const auto& tasks = j.at("tasks").as_array();
    REQUIRE(tasks.size() == 3);
    CHECK(tasks[0].at("id") == "a-1");
    CHECK(tasks[0].at("command") == boost::json::array{"sh", "-c", "echo 'it''s 1'", "x y", ""});
    CHECK(tasks[0].at("command_line") == "sh -c 'echo '\\''it'\\'''\\''s 1'\\''' 'x y' ''");
    CHECK(tasks[0].at("pool") == "net");
    CHECK(tasks[2].at("after") == boost::json::array{"a-1", "a-2"});
    CHECK(tasks[2].at("pool").is_null());
    // The shell gives back the argv.
    auto echo = run_shell("printf '[%s]' " + std::string(tasks[0].at("command_line").as_string()).substr(3));
    CHECK(echo.output == "[-c][echo 'it''s 1'][x y][]");

    const auto& s = j.at("schedule").as_object();
    CHECK(s.at("timezone") == "Europe/Berlin");
    const auto& next = s.at("next").as_array();
    REQUIRE(next.size() == 5);
    for (const auto& t : next) {
        std::string text(t.as_string());
        CHECK_MESSAGE(text.substr(10, 9) == "T02:30:00", text);
        CHECK_MESSAGE((text.ends_with("+01:00") || text.ends_with("+02:00")), text);
    }
    CHECK(next[0].as_string() < next[1].as_string());

    // --json with a selection; and without --json the text form, argv quoted the same way.
    r = run_shell("cd " + d.path().string() + " && " + DROVER_CLI_PATH + " validate job.toml --json --only b --no-deps");
    auto sub = boost::json::parse(r.output).as_object();
    CHECK(sub.at("task_count") == 1);
    CHECK(sub.at("tasks").at(0).at("after").as_array().empty());
    r = drover_cli(d, "validate job.toml");
    CHECK_MESSAGE(has(r, "a-1: sh -c 'echo '\\''it'\\'''\\''s 1'\\''' 'x y' ''"), r.output);
}

// Issue 20, section 5: `run` streams the tasks into the scheduler; resume still skips what
// succeeded, and the task limit is a setting (the file's max_tasks, --max-tasks).
TEST_CASE("cli large jobs: a streamed run resumes, validate counts, the task limit is a setting" * doctest::timeout(60)) {
    temp_dir d;
    write_file(d / "job.toml", R"(name = "many"
max_tasks = 40
[[executors]]
kind = "local"
slots = 2
[sink]
kind = "file"
path = "out"
[[tasks]]
id = "t-{n}"
command = ["sh", "-c", "echo '{\"n\":{n}}' && echo {n} >> runs.log"]
foreach.n = { from = 1, to = 30 }
[[tasks]]
id = "last"
command = ["sh", "-c", "echo last >> runs.log"]
after = ["t-*"]
)");
    auto r = drover_cli(d, "run job.toml --quiet --only 't-1?'");
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    CHECK_MESSAGE(has(r, "10 succeeded, 0 dead, 0 skipped of 10 tasks"), r.output);
    r = drover_cli(d, "run job.toml --quiet");
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    CHECK_MESSAGE(has(r, "21 done, 10 resumed"), r.output);  // t-10..t-19 ran before: not again
    CHECK(split_lines(read_file(d / "runs.log")).size() == 31);
    CHECK(read_records(d / "out").size() == 30);

    r = drover_cli(d, "validate job.toml");
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    CHECK_MESSAGE(has(r, "31 task(s)"), r.output);
    CHECK_MESSAGE(has(r, "  t-1: sh -c"), r.output);
    CHECK_MESSAGE(has(r, "... 28 more"), r.output);
    r = drover_cli(d, "validate job.toml --max-tasks 30");
    CHECK(r.exit_code == 2);
    CHECK_MESSAGE(has(r, "job.toml:13:1: tasks[1]: the job would have more than 30 tasks (max_tasks)"), r.output);
    r = drover_cli(d, "validate job.toml --max-tasks 20");
    CHECK(r.exit_code == 2);
    CHECK_MESSAGE(has(r, "job.toml:12:13: tasks[0].foreach.n: foreach expands to more than 20 tasks"), r.output);
    r = drover_cli(d, "run job.toml --max-tasks 0");
    CHECK(r.exit_code == 2);
    CHECK_MESSAGE(has(r, "--max-tasks"), r.output);
}
