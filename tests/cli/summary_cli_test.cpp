// The summary of `drover run` on a resume (issue 20): tasks done now, resumed, dead now and in
// earlier runs, and upstream-failed are counted apart, in the text and in --json.
#include <doctest/doctest.h>

#include "support/support.hpp"

#include <boost/json.hpp>

using namespace drover::test;

TEST_CASE("cli summary: a resumed run counts resumed and earlier-dead tasks apart from what it ran" *
          doctest::timeout(60)) {
    temp_dir d;
    write_file(d / "job.toml", R"(name = "r"
[[tasks]]
id = "a-{n}"
command = ["true"]
foreach.n = [1, 2, 3]
[[tasks]]
id = "b"
command = ["false"]
[[tasks]]
id = "c"
command = ["true"]
after = ["b"]
)");
    auto run = [&](const std::string& args) {
        return run_shell("cd " + d.path().string() + " && " + DROVER_CLI_PATH + " run job.toml --quiet " + args);
    };
    auto first = run("");
    CHECK(first.exit_code == 1);
    CHECK_MESSAGE(first.output.find("  tasks:   3 done, 0 resumed, 1 dead, 1 upstream-failed, 0 skipped\n") !=
                      std::string::npos,
                  first.output);
    auto again = run("");
    CHECK_MESSAGE(again.output.find("3 succeeded, 1 dead, 0 skipped of 5 tasks") != std::string::npos, again.output);
    CHECK_MESSAGE(again.output.find("  tasks:   0 done, 3 resumed, 0 dead, 1 dead in earlier runs, 1 upstream-failed, "
                                    "0 skipped\n") != std::string::npos,
                  again.output);
    CHECK_MESSAGE(again.output.find("(0.0 tasks/s)") != std::string::npos, again.output);  // nothing ran
    auto json = boost::json::parse(run("--json").output).as_object();
    CHECK(json.at("resumed") == 3);
    CHECK(json.at("resumed_dead") == 1);
    CHECK(json.at("ran") == 0);
    CHECK(json.at("upstream_failed") == 1);
    // --retry-dead runs b again: it is dead now, not in an earlier run.
    json = boost::json::parse(run("--json --retry-dead").output).as_object();
    CHECK(json.at("resumed_dead") == 0);
    CHECK(json.at("ran") == 1);
}
