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

/// The most tasks one job may expand to; beyond this a typo (a range over centuries,
/// a step of "1d" meant as "7d" times many keys) is far likelier than intent.
inline constexpr std::size_t max_expanded_tasks = 1'000'000;

/// What a foreach variable was written as: it decides what a value given instead must be.
enum class axis_kind { list, integers, dates };

/// One foreach variable and the values it takes, in order.
struct foreach_axis {
    std::string name;
    std::vector<std::string> values;
    axis_kind kind = axis_kind::list;
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

/// Every `step_days`-th day from `from` up to and including `to`, formatted "YYYY-MM-DD".
std::vector<std::string> date_range(std::chrono::sys_days from, std::chrono::sys_days to, int step_days);

/// from, from+step, ... up to and including `to`; step >= 1, from <= to.
std::vector<std::string> int_range(std::int64_t from, std::int64_t to, std::int64_t step);

/// How many combinations the axes produce; throws when more than `limit`.
std::size_t combination_count(const std::vector<foreach_axis>& axes, std::size_t limit = max_expanded_tasks);

/// Calls `fn` once per combination with the variables bound by name. The first axis is
/// the outermost loop, the last changes fastest. No axes = one empty combination.
void for_each_combination(const std::vector<foreach_axis>& axes,
                          const std::function<void(const std::map<std::string, std::string>&)>& fn);

}  // namespace drover::detail
