#pragma once
// Durations on their way into timers. steady_clock counts nanoseconds in 64 bits, about
// 292 years: a longer delay (a timeout of "106752d", duration::max() from the C++ API)
// overflows when a timer converts it, into the past, so it fires at once. Every delay
// drover arms a timer with goes through timer_delay(), and job files may not write more
// than max_delay (parse_duration refuses it).

#include <drover/task.hpp>

#include <algorithm>
#include <chrono>

namespace drover::detail {

/// 100 years ("36500d"): the longest duration a job file may write, and "never" for any
/// run. steady_clock's time since boot plus this cannot overflow.
inline constexpr duration max_delay = std::chrono::hours(24) * 36500;

/// `d` clamped to [0, max_delay].
inline duration timer_delay(duration d) noexcept { return std::clamp(d, duration::zero(), max_delay); }

}  // namespace drover::detail
