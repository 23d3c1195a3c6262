// `after` in job files: templates per task, globs, and every mistake located at its entry.
#include <doctest/doctest.h>

#include <drover/error.hpp>
#include <drover/job_file.hpp>

namespace {

std::string error_of(std::string_view text) {
    try {
        (void)drover::parse_job(text, "dag.toml");
    } catch (const drover::config_error& e) {
        CHECK(e.file() == "dag.toml");
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("job after: templates expand per task and globs are kept for the scheduler") {
    auto j = drover::parse_job(R"(name = "d"
[[tasks]]
id = "crawl-{n}"
command = ["x"]
foreach.n = [1, 2]
[[tasks]]
id = "parse-{n}"
command = ["x"]
foreach.n = [1, 2]
after = ["crawl-{n}"]
[[tasks]]
id = "merge"
command = ["x"]
after = ["parse-*"]
)", "dag.toml");
    REQUIRE(j.tasks.size() == 5);
    CHECK(j.tasks[2].after == std::vector<std::string>{"crawl-1"});
    CHECK(j.tasks[3].after == std::vector<std::string>{"crawl-2"});
    CHECK(j.tasks[4].after == std::vector<std::string>{"parse-*"});
    CHECK(j.tasks[0].after.empty());
}

TEST_CASE("job after: unknown ids, empty globs, cycles and wrong types name file, line, column and key") {
    CHECK(error_of("name = \"d\"\n[[tasks]]\nid = \"a\"\ncommand = [\"x\"]\nafter = [\"b\"]\n") ==
          "dag.toml:5:10: tasks[0].after[0]: task 'a': after 'b': no task has this id");
    CHECK(error_of("name = \"d\"\n[[tasks]]\nid = \"a\"\ncommand = [\"x\"]\nafter = [\"crawl-*\"]\n") ==
          "dag.toml:5:10: tasks[0].after[0]: task 'a': after 'crawl-*': the pattern matches no other task");
    CHECK(error_of("name = \"d\"\n[[tasks]]\nid = \"a\"\ncommand = [\"x\"]\nafter = \"b\"\n") ==
          "dag.toml:5:9: tasks[0].after: expected an array of task ids or globs, e.g. [\"crawl-*\"], got string");
    CHECK(error_of("name = \"d\"\n[[tasks]]\nid = \"a\"\ncommand = [\"x\"]\nafter = [1]\n") ==
          "dag.toml:5:10: tasks[0].after[0]: expected a string, got integer");
    CHECK(error_of("name = \"d\"\n[[tasks]]\nid = \"a\"\ncommand = [\"x\"]\nafter = [\"\"]\n") ==
          "dag.toml:5:10: tasks[0].after[0]: must not be empty: give a task id or a glob");
    CHECK(error_of("name = \"d\"\n[[tasks]]\nid = \"a\"\ncommand = [\"x\"]\nafter = [\"{nope}\"]\n")
              .starts_with("dag.toml:5:10: tasks[0].after[0]: unknown placeholder {nope}"));
    auto cycle = error_of(R"(name = "d"
[[tasks]]
id = "a"
command = ["x"]
after = ["b"]
[[tasks]]
id = "b"
command = ["x"]
after = ["a"]
)");
    CHECK_MESSAGE(cycle.starts_with("dag.toml:"), cycle);
    CHECK_MESSAGE(cycle.find("dependency cycle: ") != std::string::npos, cycle);
    CHECK_MESSAGE((cycle.find("a -> b -> a") != std::string::npos || cycle.find("b -> a -> b") != std::string::npos),
                  cycle);
    // after is per task: [defaults] does not take it.
    CHECK(error_of("name = \"d\"\n[defaults]\nafter = [\"a\"]\n[[tasks]]\nid = \"a\"\ncommand = [\"x\"]\n")
              .starts_with("dag.toml:3:1: defaults.after: unknown key"));
}
