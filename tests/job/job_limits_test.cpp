// Job files at the edges (issue 18): durations past what a timer can hold, "no timeout",
// 64-bit ranges, numbers as written, and input shaped to exhaust the TOML parser's stack.

#include <doctest/doctest.h>

#include <drover/error.hpp>
#include <drover/job_file.hpp>

#include "support/support.hpp"

#include <cstdint>
#include <limits>

using namespace std::chrono_literals;

namespace {

const std::string task_a = "[[tasks]]\nid = \"a\"\ncommand = [\"x\"]\n";

std::string error_of(std::string_view text) {
    try {
        (void)drover::parse_job(text, "bad.toml");
    } catch (const drover::config_error& e) {
        return e.what();
    }
    return "(no error)";
}

drover::task_spec only_task(const std::string& text) {
    auto j = drover::parse_job(text, "ok.toml");
    REQUIRE(j.tasks.size() == 1);
    return j.tasks[0];
}

}  // namespace

#define CHECK_HAS(msg, part) CHECK_MESSAGE((msg).find(part) != std::string::npos, "message: " << (msg))

TEST_CASE("job limits: durations too large for a timer are refused, naming the key") {
    auto with = [](std::string key, std::string v) {
        return error_of("name = \"t\"\n[[tasks]]\nid = \"a\"\ncommand = [\"x\"]\n" + key + " = " + v + "\n");
    };
    auto m = with("timeout", "\"106752d\"");
    CHECK_HAS(m, "bad.toml:5:11: tasks[0].timeout: invalid duration \"106752d\": too large");
    m = with("backoff", "\"106752d\"");
    CHECK_HAS(m, "bad.toml:5:11: tasks[0].backoff: invalid duration \"106752d\": too large");
    m = with("backoff_max", "\"2562047788d\"");
    CHECK_HAS(m, "tasks[0].backoff_max: invalid duration \"2562047788d\": too large");
    m = error_of("name = \"t\"\n[[executors]]\nkind = \"local\"\nkill_grace = \"40000000h\"\n" + task_a);
    CHECK_HAS(m, "bad.toml:4:14: executors[0].kill_grace: invalid duration \"40000000h\": too large");
    // The largest accepted value is 100 years.
    CHECK(drover::parse_duration("36500d") == std::chrono::hours(24 * 36500));
    CHECK_THROWS_AS(drover::parse_duration("36500d1ms"), drover::config_error);
}

TEST_CASE("job limits: timeout \"none\", 0 and \"0s\" mean no timeout") {
    auto base = std::string("name = \"t\"\n[defaults]\ntimeout = \"30s\"\n[[tasks]]\nid = \"a\"\ncommand = [\"x\"]\n");
    CHECK(only_task(base).timeout == drover::duration(30s));
    for (std::string v : {"\"none\"", "0", "\"0s\"", "\"0ms\""}) {
        CAPTURE(v);
        CHECK_FALSE(only_task(base + "timeout = " + v + "\n").timeout.has_value());
    }
    CHECK_HAS(error_of(base + "timeout = 5\n"), "tasks[0].timeout: expected a duration string with a unit");
}

TEST_CASE("job limits: a full 64-bit foreach range is too many tasks, not zero") {
    auto with_foreach = [](std::string v) {
        return error_of("name = \"t\"\n[[tasks]]\nid = \"d{d}\"\ncommand = [\"x\"]\nforeach.d = " + v + "\n");
    };
    auto m = with_foreach("{ from = -9223372036854775808, to = 9223372036854775807 }");
    CHECK_HAS(m, "bad.toml:5:13: tasks[0].foreach.d: foreach expands to more than 10000000 tasks");
    m = with_foreach("{ from = 0, to = 9223372036854775807, step = 9223372036854775807 }");
    CHECK_HAS(m, "(no error)");  // two tasks: 0 and the maximum
    auto j = drover::parse_job("name = \"t\"\n[[tasks]]\nid = \"d{d}\"\ncommand = [\"x\"]\n"
                               "foreach.d = { from = -9223372036854775808, to = -9223372036854775806 }\n",
                               "ok.toml");
    REQUIRE(j.tasks.size() == 3);
    CHECK(j.tasks[0].params.at("d") == "-9223372036854775808");
    CHECK(j.tasks[2].params.at("d") == "-9223372036854775806");
}

TEST_CASE("job limits: foreach and params numbers are text as written") {
    auto j = drover::parse_job("name = \"t\"\n[[tasks]]\nid = \"t{i}\"\ncommand = [\"x\", \"{n}\", \"{p}\"]\n"
                               "params = { p = 1.50 }\n"
                               "foreach.i = [1, 2, 3, 4, 5, 6, 7, 8]\n"
                               "foreach.n = [1.0]\n",
                               "ok.toml");
    REQUIRE(j.tasks.size() == 8);
    CHECK(j.tasks[0].params.at("n") == "1.0");
    CHECK(j.tasks[0].params.at("p") == "1.50");
    CHECK(j.tasks[0].command[1] == "1.0");

    auto k = drover::parse_job("name = \"t\"\n[[tasks]]\nid = \"t{i}\"\ncommand = [\"x\"]\n"
                               "foreach.i = [0x10, 1e3, 1_000, -0.5, true, 0o17, 6.02E23, 2]\n",
                               "ok.toml");
    std::vector<std::string> seen;
    for (auto& t : k.tasks) seen.push_back(t.params.at("i"));
    CHECK(seen == std::vector<std::string>{"0x10", "1e3", "1_000", "-0.5", "true", "0o17", "6.02E23", "2"});
    auto plus = only_task("name = \"t\"\n[[tasks]]\nid = \"a\"\ncommand = [\"x\"]\nparams = { p = +5, q = -inf }\n");
    CHECK(plus.params.at("p") == "+5");
    CHECK(plus.params.at("q") == "-inf");
    // After a multi-byte character on the same line, columns still find the number.
    auto u = only_task("name = \"t\"\n[[tasks]]\nid = \"a\"\ncommand = [\"x\"]\n"
                       "params = { a = \"äöü→\", b = 1.250, c = \"€\", d = 0xff }\n");
    CHECK(u.params.at("a") == "äöü→");
    CHECK(u.params.at("b") == "1.250");
    CHECK(u.params.at("d") == "0xff");
}

TEST_CASE("job limits: input that would exhaust the TOML parser's stack is refused first") {
    SUBCASE("a dotted key with 50,000 parts") {
        std::string key = "zz";
        for (int i = 0; i < 50'000; ++i) key += ".a";
        auto m = error_of("name = \"t\"\n" + key + " = 1\n" + task_a);
        CHECK_HAS(m, "bad.toml:2:");
        CHECK_HAS(m, "dotted");
    }
    SUBCASE("a table header with 50,000 parts") {
        std::string key = "[[a";
        for (int i = 0; i < 50'000; ++i) key += ". \"q.q\" ";
        auto m = error_of("name = \"t\"\n" + task_a + key + "]]\n");
        CHECK_HAS(m, "bad.toml:5:");
        CHECK_HAS(m, "dotted");
    }
    SUBCASE("dots inside strings and comments do not count") {
        std::string dots(100'000, '.');
        auto j = drover::parse_job("name = \"t\" # " + dots + "\n[[tasks]]\nid = \"a\"\ncommand = [\"x\", \"" + dots +
                                       "\", '" + dots + "', \"\"\"\n" + dots + "\n\"\"\"]\n",
                                   "ok.toml");
        CHECK(j.tasks[0].command[1] == dots);
    }
    SUBCASE("a line longer than 1 MiB") {
        std::string big(1u << 20, 'x');
        auto m = error_of("name = \"t\"\n" + task_a + "params = { p = \"" + big + "\" }\n");
        CHECK_HAS(m, "bad.toml:5:");
        CHECK_HAS(m, "line is longer than");
    }
    SUBCASE("deeply nested inline tables and arrays") {
        std::string tables = "name = \"t\"\nx = ";
        for (int i = 0; i < 5000; ++i) tables += "{a=";
        CHECK_HAS(error_of(tables), "bad.toml:2:");
        CHECK_HAS(error_of("name = \"t\"\nx = " + std::string(100'000, '[')), "bad.toml:2:");
    }
}

TEST_CASE("job limits: [limits] is read, and its mistakes are located errors") {
    auto j = drover::parse_job("name = \"t\"\n[limits]\nstderr_log_bytes = \"1MiB\"\nbad_record_bytes = 0\n"
                               "max_bad_records = 7\n" + task_a,
                               "ok.toml");
    CHECK(j.options.limits.stderr_log_bytes == 1u << 20);
    CHECK(j.options.limits.bad_record_bytes == 0);
    CHECK(j.options.limits.max_bad_records == 7);
    auto d = drover::parse_job("name = \"t\"\n" + task_a, "ok.toml");
    CHECK(d.options.limits.stderr_log_bytes == 8u << 20);
    CHECK(d.options.limits.bad_record_bytes == 16u << 20);
    CHECK(d.options.limits.max_bad_records == 0);

    CHECK_HAS(error_of("name = \"t\"\n[limits]\nstderr_log_byte = 1\n" + task_a),
              "bad.toml:3:1: limits.stderr_log_byte: unknown key 'stderr_log_byte' (did you mean 'stderr_log_bytes'?)");
    CHECK_HAS(error_of("name = \"t\"\n[limits]\nmax_bad_records = -1\n" + task_a),
              "bad.toml:3:19: limits.max_bad_records: must be at least 0, got -1");
    CHECK_HAS(error_of("name = \"t\"\n[limits]\nbad_record_bytes = \"lots\"\n" + task_a),
              "bad.toml:3:20: limits.bad_record_bytes: invalid size \"lots\"");
    CHECK_HAS(error_of("name = \"t\"\n[limits]\nstderr_log_bytes = \"99999999999TiB\"\n" + task_a),
              "limits.stderr_log_bytes: size \"99999999999TiB\" is too large");
    CHECK_HAS(error_of("name = \"t\"\nlimits = 5\n" + task_a), "bad.toml:2:10: limits: expected a table, got integer");
}
