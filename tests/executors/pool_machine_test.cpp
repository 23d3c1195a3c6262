// The host pool as a script of events (no sockets, no processes, no timers): every
// transition of pool_machine, and the host list parser of hosts_file / hosts_command.

#include "executors/host_source.hpp"
#include "executors/pool_machine.hpp"

#include <doctest/doctest.h>

#include <algorithm>

using namespace std::chrono_literals;
using drover::host_state;
using drover::detail::pool_action;
using drover::detail::pool_config;
using drover::detail::pool_machine;

namespace {

using actions = pool_machine::actions;
const auto t0 = pool_machine::time_point{} + 1000s;

pool_config config(bool wait = false) {
    pool_config c;
    c.noun = "test host";
    c.slots_per_host = 2;
    c.reprobe_initial = 1000ms;
    c.reprobe_max = 4000ms;
    c.down_timeout = 60s;
    c.wait_for_hosts = wait;
    return c;
}

bool has(const actions& a, pool_action::kind k, std::uint32_t h = ~0u) {
    return std::any_of(a.begin(), a.end(), [&](auto& x) { return x.what == k && (h == ~0u || x.host == h); });
}
std::string reports(const actions& a) {
    std::string out;
    for (auto& x : a)
        if (x.what == pool_action::report) out += x.text + "\n";
    return out;
}
drover::duration delay_of(const actions& a, pool_action::kind k) {
    for (auto& x : a)
        if (x.what == k) return x.delay;
    FAIL("no such action");
    return {};
}
host_state state(const pool_machine& m, std::uint32_t h) { return m.host(h).info.state; }

// Two hosts that joined and answered.
struct up_pool {
    pool_machine m{config()};
    up_pool() {
        for (auto s : {"a", "b"}) {
            auto a = m.add(s, t0);
            REQUIRE(has(a, pool_action::open));
            REQUIRE(has(a, pool_action::probe));
        }
        REQUIRE(m.begin(t0).empty());  // hosts are probing: nothing to say
        CHECK(m.slots() == 4);
        CHECK_FALSE(m.can_accept());  // not up yet
        CHECK(has(m.probe_ok(0, t0), pool_action::reachable, 0));
        CHECK(has(m.probe_ok(1, t0), pool_action::reachable, 1));
        CHECK(m.check() == "");
    }
};

}  // namespace

TEST_CASE("pool: hosts join, are probed, and attempts spread by fewest running, then fewest started") {
    up_pool p;
    auto& m = p.m;
    CHECK(state(m, 0) == host_state::up);
    std::vector<std::uint32_t> picks;
    for (int i = 0; i < 4; ++i) {
        auto h = m.pick();
        REQUIRE(h);
        m.attempt_started(*h);
        picks.push_back(*h);
    }
    CHECK(picks == std::vector<std::uint32_t>{0, 1, 0, 1});
    CHECK_FALSE(m.pick());  // 2 slots each, all busy
    m.attempt_ended(1, t0);
    CHECK(m.pick() == 1u);
    CHECK(m.host(0).info.started == 2);
    CHECK(m.check() == "");
}

TEST_CASE("pool: a backup avoids its straggler's host when another can take it, and takes it when none can") {
    up_pool p;
    auto& m = p.m;
    m.attempt_started(0);
    CHECK(m.pick(0u) == 1u);  // host 1 is free
    m.attempt_started(1);
    m.attempt_started(1);
    CHECK(m.pick(0u) == 0u);  // host 1 is full: host 0 after all
    CHECK(m.pick(1u) == 0u);
    m.attempt_started(0);
    CHECK_FALSE(m.pick(0u));  // nothing free anywhere
}

TEST_CASE("pool: a failed probe marks down with doubling backoff up to reprobe_max, reported once") {
    up_pool p;
    auto& m = p.m;
    m.attempt_started(0);
    auto a = m.host_failed(0, false, "connection refused", t0);
    CHECK(state(m, 0) == host_state::down);
    CHECK(reports(a).find("host a is down: connection refused") != std::string::npos);
    CHECK(has(a, pool_action::lose_attempts, 0));  // its attempts go back to the queue
    CHECK(delay_of(a, pool_action::probe_after) == 1000ms);
    m.attempt_ended(0, t0);
    std::vector<long> delays;
    for (int i = 0; i < 4; ++i) {
        auto due = m.probe_due(0, t0);
        CHECK(state(m, 0) == host_state::probing);
        CHECK(has(due, pool_action::probe, 0));
        auto f = m.host_failed(0, false, "still refused", t0);
        CHECK(reports(f).empty());  // reported once, not at every re-probe
        CHECK_FALSE(has(f, pool_action::lose_attempts));
        delays.push_back(static_cast<long>(delay_of(f, pool_action::probe_after).count()));
    }
    CHECK(delays == std::vector<long>{2000, 4000, 4000, 4000});
    m.probe_due(0, t0);
    auto ok = m.probe_ok(0, t0);
    CHECK(reports(ok).find("host a is up again") != std::string::npos);
    CHECK(has(ok, pool_action::reachable, 0));  // Docker reaps again
    CHECK(state(m, 0) == host_state::up);
    CHECK(m.check() == "");
}

TEST_CASE("pool: a permanent failure rejects the host until it leaves and joins again") {
    up_pool p;
    auto& m = p.m;
    auto a = m.host_failed(1, true, "Permission denied (publickey)", t0);
    CHECK(state(m, 1) == host_state::rejected);
    CHECK(reports(a).find("host b cannot be used: Permission denied (publickey)") != std::string::npos);
    CHECK(has(a, pool_action::cancel_timer, 1));
    CHECK(m.slots() == 2);  // a rejected host has no slots
    CHECK(m.probe_due(1, t0).empty());
    CHECK(m.probe_ok(1, t0).empty());  // a late answer does not bring it back
    CHECK(m.add("b", t0).empty());     // still listed: stays rejected
    CHECK(state(m, 1) == host_state::rejected);
    m.drain("b", t0);
    CHECK_FALSE(m.find("b"));
    auto again = m.add("b", t0);  // left and joined again: probed afresh
    CHECK(has(again, pool_action::probe, 1));
    CHECK(state(m, 1) == host_state::probing);
}

TEST_CASE("pool: every host rejected fails at once, unless the pool waits for hosts") {
    for (bool wait : {false, true}) {
        CAPTURE(wait);
        pool_machine m(config(wait));
        m.add("a", t0);
        m.begin(t0);
        auto a = m.host_failed(0, true, "Host key verification failed.", t0);
        if (!wait) {
            CHECK_FALSE(has(a, pool_action::arm_giveup));
            auto f = m.failed(t0);
            REQUIRE(f);
            CHECK(*f == "no usable test host; a: Host key verification failed.");
        } else {
            CHECK(has(a, pool_action::arm_giveup));
            CHECK_FALSE(m.failed(t0 + 59s));
            auto f = m.failed(t0 + 60s);
            REQUIRE(f);
            CHECK(f->find("every test host down for 1m") == 0);
        }
    }
}

TEST_CASE("pool: every host down starts the clock, and a host that answers or joins stops it") {
    up_pool p;
    auto& m = p.m;
    CHECK_FALSE(has(m.host_failed(0, false, "x", t0), pool_action::arm_giveup));
    auto a = m.host_failed(1, false, "y", t0);
    CHECK(delay_of(a, pool_action::arm_giveup) == 60s);
    CHECK(reports(a).find("every test host is down; waiting up to 1m for one to come back") != std::string::npos);
    CHECK_FALSE(m.failed(t0 + 59s));
    CHECK(m.check() == "");
    SUBCASE("an answer stops it") {
        m.probe_due(0, t0 + 10s);  // probing counts as alive: the clock stops
        CHECK(m.check() == "");
        auto ok = m.probe_ok(0, t0 + 10s);
        CHECK_FALSE(m.failed(t0 + 100s));
    }
    SUBCASE("a new host stops it") {
        auto j = m.add("c", t0 + 30s);
        CHECK(has(j, pool_action::disarm_giveup));
        CHECK_FALSE(m.failed(t0 + 100s));
    }
    SUBCASE("nobody comes back") {
        auto f = m.failed(t0 + 60s);
        REQUIRE(f);
        CHECK(*f == "every test host down for 1m; a: x; b: y");
    }
}

TEST_CASE("pool: an empty pool waits for a host to join, and gives up after down_timeout") {
    pool_machine m(config(true));
    CHECK(m.slots() == 0);
    auto a = m.begin(t0);
    CHECK(reports(a).find("no test host is listed; waiting up to 1m for one to join") != std::string::npos);
    CHECK(has(a, pool_action::arm_giveup));
    CHECK(m.begin(t0).empty());  // said once
    auto f = m.failed(t0 + 60s);
    REQUIRE(f);
    CHECK(*f == "no test host for 1m");
    auto j = m.add("late", t0 + 30s);
    CHECK(has(j, pool_action::disarm_giveup));
    CHECK_FALSE(m.failed(t0 + 120s));
    CHECK(m.slots() == 2);
}

TEST_CASE("pool: a draining host takes no new attempts and leaves when its last attempt ends") {
    up_pool p;
    auto& m = p.m;
    m.attempt_started(0);
    auto d = m.drain("a", t0);
    CHECK(state(m, 0) == host_state::draining);
    CHECK(reports(d).find("host a is draining (1 attempt(s) running)") != std::string::npos);
    CHECK_FALSE(has(d, pool_action::lose_attempts));  // running attempts go on
    CHECK_FALSE(has(d, pool_action::close));
    CHECK(m.pick() == 1u);  // only b takes attempts
    SUBCASE("it leaves") {
        auto e = m.attempt_ended(0, t0);
        CHECK(has(e, pool_action::close, 0));
        CHECK(reports(e).find("host a left") != std::string::npos);
        CHECK_FALSE(m.find("a"));
        CHECK(m.hosts().size() == 1);
        CHECK(m.slots() == 2);
    }
    SUBCASE("listed again before it left: taken back, attempts untouched") {
        auto back = m.add("a", t0);
        CHECK(reports(back).find("host a is listed again") != std::string::npos);
        CHECK_FALSE(has(back, pool_action::probe));
        CHECK(state(m, 0) == host_state::up);
        CHECK(m.host(0).info.running == 1);
    }
    SUBCASE("drained twice: nothing more") { CHECK(m.drain("a", t0).empty()); }
    CHECK(m.check() == "");
}

TEST_CASE("pool: a removed host loses its attempts now and leaves when they have ended") {
    up_pool p;
    auto& m = p.m;
    m.attempt_started(0);
    m.attempt_started(0);
    auto r = m.remove("a", t0);
    CHECK(has(r, pool_action::lose_attempts, 0));
    CHECK(reports(r).find("host a removed; its 2 running attempt(s) go back to the queue") != std::string::npos);
    CHECK_FALSE(has(r, pool_action::close));
    CHECK(m.attempt_ended(0, t0).empty());  // one still runs: nothing changes but the count
    auto last = m.attempt_ended(0, t0);
    CHECK(has(last, pool_action::close, 0));
    CHECK(has(last, pool_action::cancel_timer, 0));
    CHECK(m.remove("a", t0).empty());  // gone already
    // Joining again reuses its entry and keeps its count of attempts.
    m.add("a", t0);
    CHECK(m.find("a") == 0u);
    CHECK(m.host(0).info.started == 2);
    CHECK(m.check() == "");
}

TEST_CASE("pool: a removed idle host leaves at once, and the last host leaving starts the clock") {
    pool_machine m(config());
    m.add("a", t0);
    m.begin(t0);
    m.probe_ok(0, t0);
    auto r = m.remove("a", t0);
    CHECK(has(r, pool_action::close, 0));
    CHECK(has(r, pool_action::arm_giveup));
    CHECK(m.failed(t0 + 60s));
    CHECK(m.slots() == 0);
}

TEST_CASE("pool: answers about hosts that left are ignored") {
    up_pool p;
    auto& m = p.m;
    m.drain("a", t0);
    CHECK(m.probe_ok(0, t0).empty());
    CHECK(m.host_failed(0, false, "late", t0).empty());
    CHECK(m.probe_due(0, t0).empty());
}

TEST_CASE("pool: ping_interval re-probes hosts that are up, and a ping keeps them up") {
    auto c = config();
    c.ping_interval = 5s;
    pool_machine m(c);
    m.add("a", t0);
    auto ok = m.probe_ok(0, t0);
    CHECK(delay_of(ok, pool_action::probe_after) == 5s);
    auto due = m.probe_due(0, t0 + 5s);
    CHECK(has(due, pool_action::probe, 0));
    CHECK(state(m, 0) == host_state::up);  // still takes attempts while pinged
    auto again = m.probe_ok(0, t0 + 5s);
    CHECK_FALSE(has(again, pool_action::reachable));  // not a rejoin
}

TEST_CASE("pool: clear closes every host and returns the listed ones for the next run") {
    up_pool p;
    auto& m = p.m;
    m.add("c", t0);
    m.drain("b", t0);  // idle: leaves at once
    actions a;
    auto listed = m.clear(a);
    CHECK(listed == std::vector<std::string>{"a", "c"});
    CHECK(has(a, pool_action::close, 0));
    CHECK(has(a, pool_action::close, 2));
    CHECK_FALSE(has(a, pool_action::close, 1));
    CHECK(m.hosts().empty());
}

TEST_CASE("host list: words separated by blanks and lines, comments, duplicates, and named bad lines") {
    auto check = [](const std::string& s) { return s.find('!') != std::string::npos ? "not a host: " + s : ""; };
    auto l = drover::detail::parse_host_list("# fleet\n a  b\t# two on a line\n\nc!\nb\r\n\x01x\n  d", check);
    CHECK(l.hosts == std::vector<std::string>{"a", "b", "d"});
    REQUIRE(l.errors.size() == 2);
    CHECK(l.errors[0].line == 4);
    CHECK(l.errors[0].message == "not a host: c!");
    CHECK(l.errors[1].line == 6);
    CHECK(l.errors[1].message == "a control character in a host");
    CHECK(drover::detail::parse_host_list("", check).hosts.empty());
    auto big = drover::detail::parse_host_list(std::string(2000, 'h'), check);
    REQUIRE(big.errors.size() == 1);
    CHECK(big.errors[0].message.find("2000 bytes") != std::string::npos);
}

TEST_CASE("pool: a host that joins while the run goes is announced, the run's first hosts are not") {
    pool_machine m(config());
    CHECK(reports(m.add("first", t0, false)).empty());
    CHECK(reports(m.add("later", t0)) == "host later joined\n");
    CHECK(m.add("later", t0).empty());  // listed already
}
