// schedule, timezone, overlap, order and [on_failure] in job files.
#include <doctest/doctest.h>

#include <drover/error.hpp>
#include <drover/job_file.hpp>

namespace {

const std::string task = "[[tasks]]\nid = \"a\"\ncommand = [\"x\"]\n";

std::string error_of(const std::string& head) {
    try {
        (void)drover::parse_job("name = \"w\"\n" + head + task, "w.toml");
    } catch (const drover::config_error& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("job workflow: schedule, timezone, overlap and on_failure are read") {
    auto j = drover::parse_job("name = \"w\"\nschedule = \"@hourly\"\ntimezone = \"Europe/Berlin\"\noverlap = \"queue\"\n"
                               "[on_failure]\ncommand = [\"notify\", \"--x\"]\nwebhook = \"http://127.0.0.1:9/h\"\n" +
                                   task,
                               "w.toml");
    REQUIRE(j.schedule);
    CHECK(j.schedule->cron == "@hourly");
    CHECK(j.schedule->timezone == "Europe/Berlin");
    CHECK(j.schedule->overlap == "queue");
    REQUIRE(j.on_failure);
    CHECK(j.on_failure->command == std::vector<std::string>{"notify", "--x"});
    CHECK(j.on_failure->webhook == "http://127.0.0.1:9/h");
    CHECK(j.on_failure->timeout == std::chrono::seconds(10));
    auto t = drover::parse_job("name = \"w\"\n[on_failure]\ncommand = [\"x\"]\ntimeout = \"2s\"\n" + task, "w.toml");
    CHECK(t.on_failure->timeout == std::chrono::seconds(2));
    auto plain = drover::parse_job("name = \"w\"\n" + task, "w.toml");
    CHECK_FALSE(plain.schedule);
    CHECK_FALSE(plain.on_failure);
    CHECK(plain.options.order == drover::task_order::history);
    auto fifo = drover::parse_job("name = \"w\"\norder = \"submission\"\n" + task, "w.toml");
    CHECK(fifo.options.order == drover::task_order::submission);
    CHECK(drover::parse_job("name = \"w\"\norder = \"history\"\n" + task, "w.toml").options.order ==
          drover::task_order::history);
}

TEST_CASE("job workflow: mistakes are located errors") {
    CHECK(error_of("schedule = \"61 * * * *\"\n") ==
          "w.toml:2:12: schedule: cron expression '61 * * * *': field 1 (minute) '61': 61 is out of range 0-59");
    CHECK(error_of("schedule = 5\n") == "w.toml:2:12: schedule: expected a string, got integer");
    CHECK(error_of("schedule = \"@daily\"\ntimezone = \"Nowhere/Town\"\n")
              .starts_with("w.toml:3:12: timezone: unknown time zone 'Nowhere/Town'"));
    CHECK(error_of("schedule = \"@daily\"\noverlap = \"both\"\n") ==
          "w.toml:3:11: overlap: must be \"skip\" or \"queue\", got \"both\"");
    CHECK(error_of("order = \"fifo\"\n") == "w.toml:2:9: order: must be \"history\" or \"submission\", got \"fifo\"");
    CHECK(error_of("order = 1\n") == "w.toml:2:9: order: expected a string, got integer");
    CHECK(error_of("order = \"\"\n") == "w.toml:2:9: order: must be \"history\" or \"submission\", got \"\"");
    CHECK(error_of("overlap = \"skip\"\n").starts_with("w.toml:2:11: overlap: only means something with a schedule"));
    CHECK(error_of("[on_failure]\n").starts_with("w.toml:2:1: on_failure: give a command, a webhook or both"));
    CHECK(error_of("[on_failure]\ncommand = []\n").starts_with("w.toml:3:11: on_failure.command: must not be empty"));
    CHECK(error_of("[on_failure]\nwebhook = \"ftp://x\"\n") ==
          "w.toml:3:11: on_failure.webhook: webhook ftp://x: must be an http:// or https:// URL");
    CHECK(error_of("[on_failure]\ncommand = [\"x\"]\ntimeout = \"0s\"\n") ==
          "w.toml:4:11: on_failure.timeout: must be more than 0s");
    CHECK(error_of("[on_failure]\nwebhok = \"http://x\"\n").find("on_failure.webhok: unknown key") != std::string::npos);
}

TEST_CASE("job workflow: [speculation] and speculate are read, mistakes are located errors") {
    auto off = drover::parse_job("name = \"w\"\n" + task, "w.toml");
    CHECK_FALSE(off.options.speculation.enabled);
    CHECK(off.tasks.at(0).speculate);
    auto on = drover::parse_job("name = \"w\"\n[speculation]\n" + task, "w.toml");
    CHECK(on.options.speculation.enabled);
    CHECK(on.options.speculation.multiplier == 1.5);
    auto set = drover::parse_job("name = \"w\"\n[speculation]\nmultiplier = 3\nquantile = 0.5\nmin_runtime = \"250ms\"\n"
                                 "before_queued = true\n"
                                 "[defaults]\nspeculate = false\n" +
                                     task + "[[tasks]]\nid = \"b\"\ncommand = [\"y\"]\nspeculate = true\n",
                                 "w.toml");
    CHECK(set.options.speculation.multiplier == 3.0);
    CHECK(set.options.speculation.quantile == 0.5);
    CHECK(set.options.speculation.min_runtime == std::chrono::milliseconds(250));
    CHECK(set.options.speculation.before_queued);
    CHECK_FALSE(on.options.speculation.before_queued);
    CHECK_FALSE(set.tasks.at(0).speculate);
    CHECK(set.tasks.at(1).speculate);
    CHECK_FALSE(drover::parse_job("name = \"w\"\n[speculation]\nenabled = false\n" + task, "w.toml").options.speculation.enabled);

    CHECK(error_of("[speculation]\nmultiplier = 0\n") == "w.toml:3:14: speculation.multiplier: must be a number more than 0, got 0");
    CHECK(error_of("[speculation]\nquantile = 1.5\n") == "w.toml:3:12: speculation.quantile: must be more than 0 and at most 1, got 1.5");
    CHECK(error_of("[speculation]\nquantile = \"high\"\n").starts_with("w.toml:3:12: speculation.quantile: expected a number"));
    CHECK(error_of("[speculation]\nmin_runtime = \"soon\"\n").starts_with("w.toml:3:15: speculation.min_runtime:"));
    CHECK(error_of("[speculation]\nmultiplyer = 2\n").starts_with("w.toml:3:1: speculation.multiplyer: unknown key"));
    CHECK(error_of("speculation = true\n").starts_with("w.toml:2:15: speculation: expected a table"));
    CHECK(error_of("[defaults]\nspeculate = \"no\"\n").starts_with("w.toml:3:13: defaults.speculate: expected a boolean"));
}

TEST_CASE("job workflow: deadline is read, mistakes are located errors") {
    auto j = drover::parse_job("name = \"w\"\ndeadline = \"1h30m\"\n" + task, "w.toml");
    REQUIRE(j.options.deadline);
    CHECK(*j.options.deadline == std::chrono::minutes(90));
    CHECK_FALSE(drover::parse_job("name = \"w\"\n" + task, "w.toml").options.deadline);
    CHECK(error_of("deadline = \"0s\"\n") == "w.toml:2:12: deadline: must be more than 0 (leave it out for no deadline)");
    CHECK(error_of("deadline = \"soon\"\n").find("w.toml:2:12: deadline: ") == 0);
    CHECK(error_of("deadline = 5\n").find("w.toml:2:12: deadline: ") == 0);
    CHECK(drover::to_json(j).find("\"deadline\":\"1h30m\"") != std::string::npos);
}
