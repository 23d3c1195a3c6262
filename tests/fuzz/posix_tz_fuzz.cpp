// POSIX TZ rules (cron/tzif.*: posix_tz, the footer of TZif files): any text either parses or
// throws std::invalid_argument. A parsed rule gives, in every year, only its standard or its
// daylight offset, each within ±26 hours.
#include "fuzz/fuzz.hpp"

#include "cron/tzif.hpp"

#include <cstdint>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>

namespace drover::fuzz {

void posix_tz(std::string_view in) {
    std::optional<detail::posix_tz> z;
    try {
        z = detail::posix_tz::parse(in);
    } catch (const std::invalid_argument&) {
        return;
    }
    std::set<std::int32_t> seen;
    // Every 5 days and 7 hours through a few years, far past and future included.
    for (std::int64_t year_start : {-2208988800ll, 0ll, 1735689600ll, 32503680000ll})
        for (std::int64_t t = year_start - 86400 * 40; t < year_start + 86400 * 400; t += 86400 * 5 + 3600 * 7) {
            std::int32_t off = z->offset_at(t);
            DROVER_FUZZ_CHECK(off > -26 * 3600 && off < 26 * 3600, std::to_string(off));
            seen.insert(off);
        }
    DROVER_FUZZ_CHECK(seen.size() <= 2, std::string(in));
}

}  // namespace drover::fuzz
