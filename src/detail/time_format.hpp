#pragma once
// The one formatter behind `{name|FORMAT}` placeholders, in job-file templates (commands,
// ids, env, params) and in sink partitions: `{date|%Y%m%d}`, `{record.ts|%Y-%m-%d}`.
//
// FORMAT is `[READER:]STRFTIME`. READER says how the value is read:
//   epoch_s:   a number of seconds since 1970-01-01T00:00:00Z (fractions are floored);
//   epoch_ms:  a number of milliseconds since then;
//   iso:       ISO 8601, extended form: `2019-01-01`, `2019-01-01T10:30`, `...T10:30:15.250`,
//              with `T` or a space, and an optional `Z`, `±HH:MM`, `±HHMM` or `±HH`;
//   (none):    a JSON number, or a string that is one, is epoch seconds when its magnitude
//              is below 1e11 (before the year 5138), else epoch milliseconds; any other
//              string is read as ISO 8601.
// An instant (an epoch, an ISO time with an offset) is shown in the given time zone. An ISO
// time without an offset is already local time there: it is shown as written, never shifted.
//
// STRFTIME is a fixed, locale-free subset of strftime: %Y %y %C %G %g %m %d %e %j %H %I %M
// %S %p %a %A %b %h %B %u %w %U %W %V %F %T %R %s %z %%. Anything else (%Z, %c, flags like
// %-d, a lone %) is rejected when the format is parsed. Years outside 0001..9999 are bad
// values; %Y is always four digits.

#include "cron/cron.hpp"

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace drover::detail {

/// A value the format cannot read (not a time, truncated, out of range); what() says why.
struct bad_time_value : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class time_format {
public:
    enum class reader { detect, epoch_s, epoch_ms, iso };

    /// Parses `[READER:]STRFTIME`. Throws config_error naming the problem ("unknown
    /// conversion '%Q'", "empty format").
    static time_format parse(std::string_view spec);

    /// Formats a param's or field's text in `tz`. Throws bad_time_value.
    std::string format(std::string_view text, const time_zone& tz) const;
    /// Formats a JSON value (a number, or a string as above). Throws bad_time_value.
    std::string format(const boost::json::value& v, const time_zone& tz) const;

    reader input() const noexcept { return reader_; }

    struct local_time;  ///< the fields a format shows (time_format.cpp)

private:
    std::string render(const local_time& t) const;
    std::string from_number(double v, bool integral, std::int64_t i, const time_zone& tz,
                            std::string_view written = {}) const;

    reader reader_ = reader::detect;
    std::vector<std::string> pieces_;  // literal text, or "%c" for a conversion
};

}  // namespace drover::detail
