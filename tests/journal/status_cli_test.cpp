// `drover status` and the resume flags of `drover run`, through the CLI binary.
#include <doctest/doctest.h>

#include "support/support.hpp"

#include <boost/json.hpp>

using namespace drover::test;

namespace {

command_result drover_cli(const temp_dir& d, const std::string& args) {
    return run_shell("cd " + d.path().string() + " && " + DROVER_CLI_PATH + " " + args + " 2>&1");
}

command_result drover_stdout(const temp_dir& d, const std::string& args) {
    return run_shell("cd " + d.path().string() + " && " + DROVER_CLI_PATH + " " + args + " 2>/dev/null");
}

// t-1, t-2 succeed; t-3 fails while the file "broken" exists; after-3 comes after t-3.
const char* job = R"(name = "st"
[sink]
kind = "file"
path = "out"
[[tasks]]
id = "t-{n}"
command = ["sh", "-c", "if [ {n} = 3 ] && [ -e broken ]; then echo boom >&2; exit 7; fi; echo '{\"n\":{n}}'"]
foreach.n = [1, 2, 3]
[[tasks]]
id = "after-3"
after = ["t-3"]
command = ["sh", "-c", "echo '{\"after\":3}'"]
)";

}  // namespace

TEST_CASE("cli status: counts per state and dead tasks with reasons, as text and JSON" * doctest::timeout(60)) {
    temp_dir d;
    write_file(d / "job.toml", job);
    write_file(d / "broken", "");
    CHECK(drover_cli(d, "run job.toml --quiet --state st").exit_code == 1);

    auto r = drover_stdout(d, "status --state st --json");
    REQUIRE(r.exit_code == 0);
    auto j = boost::json::parse(r.output).as_object();
    CHECK(j.at("job").as_string() == "st");
    CHECK(j.at("live").as_bool() == false);
    CHECK(j.at("total").as_int64() == 4);
    auto& c = j.at("counts").as_object();
    CHECK(c.at("succeeded").as_int64() == 2);
    CHECK(c.at("dead").as_int64() == 1);
    CHECK(c.at("upstream_failed").as_int64() == 1);
    CHECK(j.at("last_run").as_object().at("status").as_string() == "finished");
    auto& dead = j.at("dead").as_array();
    REQUIRE(dead.size() == 2);
    CHECK(dead[0].as_object().at("task").as_string() == "t-3");
    CHECK(dead[0].as_object().at("message").as_string() == "exit code 7");
    CHECK(dead[1].as_object().at("task").as_string() == "after-3");
    CHECK(dead[1].as_object().at("state").as_string() == "upstream_failed");

    auto text = drover_stdout(d, "status job.toml --state st");
    CHECK(text.exit_code == 0);
    CHECK(text.output.find("job 'st'") != std::string::npos);
    CHECK(text.output.find("2 succeeded") != std::string::npos);
    CHECK(text.output.find("t-3 (dead): exit code 7 after 1 attempt(s)") != std::string::npos);

    // Resume: nothing changes without --retry-dead; with it, t-3 and then after-3 run.
    fs::remove(d / "broken");
    CHECK(drover_cli(d, "run job.toml --quiet --state st").exit_code == 1);
    auto rr = drover_stdout(d, "run job.toml --quiet --state st --retry-dead --json");
    CHECK(rr.exit_code == 0);
    auto s = boost::json::parse(rr.output).as_object();
    CHECK(s.at("resumed").as_int64() == 2);
    CHECK(s.at("succeeded").as_int64() == 4);
    CHECK(read_records(d / "out") == std::vector<std::string>{R"({"after":3})", R"({"n":1})", R"({"n":2})", R"({"n":3})"});
}

TEST_CASE("cli status: a state directory without a journal is an error with exit code 2" * doctest::timeout(60)) {
    temp_dir d;
    auto r = drover_cli(d, "status --state nowhere");
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("no journal in nowhere") != std::string::npos);
    CHECK(drover_cli(d, "status").exit_code == 2);  // needs --state or a job file
}

TEST_CASE("cli service: a scheduled job serves until SIGTERM (exit 130), --once runs it now" * doctest::timeout(60)) {
    temp_dir d;
    write_file(d / "job.toml", R"(name = "svc"
schedule = "0 0 1 1 *"
timezone = "UTC"
overlap = "queue"
[sink]
kind = "file"
path = "out"
[[tasks]]
id = "t"
command = ["sh", "-c", "echo '{\"tick\":\"'$DROVER_TICK'\"}'"]
)");
    // --once: one run now, no tick (DROVER_TICK unset), exit code of the run.
    auto once = drover_cli(d, "run job.toml --once --quiet");
    CHECK(once.exit_code == 0);
    CHECK(read_records(d / "out") == std::vector<std::string>{R"({"tick":""})"});

    // The service logs its next tick (next New Year) and sleeps; SIGTERM ends it with 130.
    auto r = run_shell("cd " + d.path().string() + " && (" + DROVER_CLI_PATH +
                       " run job.toml --quiet 2> svc.err & pid=$!; "
                       "for i in $(seq 100); do grep -q 'next run at' svc.err && break; sleep 0.05; done; "
                       "kill -TERM $pid; wait $pid; echo rc=$?; cat svc.err)");
    INFO(r.output);
    CHECK(r.output.find("rc=130") != std::string::npos);
    CHECK(r.output.find("service for schedule \"0 0 1 1 *\" (UTC, overlap queue)") != std::string::npos);
    auto next = r.output.find("next run at ");
    REQUIRE(next != std::string::npos);
    CHECK(r.output.substr(next + 16, 16) == "-01-01T00:00:00Z");  // the next New Year, UTC
}

TEST_CASE("cli service: SIGTERM as soon as the service logs its first line ends it with 130, never the default action" *
          doctest::timeout(120)) {
    temp_dir d;
    write_file(d / "job.toml", R"(name = "svc"
schedule = "0 0 1 1 *"
[sink]
kind = "file"
path = "out"
[[tasks]]
id = "t"
command = ["true"]
)");
    // The signal is sent the moment stderr is not empty (a busy wait, no sleep): before the
    // service's first sleep began. A service that caught signals only while it slept died of
    // this one with 143 (CI saw it once, under load, with the 50 ms poll of the test above).
    for (int i = 0; i < 10; ++i) {
        auto err = "svc" + std::to_string(i) + ".err";  // a new file: the last one is not empty
        auto r = run_shell("cd " + d.path().string() + " && (" + DROVER_CLI_PATH + " run job.toml --quiet 2> " + err +
                           " & pid=$!; until [ -s " + err + " ]; do :; done; "
                           "kill -TERM $pid; wait $pid; echo rc=$?; cat " + err + ")");
        INFO(i, ": ", r.output);
        CHECK(r.output.find("rc=130") != std::string::npos);
    }
}
