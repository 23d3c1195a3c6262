#include "cli/run_job.hpp"

#include <drover/drover.hpp>

#include "alerts/alerts.hpp"
#include "cli/progress.hpp"
#include "cli/report.hpp"
#include "detail/utf8.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>

#include <csignal>
#include <cstring>
#include <functional>
#include <iostream>
#include <malloc.h>
#include <optional>
#include <unistd.h>

namespace drover::cli {

namespace {

using detail::terminal_safe;

// Alerts still on their way when the run ended. The summary is out already: wait for them
// at most on_failure.timeout in all (the alerter gives up on the rest), and not at all once
// a signal comes.
void wait_for_alerts(boost::asio::io_context& ctx, boost::asio::signal_set& signals, detail::alerter& alerts,
                     bool& stop) {
    ctx.restart();
    alerts.async_drain(ctx.get_executor(), [&] { signals.cancel(); });
    signals.async_wait([&](boost::system::error_code ec, int sig) {
        if (ec) return;
        stop = true;
        fmt::print(stderr, "drover: {} received: not waiting for alerts\n", sigabbrev_np(sig) ? sigabbrev_np(sig) : "signal");
        alerts.abort("interrupted");
    });
    ctx.run();
}

}  // namespace

int run_job_once(const run_job_options& o, job j, bool& stop) {
    auto sched = make_scheduler(j);
    // The scheduler keeps its own compact copy: give the parsed tasks' memory back to the
    // system (a million-task job is ~0.6 GB as task_specs, ~50 MB in the scheduler).
    std::vector<task_spec>().swap(j.tasks);
    return run_job_once(o, j, sched, stop);
}

int run_job_once(const run_job_options& o, const job& j, scheduler& sched, bool& stop) {
    // What making the tasks took and freed (their task_specs, the loader's checks) goes
    // back to the system before the run.
    ::malloc_trim(0);
    progress_reporter reporter({.terminal = ::isatty(STDERR_FILENO) == 1, .quiet = o.quiet, .out = stderr});
    sched.add_observer(reporter);
    std::optional<detail::alerter> alerts;
    if (j.on_failure) {
        alerts.emplace(j.name, *j.on_failure,
                       [](const std::string& m) { fmt::print(stderr, "drover: {}\n", terminal_safe(m)); });
        sched.add_observer(*alerts);
    }

    std::optional<run_signals> own;
    run_signals& caught = o.signals ? *o.signals : own.emplace();
    auto& ctx = caught.ctx;
    auto& signals = caught.set;
    ctx.restart();
    std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code ec, int sig) {
        if (ec) return;
        reporter.clear_line();
        fmt::print(stderr, "drover: {} received: cancelling, killing running tasks\n", sigabbrev_np(sig) ? sigabbrev_np(sig) : "signal");
        stop = true;
        sched.cancel();
        signals.async_wait(on_signal);
    };
    signals.async_wait(on_signal);

    std::exception_ptr err;
    run_summary summary;
    sched.async_run(ctx.get_executor(), [&](std::exception_ptr e, run_summary s) {
        err = e;
        summary = std::move(s);
        signals.cancel();
    });
    ctx.run();

    if (!err) {
        std::fflush(stdout);  // records a sink wrote to stdout come before the summary
        std::string text = o.json ? to_json(summary) + "\n" : summary_text(j.name, summary);
        if (o.summary == stdout) {
            std::cout << text << std::flush;
        } else {
            std::fputs(text.c_str(), o.summary);
            std::fflush(o.summary);
        }
    }
    if (alerts) wait_for_alerts(ctx, signals, *alerts, stop);  // after the summary, bounded
    if (err) std::rethrow_exception(err);
    return summary.exit_code();
}

}  // namespace drover::cli
