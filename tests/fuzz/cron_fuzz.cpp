// Cron expressions (cron/cron.*): any text either parses or throws config_error. For an
// expression that parses, the next fire time after t is later than t, the fire time found
// from one second before it is itself, and the one after it is later still, in UTC and in
// zones with daylight saving time (including a 30-minute shift).
//
// Input: the expression on the first line; an optional second line is a Unix time to start
// from (besides fixed ones).
#include "fuzz/fuzz.hpp"

#include "cron/cron.hpp"

#include <drover/error.hpp>

#include <charconv>
#include <chrono>
#include <string>

namespace drover::fuzz {

namespace {

namespace chr = std::chrono;

const std::vector<detail::time_zone>& zones() {
    static const std::vector<detail::time_zone> z{detail::time_zone("UTC"), detail::time_zone("Europe/Berlin"),
                                                  detail::time_zone("Australia/Lord_Howe")};
    return z;
}

std::string show(const detail::cron_schedule& c, const detail::time_zone& z, chr::sys_seconds t) {
    return "'" + c.text() + "' in " + z.name() + " after " + std::to_string(t.time_since_epoch().count());
}

}  // namespace

void cron(std::string_view in) {
    auto lines = split(in, '\n');
    std::optional<detail::cron_schedule> c;
    try {
        c = detail::cron_schedule::parse(lines[0]);
    } catch (const drover::config_error&) {
        return;
    }
    std::vector<chr::sys_seconds> starts{chr::sys_seconds(chr::seconds(946684800)),    // 2000-01-01
                                         chr::sys_seconds(chr::seconds(1774744200))};  // 2026-03-29 00:30 UTC
    if (lines.size() > 1) {
        long long v = 0;
        auto [p, ec] = std::from_chars(lines[1].data(), lines[1].data() + lines[1].size(), v);
        constexpr long long range = 1ll << 34;  // about 544 years either side of 1970
        if (ec == std::errc() && v > -range && v < range) starts.emplace_back(chr::seconds(v));
    }
    for (const auto& z : zones()) {
        for (auto t : starts) {
            auto n = c->next_after(t, z);
            if (!n) continue;
            DROVER_FUZZ_CHECK(*n > t, show(*c, z, t));
            DROVER_FUZZ_CHECK(*n - t <= chr::days(9 * 366), show(*c, z, t));
            if (z.name() == "UTC") DROVER_FUZZ_CHECK(n->time_since_epoch().count() % 60 == 0, show(*c, z, t));
            auto again = c->next_after(*n - chr::seconds(1), z);
            DROVER_FUZZ_CHECK(again == n, show(*c, z, *n - chr::seconds(1)));
            auto later = c->next_after(*n, z);
            DROVER_FUZZ_CHECK(!later || *later > *n, show(*c, z, *n));
        }
    }
}

}  // namespace drover::fuzz
