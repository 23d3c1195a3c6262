// The scheduler at the edges of its settings (issue 18): timeouts and backoffs too large for
// a timer saturate instead of overflowing (defect 4).
#include "scheduler/backoff.hpp"
#include "scheduler/fixture.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

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

TEST_CASE("limits: an attempt's stderr log keeps its head and tail within stderr_log_bytes" * doctest::timeout(30)) {
    sched_fixture f;
    scheduler_options o;
    o.limits.stderr_log_bytes = 10'000;  // 5,000 head, 5,000 tail
    auto s = f.make(1, o);
    s.submit(sh("flood", "echo BEGIN >&2; head -c 1000000 /dev/zero | tr '\\0' x >&2; echo >&2; echo END >&2; exit 1"));
    s.submit(sh("quiet", "echo small >&2; echo '{\"x\":1}'"));
    auto r = s.run();
    auto log = read_file(r.run_dir / "logs" / "flood.1.stderr");
    CHECK(log.size() <= 10'000 + 64);
    CHECK(log.starts_with("BEGIN\n"));
    CHECK(log.ends_with("\nEND\n"));
    CHECK(log.find("\n[drover: 990011 bytes of stderr not kept]\n") != std::string::npos);
    CHECK(result(r, "flood").last.stderr_tail.back() == "END");  // the outcome's tail is whole
    CHECK(read_file(r.run_dir / "logs" / "quiet.1.stderr") == "small\n");
}

TEST_CASE("limits: bad records past bad_record_bytes are counted, not kept, and max_bad_records fails the attempt" *
          doctest::timeout(30)) {
    sched_fixture f;
    scheduler_options o;
    o.limits.bad_record_bytes = 20'000;
    o.limits.max_bad_records = 5000;
    auto s = f.make(2, o);
    s.submit(sh("many", "seq 1 5000; echo '{\"ok\":1}'"));
    auto strict = sh("strict", "seq 1 6000; echo '{\"ok\":1}'");
    s.submit(strict);
    auto r = s.run();
    CHECK(result(r, "many").state == task_state::succeeded);
    CHECK(result(r, "many").last.bad_records == 5000);
    CHECK(result(r, "strict").state == task_state::dead);
    CHECK(result(r, "strict").last.failure == failure_class::output_error);
    CHECK(result(r, "strict").last.message == "more than 5000 bad records (limits.max_bad_records)");

    std::uint64_t kept = 0, dropped = 0, bytes = 0;
    std::uint64_t first = 0, last = 0;
    for (auto& line : split_lines(read_file(r.run_dir / "bad-records.jsonl"))) {
        auto j = boost::json::parse(line).as_object();
        if (j.at("task").as_string() != "many") continue;
        bytes += line.size() + 1;
        if (j.contains("dropped")) {
            dropped += j.at("dropped").to_number<std::uint64_t>();
            first = j.at("first_line").to_number<std::uint64_t>();
            last = j.at("last_line").to_number<std::uint64_t>();
        } else {
            ++kept;
        }
    }
    CHECK(kept + dropped == 5000);
    CHECK(dropped > 0);
    CHECK(bytes <= 20'000 + 200);
    CHECK(first > 1);
    CHECK(last < 5000);
}

TEST_CASE("deadline: a run still going at its deadline is stopped - attempts killed, the rest skipped, halted with the reason") {
    drover::test::temp_dir d;
    drover::scheduler s({.state_dir = d / "state", .deadline = drover::duration(600)});
    s.add_executor(drover::local_executor{{.slots = 1}});
    s.submit({.id = "quick", .command = {"sh", "-c", "echo '{\"q\":1}'"}});
    s.submit({.id = "slow", .command = {"sleep", "30"}});
    s.submit({.id = "never", .command = {"sh", "-c", "echo '{\"n\":1}'"}});
    auto t0 = std::chrono::steady_clock::now();
    auto summary = s.run();
    auto took = std::chrono::steady_clock::now() - t0;
    CHECK(took < std::chrono::seconds(10));
    CHECK(took >= std::chrono::milliseconds(550));
    CHECK(summary.halted);
    CHECK_FALSE(summary.cancelled);
    CHECK(summary.halt_reason.find("deadline: the run was still going after 600ms") == 0);
    CHECK(summary.exit_code() == 1);
    CHECK(summary.counts.succeeded == 1);
    CHECK(summary.counts.succeeded + summary.counts.skipped + summary.counts.dead == 3);
    CHECK_THROWS_AS(drover::scheduler({.deadline = drover::duration(0)}).run(), drover::config_error);
}
