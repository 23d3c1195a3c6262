// drover's TZ database reader (src/cron/tzif.cpp) against Howard Hinnant's date/tz (Debian
// libhowardhinnant-date-dev, built with USE_OS_TZDB: it reads the same /usr/share/zoneinfo
// files), to decide whether drover should use the library instead (issue 20, section 4).
//
// 1. Every zone date/tz lists: the UTC offset from both every `--step` seconds (default
//    1 day 7 h 13 min, so every hour of the day comes round) from 1901-12-14 to 2100-01-01,
//    and one second before, at and after each transition date/tz reports.
// 2. The cases of tests/cron/tzif_test.cpp: its 12 zones every 7 h 13 min over the same
//    years, and its local times converted both ways in Berlin and Sydney in 2024 and 2090.
// Disagreements are counted by zone and by side of 2038 (where the files' transition tables
// end and the POSIX TZ footer takes over).
// Run: build/bench/tz_compare [--step SECONDS] [--verbose]

#include "cron/cron.hpp"
#include "cron/tzif.hpp"

#include <date/tz.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace chr = std::chrono;
namespace fs = std::filesystem;
using clk = chr::steady_clock;

namespace {

std::int64_t utc(int y, unsigned m, unsigned d, int h = 0, int mi = 0) {
    return chr::sys_days(chr::year{y} / chr::month{m} / chr::day{d}).time_since_epoch().count() * 86400 + h * 3600 +
           mi * 60;
}

const std::int64_t from = utc(1901, 12, 14), to = utc(2100, 1, 1), table_end = utc(2038, 1, 1);

std::string iso(std::int64_t t) {
    return date::format("%FT%TZ", date::sys_seconds(chr::seconds(t)));
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct tally {
    long samples = 0, before = 0, after = 0;  // disagreements before / from 2038
    std::string first;
    void add(std::int64_t t, long ours, long theirs) {
        ++samples;
        if (ours == theirs) return;
        (t < table_end ? before : after)++;
        if (first.empty())
            first = iso(t) + ": drover " + std::to_string(ours) + " s, date/tz " + std::to_string(theirs) + " s";
    }
    long differ() const { return before + after; }
};

double seconds_since(clk::time_point t0) { return chr::duration<double>(clk::now() - t0).count(); }

}  // namespace

int main(int argc, char** argv) {
    std::int64_t step = 86400 + 7 * 3600 + 13 * 60;
    bool verbose = false;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--step") && i + 1 < argc) step = std::stoll(argv[++i]);
        else if (!std::strcmp(argv[i], "--verbose")) verbose = true;
        else {
            std::fprintf(stderr, "usage: tz_compare [--step SECONDS] [--verbose]\n");
            return 2;
        }
    }
    const fs::path zoneinfo = "/usr/share/zoneinfo";
    const auto& db = date::get_tzdb();
    std::printf("date/tz: tzdb version %s, %zu zones; drover reads %s\n", db.version.c_str(), db.zones.size(),
                zoneinfo.c_str());

    // 1. Every zone.
    long zones = 0, zones_differ = 0, zones_differ_before = 0, samples = 0, before = 0, after = 0, refused = 0;
    double ours_s = 0, theirs_s = 0;
    std::vector<std::int64_t> instants;
    for (std::int64_t t = from; t < to; t += step) instants.push_back(t);
    std::vector<long> a(instants.size()), b(instants.size());
    for (const auto& z : db.zones) {
        std::string name(z.name());
        std::unique_ptr<drover::detail::tzif_zone> ours;
        try {
            ours = std::make_unique<drover::detail::tzif_zone>(
                drover::detail::tzif_zone::parse(read_file(zoneinfo / name), name));
        } catch (const std::exception& e) {
            ++refused;
            std::printf("  %s: drover refuses the file: %s\n", name.c_str(), e.what());
            continue;
        }
        ++zones;
        tally t;
        auto t0 = clk::now();
        for (std::size_t i = 0; i < instants.size(); ++i) a[i] = ours->offset_at(instants[i]);
        ours_s += seconds_since(t0);
        t0 = clk::now();
        for (std::size_t i = 0; i < instants.size(); ++i)
            b[i] = z.get_info(date::sys_seconds(chr::seconds(instants[i]))).offset.count();
        theirs_s += seconds_since(t0);
        for (std::size_t i = 0; i < instants.size(); ++i) t.add(instants[i], a[i], b[i]);
        // Around each transition date/tz knows of.
        auto info = z.get_info(date::sys_seconds(chr::seconds(from)));
        while (info.end.time_since_epoch().count() < to) {
            std::int64_t e = info.end.time_since_epoch().count();
            for (std::int64_t s : {e - 1, e, e + 1})
                t.add(s, ours->offset_at(s), z.get_info(date::sys_seconds(chr::seconds(s))).offset.count());
            info = z.get_info(info.end);
        }
        samples += t.samples;
        before += t.before;
        after += t.after;
        if (t.differ()) {
            ++zones_differ;
            if (t.before) ++zones_differ_before;
            if (verbose || t.before)
                std::printf("  %-32s %6ld of %ld differ (%ld before 2038); first at %s\n", name.c_str(), t.differ(),
                            t.samples, t.before, t.first.c_str());
        }
    }
    std::printf("all zones: %ld zones, %ld instants: %ld differ before 2038 (%ld zones), %ld from 2038 on (%ld zones "
                "in all); drover refused %ld files\n",
                zones, samples, before, zones_differ_before, after, zones_differ, refused);
    std::printf("time for the sweep (%zu instants a zone): drover %.3f s, date/tz %.3f s\n", instants.size(), ours_s,
                theirs_s);

    // 2. tests/cron/tzif_test.cpp's cases.
    const char* const test_zones[] = {"Europe/Berlin", "America/New_York",  "Australia/Sydney", "Europe/Dublin",
                                      "America/Nuuk",  "Africa/Casablanca", "Antarctica/Troll", "Pacific/Chatham",
                                      "Asia/Kolkata",  "America/Sao_Paulo", "Pacific/Kiritimati", "Europe/Moscow"};
    for (const char* name : test_zones) {
        auto ours = drover::detail::tzif_zone::parse(read_file(zoneinfo / name), name);
        const auto* theirs = date::locate_zone(name);
        tally t;
        for (std::int64_t s = from; s < to; s += 7 * 3600 + 13 * 60)
            t.add(s, ours.offset_at(s), theirs->get_info(date::sys_seconds(chr::seconds(s))).offset.count());
        std::printf("tzif_test zone %-20s %ld instants: %ld differ before 2038, %ld from 2038%s%s\n", name, t.samples,
                    t.before, t.after, t.first.empty() ? "" : "; first at ", t.first.c_str());
    }
    struct local_case {
        const char* zone;
        int y, mo, d, h, mi;
    };
    long local_differ = 0, local_cases = 0;
    for (int year : {2024, 2090})
        for (local_case c : {local_case{"Europe/Berlin", year, 7, 1, 12, 0}, local_case{"Europe/Berlin", year, 1, 15, 12, 0},
                             local_case{"Australia/Sydney", year, 1, 15, 12, 0}, local_case{"Europe/Berlin", year, 3, 26, 2, 30},
                             local_case{"Europe/Berlin", year, 10, 29, 2, 30}, local_case{"Europe/Berlin", year, 3, 31, 2, 30},
                             local_case{"Europe/Berlin", year, 10, 27, 2, 30}}) {
            drover::detail::time_zone ours(c.zone);
            auto local = date::local_days(date::year{c.y} / c.mo / c.d) + chr::hours(c.h) + chr::minutes(c.mi);
            auto theirs = date::locate_zone(c.zone)->to_sys(local, date::choose::earliest);
            auto mine = ours.from_local(c.y, c.mo, c.d, c.h, c.mi);
            ++local_cases;
            bool same = mine.time_since_epoch().count() == theirs.time_since_epoch().count();
            if (!same) ++local_differ;
            std::printf("local %04d-%02d-%02d %02d:%02d %-17s drover %s, date/tz %s%s\n", c.y, c.mo, c.d, c.h, c.mi,
                        c.zone, iso(mine.time_since_epoch().count()).c_str(),
                        iso(theirs.time_since_epoch().count()).c_str(), same ? "" : "  DIFFER");
        }
    std::printf("local times: %ld of %ld differ\n", local_differ, local_cases);
    return 0;
}
