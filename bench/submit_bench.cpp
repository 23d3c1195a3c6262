// Submitting into a running scheduler: N tasks (default 100,000) submitted from another
// thread into an open run, one submit() call per task, then again with submit_many() in
// batches. Measured:
//   - scheduler time per task: the CPU time of the thread running the scheduler's strand
//     while it takes the submissions in (store, dependencies, queues), read with
//     CLOCK_THREAD_CPUTIME_ID on that thread before the first and after the last submission;
//   - submitter time per task: the submitting thread's wall time per submit() (with the
//     journal on, submit() returns once the task's row is committed).
// Nothing runs meanwhile (the executor accepts no attempt), so only submission is measured.
// Target (issue 13): at most 2 µs of scheduler time per task.
// Run: build/bench/submit_bench [--tasks N] [--batch N] [--dir DIR]

#include <drover/drover.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <future>
#include <string>
#include <thread>

#include <pthread.h>

namespace fs = std::filesystem;
using clk = std::chrono::steady_clock;

namespace {

// Accepts nothing: tasks stay queued, the run measures submission alone.
class closed_executor final : public drover::executor {
public:
    std::string name() const override { return "closed"; }
    std::size_t slots() const override { return 1; }
    bool can_accept() const override { return false; }
    void async_execute(boost::asio::any_io_executor, const drover::attempt_request&, drover::attempt_io&,
                       completion_handler) override {}
};

class null_sink final : public drover::sink {
public:
    std::string describe() const override { return "null"; }
    void start(const drover::sink_context&) override {}
    void stop() noexcept override {}
    std::unique_ptr<drover::sink_writer> open(const drover::sink_attempt&) override { return nullptr; }
};

double thread_cpu_seconds() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct thread_sample {
    double cpu = 0;
    long voluntary = 0, involuntary = 0;  // context switches
};

thread_sample sample_this_thread() {
    thread_sample t{thread_cpu_seconds()};
    if (FILE* f = std::fopen("/proc/thread-self/status", "r")) {
        char line[256];
        while (std::fgets(line, sizeof line, f)) {
            std::sscanf(line, "voluntary_ctxt_switches: %ld", &t.voluntary);
            std::sscanf(line, "nonvoluntary_ctxt_switches: %ld", &t.involuntary);
        }
        std::fclose(f);
    }
    return t;
}

// The strand thread's CPU time and context switches, read on that thread (after everything
// posted before).
thread_sample strand_sample(boost::asio::io_context& ctx) {
    std::promise<thread_sample> p;
    boost::asio::post(ctx, [&] { p.set_value(sample_this_thread()); });
    return p.get_future().get();
}

drover::task_spec task(std::size_t i) {
    return {.id = "t-" + std::to_string(i), .command = {"true"}, .params = {{"date", "2018-01-01"}}};
}

struct result {
    double strand_us = 0, submit_us = 0;
    long wakeups = 0, preempted = 0;
};

result measure(const fs::path& state, std::size_t n, std::size_t batch, bool journal) {
    fs::remove_all(state);
    drover::scheduler_options o;
    o.state_dir = state;
    o.open = true;
    o.journal.enabled = journal;
    drover::scheduler s(o);
    s.add_executor(closed_executor{});
    s.set_sink(null_sink{});
    boost::asio::io_context ctx;
    std::promise<void> done;
    s.async_run(ctx.get_executor(), [&](std::exception_ptr, drover::run_summary) { done.set_value(); });
    std::thread runner([&] {
        ::pthread_setname_np(::pthread_self(), "strand");
        ctx.run();
    });
    // Let the run start, then measure.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto s0 = strand_sample(ctx);
    auto t0 = clk::now();
    if (batch <= 1) {
        static const long pause_us = std::getenv("SUBMIT_PAUSE_US") ? std::atol(std::getenv("SUBMIT_PAUSE_US")) : 0;
        for (std::size_t i = 0; i < n; ++i) {
            s.submit(task(i));
            if (pause_us) std::this_thread::sleep_for(std::chrono::microseconds(pause_us));
        }
    } else {
        for (std::size_t i = 0; i < n; i += batch) {
            std::vector<drover::task_spec> b;
            for (std::size_t k = i; k < i + batch && k < n; ++k) b.push_back(task(k));
            s.submit_many(std::move(b));
        }
    }
    auto t1 = clk::now();
    auto s1 = strand_sample(ctx);
    s.cancel();
    done.get_future().get();
    runner.join();
    if (s.size() != n) std::fprintf(stderr, "submit_bench: %zu tasks in the run, expected %zu\n", s.size(), n);
    return {(s1.cpu - s0.cpu) * 1e6 / static_cast<double>(n),
            std::chrono::duration<double, std::micro>(t1 - t0).count() / static_cast<double>(n),
            s1.voluntary - s0.voluntary, s1.involuntary - s0.involuntary};
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t n = 100000, batch = 1000;
    fs::path dir = "/tmp/drover-submit-bench";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--tasks")) n = std::stoul(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--batch")) batch = std::stoul(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--dir")) dir = argv[i + 1];
    }
    bool ok = true;
    bool only_journal = std::getenv("SUBMIT_ONLY_JOURNAL") != nullptr;
    for (bool journal : {false, true})
        for (std::size_t b : {std::size_t{1}, batch}) {
            if (only_journal && (!journal || b != 1)) continue;
            if (std::getenv("SUBMIT_ONLY_PLAIN") && (journal || b != 1)) continue;
            auto r = measure(dir / "state", n, b, journal);
            std::printf("%zu tasks, %s, %s: scheduler %.2f us/task, submitter %.2f us/task; scheduler thread woke "
                        "%ld times, was preempted %ld times\n",
                        n, journal ? "journal on " : "journal off", b == 1 ? "submit()      " : "submit_many()",
                        r.strand_us, r.submit_us, r.wakeups, r.preempted);
            ok = ok && r.strand_us <= 2.0;
        }
    std::printf("target: at most 2 us of scheduler time per task: %s\n", ok ? "met" : "NOT met");
    fs::remove_all(dir);
    return ok ? 0 : 1;
}
