#pragma once
// foreach expansion for job files: value lists for date ranges, integer ranges and plain
// lists, and the cartesian product of several of them.
//
// Nothing here knows about TOML: errors are thrown as config_error without a location,
// and the job loader re-throws them with file:line:column and the key.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace drover::detail {

/// The most tasks one job may expand to unless the job file (`max_tasks`) or the loader
/// (job_load_options::max_tasks) says otherwise; beyond this a typo (a range over
/// centuries, a step of "1d" meant as "7d" times many keys) is far likelier than intent.
inline constexpr std::size_t max_expanded_tasks = 10'000'000;

/// What a foreach variable was written as: it decides what a value given instead must be.
enum class axis_kind { list, integers, dates };

/// One foreach variable and the values it takes, in order. A range is kept as its first
/// value, step and count, and its values are made when asked for: a range of ten million
/// integers costs nothing until the tasks are made one by one.
struct foreach_axis {
    std::string name;
    std::vector<std::string> values;  ///< a list's values, or the values given instead (then count = 0)
    axis_kind kind = axis_kind::list;
    std::int64_t from = 0;   ///< a range's first value (integers: the number; dates: days since 1970-01-01)
    std::int64_t step = 1;   ///< a range's step (integers: the number; dates: days)
    std::size_t count = 0;   ///< a range's number of values; 0 = `values` holds them

    std::size_t size() const noexcept { return count ? count : values.size(); }
    /// Value `i` (< size()) as the tasks see it: "42", "2018-01-31", a list's value.
    std::string value(std::size_t i) const;
};

/// A value given instead of an axis's own (job_load_options::params), checked against its
/// kind: a date for a date range, a whole number for an integer range (written as the range
/// writes it: "007" becomes "7"). Throws config_error without a location.
std::string override_value(const foreach_axis& axis, const std::string& value);

/// Parses a calendar date written "YYYY-MM-DD" (years 0001..9999); rejects dates that do
/// not exist, like 2018-02-30 or 2019-02-29.
std::chrono::sys_days parse_date(std::string_view text);
/// Checks year/month/day (e.g. from a TOML date value) and returns the day.
std::chrono::sys_days make_date(int year, unsigned month, unsigned day);
std::string format_date(std::chrono::sys_days d);

/// Parses a date step: a whole number of days, "1d" or "7d".
int parse_day_step(std::string_view text);

/// Every `step_days`-th day from `from` up to and including `to` ("YYYY-MM-DD"); throws
/// when that is more than `limit` values.
foreach_axis date_range(std::string name, std::chrono::sys_days from, std::chrono::sys_days to, int step_days,
                        std::size_t limit = max_expanded_tasks);

/// from, from+step, ... up to and including `to`; step >= 1, from <= to; at most `limit` values.
foreach_axis int_range(std::string name, std::int64_t from, std::int64_t to, std::int64_t step,
                       std::size_t limit = max_expanded_tasks);

/// How many combinations the axes produce; throws when more than `limit`.
std::size_t combination_count(const std::vector<foreach_axis>& axes, std::size_t limit = max_expanded_tasks);

/// Calls `fn` once per combination with the variables bound by name. The first axis is
/// the outermost loop, the last changes fastest. No axes = one empty combination.
void for_each_combination(const std::vector<foreach_axis>& axes,
                          const std::function<void(const std::map<std::string, std::string>&)>& fn);

}  // namespace drover::detail
