// Journal benchmark: 1,000,000 tiny tasks.
//   A. journal throughput: the scheduler's transitions (pending, running, finished) for N
//      tasks queued to the journal writer; transitions/s until the last group commit, and
//      how long a single enqueue held the caller (the scheduler's strand) at most.
//   B. replay: reading N task rows back, and a whole restart (scheduler::run on a state
//      directory where all N tasks succeeded: open, replay, finish).
//   C. end to end: N tasks through the scheduler with an executor that succeeds at once and
//      a sink that keeps nothing, with the journal and without it (the ratio is its cost).
//   D. memory: RSS per task submitted (before the run), queued in a running scheduler, and
//      after the run (with the summary).
// Run: build/bench/journal_bench [--tasks N] [--dir DIR] [--only-a | --only-c]   (DIR default: /tmp/drover-journal-bench)
// --only-a, --only-c: that part alone (without the journal for C), for profilers.

#include <drover/drover.hpp>

#include "journal/journal.hpp"

#include <boost/asio/post.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <unistd.h>

namespace fs = std::filesystem;
using clk = std::chrono::steady_clock;

namespace {

double secs(clk::duration d) { return std::chrono::duration<double>(d).count(); }

long rss_bytes() {
    long pages = 0, resident = 0;
    if (FILE* f = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        std::fclose(f);
    }
    return resident * ::sysconf(_SC_PAGESIZE);
}

std::string task_id(std::size_t i) { return "task-" + std::to_string(i); }

class instant_executor final : public drover::executor {
public:
    std::string name() const override { return "instant"; }
    std::size_t slots() const override { return 64; }
    void async_execute(boost::asio::any_io_executor io_ex, const drover::attempt_request&, drover::attempt_io&,
                       completion_handler h) override {
        boost::asio::post(io_ex, [h = std::move(h)]() mutable { std::move(h)(drover::execution_result{}); });
    }
};

class null_writer final : public drover::sink_writer {
public:
    void write(const drover::record&) override {}
    drover::committed_output commit() override { return {}; }
    void abort() noexcept override {}
};

class null_sink final : public drover::sink {
public:
    std::string describe() const override { return "null"; }
    void start(const drover::sink_context&) override {}
    void stop() noexcept override {}
    std::unique_ptr<drover::sink_writer> open(const drover::sink_attempt&) override {
        return std::make_unique<null_writer>();
    }
};

// RSS when the first task starts: every task is queued then.
class rss_probe final : public drover::observer {
public:
    long at_first_start = 0;
    void on_task_started(const drover::task_spec&, int, std::string_view) override {
        if (at_first_start == 0) at_first_start = rss_bytes();
    }
};

drover::scheduler make(const fs::path& state, std::size_t n, bool journal) {
    drover::scheduler_options o;
    o.state_dir = state;
    o.journal.enabled = journal;
    o.journal.job_name = "bench";
    drover::scheduler s(o);
    s.add_executor(instant_executor{});
    s.set_sink(null_sink{});
    for (std::size_t i = 0; i < n; ++i) s.submit({.id = task_id(i), .command = {"true"}});
    return s;
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t n = 1'000'000;
    bool only_a = false, only_c = false;
    fs::path dir = "/tmp/drover-journal-bench";
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--tasks") && i + 1 < argc) n = std::stoul(argv[++i]);
        else if (!std::strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
        else if (!std::strcmp(argv[i], "--only-c")) only_c = true;
        else if (!std::strcmp(argv[i], "--only-a")) only_a = true;
    }
    fs::remove_all(dir);
    std::printf("journal bench: %zu tasks, state under %s\n", n, dir.c_str());
    if (only_c) {
        auto s = make(dir / "c-nojournal", n, false);
        auto t0 = clk::now();
        auto r = s.run();
        std::printf("C end to end without journal: %zu succeeded in %.2f s\n", r.counts.succeeded, secs(clk::now() - t0));
        return 0;
    }

    // D. Memory per task, first, in a fresh heap (journal off): N tasks submitted to a
    // scheduler; then, while it runs, when the first task starts (every other task is queued
    // in the ready queue with its run state); then after the run (the summary holds a
    // task_result per task).
    if (!only_a) {
        long before = rss_bytes();
        auto s = make(dir / "d", n, false);
        long submitted = rss_bytes();
        rss_probe probe;
        s.add_observer(probe);
        auto r = s.run();
        long after = rss_bytes();
        auto per = [&](long v) { return static_cast<double>(v - before) / static_cast<double>(n); };
        std::printf("D memory: %.0f bytes RSS per submitted task; %.0f per task queued in a running scheduler; "
                    "%.0f per task after the run, summary included (%zu succeeded; sizeof(task_spec) = %zu)\n",
                    per(submitted), per(probe.at_first_start), per(after), r.counts.succeeded,
                    sizeof(drover::task_spec));
    }

    // A. The journal alone.
    {
        drover::journal_options jo;
        jo.job_name = "bench";
        drover::detail::journal j(dir / "a", jo);
        drover::attempt_outcome ok;
        ok.attempt = 1;
        ok.executor = "local";
        auto t0 = clk::now();
        j.begin_run("bench-run", n, 0);
        for (std::size_t i = 0; i < n; ++i) j.task_pending(task_id(i));
        for (std::size_t i = 0; i < n; ++i) {
            auto id = task_id(i);
            j.attempt_started(id, 1, "local");
            j.attempt_finished(id, ok, drover::task_state::succeeded, nullptr);
        }
        auto queued = clk::now();
        j.flush();
        auto done = clk::now();
        auto st = j.statistics();
        double transitions = 3.0 * static_cast<double>(n);
        std::printf("A journal: %.0f transitions in %.2f s = %.0f transitions/s (%llu group commits); "
                    "enqueue: mean %.0f ns, max %.1f us; queuing took %.2f s\n",
                    transitions, secs(done - t0), transitions / secs(done - t0),
                    static_cast<unsigned long long>(st.commits),
                    static_cast<double>(st.total_enqueue_ns) / static_cast<double>(st.ops),
                    static_cast<double>(st.max_enqueue_ns) / 1000.0, secs(queued - t0));
    }
    if (only_a) return 0;
    // B. Replay.
    {
        drover::journal_options jo;
        jo.job_name = "bench";
        auto t0 = clk::now();
        std::size_t rows = 0, ok = 0;
        {
            drover::detail::journal j(dir / "a", jo);
            j.replay([&](const drover::detail::journal::task_row& r) {
                ++rows;
                ok += r.state == drover::task_state::succeeded;
            });
        }
        auto t1 = clk::now();
        std::printf("B replay: %zu rows (%zu succeeded) read in %.2f s\n", rows, ok, secs(t1 - t0));
    }

    // C. End to end, with and without the journal; D. memory.
    double with_s = 0, without_s = 0;
    {
        auto s = make(dir / "c", n, true);
        auto t0 = clk::now();
        auto r = s.run();
        with_s = secs(clk::now() - t0);
        std::printf("C end to end with journal: %zu succeeded in %.2f s = %.0f tasks/s (%.0f transitions/s)\n",
                    r.counts.succeeded, with_s, static_cast<double>(n) / with_s, 3.0 * static_cast<double>(n) / with_s);
    }
    {
        auto s = make(dir / "c-nojournal", n, false);
        auto t0 = clk::now();
        auto r = s.run();
        without_s = secs(clk::now() - t0);
        std::printf("C end to end without journal: %zu succeeded in %.2f s = %.0f tasks/s; journal cost: %.2fx time\n",
                    r.counts.succeeded, without_s, static_cast<double>(n) / without_s, with_s / without_s);
    }
    {
        auto s = make(dir / "c", n, true);  // every task succeeded there: a restart only replays
        auto t0 = clk::now();
        auto r = s.run();
        std::printf("B restart: scheduler::run with %zu tasks resumed (nothing to run) in %.2f s\n", r.counts.resumed,
                    secs(clk::now() - t0));
    }
    fs::remove_all(dir);
    return 0;
}
