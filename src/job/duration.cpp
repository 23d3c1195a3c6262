// Durations in job files: "250ms", "30s", "5m", "1h30m", "2d", at most "36500d" (100 years,
// detail::max_delay: longer ones would overflow a timer).
//
// Strings with units only: a bare number is ambiguous (seconds? milliseconds?), so it is
// rejected. Components go from the largest unit to the smallest, each at most once, so
// every value has one spelling and format_duration's output reads back unchanged.

#include <drover/error.hpp>
#include <drover/duration.hpp>

#include "detail/durations.hpp"

#include <fmt/format.h>

#include <array>
#include <cstdint>

namespace drover {
namespace {

struct unit {
    std::string_view suffix;
    std::int64_t ms;
};
// Largest first; a value's components must follow this order.
constexpr std::array<unit, 5> units{{{"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1000}, {"ms", 1}}};

[[noreturn]] void bad(std::string_view text, std::string_view why) {
    throw config_error(fmt::format("invalid duration \"{}\": {} (write a whole number and a unit: "
                                   "ms, s, m, h or d, e.g. \"30s\", \"250ms\", \"1h30m\")",
                                   text, why));
}

}  // namespace

duration parse_duration(std::string_view text) {
    if (text.empty()) bad(text, "empty");
    if (text.front() == '-') bad(text, "durations cannot be negative");
    std::int64_t total = 0;
    std::size_t next_unit = 0;  // index of the smallest unit still allowed
    std::size_t i = 0;
    while (i < text.size()) {
        if (text[i] < '0' || text[i] > '9') bad(text, fmt::format("expected a digit at '{}'", text.substr(i)));
        std::int64_t n = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, text[i] - '0', &n))
                bad(text, "too large: at most 36500d (100 years)");
            ++i;
        }
        if (i == text.size()) bad(text, "missing unit after the number");
        // Longest suffix wins, so "5ms" is milliseconds, not minutes followed by junk.
        std::size_t which = units.size();
        for (std::size_t k = 0; k < units.size(); ++k)
            if (text.substr(i).starts_with(units[k].suffix) &&
                (which == units.size() || units[k].suffix.size() > units[which].suffix.size()))
                which = k;
        if (which == units.size()) bad(text, fmt::format("unknown unit at '{}'", text.substr(i)));
        if (next_unit > which) bad(text, "units must go from largest to smallest, each at most once");
        next_unit = which + 1;
        const unit* u = &units[which];
        i += u->suffix.size();
        std::int64_t part = 0;
        if (__builtin_mul_overflow(n, u->ms, &part) || __builtin_add_overflow(total, part, &total))
            bad(text, "too large: at most 36500d (100 years)");
    }
    if (total > detail::max_delay.count()) bad(text, "too large: at most 36500d (100 years)");
    return duration{total};
}

std::string format_duration(duration d) {
    std::int64_t ms = d.count();
    if (ms == 0) return "0s";
    std::string out;
    // Work on the magnitude as unsigned so the most negative value cannot overflow.
    std::uint64_t left = ms < 0 ? 0 - static_cast<std::uint64_t>(ms) : static_cast<std::uint64_t>(ms);
    if (ms < 0) out = "-";
    for (const auto& u : units) {
        auto size = static_cast<std::uint64_t>(u.ms);
        if (left < size) continue;
        out += fmt::format("{}{}", left / size, u.suffix);
        left %= size;
    }
    return out;
}

}  // namespace drover
