#pragma once
// Retry delays: exponential with a cap, then jittered so that many tasks failing
// together (a server outage) do not retry in lockstep.

#include <drover/task.hpp>

#include "detail/durations.hpp"

#include <algorithm>
#include <cmath>

namespace drover::detail {

/// Delay before retry `retry` (1 = first retry); `u` is uniform in [0, 1). Computed in
/// double and saturated to [0, max_delay], so huge settings (a backoff of "106752d", a
/// multiplier whose power overflows to inf, NaN from the C++ API) give a delay a timer can
/// hold, never one that wraps into the past.
inline duration backoff_delay(const backoff_policy& p, int retry, double u) {
    const double cap = static_cast<double>(max_delay.count());
    double initial = std::clamp(static_cast<double>(p.initial.count()), 0.0, cap);
    if (initial == 0) return duration::zero();
    double mult = p.multiplier >= 1.0 ? p.multiplier : 1.0;  // NaN -> 1
    double base = initial * std::pow(mult, std::max(0, retry - 1));
    double d = std::min({base, static_cast<double>(p.max.count()), cap});
    double j = p.jitter >= 0 ? std::min(p.jitter, 1.0) : 0.0;
    double v = d * (1.0 - j) + d * j * (u >= 0 ? std::min(u, 1.0) : 0.0);
    if (!(v > 0)) return duration::zero();  // also NaN
    return duration(static_cast<duration::rep>(std::min(v, cap)));
}

}  // namespace drover::detail
