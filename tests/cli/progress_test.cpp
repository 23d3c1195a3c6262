// The CLI's progress line and summary (issue 18, defect 15): skipped tasks are not "done",
// and the rate counts only tasks this run finished (not those resumed from the journal).
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
        CHECK(line.find("6/20 done") != std::string::npos);
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
    CHECK(line.find("1005/1010 done") != std::string::npos);
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
