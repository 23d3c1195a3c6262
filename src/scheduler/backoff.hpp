#pragma once
// Retry delays: exponential with a cap, then jittered so that many tasks failing
// together (a server outage) do not retry in lockstep.

#include <drover/task.hpp>

#include <algorithm>
#include <cmath>

namespace drover::detail {

/// Delay before retry `retry` (1 = first retry); `u` is uniform in [0, 1).
inline duration backoff_delay(const backoff_policy& p, int retry, double u) {
    double base = static_cast<double>(p.initial.count()) * std::pow(std::max(1.0, p.multiplier), std::max(0, retry - 1));
    double d = std::min(base, static_cast<double>(p.max.count()));
    double j = std::clamp(p.jitter, 0.0, 1.0);
    return duration(static_cast<duration::rep>(d * (1.0 - j) + d * j * std::clamp(u, 0.0, 1.0)));
}

}  // namespace drover::detail
