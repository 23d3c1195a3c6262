#include "scheduler/straggler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace drover::detail {

straggler_watch::straggler_watch(speculation_options opts, std::uint64_t seed) : opts_(opts), rng_(seed) {}

void straggler_watch::started(std::uint32_t slot, std::uint64_t hash, std::uint32_t own_ms, std::uint32_t template_ms,
                              clock::time_point at) {
    if (slot >= slots_.size()) slots_.resize(std::size_t{slot} + 1);
    slots_[slot] = {true, hash, own_ms, template_ms, at};
}

void straggler_watch::ended(std::uint32_t slot, std::optional<std::int64_t> succeeded_ms) {
    if (slot >= slots_.size() || !slots_[slot].live) return;
    auto& r = slots_[slot];
    r.live = false;
    if (!succeeded_ms) return;
    auto ms = static_cast<std::uint32_t>(std::clamp<std::int64_t>(*succeeded_ms, 1, std::numeric_limits<std::uint32_t>::max()));
    add(templates_[r.hash], ms, rng_);
    add(all_, ms, rng_);
}

void straggler_watch::add(samples& s, std::uint32_t ms, std::mt19937_64& rng) {
    ++s.seen;
    if (s.ms.size() < max_samples) {
        s.ms.push_back(ms);
    } else {
        // Reservoir sampling: every sample so far is kept with the same probability.
        std::uniform_int_distribution<std::uint64_t> pick(0, s.seen - 1);
        if (auto k = pick(rng); k < max_samples) s.ms[k] = ms;
    }
    s.dirty = true;
}

std::uint32_t straggler_watch::quantile_of(samples& s) {
    if (s.ms.size() < min_samples) return 0;
    if (s.dirty) {
        auto k = static_cast<std::size_t>(std::ceil(opts_.quantile * static_cast<double>(s.ms.size())));
        k = std::clamp<std::size_t>(k, 1, s.ms.size()) - 1;
        std::nth_element(s.ms.begin(), s.ms.begin() + static_cast<std::ptrdiff_t>(k), s.ms.end());
        s.quantile_ms = s.ms[k];
        s.dirty = false;
    }
    return s.quantile_ms;
}

std::uint32_t straggler_watch::expected_ms(std::uint32_t slot) {
    if (slot >= slots_.size() || !slots_[slot].live) return 0;
    const auto& r = slots_[slot];
    if (r.own_ms) return r.own_ms;
    if (auto it = templates_.find(r.hash); it != templates_.end())
        if (auto q = quantile_of(it->second)) return q;
    if (r.template_ms) return r.template_ms;
    return quantile_of(all_);
}

straggler_watch::clock::time_point straggler_watch::due(std::uint32_t slot, std::uint32_t ms) const {
    auto after = std::chrono::duration<double, std::milli>(opts_.multiplier * static_cast<double>(ms));
    auto wait = std::max(std::chrono::duration_cast<clock::duration>(after),
                         std::chrono::duration_cast<clock::duration>(opts_.min_runtime));
    return slots_[slot].started + wait;
}

std::optional<straggler_watch::clock::time_point> straggler_watch::overdue_at(std::uint32_t slot) {
    auto ms = expected_ms(slot);
    if (ms == 0) return std::nullopt;
    return due(slot, ms);
}

std::vector<std::uint32_t> straggler_watch::overdue(clock::time_point now) {
    std::vector<std::pair<double, std::uint32_t>> late;  // (elapsed / expected, slot)
    for (std::uint32_t s = 0; s < slots_.size(); ++s) {
        auto ms = expected_ms(s);  // 0 when not running or without an estimate
        if (ms == 0 || now < due(s, ms)) continue;
        auto elapsed = std::chrono::duration<double, std::milli>(now - slots_[s].started).count();
        late.emplace_back(elapsed / static_cast<double>(ms), s);
    }
    std::sort(late.begin(), late.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<std::uint32_t> out;
    out.reserve(late.size());
    for (auto& [ratio, s] : late) out.push_back(s);
    return out;
}

}  // namespace drover::detail
