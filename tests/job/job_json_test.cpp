// drover::write_json (`drover validate --json`): the document's shape, argv quoting for a
// POSIX shell, dependencies resolved to ids, and a schedule's next fire times across DST.
#include <doctest/doctest.h>

#include <drover/job_file.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

namespace {

boost::json::object described(std::string_view toml, const drover::job_json_options& o = {}) {
    return boost::json::parse(drover::to_json(drover::parse_job(toml, "j.toml"), o)).as_object();
}

std::chrono::sys_seconds utc(int y, unsigned m, unsigned d, int h = 0) {
    return std::chrono::sys_days{std::chrono::year{y} / m / d} + std::chrono::hours{h};
}

}  // namespace

TEST_CASE("job json: argv as one shell command line that gives the same words back") {
    using drover::shell_command_line;
    CHECK(shell_command_line({"crawl", "--date=2018-01-06", "a/b.c", "x@y:1,2%+"}) ==
          "crawl --date=2018-01-06 a/b.c x@y:1,2%+");
    CHECK(shell_command_line({"sh", "-c", "echo $HOME; ls *"}) == "sh -c 'echo $HOME; ls *'");
    CHECK(shell_command_line({"echo", "it's", "", "~", "#x", "a\nb"}) == "echo 'it'\\''s' '' '~' '#x' 'a\nb'");
    // A first word that a shell would read as an assignment or a reserved word is quoted.
    CHECK(shell_command_line({"A=b", "A=b"}) == "'A=b' A=b");
    CHECK(shell_command_line({"if", "if"}) == "'if' if");
    std::vector<std::string> argv{"printf", "[%s]", "it's", "", " two  spaces ", "$x", "\\", "\"q\"", "é"};
    auto r = drover::test::run_shell(shell_command_line(argv));
    CHECK(r.output == "[it's][][ two  spaces ][$x][\\][\"q\"][é]");
}

TEST_CASE("job json: executors, pools, sink and every task with its resolved dependencies") {
    auto j = described(R"(name = "j"
[pools]
db = 1
[[executors]]
kind = "local"
slots = 3
[sink]
kind = "file"
path = "out"
[defaults]
timeout = "30s"
env = { DB_PASSWORD = "hunter22", MODE = "fast" }
[[tasks]]
id = "load-{n}"
command = ["load", "{n}"]
foreach.n = [1, 2, 3]
pool = "db"
env = { N = "{n}" }
[[tasks]]
id = "report"
command = ["report"]
after = ["load-*", "load-2"]
image = "reporter:1"
)");
    CHECK(j.at("job") == "j");
    CHECK(j.at("source") == "j.toml");
    CHECK(j.at("state_dir") == ".drover/j");
    CHECK(j.at("slots") == 3);
    CHECK(j.at("executors").at(0).at("slots") == 3);
    CHECK(j.at("pools") == boost::json::object{{"db", 1}});
    CHECK(j.at("sink").at("kind") == "file");
    CHECK(j.at("sink").at("location").as_string().ends_with("out"));
    CHECK(j.at("schedule").is_null());
    CHECK(j.at("speculation").is_null());
    const auto& tasks = j.at("tasks").as_array();
    REQUIRE(tasks.size() == 4);
    const auto& load = tasks[1].as_object();
    CHECK(load.at("id") == "load-2");
    CHECK(load.at("command") == boost::json::array{"load", "2"});
    CHECK(load.at("command_line") == "load 2");
    CHECK(load.at("after").as_array().empty());
    CHECK(load.at("pool") == "db");
    CHECK(load.at("params") == boost::json::object{{"n", "2"}});
    CHECK(load.at("env") == boost::json::object{{"MODE", "fast"}, {"N", "2"}});  // the secret is left out, by name only
    CHECK(load.at("redacted_env") == boost::json::array{"DB_PASSWORD"});
    CHECK(load.at("timeout") == "30s");
    CHECK(load.at("executor").as_object().empty());
    const auto& report = tasks[3].as_object();
    CHECK(report.at("after") == boost::json::array{"load-1", "load-2", "load-3"});  // globs resolved, once each
    CHECK(report.at("pool").is_null());
    CHECK(report.at("executor").at("image") == "reporter:1");
    CHECK(report.at("speculate") == true);
    auto spec = described("name = \"x\"\n[speculation]\nmultiplier = 2\n[[tasks]]\nid = \"a\"\ncommand = [\"a\"]\n"
                          "speculate = false\n");
    CHECK(spec.at("speculation") == boost::json::object{{"multiplier", 2.0}, {"quantile", 0.75}, {"min_runtime", "1s"},
                                                        {"before_queued", false}});
    CHECK(spec.at("tasks").at(0).at("speculate") == false);
    CHECK(drover::to_json(drover::parse_job("name = \"x\"\n[[tasks]]\nid = \"a\"\ncommand = [\"a\"]\n", "x.toml"))
              .find("\"sink\":null") != std::string::npos);
}

TEST_CASE("job json: the next fire times in the job's zone, across a DST change, as many as asked") {
    const char* berlin = R"(name = "s"
schedule = "30 2 * * *"
timezone = "Europe/Berlin"
[[tasks]]
id = "a"
command = ["a"]
)";
    auto s = described(berlin, {.next_fires = 3, .now = utc(2018, 3, 24, 12)}).at("schedule").as_object();
    CHECK(s.at("cron") == "30 2 * * *");
    CHECK(s.at("timezone") == "Europe/Berlin");
    CHECK(s.at("overlap") == "skip");
    // 2018-03-25 02:30 does not exist in Berlin: it fires at 03:00, the first instant after the jump.
    CHECK(s.at("next") == boost::json::array{"2018-03-25T03:00:00+02:00", "2018-03-26T02:30:00+02:00",
                                             "2018-03-27T02:30:00+02:00"});
    auto utc_job = described("name = \"u\"\nschedule = \"0 */12 * * *\"\ntimezone = \"UTC\"\n[[tasks]]\nid = \"a\"\n"
                             "command = [\"a\"]\n",
                             {.now = utc(2018, 1, 1)});
    CHECK(utc_job.at("schedule").at("next") ==
          boost::json::array{"2018-01-01T12:00:00+00:00", "2018-01-02T00:00:00+00:00", "2018-01-02T12:00:00+00:00",
                             "2018-01-03T00:00:00+00:00", "2018-01-03T12:00:00+00:00"});
    auto none = described(berlin, {.next_fires = 0});
    CHECK(none.at("schedule").at("next").as_array().empty());
}
