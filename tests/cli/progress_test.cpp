// The CLI's progress line and summary (issue 18, defect 15; issue 20): skipped tasks are not
// finished, done, resumed, upstream-failed and skipped tasks are counted apart, and the rate
// counts only tasks this run ran (not those resumed from the journal, nor upstream-failed ones).
#include <doctest/doctest.h>

#include "cli/progress.hpp"
#include "cli/report.hpp"

#include <cstdio>
#include <cstdlib>

using namespace drover;

namespace {

// What a progress_reporter prints for one snapshot.
std::string printed(const progress& p, bool terminal) {
    char* buf = nullptr;
    std::size_t size = 0;
    std::FILE* f = ::open_memstream(&buf, &size);
    {
        cli::progress_reporter r({.terminal = terminal, .quiet = false, .out = f});
        r.on_progress(p);
    }
    std::fclose(f);
    std::string out(buf, size);
    std::free(buf);
    return out;
}

}  // namespace

TEST_CASE("cli progress: after a cancel, skipped tasks are not counted as done") {
    progress p;
    p.total = 20;
    p.succeeded = 6;
    p.skipped = 14;
    p.elapsed = std::chrono::seconds(2);
    for (bool terminal : {false, true}) {
        CAPTURE(terminal);
        auto line = printed(p, terminal);
        CHECK(line.find("20/20") == std::string::npos);
        CHECK(line.find("6/20  done 6  ") != std::string::npos);
        CHECK(line.find("skipped 14") != std::string::npos);
        CHECK(line.find("3.0/s") != std::string::npos);
    }
    auto bar = printed(p, true);
    CHECK(bar.find("##########") == std::string::npos);  // 6 of 20: under a third of the bar
}

TEST_CASE("cli progress: the rate counts only tasks finished by this run, not resumed ones") {
    progress p;
    p.total = 1010;
    p.succeeded = 1005;
    p.resumed = 1000;
    p.elapsed = std::chrono::seconds(5);
    auto line = printed(p, false);
    CHECK(line.find("1005/1010  done 5  resumed 1000  ") != std::string::npos);
    CHECK(line.find("1.0/s") != std::string::npos);
    CHECK(line.find("201.0/s") == std::string::npos);
    CHECK(line.find("ETA 5.0s") != std::string::npos);

    run_summary s;
    s.counts = p;
    s.counts.pending = 0;
    s.counts.skipped = 5;
    auto text = cli::summary_text("job", s);
    CHECK(text.find("(1.0 tasks/s)") != std::string::npos);
}

TEST_CASE("cli progress: done, resumed, dead, upstream-failed and skipped are counted apart and the rate is over tasks run") {
    progress p;
    p.total = 40;
    p.succeeded = 12;  // 10 resumed, 2 run now
    p.resumed = 10;
    p.dead = 5;        // 3 dead in an earlier run, 2 now
    p.resumed_dead = 3;
    p.upstream_failed = 6;
    p.skipped = 7;
    p.running = 1;
    p.elapsed = std::chrono::seconds(4);
    CHECK(p.ran() == 4);
    auto line = printed(p, false);
    CHECK_MESSAGE(line.find("23/40  done 2  resumed 10  running 1  retrying 0  dead 5  upstream-failed 6  skipped 7  "
                            "1.0/s") != std::string::npos,
                  line);
    // Nothing resumed, failed upstream or skipped: those counts stay out of the line.
    progress q;
    q.total = 4;
    q.succeeded = 2;
    q.elapsed = std::chrono::seconds(1);
    line = printed(q, false);
    CHECK_MESSAGE(line.find("2/4  done 2  running 0  retrying 0  dead 0  2.0/s  ETA 1.0s") != std::string::npos, line);
    // Tasks whose output commits while their slots run others are shown within running.
    q.running = 3;
    q.committing = 1;
    line = printed(q, false);
    CHECK_MESSAGE(line.find("2/4  done 2  running 3 (1 committing)  retrying 0  dead 0  2.0/s") != std::string::npos, line);

    run_summary s;
    s.counts = p;
    s.counts.running = 0;
    s.counts.skipped = 8;
    auto text = cli::summary_text("job", s);
    CHECK_MESSAGE(text.find("drover: job failed: 12 succeeded, 5 dead, 8 skipped of 40 tasks in 4.0s (1.0 tasks/s)\n") !=
                      std::string::npos,
                  text);
    CHECK_MESSAGE(text.find("  tasks:   2 done, 10 resumed, 2 dead, 3 dead in earlier runs, 6 upstream-failed, 8 "
                            "skipped\n") != std::string::npos,
                  text);
}
