// Cron expressions against a table of next-fire times: steps, lists, names, month ends,
// leap days, the Vixie day-of-month/day-of-week rule, and DST in TZ database zones.
#include <doctest/doctest.h>

#include <drover/error.hpp>

#include "cron/cron.hpp"

#include <cstdio>

using namespace drover::detail;
namespace chr = std::chrono;

namespace {

chr::sys_seconds at(const char* iso) {
    int y, mo, d, h, mi, s;
    REQUIRE(std::sscanf(iso, "%d-%d-%dT%d:%d:%dZ", &y, &mo, &d, &h, &mi, &s) == 6);
    return chr::sys_days(chr::year{y} / mo / d) + chr::hours(h) + chr::minutes(mi) + chr::seconds(s);
}

std::string iso(chr::sys_seconds t) {
    auto days = chr::floor<chr::days>(t);
    chr::year_month_day ymd(days);
    chr::hh_mm_ss hms(t - days);
    char buf[96];  // room for any value the compiler cannot rule out
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ldZ", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<long>(hms.hours().count()), static_cast<long>(hms.minutes().count()),
                  static_cast<long>(hms.seconds().count()));
    return buf;
}

struct row {
    const char* expr;
    const char* zone;
    const char* from;
    const char* next;
};

std::string cron_error(const char* expr) {
    try {
        (void)cron_schedule::parse(expr);
    } catch (const drover::config_error& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("cron: next fire times in UTC") {
    const row rows[] = {
        {"*/20 * * * *", "UTC", "2026-03-01T10:05:00Z", "2026-03-01T10:20:00Z"},
        {"*/20 * * * *", "UTC", "2026-03-01T10:20:00Z", "2026-03-01T10:40:00Z"},  // strictly after
        {"*/20 * * * *", "UTC", "2026-03-01T10:59:30Z", "2026-03-01T11:00:00Z"},
        {"5/15 * * * *", "UTC", "2026-03-01T10:50:00Z", "2026-03-01T11:05:00Z"},
        {"0 0 31 * *", "UTC", "2026-04-01T00:00:00Z", "2026-05-31T00:00:00Z"},   // April has 30 days
        {"0 0 31 * *", "UTC", "2026-01-31T00:00:00Z", "2026-03-31T00:00:00Z"},   // nor has February
        {"0 12 29 2 *", "UTC", "2026-03-01T00:00:00Z", "2028-02-29T12:00:00Z"},  // the next leap day
        {"0 0 */10 * *", "UTC", "2026-01-21T01:00:00Z", "2026-01-31T00:00:00Z"},
        {"59 23 31 12 *", "UTC", "2026-12-31T23:59:00Z", "2027-12-31T23:59:00Z"},
        {"@monthly", "UTC", "2026-12-15T08:00:00Z", "2027-01-01T00:00:00Z"},
        {"@hourly", "UTC", "2026-12-31T23:30:00Z", "2027-01-01T00:00:00Z"},
        {"@daily", "UTC", "2026-02-28T00:00:00Z", "2026-03-01T00:00:00Z"},
        {"@yearly", "UTC", "2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z"},
        {"@weekly", "UTC", "2026-11-18T12:00:00Z", "2026-11-22T00:00:00Z"},     // a Sunday
        {"0 9 * * MON-FRI", "UTC", "2026-11-20T10:00:00Z", "2026-11-23T09:00:00Z"},  // Friday -> Monday
        {"30 2 * * 7", "UTC", "2026-11-22T03:00:00Z", "2026-11-29T02:30:00Z"},  // 7 is Sunday
        {"0 0 * jan,JUL *", "UTC", "2026-02-01T00:00:00Z", "2026-07-01T00:00:00Z"},
        // Both day fields restricted: either matches (Friday the 6th before the 15th).
        {"0 0 1,15 * 5", "UTC", "2026-11-02T00:00:00Z", "2026-11-06T00:00:00Z"},
        // Day of week "*/2" starts with '*': both must match (Sunday, Tuesday, ... AND the 1st).
        {"0 0 1 * */2", "UTC", "2026-11-02T00:00:00Z", "2026-12-01T00:00:00Z"},  // a Tuesday
        {"0 0 1 * */2", "UTC", "2026-12-01T00:00:00Z", "2027-04-01T00:00:00Z"},  // a Thursday; Jan-Mar 1 are Fri, Mon, Mon
        {"15 14 1 * *", "UTC", "2026-01-01T14:15:00Z", "2026-02-01T14:15:00Z"},
    };
    for (const auto& r : rows) {
        INFO(std::string(r.expr) << " after " << std::string(r.from));
        auto c = cron_schedule::parse(r.expr);
        auto n = c.next_after(at(r.from), time_zone(r.zone));
        REQUIRE(n);
        CHECK(iso(*n) == std::string(r.next));
    }
}

TEST_CASE("cron: daylight saving time in TZ database zones") {
    const row rows[] = {
        // Berlin springs forward on 2026-03-29 at 02:00 CET (01:00Z): 02:30 does not exist and
        // fires when the jump happens; the next day 02:30 CEST is 00:30Z.
        {"30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z"},
        {"30 2 * * *", "Europe/Berlin", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"},
        {"0 3 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z"},
        {"0 12 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", "2026-03-29T10:00:00Z"},
        // It falls back on 2026-10-25 at 03:00 CEST (01:00Z): 02:30 happens twice and fires once,
        // the first time (CEST, 00:30Z); the next fire is the following day's (CET, 01:30Z).
        {"30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", "2026-10-25T00:30:00Z"},
        {"30 2 * * *", "Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"},
        {"0 * * * *", "Europe/Berlin", "2026-10-25T00:30:00Z", "2026-10-25T02:00:00Z"},
        // From inside the repeated hour's second pass, the next fire is not in the past.
        {"*/20 * * * *", "Europe/Berlin", "2026-10-25T01:05:00Z", "2026-10-25T02:00:00Z"},
        // New York: EDT starts 2026-03-08; 09:00 local is 14:00Z before and 13:00Z after.
        {"0 9 * * *", "America/New_York", "2026-03-07T12:00:00Z", "2026-03-07T14:00:00Z"},
        {"0 9 * * *", "America/New_York", "2026-03-07T15:00:00Z", "2026-03-08T13:00:00Z"},
        // A month end in a zone east of UTC: 00:00 on the 31st in Tokyo is 15:00Z on the 30th.
        {"0 0 31 * *", "Asia/Tokyo", "2026-04-01T00:00:00Z", "2026-05-30T15:00:00Z"},
    };
    for (const auto& r : rows) {
        INFO(std::string(r.expr) << " in " << std::string(r.zone) << " after " << std::string(r.from));
        auto c = cron_schedule::parse(r.expr);
        auto n = c.next_after(at(r.from), time_zone(r.zone));
        REQUIRE(n);
        CHECK(iso(*n) == std::string(r.next));
    }
}

TEST_CASE("cron: successive fire times never repeat or go back across DST changes") {
    auto c = cron_schedule::parse("*/15 * * * *");
    time_zone berlin("Europe/Berlin");
    for (const char* from : {"2026-03-28T20:00:00Z", "2026-10-24T20:00:00Z"}) {
        auto t = at(from);
        for (int i = 0; i < 24 * 4 + 10; ++i) {
            auto n = c.next_after(t, berlin);
            REQUIRE(n);
            REQUIRE(*n > t);
            CHECK(*n - t <= chr::hours(1) + chr::minutes(15));
            t = *n;
        }
    }
}

TEST_CASE("cron: malformed expressions and unknown zones are config errors naming the field") {
    CHECK(cron_error("") == "cron expression '': expected 5 fields (minute hour day-of-month month day-of-week) or "
                            "a shorthand like @hourly, got 0");
    CHECK(cron_error("* * * *").find("got 4") != std::string::npos);
    CHECK(cron_error("* * * * * *").find("got 6") != std::string::npos);
    CHECK(cron_error("60 * * * *") == "cron expression '60 * * * *': field 1 (minute) '60': 60 is out of range 0-59");
    CHECK(cron_error("* 24 * * *") == "cron expression '* 24 * * *': field 2 (hour) '24': 24 is out of range 0-23");
    CHECK(cron_error("* * 0 * *").find("field 3 (day of month) '0': 0 is out of range 1-31") != std::string::npos);
    CHECK(cron_error("* * * 13 *").find("field 4 (month) '13': 13 is out of range 1-12") != std::string::npos);
    CHECK(cron_error("* * * * 8").find("field 5 (day of week) '8': 8 is out of range 0-7") != std::string::npos);
    CHECK(cron_error("*/0 * * * *").find("step must be at least 1") != std::string::npos);
    CHECK(cron_error("*/ * * * *").find("step '' is not a positive number") != std::string::npos);
    CHECK(cron_error("5-1 * * * *").find("range 5-1 runs backwards") != std::string::npos);
    CHECK(cron_error("a * * * *").find("'a' is not a number") != std::string::npos);
    CHECK(cron_error("* * * foo *").find("unknown name 'foo'") != std::string::npos);
    CHECK(cron_error(",5 * * * *").find("empty list item") != std::string::npos);
    CHECK(cron_error("5- * * * *").find("missing number") != std::string::npos);
    CHECK(cron_error("99999999999999999999 * * * *").find("out of range") != std::string::npos);
    CHECK(cron_error("@reboot").find("unknown shorthand") != std::string::npos);
    CHECK(cron_error("0 0 30 2 *") == "cron expression '0 0 30 2 *' never fires (no such day)");
    CHECK_THROWS_WITH_AS(time_zone("Mars/Olympus"), doctest::Contains("unknown time zone 'Mars/Olympus'"),
                         drover::config_error);
    CHECK_THROWS_AS(time_zone("../../etc/passwd"), drover::config_error);
    CHECK_THROWS_AS(time_zone("/etc/localtime"), drover::config_error);
    CHECK_NOTHROW(time_zone(""));
}
