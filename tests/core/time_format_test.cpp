// {name|FORMAT}: the one time formatter of templates and partitions (detail/time_format.*).
// Expected strings were computed when the tests were written with GNU date, e.g.
//   TZ=America/New_York date -d @1552201200 +%F/%T%z   ->  2019-03-10/03:00:00-0400
// (the command is cited next to each group).
#include <doctest/doctest.h>

#include "detail/time_format.hpp"

#include <drover/error.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cstdlib>
#include <ctime>

using drover::detail::bad_time_value;
using drover::detail::time_format;
using drover::detail::time_zone;

namespace {

std::string fmt(std::string_view spec, std::string_view value, const char* zone = "UTC") {
    return time_format::parse(spec).format(value, time_zone(zone));
}

std::string fmt_json(std::string_view spec, std::string_view json, const char* zone = "UTC") {
    return time_format::parse(spec).format(boost::json::parse(json), time_zone(zone));
}

std::string parse_error(std::string_view spec) {
    try {
        time_format::parse(spec);
    } catch (const drover::config_error& e) {
        return e.what();
    }
    return "(no error)";
}

std::string value_error(std::string_view spec, std::string_view value, const char* zone = "UTC") {
    try {
        return "(no error: " + fmt(spec, value, zone) + ")";
    } catch (const bad_time_value& e) {
        return e.what();
    }
}

}  // namespace

TEST_CASE("time format: epoch seconds in UTC, Asia/Seoul and America/New_York") {
    // TZ=UTC date -d @1546300800 +%Y-%m-%dT%H:%M:%S%z -> 2019-01-01T00:00:00+0000
    CHECK(fmt("%Y-%m-%dT%H:%M:%S%z", "1546300800") == "2019-01-01T00:00:00+0000");
    // TZ=Asia/Seoul date -d @1546300800 +%Y-%m-%d/%H%z -> 2019-01-01/09+0900
    CHECK(fmt("%Y-%m-%d/%H%z", "1546300800", "Asia/Seoul") == "2019-01-01/09+0900");
    // TZ=America/New_York date -d @1546300800 +%Y-%m-%d/%H%z -> 2018-12-31/19-0500
    CHECK(fmt("%Y-%m-%d/%H%z", "1546300800", "America/New_York") == "2018-12-31/19-0500");
    // TZ=Asia/Kolkata date -d @1546300800 +%F/%T%z -> 2019-01-01/05:30:00+0530
    CHECK(fmt("%F/%T%z", "1546300800", "Asia/Kolkata") == "2019-01-01/05:30:00+0530");
    // A JSON number and a string of digits read alike.
    CHECK(fmt_json("%F/%H", "1546300800", "Asia/Seoul") == "2019-01-01/09");
}

TEST_CASE("time format: DST gap and overlap in America/New_York, none in Asia/Seoul") {
    // TZ=America/New_York date -d @1552199400 +%F/%T%z -> 2019-03-10/01:30:00-0500
    CHECK(fmt("%F/%T%z", "1552199400", "America/New_York") == "2019-03-10/01:30:00-0500");
    // TZ=America/New_York date -d @1552201200 +%F/%T%z -> 2019-03-10/03:00:00-0400 (02:xx never happens)
    CHECK(fmt("%F/%T%z", "1552201200", "America/New_York") == "2019-03-10/03:00:00-0400");
    // The hour 01:00-02:00 of 2019-11-03 happens twice:
    // TZ=America/New_York date -d @1572759000 +%F/%T%z -> 2019-11-03/01:30:00-0400
    // TZ=America/New_York date -d @1572762600 +%F/%T%z -> 2019-11-03/01:30:00-0500
    CHECK(fmt("%F/%T%z", "1572759000", "America/New_York") == "2019-11-03/01:30:00-0400");
    CHECK(fmt("%F/%T%z", "1572762600", "America/New_York") == "2019-11-03/01:30:00-0500");
    // TZ=Asia/Seoul date -d @1552201200 +%F/%T%z -> 2019-03-10/16:00:00+0900
    // TZ=Asia/Seoul date -d @1572764400 +%F/%T%z -> 2019-11-03/16:00:00+0900
    CHECK(fmt("%F/%T%z", "1552201200", "Asia/Seoul") == "2019-03-10/16:00:00+0900");
    CHECK(fmt("%F/%T%z", "1572764400", "Asia/Seoul") == "2019-11-03/16:00:00+0900");
    // An hourly bucket over the gap: 01 then 03.
    CHECK(fmt("%H", "1552201199", "America/New_York") == "01");
    CHECK(fmt("%H", "1552201200", "America/New_York") == "03");
}

TEST_CASE("time format: epoch milliseconds, by magnitude or by the epoch_ms reader") {
    CHECK(fmt("%F %T", "1546300800123") == "2019-01-01 00:00:00");
    CHECK(fmt_json("%F/%H", "1546300800123", "Asia/Seoul") == "2019-01-01/09");
    // Below 1e11 a number is seconds: TZ=UTC date -d @99999999999 +%F -> 5138-11-16
    CHECK(fmt("%F", "99999999999") == "5138-11-16");
    // ... unless the format says milliseconds: TZ=UTC date -d @100000000 +%F -> 1973-03-03
    CHECK(fmt("epoch_ms:%F", "100000000000") == "1973-03-03");
    CHECK(fmt("epoch_ms:%F %T", "1546300800999") == "2019-01-01 00:00:00");
    CHECK(fmt("epoch_s:%F", "100000000") == "1973-03-03");
    // Negative milliseconds floor towards the past: -1 ms is 23:59:59 of 1969-12-31.
    CHECK(fmt("epoch_ms:%F/%T", "-1") == "1969-12-31/23:59:59");
    // Fractions floor too: TZ=UTC date -d @-1.5 +%F/%T -> 1969-12-31/23:59:58
    CHECK(fmt("%F/%T", "-1.5") == "1969-12-31/23:59:58");
    CHECK(fmt_json("%T", "1546300800.999") == "00:00:00");
    CHECK(fmt_json("%F", "1.5463008e9") == "2019-01-01");
}

TEST_CASE("time format: ISO 8601 with and without an offset") {
    // With an offset it is an instant: TZ=Asia/Seoul date -d 2019-06-01T12:00:00-04:00 +%F/%T%z
    //   -> 2019-06-02/01:00:00+0900
    CHECK(fmt("%F/%T%z", "2019-06-01T12:00:00-04:00", "Asia/Seoul") == "2019-06-02/01:00:00+0900");
    CHECK(fmt("%F/%T%z", "2019-06-01T12:00:00-0400", "Asia/Seoul") == "2019-06-02/01:00:00+0900");
    CHECK(fmt("%F/%T%z", "2019-06-01T12:00:00-04", "Asia/Seoul") == "2019-06-02/01:00:00+0900");
    CHECK(fmt("%F/%T", "2019-06-01T12:00:00Z", "Asia/Seoul") == "2019-06-01/21:00:00");
    CHECK(fmt("%F/%T", "2019-06-01 12:00:00.250Z", "Asia/Seoul") == "2019-06-01/21:00:00");
    CHECK(fmt("%s", "2019-01-01T00:00:00Z") == "1546300800");
    // Without one it is local time in the zone, shown as written.
    CHECK(fmt("%Y%m%d", "2019-01-01") == "20190101");
    CHECK(fmt("%Y%m%d", "2019-01-01", "Asia/Seoul") == "20190101");
    CHECK(fmt("%F/%H:%M", "2019-01-01T23:45", "America/New_York") == "2019-01-01/23:45");
    // Inside the New York gap it stays as written; its offset is the one after the jump.
    CHECK(fmt("%F/%T%z", "2019-03-10T02:30:00", "America/New_York") == "2019-03-10/02:30:00-0400");
    // In the overlap the earlier offset, as GNU date picks it:
    // TZ=America/New_York date -d 2019-11-03T01:30:00 +%s%z -> 1572759000-0400
    CHECK(fmt("%s%z", "2019-11-03T01:30:00", "America/New_York") == "1572759000-0400");
}

TEST_CASE("time format: every conversion") {
    // TZ=UTC date -d @1546300800 +%a/%A/%b/%B/%j/%u/%w/%U/%W/%V/%G/%g/%y/%C/%I/%p/%e/%R/%s
    //   -> Tue/Tuesday/Jan/January/001/2/2/00/00/01/2019/19/19/20/12/AM/ 1/00:00/1546300800
    CHECK(fmt("%a/%A/%b/%B/%j/%u/%w/%U/%W/%V/%G/%g/%y/%C/%I/%p/%e/%R/%s", "1546300800") ==
          "Tue/Tuesday/Jan/January/001/2/2/00/00/01/2019/19/19/20/12/AM/ 1/00:00/1546300800");
    // TZ=UTC date -d @1609459200 +%G-W%V-%u/%U/%W/%j -> 2020-W53-5/00/00/001
    CHECK(fmt("%G-W%V-%u/%U/%W/%j", "1609459200") == "2020-W53-5/00/00/001");
    // TZ=UTC date -d @1704067199 +%G-W%V-%u/%U/%W/%j/%I%p -> 2023-W52-7/53/52/365/11PM
    CHECK(fmt("%G-W%V-%u/%U/%W/%j/%I%p", "1704067199") == "2023-W52-7/53/52/365/11PM");
    CHECK(fmt("%h %%Y %d", "1546300800") == "Jan %Y 01");
    CHECK(fmt("day-%d!", "2019-01-31") == "day-31!");
}

TEST_CASE("time format: the edges of the range and beyond") {
    // TZ=UTC date -d @-62135596800 +%F/%T -> 0001-01-01/00:00:00
    CHECK(fmt("%F/%T", "-62135596800") == "0001-01-01/00:00:00");
    // TZ=UTC date -d @253402300799 +%F/%T -> 9999-12-31/23:59:59 (above 1e11: epoch_s: says seconds)
    CHECK(fmt("epoch_s:%F/%T", "253402300799") == "9999-12-31/23:59:59");
    CHECK(fmt("%F/%T", "253402300799") == "1978-01-11/21:31:40");  // read as milliseconds
    // TZ=America/New_York date -d @-2208988800 +%F/%T%z -> 1899-12-31/19:00:00-0500
    CHECK(fmt("%F/%T%z", "-2208988800", "America/New_York") == "1899-12-31/19:00:00-0500");
    CHECK(value_error("%F", "-62135596801") == "'-62135596801' is out of range (years 0001..9999)");
    CHECK(value_error("epoch_s:%F", "253402300800") == "'253402300800' is out of range (years 0001..9999)");
    CHECK(value_error("%F", "9223372036854775807") == "'9223372036854775807' is out of range (years 0001..9999)");
    CHECK(value_error("%F", "-9223372036854775808") == "'-9223372036854775808' is out of range (years 0001..9999)");
    CHECK(value_error("%F", "99999999999999999999999") == "'99999999999999999999999' is out of range (years 0001..9999)");
    CHECK(value_error("%F", "1e300") == "'1e300' is out of range (years 0001..9999)");
    CHECK(value_error("%F", "1e999") == "'1e999' is out of range (years 0001..9999)");
    CHECK_THROWS_AS(fmt_json("%F", "18446744073709551615"), bad_time_value);
    CHECK_THROWS_AS(fmt_json("%F", "-1e300"), bad_time_value);
    // 9999-12-31 in UTC is 10000-01-01 in Seoul: out of range, not a five-digit year.
    CHECK(value_error("epoch_s:%F", "253402300799", "Asia/Seoul") == "'253402300799' is out of range (years 0001..9999)");
    CHECK(value_error("%F", "0000-01-01") == "'0000-01-01' is out of range (years 0001..9999)");
}

TEST_CASE("time format: truncated and malformed ISO strings are bad values") {
    // All digits: epoch seconds, as documented, never a year. TZ=UTC date -d @2019 +%F -> 1970-01-01
    CHECK(fmt("%F", "2019") == "1970-01-01");
    for (const char* s : {"2019-01", "2019-1-01", "19-01-01", "2019-01-01T", "2019-01-01T10", "2019-01-01T10:0",
                          "2019-01-01T10:00:", "2019-01-01T10:00:0", "2019-01-01T10:00:00.", "2019-01-01T10:00+",
                          "2019-01-01T10:00+1", "2019-01-01T10:00+01:", "2019-01-01T10:00Zjunk", "2019-01-01x",
                          "2019-01-01T10:00:00 +01:00", "20190101", "", " ", "soon", "2019-01-01\n"}) {
        std::string shown = s;
        CAPTURE(shown);
        if (std::string_view(s) == "20190101") {
            // All digits: epoch seconds, as documented. TZ=UTC date -d @20190101 +%F -> 1970-08-22
            CHECK(fmt("%F", s) == "1970-08-22");
            continue;
        }
        CHECK_THROWS_AS(fmt("%F", s), bad_time_value);
    }
    CHECK(value_error("%F", "2019-13-01") == "'2019-13-01' has no such month");
    CHECK(value_error("%F", "2019-02-29") == "'2019-02-29' has no such day");
    CHECK(fmt("%F", "2020-02-29") == "2020-02-29");
    CHECK(value_error("%F", "2019-01-01T24:00") == "'2019-01-01T24:00' has no such time of day");
    CHECK(value_error("%F", "2019-01-01T10:60") == "'2019-01-01T10:60' has no such time of day");
    CHECK(value_error("%F", "2019-01-01T10:00+24:00") ==
          "'2019-01-01T10:00+24:00' has a bad UTC offset (want Z, +HH:MM, +HHMM or +HH)");
    CHECK(value_error("%F", "2019-01-01T10") ==
          "'2019-01-01T10' has an incomplete time (want HH:MM, HH:MM:SS or HH:MM:SS.fff)");
    // A control character is shown escaped, and a long value is cut in the message.
    CHECK(value_error("%F", "a\x01") == "'a\\x01' is not a time (epoch seconds, epoch milliseconds or ISO 8601 like "
                                        "2019-01-01T10:00:00Z)");
    CHECK(value_error("%F", std::string(500, '7') + "x").size() < 200);
}

TEST_CASE("time format: readers refuse values of the other kind") {
    CHECK(value_error("iso:%F", "1546300800") == "'1546300800' is a number, not an ISO 8601 time (the format says iso:)");
    CHECK(value_error("epoch_s:%F", "2019-01-01") ==
          "'2019-01-01' is not a number of seconds (the format says epoch_s:)");
    CHECK(value_error("epoch_ms:%F", "2019-01-01") ==
          "'2019-01-01' is not a number of milliseconds (the format says epoch_ms:)");
    CHECK(fmt("iso:%F", "2019-01-01T00:00:00Z") == "2019-01-01");
    CHECK_THROWS_AS(fmt_json("%F", "true"), bad_time_value);
    CHECK_THROWS_AS(fmt_json("%F", "[1]"), bad_time_value);
    CHECK_THROWS_AS(fmt_json("%F", "{}"), bad_time_value);
    CHECK_THROWS_AS(fmt_json("iso:%F", "1546300800"), bad_time_value);
}

TEST_CASE("time format: malformed format specs are config errors") {
    CHECK(parse_error("") == "empty format: write a strftime pattern such as %Y-%m-%d");
    CHECK(parse_error("epoch_ms:") == "empty format: write a strftime pattern such as %Y-%m-%d");
    CHECK(parse_error("%Y-%").find("ends with a lone '%'") != std::string::npos);
    CHECK(parse_error("%Q").starts_with("format '%Q': unknown conversion '%Q' (known: %Y %y"));
    CHECK(parse_error("%Z").find("zone abbreviations are not available; use %z") != std::string::npos);
    CHECK(parse_error("%-d").find("unknown conversion '%-'") != std::string::npos);
    CHECK(parse_error("% d").find("unknown conversion '% '") != std::string::npos);
    CHECK(parse_error("%c").find("unknown conversion '%c'") != std::string::npos);
    CHECK(parse_error("%n").find("unknown conversion '%n'") != std::string::npos);
    CHECK(parse_error("a\tb") == "control characters are not allowed in a format");
    CHECK(parse_error("epoch_x:%Y") == "(no error)");  // not a reader: literal text
    CHECK(fmt("epoch_x:%Y", "0") == "epoch_x:1970");
    CHECK(time_format::parse("epoch_ms:%Y").input() == time_format::reader::epoch_ms);
    CHECK(time_format::parse("%H:%M").input() == time_format::reader::detect);
}

TEST_CASE("time format: the process's zone and unknown zone names") {
    // "" is the machine's local zone (TZ, else /etc/localtime), as for cron schedules.
    const char* old = std::getenv("TZ");
    std::string saved = old ? old : "";
    ::setenv("TZ", "Asia/Seoul", 1);
    ::tzset();
    CHECK(fmt("%F/%H%z", "1546300800", "") == "2019-01-01/09+0900");
    CHECK(fmt("%F/%T%z", "2019-06-01T12:00:00", "") == "2019-06-01/12:00:00+0900");
    if (old) ::setenv("TZ", saved.c_str(), 1);
    else ::unsetenv("TZ");
    ::tzset();

    CHECK_THROWS_AS(time_zone("Mars/Olympus_Mons"), drover::config_error);
    CHECK_THROWS_AS(time_zone("../../etc/passwd"), drover::config_error);
    CHECK(fmt("%F", "2019-01-01T10:00:00Z", "Etc/UTC") == "2019-01-01");
}
