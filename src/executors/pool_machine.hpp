#pragma once
// The host pool of a fleet executor as a state machine without sockets, processes or timers:
// probe results, attempts, joins, drains, removals and timer expiries go in as events (with
// the time), and what to do comes out as actions (probe, arm a timer, lose a host's attempts,
// release a host, report). The SSH and Docker executors drive it through host_fleet; the
// tests script it directly.
//
//   joined ─▶ probing ─ ok ─▶ up ─ probe or attempt fails ─▶ down ─ re-probe (backoff) ─▶ probing
//                  └─ auth, host key, TLS, not a daemon ─▶ rejected (until it leaves and joins again)
//   drain: listed ─▶ draining ─ last attempt ends ─▶ gone      remove: draining + its attempts lost

#include <drover/executors/host_pool.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace drover::detail {

using pool_clock = std::chrono::steady_clock;

struct pool_action {
    enum kind : std::uint8_t {
        open,           // a host joined: make what the executor needs for it (a failure rejects it)
        probe,          // probe the host now
        probe_after,    // arm the host's timer; probe when it fires (probe_due)
        cancel_timer,   // disarm the host's timer
        lose_attempts,  // end the host's running attempts as executor_lost, `text` saying why
        reachable,      // the host answered for the first time, or again after it was down
        close,          // the host left: release what the executor holds for it
        arm_giveup,     // call giveup_due after `delay`
        disarm_giveup,
        report,         // tell the user `text`
        changed,        // the host's state changed (observers, status); not sent for attempt counts
    };
    kind what;
    std::uint32_t host = 0;
    duration delay{0};
    std::string text;
};

struct pool_config {
    std::string noun = "host";  // "ssh host", "Docker host": in messages
    std::size_t slots_per_host = 1;
    duration reprobe_initial{1000};
    duration reprobe_max{30000};
    duration down_timeout{300000};
    duration ping_interval{0};  // re-probe of hosts that are up; 0 = never
    bool wait_for_hosts = false;
};

class pool_machine {
public:
    using actions = std::vector<pool_action>;
    using time_point = pool_clock::time_point;

    explicit pool_machine(pool_config c);

    /// After the first hosts joined: with none listed or alive, report it and start the clock.
    actions begin(time_point now);

    // ---- membership ----
    /// A host joins (open, probe; `announce`: reported). A draining host is taken back; a
    /// listed one: nothing.
    actions add(const std::string& spec, time_point now, bool announce = true);
    actions drain(std::string_view spec, time_point now);
    /// Drain, and its running attempts are lost.
    actions remove(std::string_view spec, time_point now);
    /// Every host leaves (the run ends): close for each, timers off. The specs of the listed
    /// hosts are returned, to join again in the next run.
    std::vector<std::string> clear(actions& out);

    // ---- health ----
    actions probe_due(std::uint32_t h, time_point now);
    actions probe_ok(std::uint32_t h, time_point now);
    /// A probe, or a request of an attempt, failed. `permanent`: rejected, else down.
    actions host_failed(std::uint32_t h, bool permanent, const std::string& why, time_point now);

    // ---- attempts ----
    /// The listed, up host with a free slot that has the fewest running (then started) attempts;
    /// not `avoid` when another one can take it.
    std::optional<std::uint32_t> pick(std::optional<std::uint32_t> avoid = std::nullopt) const;
    void attempt_started(std::uint32_t h);
    actions attempt_ended(std::uint32_t h, time_point now);

    // ---- questions ----
    bool can_accept() const;
    std::size_t slots() const;
    std::optional<std::string> failed(time_point now) const;
    /// The hosts that have not left (steady `since`; the caller converts).
    struct view {
        host_info info;
        time_point since;
    };
    std::vector<view> hosts() const;
    view host(std::uint32_t h) const;
    const std::string& spec(std::uint32_t h) const { return hosts_[h].spec; }
    std::optional<std::uint32_t> find(std::string_view spec) const;
    bool listed(std::uint32_t h) const { return h < hosts_.size() && hosts_[h].membership != member::gone; }
    std::size_t size() const { return hosts_.size(); }
    /// Empty when the pool's counters and states agree; else what is wrong (tests).
    std::string check() const;

private:
    enum class health : std::uint8_t { probing, up, down, rejected };
    enum class member : std::uint8_t { listed, draining, gone };
    struct entry {
        std::string spec;
        health state = health::probing;
        member membership = member::listed;
        bool ever_up = false;
        int failures = 0;  // consecutive
        std::size_t running = 0;
        std::size_t started = 0;
        time_point since{};
        std::string reason;
    };

    void set(std::uint32_t h, health s, time_point now, actions& out);
    void mark_down(std::uint32_t h, const std::string& why, time_point now, actions& out);
    void reject(std::uint32_t h, const std::string& why, time_point now, actions& out);
    void maybe_leave(std::uint32_t h, time_point now, actions& out);
    void check_all_down(time_point now, actions& out);
    bool alive(const entry& e) const;
    std::string label(const entry& e) const;

    pool_config cfg_;
    std::vector<entry> hosts_;
    std::optional<time_point> none_since_;  // no host up or probing since
};

}  // namespace drover::detail
