// Time formats in job files (issue 17 section 2): the sinks' `timezone` and `bad_values`
// keys, `{name|FORMAT}` in partitions and in task templates, and mistakes in them reported
// at load time as file:line:column: key.
#include <doctest/doctest.h>

#include <drover/error.hpp>
#include <drover/job_file.hpp>
#include <drover/sinks/file.hpp>
#include <drover/sinks/s3.hpp>

#include <string>

namespace {

const std::string task_a = "[[tasks]]\nid = \"a\"\ncommand = [\"x\"]\nparams = { date = \"2019-01-01\" }\n";

std::string error_of(std::string_view text) {
    try {
        (void)drover::parse_job(text, "tf.toml");
    } catch (const drover::config_error& e) {
        return e.what();
    }
    return "(no error)";
}

std::string file_sink(const std::string& body) {
    return "name = \"n\"\n[sink]\nkind = \"file\"\npath = \"out\"\n" + body;
}

}  // namespace

#define CHECK_HAS(msg, part) CHECK_MESSAGE((msg).find(part) != std::string::npos, "message: " << (msg))

TEST_CASE("job partition: timezone and bad_values are read for the file and s3 sinks") {
    auto j = drover::parse_job(file_sink("partition = \"dt={record.ts|%Y-%m-%d}/hour={record.ts|%H}\"\n"
                                         "timezone = \"Asia/Seoul\"\nbad_values = \"bad_records\"\n") +
                                   task_a,
                               "tf.toml");
    const auto& f = j.sink->options_as<drover::file_sink_options>();
    CHECK(f.partition == "dt={record.ts|%Y-%m-%d}/hour={record.ts|%H}");
    CHECK(f.timezone == "Asia/Seoul");
    CHECK(f.bad_values == drover::bad_value_policy::bad_records);

    auto d = drover::parse_job(file_sink("") + task_a, "tf.toml");
    CHECK(d.sink->options_as<drover::file_sink_options>().timezone == "UTC");
    CHECK(d.sink->options_as<drover::file_sink_options>().bad_values == drover::bad_value_policy::missing_partition);

    auto s = drover::parse_job("name = \"n\"\n[sink]\nkind = \"s3\"\npath = \"s3://bucket/p\"\n"
                               "partition = \"day={date|%Y%m%d}\"\ntimezone = \"America/New_York\"\n"
                               "bad_values = \"missing_partition\"\n" +
                                   task_a,
                               "tf.toml");
    const auto& o = s.sink->options_as<drover::s3_sink_options>();
    CHECK(o.partition == "day={date|%Y%m%d}");
    CHECK(o.timezone == "America/New_York");
    CHECK(o.bad_values == drover::bad_value_policy::missing_partition);
}

TEST_CASE("job partition: a bad format, zone or policy is a load-time error naming the key") {
    auto e = error_of(file_sink("partition = \"dt={record.ts|%Y-%Q}\"\n") + task_a);
    CHECK_HAS(e, "tf.toml:5:13: sink.partition:");
    CHECK_HAS(e, "{record.ts|%Y-%Q}: format '%Y-%Q': unknown conversion '%Q'");
    e = error_of(file_sink("partition = \"d={date|}\"\n") + task_a);
    CHECK_HAS(e, "tf.toml:5:13: sink.partition:");
    CHECK_HAS(e, "empty format");
    e = error_of(file_sink("partition = \"d={date|%Y%}\"\n") + task_a);
    CHECK_HAS(e, "ends with a lone '%'");
    e = error_of(file_sink("timezone = \"Mars/Olympus_Mons\"\n") + task_a);
    CHECK_HAS(e, "tf.toml:5:12: sink.timezone: unknown time zone 'Mars/Olympus_Mons'");
    e = error_of(file_sink("timezone = \"../../etc/passwd\"\n") + task_a);
    CHECK_HAS(e, "tf.toml:5:12: sink.timezone: unknown time zone");
    e = error_of(file_sink("timezone = 9\n") + task_a);
    CHECK_HAS(e, "tf.toml:5:12: sink.timezone:");
    e = error_of(file_sink("bad_values = \"drop\"\n") + task_a);
    CHECK_HAS(e, "tf.toml:5:14: sink.bad_values: must be \"missing_partition\"");
    e = error_of("name = \"n\"\n[sink]\nkind = \"s3\"\npath = \"s3://bucket\"\ntimezone = \"Nowhere\"\n" + task_a);
    CHECK_HAS(e, "tf.toml:5:12: sink.timezone: unknown time zone 'Nowhere'");
    // A format does not hide a missing param.
    e = error_of(file_sink("partition = \"d={day|%Y}\"\n") + task_a);
    CHECK_HAS(e, "no param 'day'");
}

TEST_CASE("job partition: {param|FORMAT} in commands, ids and env, like the crawler's -a date=20190101") {
    auto j = drover::parse_job(
        "name = \"n\"\n[[tasks]]\nid = \"day-{date|%Y%m%d}\"\n"
        "command = [\"scrapy\", \"crawl\", \"news\", \"-a\", \"date={date|%Y%m%d}\"]\n"
        "env = { DAY = \"{date|%d}\", TS = \"{ts|%F %H:%M}\" }\n"
        "params = { date = \"2019-01-01\", ts = \"1546300800\" }\n",
        "tf.toml");
    REQUIRE(j.tasks.size() == 1);
    CHECK(j.tasks[0].id == "day-20190101");
    CHECK(j.tasks[0].command.back() == "date=20190101");
    CHECK(j.tasks[0].env.at("DAY") == "01");
    CHECK(j.tasks[0].env.at("TS") == "2019-01-01 00:00");  // outside sinks, templates are in UTC

    // foreach dates expand to ISO dates, which format too.
    auto f = drover::parse_job("name = \"n\"\n[[tasks]]\nid = \"d-{day|%Y%m%d}\"\ncommand = [\"x\", \"{day|%d.%m.%Y}\"]\n"
                               "foreach = { day = { from = 2018-12-31, to = 2019-01-01 } }\n",
                               "tf.toml");
    REQUIRE(f.tasks.size() == 2);
    CHECK(f.tasks[0].id == "d-20181231");
    CHECK(f.tasks[1].command[1] == "01.01.2019");
}

TEST_CASE("job partition: a task template whose value is not a time names file, line and key") {
    auto e = error_of("name = \"n\"\n[[tasks]]\nid = \"a\"\ncommand = [\"x\", \"{date|%Y%m%d}\"]\n"
                      "params = { date = \"soon\" }\n");
    CHECK_HAS(e, "tf.toml:4:17: tasks[0].command[1]: {date|%Y%m%d}: 'soon' is not a time");
    e = error_of("name = \"n\"\n[[tasks]]\nid = \"a\"\ncommand = [\"x\", \"{date|%Q}\"]\n"
                 "params = { date = \"2019-01-01\" }\n");
    CHECK_HAS(e, "tf.toml:4:17: tasks[0].command[1]: {date|%Q}: format '%Q': unknown conversion '%Q'");
    e = error_of("name = \"n\"\n[[tasks]]\nid = \"a-{date|%Y-%m-%}\"\ncommand = [\"x\"]\n"
                 "params = { date = \"2019-01-01\" }\n");
    CHECK_HAS(e, "tf.toml:3:6: tasks[0].id:");
    CHECK_HAS(e, "lone '%'");
}
