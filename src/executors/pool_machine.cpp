#include "executors/pool_machine.hpp"

#include <drover/duration.hpp>

#include <fmt/format.h>

#include <algorithm>

namespace drover {

std::string_view to_string(host_state s) noexcept {
    switch (s) {
        case host_state::probing: return "probing";
        case host_state::up: return "up";
        case host_state::down: return "down";
        case host_state::rejected: return "rejected";
        case host_state::draining: return "draining";
    }
    return "?";
}

namespace detail {

pool_machine::pool_machine(pool_config c) : cfg_(std::move(c)) {
    if (cfg_.slots_per_host == 0) cfg_.slots_per_host = 1;
}

std::string pool_machine::label(const entry& e) const { return e.spec; }

bool pool_machine::alive(const entry& e) const {
    return e.membership != member::gone && (e.state == health::up || e.state == health::probing);
}

std::optional<std::uint32_t> pool_machine::find(std::string_view spec) const {
    for (std::uint32_t h = 0; h < hosts_.size(); ++h)
        if (hosts_[h].membership != member::gone && hosts_[h].spec == spec) return h;
    return std::nullopt;
}

void pool_machine::set(std::uint32_t h, health s, time_point now, actions& out) {
    auto& e = hosts_[h];
    if (e.state != s) e.since = now;
    e.state = s;
    out.push_back({pool_action::changed, h});
}

pool_machine::actions pool_machine::begin(time_point now) {
    actions out;
    check_all_down(now, out);
    return out;
}

// ---- membership ----

pool_machine::actions pool_machine::add(const std::string& spec, time_point now, bool announce) {
    actions out;
    if (auto h = find(spec)) {
        auto& e = hosts_[*h];
        if (e.membership == member::draining) {
            e.membership = member::listed;
            e.since = now;
            out.push_back({pool_action::report, *h, {}, fmt::format("host {} is listed again", label(e))});
            out.push_back({pool_action::changed, *h});
            check_all_down(now, out);
        }
        return out;
    }
    // A host that left and has nothing running any more gets its old entry back.
    std::uint32_t h = 0;
    while (h < hosts_.size() && !(hosts_[h].membership == member::gone && hosts_[h].running == 0 &&
                                  hosts_[h].spec == spec))
        ++h;
    if (h == hosts_.size()) hosts_.push_back({});
    auto& e = hosts_[h];
    auto started = e.started;
    e = entry{};
    e.spec = spec;
    e.started = started;
    e.since = now;
    out.push_back({pool_action::open, h});
    if (announce) out.push_back({pool_action::report, h, {}, fmt::format("host {} joined", label(e))});
    out.push_back({pool_action::changed, h});
    out.push_back({pool_action::probe, h});
    if (none_since_) {  // it may bring the pool back
        none_since_.reset();
        out.push_back({pool_action::disarm_giveup});
    }
    return out;
}

pool_machine::actions pool_machine::drain(std::string_view spec, time_point now) {
    actions out;
    auto h = find(spec);
    if (!h || hosts_[*h].membership == member::draining) return out;
    auto& e = hosts_[*h];
    e.membership = member::draining;
    e.since = now;
    out.push_back({pool_action::changed, *h});
    if (e.running > 0)
        out.push_back({pool_action::report, *h, {},
                       fmt::format("host {} is draining ({} attempt(s) running)", label(e), e.running)});
    maybe_leave(*h, now, out);
    check_all_down(now, out);
    return out;
}

pool_machine::actions pool_machine::remove(std::string_view spec, time_point now) {
    actions out;
    auto h = find(spec);
    if (!h) return out;
    auto& e = hosts_[*h];
    e.membership = member::draining;
    e.since = now;
    out.push_back({pool_action::changed, *h});
    if (e.running > 0) {
        out.push_back({pool_action::report, *h, {},
                       fmt::format("host {} removed; its {} running attempt(s) go back to the queue", label(e),
                                   e.running)});
        out.push_back({pool_action::lose_attempts, *h, {}, fmt::format("host {} was removed from the pool", label(e))});
    }
    maybe_leave(*h, now, out);
    check_all_down(now, out);
    return out;
}

void pool_machine::maybe_leave(std::uint32_t h, time_point now, actions& out) {
    auto& e = hosts_[h];
    if (e.membership != member::draining || e.running > 0) return;
    e.membership = member::gone;
    e.since = now;
    out.push_back({pool_action::cancel_timer, h});
    out.push_back({pool_action::close, h});
    out.push_back({pool_action::report, h, {}, fmt::format("host {} left", label(e))});
    out.push_back({pool_action::changed, h});
}

std::vector<std::string> pool_machine::clear(actions& out) {
    std::vector<std::string> listed;
    for (std::uint32_t h = 0; h < hosts_.size(); ++h) {
        auto& e = hosts_[h];
        if (e.membership == member::listed) listed.push_back(e.spec);
        if (e.membership == member::gone) continue;
        out.push_back({pool_action::cancel_timer, h});
        out.push_back({pool_action::close, h});
        e.membership = member::gone;  // the entry (and its count of attempts) is reused when it joins again
        e.running = 0;
    }
    if (none_since_) out.push_back({pool_action::disarm_giveup});
    none_since_.reset();
    return listed;
}

// ---- health ----

pool_machine::actions pool_machine::probe_due(std::uint32_t h, time_point now) {
    actions out;
    auto& e = hosts_[h];
    if (e.membership == member::gone || e.state == health::rejected) return out;
    if (e.state == health::down) set(h, health::probing, now, out);
    out.push_back({pool_action::probe, h});
    return out;
}

pool_machine::actions pool_machine::probe_ok(std::uint32_t h, time_point now) {
    actions out;
    auto& e = hosts_[h];
    if (e.membership == member::gone || e.state == health::rejected) return out;
    bool was_down = e.failures > 0;
    bool first = !e.ever_up;
    e.failures = 0;
    e.ever_up = true;
    e.reason.clear();
    if (e.state != health::up) set(h, health::up, now, out);
    if (none_since_) {
        none_since_.reset();
        out.push_back({pool_action::disarm_giveup});
    }
    if (was_down) out.push_back({pool_action::report, h, {}, fmt::format("host {} is up again", label(e))});
    if (first || was_down) out.push_back({pool_action::reachable, h});
    if (cfg_.ping_interval.count() > 0) out.push_back({pool_action::probe_after, h, cfg_.ping_interval});
    return out;
}

pool_machine::actions pool_machine::host_failed(std::uint32_t h, bool permanent, const std::string& why,
                                                time_point now) {
    actions out;
    auto& e = hosts_[h];
    if (e.membership == member::gone || e.state == health::rejected) return out;
    if (permanent) reject(h, why, now, out);
    else mark_down(h, why, now, out);
    return out;
}

void pool_machine::mark_down(std::uint32_t h, const std::string& why, time_point now, actions& out) {
    auto& e = hosts_[h];
    if (e.state == health::down) return;  // already waiting for its re-probe
    if (e.failures == 0) out.push_back({pool_action::report, h, {}, fmt::format("host {} is down: {}", label(e), why)});
    set(h, health::down, now, out);
    e.reason = why;
    auto delay = cfg_.reprobe_initial * (std::int64_t{1} << std::min(e.failures, 16));
    if (delay > cfg_.reprobe_max || delay.count() < 0) delay = cfg_.reprobe_max;
    ++e.failures;
    out.push_back({pool_action::probe_after, h, delay});
    if (e.running > 0) out.push_back({pool_action::lose_attempts, h, {}, why});
    check_all_down(now, out);
}

void pool_machine::reject(std::uint32_t h, const std::string& why, time_point now, actions& out) {
    auto& e = hosts_[h];
    set(h, health::rejected, now, out);
    e.reason = why;
    out.push_back({pool_action::cancel_timer, h});
    out.push_back({pool_action::report, h, {}, fmt::format("host {} cannot be used: {}", label(e), why)});
    if (e.running > 0) out.push_back({pool_action::lose_attempts, h, {}, why});
    check_all_down(now, out);
}

void pool_machine::check_all_down(time_point now, actions& out) {
    bool any_up = false, any_alive = false, any_listed = false, all_rejected = true;
    for (auto& e : hosts_) {
        if (e.membership == member::gone) continue;
        any_listed = true;
        if (alive(e)) any_alive = true;
        if (e.state == health::up) any_up = true;
        if (e.state != health::rejected) all_rejected = false;
    }
    if (any_up && none_since_) {
        none_since_.reset();
        out.push_back({pool_action::disarm_giveup});
    }
    // A host being probed again does not stop the clock (it may fail again); one that
    // answers, or a host that joins, does.
    if (any_alive || none_since_) return;
    if (any_listed && all_rejected && !cfg_.wait_for_hosts) return;  // failed() says so at once
    none_since_ = now;
    out.push_back({pool_action::report, 0, {},
                   any_listed ? fmt::format("every {} is down; waiting up to {} for one to come back", cfg_.noun,
                                            format_duration(cfg_.down_timeout))
                              : fmt::format("no {} is listed; waiting up to {} for one to join", cfg_.noun,
                                            format_duration(cfg_.down_timeout))});
    out.push_back({pool_action::arm_giveup, 0, cfg_.down_timeout});
}

// ---- attempts ----

std::optional<std::uint32_t> pool_machine::pick(std::optional<std::uint32_t> avoid) const {
    std::optional<std::uint32_t> best;
    for (std::uint32_t h = 0; h < hosts_.size(); ++h) {
        auto& e = hosts_[h];
        if (e.membership != member::listed || e.state != health::up || e.running >= cfg_.slots_per_host) continue;
        if (avoid && h == *avoid) continue;
        if (!best || e.running < hosts_[*best].running ||
            (e.running == hosts_[*best].running && e.started < hosts_[*best].started))
            best = h;
    }
    if (!best && avoid) return pick();
    return best;
}

void pool_machine::attempt_started(std::uint32_t h) {
    ++hosts_[h].running;
    ++hosts_[h].started;
}

pool_machine::actions pool_machine::attempt_ended(std::uint32_t h, time_point now) {
    actions out;
    auto& e = hosts_[h];
    if (e.running > 0) --e.running;
    maybe_leave(h, now, out);
    if (e.membership == member::gone) check_all_down(now, out);
    return out;
}

// ---- questions ----

bool pool_machine::can_accept() const { return pick().has_value(); }

std::size_t pool_machine::slots() const {
    std::size_t n = 0;
    for (auto& e : hosts_)
        if (e.membership != member::gone && e.state != health::rejected) ++n;
    return n * cfg_.slots_per_host;
}

std::optional<std::string> pool_machine::failed(time_point now) const {
    bool any_listed = false, any_alive = false, all_rejected = true;
    for (auto& e : hosts_) {
        if (e.membership == member::gone) continue;
        any_listed = true;
        if (alive(e)) any_alive = true;
        if (e.state != health::rejected) all_rejected = false;
    }
    std::string msg;
    if (any_listed && all_rejected && !cfg_.wait_for_hosts) {
        msg = "no usable " + cfg_.noun;
    } else if (!any_alive && none_since_ && now - *none_since_ >= cfg_.down_timeout) {
        msg = any_listed ? fmt::format("every {} down for {}", cfg_.noun, format_duration(cfg_.down_timeout))
                         : fmt::format("no {} for {}", cfg_.noun, format_duration(cfg_.down_timeout));
    } else {
        return std::nullopt;
    }
    for (auto& e : hosts_)
        if (e.membership != member::gone) msg += "; " + label(e) + ": " + (e.reason.empty() ? "no answer" : e.reason);
    return msg;
}

pool_machine::view pool_machine::host(std::uint32_t h) const {
    auto& e = hosts_[h];
    view v;
    v.info.spec = e.spec;
    v.info.running = e.running;
    v.info.started = e.started;
    v.info.reason = e.reason;
    v.since = e.since;
    if (e.membership != member::listed) v.info.state = host_state::draining;
    else if (e.state == health::probing) v.info.state = host_state::probing;
    else if (e.state == health::up) v.info.state = host_state::up;
    else if (e.state == health::down) v.info.state = host_state::down;
    else v.info.state = host_state::rejected;
    return v;
}

std::vector<pool_machine::view> pool_machine::hosts() const {
    std::vector<view> out;
    for (std::uint32_t h = 0; h < hosts_.size(); ++h)
        if (hosts_[h].membership != member::gone) out.push_back(host(h));
    return out;
}

std::string pool_machine::check() const {
    for (std::uint32_t h = 0; h < hosts_.size(); ++h) {
        auto& e = hosts_[h];
        if (e.running > cfg_.slots_per_host) return "host " + e.spec + " runs more attempts than it has slots";
        if (e.membership == member::gone && e.running > 0 && e.state == health::up)
            return "host " + e.spec + " left with attempts running";
        for (std::uint32_t o = h + 1; o < hosts_.size(); ++o)
            if (hosts_[o].spec == e.spec && e.membership != member::gone && hosts_[o].membership != member::gone)
                return "host " + e.spec + " is listed twice";
    }
    bool any_up = std::any_of(hosts_.begin(), hosts_.end(),
                              [&](const entry& e) { return e.membership != member::gone && e.state == health::up; });
    if (any_up && none_since_) return "a host is up but the pool counts as down";
    return {};
}

}  // namespace detail
}  // namespace drover
