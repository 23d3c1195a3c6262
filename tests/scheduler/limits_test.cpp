// The scheduler at the edges of its settings (issue 18): timeouts and backoffs too large for
// a timer saturate instead of overflowing (defect 4).
#include "scheduler/backoff.hpp"
#include "scheduler/fixture.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <thread>

using namespace drover;
using namespace drover::test;
using namespace std::chrono_literals;

TEST_CASE("limits: a timeout too large for a timer means no timeout, not an instant one" * doctest::timeout(30)) {
    sched_fixture f;
    auto s = f.make(3);
    auto huge = sh("huge", "sleep 0.3; echo '{\"x\":1}'");
    huge.timeout = duration::max();
    auto days = sh("days", "sleep 0.3; echo '{\"x\":2}'");
    days.timeout = std::chrono::duration_cast<duration>(std::chrono::days(106752));
    auto zero = sh("zero", "sleep 0.3; echo '{\"x\":3}'");
    zero.timeout = duration(0);
    s.submit(huge);
    s.submit(days);
    s.submit(zero);
    auto r = s.run();
    for (auto id : {"huge", "days", "zero"}) {
        CAPTURE(id);
        CHECK(result(r, id).state == task_state::succeeded);
        CHECK(result(r, id).last.message == "");
    }
}

TEST_CASE("limits: a backoff too large for a timer waits, it does not retry at once" * doctest::timeout(30)) {
    sched_fixture f;
    auto s = f.make(1);
    auto t = sh("t", "exit 1");
    t.retries = 3;
    t.backoff.initial = std::chrono::duration_cast<duration>(std::chrono::days(106752));
    t.backoff.max = duration::max();
    t.backoff.jitter = 0;  // exactly 106752 days: just past what steady_clock's nanoseconds hold
    s.submit(t);
    std::thread stopper([&] {
        std::this_thread::sleep_for(1s);
        s.cancel();
    });
    auto r = s.run();
    stopper.join();
    CHECK(r.cancelled);
    CHECK(result(r, "t").attempts == 1);
}

TEST_CASE("limits: backoff_delay stays within what a steady_timer can hold") {
    using detail::backoff_delay;
    auto timer_max = std::chrono::duration_cast<duration>(std::chrono::steady_clock::duration::max() / 2);
    for (auto initial : {duration(1000), duration::max(), duration(std::chrono::days(106752))}) {
        for (double mult : {1.0, 2.0, 1e300}) {
            for (int retry : {1, 2, 64, 10000}) {
                backoff_policy p{.initial = initial, .max = duration::max(), .multiplier = mult, .jitter = 0.5};
                for (double u : {0.0, 0.5, 0.999}) {
                    auto d = backoff_delay(p, retry, u);
                    CAPTURE(initial.count());
                    CAPTURE(mult);
                    CAPTURE(retry);
                    CHECK(d.count() >= 0);
                    CHECK(d <= timer_max);
                }
            }
        }
    }
    // A timer armed with it does not overflow into the past.
    boost::asio::io_context io;
    boost::asio::steady_timer timer(io);
    timer.expires_after(backoff_delay({.initial = duration::max(), .max = duration::max()}, 1, 0.9));
    CHECK(timer.expiry() > std::chrono::steady_clock::now() + std::chrono::hours(24 * 365));
}
