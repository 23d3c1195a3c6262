#pragma once
// Straggler detection for speculation (scheduler_options::speculation), without clocks or
// sockets: the dispatcher tells it when attempts start and end and what succeeded, and asks
// which running attempts are overdue at a given time.
//
// An attempt is overdue once it has run `multiplier` times its expected duration, and at
// least `min_runtime`. The expected duration is, in this order: the task's own last
// successful attempt in the journal's history; the `quantile` of this run's successful
// attempts of the same command template (expected.hpp), once there are min_samples of them;
// the template's median in the history; the `quantile` of all the run's successful attempts
// (min_samples of them). Without any, the attempt is never overdue.

#include <drover/scheduler.hpp>

#include <chrono>
#include <cstdint>
#include <random>
#include <unordered_map>
#include <vector>

namespace drover::detail {

class straggler_watch {
public:
    using clock = std::chrono::steady_clock;
    static constexpr std::size_t min_samples = 3;
    /// Samples kept per template (a uniform reservoir over all of them beyond that).
    static constexpr std::size_t max_samples = 1024;

    explicit straggler_watch(speculation_options opts, std::uint64_t seed = 0);

    /// Attempt slot `slot` started now (`at`): its task's command template and, from the
    /// history, the task's own expected milliseconds and its template's (0: unknown).
    void started(std::uint32_t slot, std::uint64_t template_hash, std::uint32_t own_ms, std::uint32_t template_ms,
                 clock::time_point at);
    /// The attempt in `slot` ended; `succeeded_ms` its duration when it succeeded.
    void ended(std::uint32_t slot, std::optional<std::int64_t> succeeded_ms);

    /// When the attempt in `slot` becomes overdue, or nullopt (not running, no estimate).
    std::optional<clock::time_point> overdue_at(std::uint32_t slot);
    /// Running attempts overdue at `now`, the most overdue (relative to their expected
    /// duration) first.
    std::vector<std::uint32_t> overdue(clock::time_point now);
    /// The expected duration the threshold of `slot` is based on (ms; 0: none).
    std::uint32_t expected_ms(std::uint32_t slot);
    /// When the attempt in `slot` started (the epoch when it is not running).
    clock::time_point started_at(std::uint32_t slot) const noexcept {
        return slot < slots_.size() && slots_[slot].live ? slots_[slot].started : clock::time_point{};
    }

private:
    struct running {
        bool live = false;
        std::uint64_t hash = 0;
        std::uint32_t own_ms = 0, template_ms = 0;
        clock::time_point started{};
    };
    struct samples {
        std::vector<std::uint32_t> ms;
        std::uint64_t seen = 0;
        std::uint32_t quantile_ms = 0;  // cached
        bool dirty = false;
    };
    std::uint32_t quantile_of(samples& s);
    /// When the attempt in `slot`, expected to take `ms`, becomes overdue.
    clock::time_point due(std::uint32_t slot, std::uint32_t ms) const;
    static void add(samples& s, std::uint32_t ms, std::mt19937_64& rng);

    speculation_options opts_;
    std::mt19937_64 rng_;
    std::vector<running> slots_;
    std::unordered_map<std::uint64_t, samples> templates_;
    samples all_;  // every template's
};

}  // namespace drover::detail
