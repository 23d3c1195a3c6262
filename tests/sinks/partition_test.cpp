// Partition values from record fields (issue 18, defect 15): numbers as plain decimals,
// never in exponent form like 1.25E1.
#include <doctest/doctest.h>

#include "sinks/partition.hpp"

#include <drover/error.hpp>

#include <boost/json.hpp>

#include <map>

using drover::detail::partition_template;

namespace {

std::string resolve(std::string_view json) {
    return partition_template("x={record.x}").resolve(boost::json::parse(json).as_object());
}

}  // namespace

TEST_CASE("partition: record numbers are written as plain decimals") {
    CHECK(resolve(R"({"x": 12.5})") == "x=12.5");
    CHECK(resolve(R"({"x": 1.25e1})") == "x=12.5");
    CHECK(resolve(R"({"x": 0.1})") == "x=0.1");
    CHECK(resolve(R"({"x": -3.75})") == "x=-3.75");
    CHECK(resolve(R"({"x": 42})") == "x=42");
    CHECK(resolve(R"({"x": -7})") == "x=-7");
    CHECK(resolve(R"({"x": 18446744073709551615})") == "x=18446744073709551615");
    CHECK(resolve(R"({"x": 2018.0})") == "x=2018");
    CHECK(resolve(R"({"x": true})") == "x=true");
    CHECK(resolve(R"({"x": "a/b"})") == "x=a%2Fb");
    CHECK(resolve(R"({"x": null})") == "x=__missing__");
    CHECK(resolve(R"({"y": 1})") == "x=__missing__");
    // Very large and very small values keep an exponent, as their shortest form.
    CHECK(resolve(R"({"x": 1e300})") == "x=1e%2B300");
    CHECK(resolve(R"({"x": [1.5, 2]})") == "x=%5B1.5%2C2%5D");
}

// Time-based partitions (issue 17 section 2). Expected hours from GNU date, e.g.
//   TZ=Asia/Seoul date -d @1546300800 +%Y-%m-%d/%H -> 2019-01-01/09
namespace {

using drover::bad_value_policy;
using drover::detail::time_zone;

std::string resolve_in(std::string_view tpl, std::string_view json, const char* zone = "UTC",
                       bad_value_policy policy = bad_value_policy::missing_partition,
                       const std::map<std::string, std::string>& params = {}) {
    return partition_template(tpl, time_zone(zone), policy).bind(params).resolve(boost::json::parse(json).as_object());
}

std::string rejected(std::string_view tpl, std::string_view json, const std::map<std::string, std::string>& params = {}) {
    try {
        return "(published to " + resolve_in(tpl, json, "UTC", bad_value_policy::bad_records, params) + ")";
    } catch (const drover::record_rejected& e) {
        return e.what();
    }
}

std::string template_error(std::string_view tpl) {
    try {
        partition_template t(tpl);
    } catch (const drover::config_error& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("partition: hourly buckets from the record's own timestamp, in the sink's zone") {
    const char* hourly = "dt={record.ts|%Y-%m-%d}/hour={record.ts|%H}";
    CHECK(resolve_in(hourly, R"({"ts": 1546300800})") == "dt=2019-01-01/hour=00");
    CHECK(resolve_in(hourly, R"({"ts": 1546300800})", "Asia/Seoul") == "dt=2019-01-01/hour=09");
    // TZ=America/New_York date -d @1546300800 +%Y-%m-%d/%H -> 2018-12-31/19
    CHECK(resolve_in(hourly, R"({"ts": 1546300800})", "America/New_York") == "dt=2018-12-31/hour=19");
    CHECK(resolve_in(hourly, R"({"ts": 1546300800123})", "Asia/Seoul") == "dt=2019-01-01/hour=09");
    CHECK(resolve_in(hourly, R"({"ts": "2019-01-01T23:30:00-05:00"})", "Asia/Seoul") == "dt=2019-01-02/hour=13");
    CHECK(resolve_in(hourly, R"({"ts": "2019-01-01T23:30:00"})", "Asia/Seoul") == "dt=2019-01-01/hour=23");
    CHECK(resolve_in("d={record.ts|epoch_ms:%Y%m%d}", R"({"ts": 100000000000})") == "d=19730303");
    // A format with '/' or ':' still gives one component: the value is sanitised.
    CHECK(resolve_in("t={record.ts|%Y/%H:%M}", R"({"ts": 1546300800})") == "t=2019%2F00%3A00");
}

TEST_CASE("partition: a param formatted as a date, like the crawler's date=20190101") {
    std::map<std::string, std::string> p{{"date", "2019-01-01"}};
    CHECK(partition_template("day={date|%Y%m%d}").bind(p).resolve() == "day=20190101");
    CHECK(partition_template("y={date|%Y}/m={date|%m}").bind(p).resolve() == "y=2019/m=01");
}

TEST_CASE("partition: bad values go to __missing__ by default") {
    const char* tpl = "dt={record.ts|%Y-%m-%d}";
    for (const char* rec : {R"({})", R"({"ts": null})", R"({"ts": "yesterday"})", R"({"ts": "2019-01-01T1"})",
                            R"({"ts": "2019-02-30"})", R"({"ts": 1e300})", R"({"ts": -99999999999999})",
                            R"({"ts": 18446744073709551615})", R"({"ts": true})", R"({"ts": [1]})", R"({"ts": {}})"}) {
        CAPTURE(rec);
        CHECK(resolve_in(tpl, rec) == "dt=__missing__");
    }
    std::map<std::string, std::string> p{{"date", "someday"}};
    CHECK(partition_template("day={date|%Y%m%d}").bind(p).resolve() == "day=__missing__");
}

TEST_CASE("partition: with bad_records a bad value refuses the record, naming field and reason") {
    const char* tpl = "dt={record.ts|%Y-%m-%d}/lang={record.lang}";
    CHECK(rejected(tpl, R"({"ts": 1546300800, "lang": "en"})") == "(published to dt=2019-01-01/lang=en)");
    CHECK(rejected(tpl, R"({"lang": "en"})") == "partition {record.ts|%Y-%m-%d}: field 'ts' is missing");
    CHECK(rejected(tpl, R"({"ts": null, "lang": "en"})") == "partition {record.ts|%Y-%m-%d}: field 'ts' is null");
    CHECK(rejected(tpl, R"({"ts": 1546300800})") == "partition {record.lang}: field 'lang' is missing");
    CHECK(rejected(tpl, R"({"ts": "2019-13-01", "lang": "en"})") ==
          "partition {record.ts|%Y-%m-%d}: field 'ts': '2019-13-01' has no such month");
    CHECK(rejected(tpl, R"({"ts": 1e300, "lang": "en"})") ==
          "partition {record.ts|%Y-%m-%d}: field 'ts': '1e+300' is out of range (years 0001..9999)");
    // A param that is not a time refuses every record of the task.
    std::map<std::string, std::string> p{{"date", "someday"}};
    CHECK(rejected("day={date|%Y%m%d}", R"({"ts": 1})", p) ==
          "partition {date|%Y%m%d}: param 'date': 'someday' is not a time (epoch seconds, epoch milliseconds or "
          "ISO 8601 like 2019-01-01T10:00:00Z)");
    auto bound = partition_template("day={date|%Y%m%d}", time_zone(), bad_value_policy::bad_records).bind(p);
    CHECK(bound.uses_record());  // so the stager asks per record, and refuses each one
}

TEST_CASE("partition: a bad format is refused when the template is parsed") {
    CHECK(template_error("dt={record.ts|%Y-%Q}") ==
          "partition template \"dt={record.ts|%Y-%Q}\": {record.ts|%Y-%Q}: format '%Y-%Q': unknown conversion '%Q' "
          "(known: %Y %y %C %G %g %m %d %e %j %H %I %M %S %p %a %A %b %h %B %u %w %U %W %V %F %T %R %s %z %%)");
    CHECK(template_error("d={date|}").find("{date|}: empty format") != std::string::npos);
    CHECK(template_error("d={date|%}").find("ends with a lone '%'") != std::string::npos);
    CHECK(template_error("d={date|epoch_ms:}").find("empty format") != std::string::npos);
    CHECK(template_error("d={record.|%Y}").find("{record.} needs a field name") != std::string::npos);
    CHECK(template_error("dt={record.ts|%Y-%m-%d}/h={record.ts|%H}") == "(no error)");
}
