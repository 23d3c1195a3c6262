// Job files that are right: what they parse into.

#include <doctest/doctest.h>

#include <drover/error.hpp>
#include <drover/executors/local.hpp>
#include <drover/job_file.hpp>
#include <drover/sinks/file.hpp>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <algorithm>

using namespace std::chrono_literals;
using drover::parse_job;

namespace {

std::vector<std::string> ids(const drover::job& j) {
    std::vector<std::string> out;
    for (const auto& t : j.tasks) out.push_back(t.id);
    return out;
}

// Quotes argv for `sh -c` so a task's command can be run by run_shell.
std::string shell_quote(const std::vector<std::string>& argv) {
    std::string out;
    for (const auto& a : argv) {
        out += " '";
        for (char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
        out += "'";
    }
    return out;
}

constexpr std::string_view hello_example = R"(name = "hello"
[[executors]]
kind = "local"
slots = 2
[sink]
kind = "file"
path = "out/hello"
partition = "date={date}"
[defaults]
retries = 2
timeout = "30s"
backoff = "1s"
[[tasks]]
id = "day-{date}"
command = ["sh", "-c", "echo '{\"date\":\"{date}\"}'"]
foreach.date = { from = "2018-01-01", to = "2018-12-31", step = "1d" }
)";

}  // namespace

TEST_CASE("job: the documented example expands to one task per day of 2018") {
    auto j = parse_job(hello_example, "hello.toml");
    CHECK(j.name == "hello");
    CHECK(j.source == "hello.toml");
    CHECK(j.options.state_dir == ".drover/hello");
    REQUIRE(j.executors.size() == 1);
    CHECK(j.executors[0].kind == "local");
    CHECK(j.executors[0].options_as<drover::local_executor_options>().slots == 2);
    REQUIRE(j.sink);
    CHECK(j.sink->kind == "file");
    CHECK(j.sink->options_as<drover::file_sink_options>().root == "out/hello");
    CHECK(j.sink->options_as<drover::file_sink_options>().partition == "date={date}");
    CHECK(j.sink->options_as<drover::file_sink_options>().compression_level == 6);
    CHECK(j.sink->options_as<drover::file_sink_options>().fsync);

    REQUIRE(j.tasks.size() == 365);
    CHECK(j.tasks.front().id == "day-2018-01-01");
    CHECK(j.tasks.back().id == "day-2018-12-31");
    CHECK(j.tasks[58].id == "day-2018-02-28");
    CHECK(j.tasks[59].id == "day-2018-03-01");
    const auto& t = j.tasks[5];
    CHECK(t.id == "day-2018-01-06");
    CHECK(t.command == std::vector<std::string>{"sh", "-c", R"(echo '{"date":"2018-01-06"}')"});
    CHECK(t.params == std::map<std::string, std::string>{{"date", "2018-01-06"}});
    CHECK(t.retries == 2);
    CHECK(t.timeout == drover::duration(30s));
    CHECK(t.backoff.initial == drover::duration(1s));
    CHECK(t.backoff.max == drover::duration(5min));  // untouched defaults keep task_spec's values
    CHECK(t.pool.empty());
    CHECK(t.env.empty());
}

TEST_CASE("job: a minimal job gets a local executor, no sink and default settings") {
    auto j = parse_job("name = \"min\"\n[[tasks]]\nid = \"only\"\ncommand = [\"true\"]\n", "min.toml");
    REQUIRE(j.executors.size() == 1);
    CHECK(j.executors[0].kind == "local");
    CHECK(j.executors[0].options_as<drover::local_executor_options>().slots == 0);
    CHECK_FALSE(j.sink);
    CHECK(j.options.state_dir == ".drover/min");
    CHECK_FALSE(j.options.halt.max_dead);
    CHECK(j.options.pools.empty());
    REQUIRE(j.tasks.size() == 1);
    CHECK(j.tasks[0].id == "only");
    CHECK(j.tasks[0].retries == 0);
    CHECK_FALSE(j.tasks[0].timeout);
    CHECK(j.tasks[0].params.empty());
}

TEST_CASE("job: foreach lists form a cartesian product, first key in the file outermost") {
    auto j = parse_job(R"(name = "p"
[[tasks]]
id = "t-{zz}-{aa}"
command = ["echo", "{zz}", "{aa}"]
foreach.zz = ["en", "de"]
foreach.aa = [1, 2, 3]
)", "p.toml");
    CHECK(ids(j) == std::vector<std::string>{"t-en-1", "t-en-2", "t-en-3", "t-de-1", "t-de-2", "t-de-3"});
    CHECK(j.tasks[4].command == std::vector<std::string>{"echo", "de", "2"});
    CHECK(j.tasks[4].params == std::map<std::string, std::string>{{"aa", "2"}, {"zz", "de"}});

    // An inline foreach table keeps its written order too.
    auto k = parse_job("name = \"q\"\n[[tasks]]\nid = \"{b}{a}\"\ncommand = [\"x\"]\n"
                       "foreach = { b = [\"x\", \"y\"], a = [1, 2] }\n",
                       "q.toml");
    CHECK(ids(k) == std::vector<std::string>{"x1", "x2", "y1", "y2"});
}

TEST_CASE("job: integer ranges, mixed-type lists and a date range product") {
    auto j = parse_job(R"(name = "r"
[[tasks]]
id = "n{n}"
command = ["echo", "{n}"]
foreach.n = { from = 1, to = 10, step = 3 }
[[tasks]]
id = "m{m}"
command = ["echo"]
foreach.m = { from = -2, to = 0 }
[[tasks]]
id = "v-{v}"
command = ["echo"]
foreach.v = [true, 1.5, "s"]
[[tasks]]
id = "{date}_{lang}"
command = ["crawl", "--date={date}", "--lang={lang}"]
foreach.date = { from = "2018-01-30", to = "2018-02-02" }
foreach.lang = ["en", "de"]
)", "r.toml");
    auto all = ids(j);
    CHECK(std::vector<std::string>(all.begin(), all.begin() + 10) ==
          std::vector<std::string>{"n1", "n4", "n7", "n10", "m-2", "m-1", "m0", "v-true", "v-1.5", "v-s"});
    REQUIRE(all.size() == 18);
    CHECK(all[10] == "2018-01-30_en");
    CHECK(all[11] == "2018-01-30_de");
    CHECK(all[17] == "2018-02-02_de");
    CHECK(j.tasks[13].command == std::vector<std::string>{"crawl", "--date=2018-01-31", "--lang=de"});
}

TEST_CASE("job: date ranges follow the calendar") {
    auto days = [](std::string range) {
        std::string text = "name = \"d\"\n[[tasks]]\nid = \"d{d}\"\ncommand = [\"x\"]\nforeach.d = " + range + "\n";
        return parse_job(text, "d.toml").tasks;
    };
    auto leap = days(R"({ from = "2020-01-01", to = "2020-12-31", step = "1d" })");
    CHECK(leap.size() == 366);
    CHECK(leap[59].id == "d2020-02-29");
    CHECK(days(R"({ from = "2019-01-01", to = "2019-12-31" })").size() == 365);
    CHECK(days(R"({ from = "2000-02-28", to = "2000-03-01" })").size() == 3);  // 2000 is a leap year
    CHECK(days(R"({ from = "1900-02-28", to = "1900-03-01" })").size() == 2);  // 1900 is not

    auto weekly = days(R"({ from = "2018-01-01", to = "2018-12-31", step = "7d" })");
    CHECK(weekly.size() == 53);
    CHECK(weekly[1].id == "d2018-01-08");
    CHECK(weekly.back().id == "d2018-12-31");

    auto single = days(R"({ from = "2018-06-01", to = "2018-06-01" })");
    REQUIRE(single.size() == 1);
    CHECK(single[0].params.at("d") == "2018-06-01");

    auto native = days("{ from = 2018-12-30, to = 2019-01-02 }");  // TOML date values work too
    REQUIRE(native.size() == 4);
    CHECK(native[2].id == "d2019-01-01");
}

TEST_CASE("job: a task's settings override [defaults]") {
    auto j = parse_job(R"(name = "o"
[pools]
db = 2
web = 8
[defaults]
retries = 2
timeout = "30s"
backoff = "1s"
backoff_max = "1m"
backoff_multiplier = 3
backoff_jitter = 0.25
pool = "db"
workdir = "/tmp"
[[tasks]]
id = "plain"
command = ["true"]
[[tasks]]
id = "custom"
command = ["true"]
retries = 0
timeout = "none"
backoff = "250ms"
backoff_max = "1h30m"
backoff_multiplier = 1.5
backoff_jitter = 0
pool = "web"
workdir = "sub/dir"
[[tasks]]
id = "unpooled"
command = ["true"]
pool = ""
timeout = "2h"
)", "o.toml");
    REQUIRE(j.tasks.size() == 3);
    const auto& a = j.tasks[0];
    CHECK(a.retries == 2);
    CHECK(a.timeout == drover::duration(30s));
    CHECK(a.backoff.initial == drover::duration(1s));
    CHECK(a.backoff.max == drover::duration(1min));
    CHECK(a.backoff.multiplier == 3.0);
    CHECK(a.backoff.jitter == 0.25);
    CHECK(a.pool == "db");
    CHECK(a.workdir == "/tmp");
    const auto& b = j.tasks[1];
    CHECK(b.retries == 0);
    CHECK_FALSE(b.timeout);
    CHECK(b.backoff.initial == drover::duration(250ms));
    CHECK(b.backoff.max == drover::duration(90min));
    CHECK(b.backoff.multiplier == 1.5);
    CHECK(b.backoff.jitter == 0.0);
    CHECK(b.pool == "web");
    CHECK(b.workdir == "sub/dir");
    CHECK(j.tasks[2].pool.empty());
    CHECK(j.tasks[2].timeout == drover::duration(2h));
    CHECK(j.tasks[2].retries == 2);
    CHECK(j.options.pools == std::map<std::string, std::size_t>{{"db", 2}, {"web", 8}});
}

TEST_CASE("job: params are templated over foreach variables and join them in task params") {
    auto j = parse_job(R"(name = "params"
[[tasks]]
id = "{site}-{year}"
command = ["fetch", "{url}", "--depth={depth}", "--ratio={ratio}", "--dry={dry}"]
foreach.year = { from = 2019, to = 2020 }
params = { site = "example", url = "https://example.org/{year}/", depth = 3, ratio = 0.5, dry = false }
)", "params.toml");
    REQUIRE(j.tasks.size() == 2);
    const auto& t = j.tasks[1];
    CHECK(t.id == "example-2020");
    CHECK(t.command == std::vector<std::string>{"fetch", "https://example.org/2020/", "--depth=3", "--ratio=0.5",
                                                "--dry=false"});
    CHECK(t.params.at("year") == "2020");
    CHECK(t.params.at("depth") == "3");
    CHECK(t.params.at("ratio") == "0.5");
    CHECK(t.params.at("dry") == "false");
    CHECK(t.params.size() == 6);
}

TEST_CASE("job: braces, ${VAR} and JSON stay literal where they are not placeholders") {
    auto j = parse_job(R"(name = "lit"
[[tasks]]
id = "x-{n}"
command = ["sh", "-c", "echo ${HOME} {{n} {n} '{\"n\": {n}}' '{}' $n }"]
env = { OUT = "{n}.txt", PLAIN = "${PATH}" }
foreach.n = [7]
)", "lit.toml");
    REQUIRE(j.tasks.size() == 1);
    CHECK(j.tasks[0].command[2] == R"(echo ${HOME} {n} 7 '{"n": 7}' '{}' $n })");  // only '{{' is an escape
    CHECK(j.tasks[0].env == std::map<std::string, std::string>{{"OUT", "7.txt"}, {"PLAIN", "${PATH}"}});
}

TEST_CASE("job: env from [defaults] merges with a task's env, the task winning") {
    auto j = parse_job(R"(name = "env"
[defaults]
env = { LANG = "C", REGION = "eu-{lang}" }
[[tasks]]
id = "t-{lang}"
command = ["env"]
env = { LANG = "{lang}.UTF-8", EXTRA = "1" }
foreach.lang = ["en"]
)", "env.toml");
    REQUIRE(j.tasks.size() == 1);
    CHECK(j.tasks[0].env ==
          std::map<std::string, std::string>{{"EXTRA", "1"}, {"LANG", "en.UTF-8"}, {"REGION", "eu-en"}});
}

TEST_CASE("job: sink, halt, executors and state_dir options") {
    auto j = parse_job(R"(name = "opts"
state_dir = "state/opts"
[halt]
max_dead = 5
max_dead_percent = 12.5
[[executors]]
kind = "local"
slots = 3
kill_grace = "500ms"
max_line_bytes = "1MiB"
[[executors]]
kind = "local"
[sink]
kind = "file"
path = "../out"
partition = "country={record.country}/day={day}"
max_records = 1000
max_bytes = "64MiB"
rotate_interval = "10s"
flush_records = 5000
compression_level = 9
fsync = false
[[tasks]]
id = "t{day}"
command = ["x"]
foreach.day = [1, 2]
)", "opts.toml");
    CHECK(j.options.state_dir == "state/opts");
    CHECK(j.options.halt.max_dead == 5u);
    CHECK(j.options.halt.max_dead_percent == 12.5);
    REQUIRE(j.executors.size() == 2);
    CHECK(j.executors[0].options_as<drover::local_executor_options>().slots == 3);
    CHECK(j.executors[0].options_as<drover::local_executor_options>().kill_grace == drover::duration(500ms));
    CHECK(j.executors[0].options_as<drover::local_executor_options>().max_line_bytes == 1u << 20);
    CHECK(j.executors[1].options_as<drover::local_executor_options>().slots == 0);
    REQUIRE(j.sink);
    CHECK(j.sink->options_as<drover::file_sink_options>().root == "../out");
    CHECK(j.sink->options_as<drover::file_sink_options>().partition == "country={record.country}/day={day}");
    CHECK(j.sink->options_as<drover::file_sink_options>().max_records == 1000);
    CHECK(j.sink->options_as<drover::file_sink_options>().max_bytes == 64u << 20);
    CHECK(j.sink->options_as<drover::file_sink_options>().rotate_interval == 10s);
    CHECK(j.sink->options_as<drover::file_sink_options>().flush_records == 5000);
    CHECK(j.sink->options_as<drover::file_sink_options>().compression_level == 9);
    CHECK_FALSE(j.sink->options_as<drover::file_sink_options>().fsync);

    auto sizes = [](std::string v) {
        return parse_job("name = \"s\"\n[sink]\nkind = \"file\"\npath = \"o\"\nmax_bytes = " + v +
                             "\n[[tasks]]\nid = \"a\"\ncommand = [\"x\"]\n", "s.toml")
            .sink->options_as<drover::file_sink_options>().max_bytes;
    };
    CHECK(sizes("0") == 0);
    CHECK(sizes("4096") == 4096);
    CHECK(sizes("\"10MB\"") == 10'000'000);
    CHECK(sizes("\"512KiB\"") == 512 * 1024);
    CHECK(sizes("\"2GiB\"") == 2ull << 30);
    CHECK(sizes("\"100B\"") == 100);
}

TEST_CASE("job: parse_duration and format_duration") {
    using drover::duration;
    using drover::parse_duration;
    CHECK(parse_duration("250ms") == duration(250ms));
    CHECK(parse_duration("30s") == duration(30s));
    CHECK(parse_duration("5m") == duration(5min));
    CHECK(parse_duration("1h") == duration(1h));
    CHECK(parse_duration("1h30m") == duration(90min));
    CHECK(parse_duration("2d") == duration(48h));
    CHECK(parse_duration("0s") == duration(0));
    CHECK(parse_duration("1d2h3m4s5ms") == duration(93'784'005));
    CHECK(parse_duration("90s") == duration(90s));

    for (std::string bad : {"", "30", "30 sec", "30sec", "-1s", "abc", "1.5h", "s", "30s5m", "1h1h", " 1s", "1s ",
                            "99999999999999999999s", "9223372036854775807d", "1w"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(parse_duration(bad), drover::config_error);
    }
    try {
        parse_duration("30 sec");
        FAIL("no error");
    } catch (const drover::config_error& e) {
        std::string m = e.what();
        CHECK(m.find("invalid duration \"30 sec\"") != std::string::npos);
        CHECK(m.find("\"1h30m\"") != std::string::npos);  // shows how to write one
    }

    CHECK(drover::format_duration(duration(0)) == "0s");
    CHECK(drover::format_duration(duration(250)) == "250ms");
    CHECK(drover::format_duration(duration(90s)) == "1m30s");
    CHECK(drover::format_duration(duration(1500)) == "1s500ms");
    CHECK(drover::format_duration(duration(48h)) == "2d");
    for (long ms : {1L, 999L, 1000L, 61'000L, 3'600'000L, 93'784'005L, 86'400'000L * 400})
        CHECK(parse_duration(drover::format_duration(duration(ms))) == duration(ms));
}

TEST_CASE("job: load_job reads a file and keeps its path") {
    drover::test::temp_dir dir;
    drover::test::write_file(dir / "hello.toml", hello_example);
    auto j = drover::load_job(dir / "hello.toml");
    CHECK(j.source == dir / "hello.toml");
    CHECK(j.tasks.size() == 365);
}

TEST_CASE("job: examples/jobs/hello.toml is a quick 365-task demo writing JSON records") {
    auto j = drover::load_job(std::filesystem::path(DROVER_SOURCE_DIR) / "examples/jobs/hello.toml");
    CHECK(j.name == "hello");
    REQUIRE(j.executors.size() == 1);
    CHECK(j.executors[0].options_as<drover::local_executor_options>().slots == 0);
    REQUIRE(j.sink);
    CHECK(j.sink->options_as<drover::file_sink_options>().root == "out/hello");
    CHECK(j.sink->options_as<drover::file_sink_options>().partition == "date={date}");
    REQUIRE(j.tasks.size() == 365);
    CHECK(j.tasks.front().id == "day-2018-01-01");
    CHECK(j.tasks.back().id == "day-2018-12-31");
    const auto& t = j.tasks[100];
    CHECK(t.retries == 2);
    CHECK(t.timeout == drover::duration(30s));
    CHECK(t.backoff.initial == drover::duration(1s));

    auto r = drover::test::run_shell(shell_quote(t.command));
    CHECK(r.exit_code == 0);
    auto lines = drover::test::split_lines(r.output);
    REQUIRE(lines.size() >= 3);
    CHECK(lines.size() <= 5);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        auto v = boost::json::parse(lines[i]).as_object();
        CHECK(v.at("date").as_string() == t.params.at("date"));
        CHECK(v.at("seq").as_int64() == static_cast<std::int64_t>(i + 1));
    }
}
