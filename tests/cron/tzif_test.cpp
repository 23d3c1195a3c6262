// Time zones from the TZ database's files (cron/tzif.hpp): the same UTC offsets as the C
// library over two centuries in zones with odd rules, POSIX TZ footers by table, and
// damaged or hostile files and rules refused with a message, never a crash.
#include <doctest/doctest.h>

#include <drover/error.hpp>

#include "cron/cron.hpp"
#include "cron/tzif.hpp"
#include "support/support.hpp"

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <stdexcept>
#include <string>

using namespace drover::detail;
namespace chr = std::chrono;
namespace fs = std::filesystem;

namespace {

const char* const zones[] = {"Europe/Berlin",  "America/New_York", "Australia/Sydney", "Europe/Dublin",
                             "America/Nuuk",   "Africa/Casablanca", "Antarctica/Troll", "Pacific/Chatham",
                             "Asia/Kolkata",   "America/Sao_Paulo", "Pacific/Kiritimati", "Europe/Moscow"};

std::string zone_bytes(const std::string& zone) { return drover::test::read_file(fs::path("/usr/share/zoneinfo") / zone); }

std::int64_t utc(int y, unsigned m, unsigned d, int h = 0, int mi = 0) {
    return chr::sys_days(chr::year{y} / chr::month{m} / chr::day{d}).time_since_epoch().count() * 86400 + h * 3600 +
           mi * 60;
}

// The C library's offset for `zone` at `t` (the test process is single-threaded).
struct libc_zone {
    explicit libc_zone(const char* zone) {
        ::setenv("TZ", zone, 1);
        ::tzset();
    }
    ~libc_zone() {
        ::unsetenv("TZ");
        ::tzset();
    }
    long offset_at(std::int64_t t) const {
        std::time_t tt = static_cast<std::time_t>(t);
        std::tm tm{};
        ::localtime_r(&tt, &tm);
        return tm.tm_gmtoff;
    }
};

std::string parse_error(std::string_view bytes) {
    try {
        (void)tzif_zone::parse(bytes, "zone-file");
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "(no error)";
}

std::string rule_error(const char* rule) {
    try {
        (void)posix_tz::parse(rule);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

TEST_CASE("tzif: the same UTC offsets as the C library, 1901-2100, in zones with odd rules") {
    for (const char* zone : zones) {
        CAPTURE(zone);
        auto z = tzif_zone::parse(zone_bytes(zone), zone);
        libc_zone libc(zone);
        int differ = 0, samples = 0;
        // Every 7 h 13 min: lands on every hour of the day and every day of the week in turn.
        for (std::int64_t t = utc(1901, 12, 14); t < utc(2100, 1, 1); t += 7 * 3600 + 13 * 60, ++samples) {
            if (z.offset_at(t) != libc.offset_at(t)) {
                if (differ++ < 3) MESSAGE("t=" << t << ": ours " << z.offset_at(t) << ", libc " << libc.offset_at(t));
            }
        }
        CHECK(samples > 200000);
        CHECK(differ == 0);
        // And exactly around each DST change the table or the footer makes, in 2024 and 2090.
        for (int year : {2024, 2090})
            for (std::int64_t t = utc(year, 1, 1); t < utc(year + 1, 1, 1); t += 3600)
                if (z.offset_at(t) != z.offset_at(t + 3600))
                    for (std::int64_t s = t - 2; s <= t + 3602; ++s) REQUIRE(z.offset_at(s) == libc.offset_at(s));
    }
}

TEST_CASE("tzif: local times convert both ways through named zones, across the footer's years") {
    drover::detail::time_zone berlin("Europe/Berlin"), sydney("Australia/Sydney");
    // 2090 is past the file's transition table: the footer rule decides.
    for (int year : {2024, 2090}) {
        auto summer = berlin.from_local(year, 7, 1, 12, 0);
        CHECK(summer.time_since_epoch().count() == utc(year, 7, 1, 10));
        auto winter = berlin.from_local(year, 1, 15, 12, 0);
        CHECK(winter.time_since_epoch().count() == utc(year, 1, 15, 11));
        auto l = sydney.to_local(chr::sys_seconds(chr::seconds(utc(year, 1, 15, 1))));
        CHECK(l.hour == 12);  // AEDT, +11 in the southern summer
        CHECK(l.day == 15);
    }
    // Berlin's 2090 spring gap: 02:30 does not exist; the first instant after it is 01:00 UTC.
    CHECK(berlin.from_local(2090, 3, 26, 2, 30).time_since_epoch().count() == utc(2090, 3, 26, 1));
    // Its autumn fold: 02:30 happens twice; the first one (still +2) counts.
    CHECK(berlin.from_local(2090, 10, 29, 2, 30).time_since_epoch().count() == utc(2090, 10, 29, 0, 30));
}

TEST_CASE("tzif: POSIX TZ rules by table") {
    struct row {
        const char* rule;
        std::int64_t at;
        std::int32_t offset;
    };
    const row rows[] = {
        {"EST5EDT,M3.2.0,M11.1.0", utc(2030, 3, 10, 6, 59), -5 * 3600},  // 01:59 EST
        {"EST5EDT,M3.2.0,M11.1.0", utc(2030, 3, 10, 7, 0), -4 * 3600},   // 02:00 EST -> 03:00 EDT
        {"EST5EDT,M3.2.0,M11.1.0", utc(2030, 11, 3, 5, 59), -4 * 3600},
        {"EST5EDT,M3.2.0,M11.1.0", utc(2030, 11, 3, 6, 0), -5 * 3600},
        {"EST5EDT", utc(2030, 7, 1), -4 * 3600},                          // no rule: the US one
        {"<+0330>-3:30", utc(2030, 7, 1), 3 * 3600 + 1800},
        // Last Sunday of March 2030 is the 31st; "-1" is 23:00 local (-02) the day before,
        // i.e. 01:00 UTC on the 31st.
        {"<-02>2<-01>,M3.5.0/-1,M10.5.0/0", utc(2030, 3, 31, 0, 59), -2 * 3600},
        {"<-02>2<-01>,M3.5.0/-1,M10.5.0/0", utc(2030, 3, 31, 1, 0), -1 * 3600},
        {"IST-1GMT0,M10.5.0,M3.5.0/1", utc(2030, 1, 15), 0},              // Dublin: "DST" is winter
        {"IST-1GMT0,M10.5.0,M3.5.0/1", utc(2030, 7, 15), 3600},
        {"AEST-10AEDT,M10.1.0,M4.1.0/3", utc(2030, 1, 15), 11 * 3600},    // southern hemisphere
        {"AEST-10AEDT,M10.1.0,M4.1.0/3", utc(2030, 7, 15), 10 * 3600},
        {"EST5EDT4,0/0,J365/25", utc(2030, 1, 1, 2), -4 * 3600},          // daylight time all year
        {"EST5EDT4,0/0,J365/25", utc(2030, 7, 1), -4 * 3600},
        {"EST5EDT4,0/0,J365/25", utc(2030, 12, 31, 23), -4 * 3600},
        {"XXX3YYY,J60/2,J300/2", utc(2028, 3, 1, 4, 59), -3 * 3600},      // J60 is 1 March, leap year or not
        {"XXX3YYY,J60/2,J300/2", utc(2028, 3, 1, 5, 0), -2 * 3600},
        {"XXX3YYY,59/2,300/2", utc(2028, 2, 29, 4, 59), -3 * 3600},       // zero-based day 59 is 29 Feb in 2028
        {"XXX3YYY,59/2,300/2", utc(2028, 2, 29, 5, 0), -2 * 3600},
        {"UTC0", utc(2030, 7, 1), 0},
    };
    for (const auto& r : rows) {
        CAPTURE(r.rule);
        CAPTURE(r.at);
        CHECK(posix_tz::parse(r.rule).offset_at(r.at) == r.offset);
    }
}

TEST_CASE("tzif: malformed POSIX TZ rules are refused naming the problem") {
    CHECK(rule_error("").find("at least 3 characters") != std::string::npos);
    CHECK(rule_error("AB1").find("at least 3 characters") != std::string::npos);
    CHECK(rule_error("CET").find("expected the UTC offset") != std::string::npos);
    CHECK(rule_error("CET-25").find("out of range") != std::string::npos);
    CHECK(rule_error("<CET-1").find("unterminated <name>") != std::string::npos);
    CHECK(rule_error("<C T>-1").find("bad character") != std::string::npos);
    CHECK(rule_error("CET-1CEST,M13.1.0,M10.5.0").find("out of range") != std::string::npos);
    CHECK(rule_error("CET-1CEST,M3.0.0,M10.5.0").find("week must be 1..5") != std::string::npos);
    CHECK(rule_error("CET-1CEST,M3.5.7,M10.5.0").find("out of range") != std::string::npos);
    CHECK(rule_error("CET-1CEST,M3.5.0").find("expected ','") != std::string::npos);
    CHECK(rule_error("CET-1CEST,M3.5.0,M10.5.0/").find("expected a number") != std::string::npos);
    CHECK(rule_error("CET-1CEST,M3.5.0,M10.5.0 junk").find("unexpected text") != std::string::npos);
    CHECK(rule_error("CET-1CEST,J0,J300").find("J") != std::string::npos);
    CHECK(rule_error("CET-1CEST,M3.5.0,M10.5.0/999").find("out of range") != std::string::npos);
    CHECK(rule_error("CET-1CEST,M3.5.0,M10.5.0").find("CET-1CEST") == std::string::npos);  // valid: no error
}

TEST_CASE("tzif: truncated, damaged and hostile files are refused with a message, never a crash") {
    const std::string good = zone_bytes("Europe/Berlin");
    REQUIRE(parse_error(good) == "(no error)");
    // Every prefix is incomplete (the footer ends with a newline): each must be an error.
    for (std::size_t n = 0; n < good.size(); ++n) {
        auto e = parse_error(std::string_view(good).substr(0, n));
        CAPTURE(n);
        REQUIRE(e.find("zone-file") == 0);
        REQUIRE(e != "(no error)");
    }
    auto with = [&](std::size_t at, std::string_view bytes) {
        auto b = good;
        b.replace(at, bytes.size(), bytes);
        return parse_error(b);
    };
    CHECK(with(0, "TZiX").find("no \"TZif\" magic") != std::string::npos);
    CHECK(with(4, "7").find("unknown TZif version") == std::string::npos);  // versions 2..9 are fine
    CHECK(with(4, "1").find("unknown TZif version") != std::string::npos);
    // The v1 header's counts (at 20..43): a type count of 0, and a transition count of 2^32-1.
    CHECK(with(36, std::string("\0\0\0\0", 4)).find("0 local time types") != std::string::npos);
    CHECK(with(32, "\xff\xff\xff\xff").find("truncated") != std::string::npos);
    CHECK(with(20, std::string("\0\0\0\x07", 4)).find("indicator counts") != std::string::npos);
    // A footer that is not a TZ rule, and a file without a footer newline.
    auto footer = good.rfind('\n', good.size() - 2);
    REQUIRE(footer != std::string::npos);
    CHECK(parse_error(good.substr(0, footer) + "\nCET-1CEST,M3.5.0\n").find("expected ','") != std::string::npos);
    CHECK(parse_error(good.substr(0, footer) + "CET-1\n").find("no footer") != std::string::npos);
    // Garbage of every size up to 1 KiB with a valid header start never crashes.
    std::string junk = "TZif2";
    for (int i = 0; i < 1024; ++i) {
        junk.push_back(static_cast<char>((i * 151 + 7) & 0xff));
        (void)parse_error(junk);
    }
}

TEST_CASE("tzif: a damaged zone file is a config error naming the zone and the file") {
    drover::test::temp_dir dir;
    fs::create_directories(dir / "Bad");
    drover::test::write_file(dir / "Bad/Zone", "TZif2 but not really");
    drover::test::write_file(dir / "Europe/Berlin", zone_bytes("Europe/Berlin"));
    ::setenv("TZDIR", dir.path().c_str(), 1);
    std::string message;
    try {
        drover::detail::time_zone z("Bad/Zone");
    } catch (const drover::config_error& e) {
        message = e.what();
    }
    CHECK_NOTHROW(drover::detail::time_zone("Europe/Berlin"));
    ::unsetenv("TZDIR");
    CHECK(message.find("time zone 'Bad/Zone'") != std::string::npos);
    CHECK(message.find((dir / "Bad/Zone").string()) != std::string::npos);
    CHECK(message.find("truncated") != std::string::npos);
}
