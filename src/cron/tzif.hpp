#pragma once
// Time zone rules read from the TZ database's compiled files (TZif, RFC 8536), so a named
// zone never needs the process-wide TZ variable (setenv is not thread-safe, and GCC 12 has
// no std::chrono::tzdb).
//
// A zone is its transition table (64-bit data of version 2+ files) and, for instants after
// the last transition, the POSIX TZ rule in the file's footer ("CET-1CEST,M3.5.0,M10.5.0/3").
// Parsing is pure (bytes in, rules out) and checks every count and index: a damaged or
// hostile file is an error naming what is wrong, never a crash.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace drover::detail {

/// A POSIX TZ rule (the TZ variable's format, as in TZif footers).
class posix_tz {
public:
    /// Throws std::invalid_argument naming the problem.
    static posix_tz parse(std::string_view text);
    /// UTC offset (seconds east of Greenwich) at the UTC instant `t` (seconds since the epoch).
    std::int32_t offset_at(std::int64_t t) const;

private:
    struct rule {  // when daylight saving time starts or ends, in local time of the moment
        enum kind_t { julian_no_leap, julian_zero, month_week_day } kind = month_week_day;
        int day = 0, week = 0, month = 0;  // Jn: day 1..365; n: day 0..365; Mm.w.d
        std::int32_t time = 7200;          // seconds after local midnight (may be < 0 or > 24 h)
    };
    std::int64_t transition(int year, const rule& r, std::int32_t offset_before) const;

    std::int32_t std_offset_ = 0;
    std::optional<std::int32_t> dst_offset_;  // set when the zone has daylight saving time
    rule start_, end_;
};

class tzif_zone {
public:
    /// Parses a TZif file's bytes; `name` is for messages. Throws std::invalid_argument.
    static tzif_zone parse(std::string_view bytes, const std::string& name);
    /// UTC offset (seconds east) at the UTC instant `t`.
    std::int32_t offset_at(std::int64_t t) const;

private:
    std::vector<std::int64_t> times_;   // transition instants, ascending
    std::vector<std::uint8_t> types_;   // local time type index per transition
    std::vector<std::int32_t> offsets_; // UTC offset per local time type
    std::optional<posix_tz> footer_;
};

}  // namespace drover::detail
