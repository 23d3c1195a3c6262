#include "job/expand.hpp"

#include <drover/error.hpp>

#include <fmt/format.h>

#include <charconv>

namespace drover::detail {

namespace chr = std::chrono;

namespace {

// Reads exactly `n` digits at text[pos...].
bool digits(std::string_view text, std::size_t pos, std::size_t n, int& out) {
    if (pos + n > text.size()) return false;
    out = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (text[i] < '0' || text[i] > '9') return false;
        out = out * 10 + (text[i] - '0');
    }
    return true;
}

[[noreturn]] void too_many(std::size_t limit) {
    throw config_error(fmt::format("foreach expands to more than {} tasks; narrow the ranges, use a larger step, or raise max_tasks",
                                   limit));
}

}  // namespace

chr::sys_days make_date(int year, unsigned month, unsigned day) {
    chr::year_month_day ymd{chr::year{year}, chr::month{month}, chr::day{day}};
    if (year < 1 || year > 9999 || !ymd.ok())
        throw config_error(fmt::format("{:04}-{:02}-{:02} is not a valid calendar date", year, month, day));
    return chr::sys_days{ymd};
}

chr::sys_days parse_date(std::string_view text) {
    int y = 0, m = 0, d = 0;
    bool shape = text.size() == 10 && text[4] == '-' && text[7] == '-' && digits(text, 0, 4, y) &&
                 digits(text, 5, 2, m) && digits(text, 8, 2, d);
    if (!shape) throw config_error(fmt::format("invalid date \"{}\": expected YYYY-MM-DD, e.g. \"2018-01-31\"", text));
    try {
        return make_date(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
    } catch (const config_error&) {
        throw config_error(fmt::format("invalid date \"{}\": no such day in the calendar", text));
    }
}

std::string format_date(chr::sys_days d) {
    chr::year_month_day ymd{d};
    return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                       static_cast<unsigned>(ymd.day()));
}

int parse_day_step(std::string_view text) {
    int n = 0;
    bool ok = text.size() >= 2 && text.size() <= 6 && text.back() == 'd' && text[0] != '0' &&
              digits(text, 0, text.size() - 1, n);
    if (!ok)
        throw config_error(fmt::format("invalid step \"{}\": date ranges step by whole days, e.g. \"1d\" or \"7d\"",
                                       text));
    return n;
}

foreach_axis date_range(std::string name, chr::sys_days from, chr::sys_days to, int step_days, std::size_t limit) {
    if (from > to)
        throw config_error(fmt::format("'from' ({}) is after 'to' ({})", format_date(from), format_date(to)));
    if (step_days < 1) throw config_error("step must be at least 1d");
    auto span = static_cast<std::size_t>((to - from).count());
    if (span / static_cast<std::size_t>(step_days) >= limit) too_many(limit);
    foreach_axis axis{std::move(name), {}, axis_kind::dates};
    axis.from = from.time_since_epoch().count();
    axis.step = step_days;
    axis.count = span / static_cast<std::size_t>(step_days) + 1;
    return axis;
}

foreach_axis int_range(std::string name, std::int64_t from, std::int64_t to, std::int64_t step, std::size_t limit) {
    if (from > to) throw config_error(fmt::format("'from' ({}) is greater than 'to' ({})", from, to));
    if (step < 1) throw config_error(fmt::format("step must be at least 1, got {}", step));
    // Unsigned arithmetic: to - from may not fit in int64 (e.g. INT64_MIN..INT64_MAX), and
    // the count is checked before the +1 that would wrap it to 0 for a full 64-bit range.
    std::uint64_t span = static_cast<std::uint64_t>(to) - static_cast<std::uint64_t>(from);
    std::uint64_t steps = span / static_cast<std::uint64_t>(step);
    if (steps >= limit) too_many(limit);
    foreach_axis axis{std::move(name), {}, axis_kind::integers};
    axis.from = from;
    axis.step = step;
    axis.count = static_cast<std::size_t>(steps + 1);
    return axis;
}

std::string foreach_axis::value(std::size_t i) const {
    if (!count) return values[i];
    if (kind == axis_kind::dates) return format_date(chr::sys_days{chr::days{from + step * static_cast<std::int64_t>(i)}});
    // Unsigned: from + i * step stays within [from, to], but its parts may not fit int64.
    return std::to_string(static_cast<std::int64_t>(static_cast<std::uint64_t>(from) +
                                                    static_cast<std::uint64_t>(i) * static_cast<std::uint64_t>(step)));
}

std::string override_value(const foreach_axis& axis, const std::string& value) {
    switch (axis.kind) {
        case axis_kind::dates:
            return format_date(parse_date(value));
        case axis_kind::integers: {
            std::int64_t n = 0;
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            if (value.empty() || ec != std::errc{} || end != value.data() + value.size())
                throw config_error(fmt::format("\"{}\" is not a whole number (the foreach variable '{}' is an "
                                               "integer range)", value, axis.name));
            return std::to_string(n);
        }
        case axis_kind::list:
            break;
    }
    return value;
}

std::size_t combination_count(const std::vector<foreach_axis>& axes, std::size_t limit) {
    for (const auto& a : axes)
        if (a.size() == 0) return 0;
    std::size_t n = 1;
    for (const auto& a : axes)
        if (__builtin_mul_overflow(n, a.size(), &n) || n > limit) too_many(limit);
    return n;
}

void for_each_combination(const std::vector<foreach_axis>& axes,
                          const std::function<void(const std::map<std::string, std::string>&)>& fn) {
    for (const auto& a : axes)
        if (a.size() == 0) return;
    std::vector<std::size_t> idx(axes.size(), 0);
    std::map<std::string, std::string> vars;
    for (const auto& a : axes) vars[a.name] = a.value(0);
    for (;;) {
        fn(vars);
        // Odometer: advance the last axis, carrying into earlier ones.
        std::size_t k = axes.size();
        while (k > 0) {
            --k;
            if (++idx[k] < axes[k].size()) {
                vars[axes[k].name] = axes[k].value(idx[k]);
                break;
            }
            idx[k] = 0;
            vars[axes[k].name] = axes[k].value(0);
            if (k == 0) return;
        }
        if (axes.empty()) return;
    }
}

}  // namespace drover::detail
