// The journal's writer thread: group commits, and how often it is woken.
#include <doctest/doctest.h>

#include "journal/journal.hpp"
#include "support/support.hpp"

#include <chrono>
#include <thread>

using namespace std::chrono_literals;
using namespace drover::test;

TEST_CASE("journal writer: transitions during a group-commit wait do not wake the writer" * doctest::timeout(60)) {
    temp_dir d;
    drover::journal_options o;
    o.enabled = true;
    o.job_name = "j";
    o.commit_interval = std::chrono::milliseconds(300);
    drover::detail::journal j(d / "state", o);
    j.begin_run("r1", 40, 0);
    for (int i = 0; i < 40; ++i) j.task_pending("t" + std::to_string(i));
    j.flush();
    auto before = j.statistics();
    // 40 transitions, 5 ms apart: about 200 ms, inside one or two commit intervals.
    for (int i = 0; i < 40; ++i) {
        j.attempt_started("t" + std::to_string(i), 1, "local");
        std::this_thread::sleep_for(5ms);
    }
    j.flush();
    auto after = j.statistics();
    CHECK(after.ops - before.ops == 40);
    CHECK(after.commits - before.commits <= 3);
    // The first transition wakes the idle writer; the others only queue (the writer is in its
    // group-commit wait); the flush wakes it once more. Each queued transition used to wake it.
    INFO("writer wakeups: " << after.writer_wakeups - before.writer_wakeups);
    CHECK(after.writer_wakeups - before.writer_wakeups <= 8);
}
