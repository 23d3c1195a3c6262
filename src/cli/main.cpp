// drover — command-line front end: `drover run JOB.toml`, `drover exec` (cli/exec.cpp).

#include <drover/drover.hpp>

#include "cli/args.hpp"
#include "cli/client.hpp"
#include "cli/exec.hpp"
#include "cli/run_job.hpp"
#include "cli/serve.hpp"
#include "cli/status.hpp"
#include "cron/service.hpp"
#include "detail/utf8.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/system_timer.hpp>
#include <fmt/format.h>

#include <csignal>
#include <cstring>
#include <iostream>
#include <optional>
#include <vector>
#include <unistd.h>

namespace {

using drover::cli::exit_usage;

// Whatever drover prints that came from a job file, a task, a journal or the command line
// goes through this: control characters become visible escapes (no cursor moves, no
// retitled windows, nothing hidden).
using drover::detail::terminal_safe;

using drover::cli::cli_args;

// The tasks are made one at a time and checked as `run` checks them, never held all at once.
int validate(const cli_args& a, drover::job_stream& js) {
    const auto& j = js.settings();
    // What `run` checks before it starts anything, beyond the job file itself: the
    // executors', the sink's and the scheduler's own checks (nothing is started).
    (void)drover::make_scheduler(j);
    if (a.json) {
        drover::write_json(std::cout, js);
        std::cout << std::endl;
        return 0;
    }
    std::vector<drover::task_spec> first;
    auto count = js.for_each_task([&](drover::task_spec&& t) {
        if (first.size() < 3) first.push_back(std::move(t));
    });
    std::size_t slots = 0;
    for (auto& e : j.executors) slots += j.kinds.slots(e);
    fmt::print("{}: ok — job '{}', {} task(s), {} executor(s) with {} slot(s), output {}\n",
               terminal_safe(j.source.string()), j.name, count, j.executors.size(), slots,
               terminal_safe(j.sink ? j.kinds.location(*j.sink) : std::string("(state dir)/output")));
    for (const auto& t : first)
        fmt::print("  {}: {}\n", t.id, terminal_safe(drover::shell_command_line(t.command)));
    if (count > 3) fmt::print("  ... {} more\n", count - 3);
    return 0;
}

int status(const cli_args& a) {
    std::filesystem::path dir = a.state_dir ? std::filesystem::path(*a.state_dir)
                                            : drover::job_stream(a.job_file).settings().options.state_dir;
    auto s = drover::read_journal_status(dir);
    if (a.json)
        std::cout << drover::to_json(s) << "\n";
    else
        std::cout << drover::cli::status_text(s);
    return 0;
}

// A job with a schedule: a long-running service starting a run at each tick (cron/service.hpp).
// Each tick is a fresh run (journal_options::fresh): an interrupted tick is not resumed.
int serve(const cli_args& a, const drover::job& j) {
    using namespace drover::detail;
    auto schedule = cron_schedule::parse(j.schedule->cron);
    time_zone tz(j.schedule->timezone);
    auto overlap = j.schedule->overlap == "queue" ? overlap_policy::queue : overlap_policy::skip;
    bool stop = false;
    int last = 0;
    // The signals are caught from before the first line is logged to the end of the service: one
    // that comes while nothing waits for it (before the first sleep, as a run starts) is kept and
    // ends the next sleep or cancels the run, never the process with the default action.
    drover::cli::run_signals caught;
    auto& ctx = caught.ctx;
    auto& signals = caught.set;
    service_hooks hooks;
    hooks.now = [] { return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()); };
    hooks.sleep_until = [&](std::chrono::sys_seconds t) {
        if (stop) return false;
        boost::asio::system_timer timer(ctx, t);
        signals.async_wait([&](boost::system::error_code ec, int) {
            if (!ec) stop = true;
            timer.cancel();
        });
        timer.async_wait([&](boost::system::error_code) { signals.cancel(); });
        ctx.restart();
        ctx.run();
        return !stop;
    };
    hooks.run = [&](std::chrono::sys_seconds tick) {
        fmt::print(stderr, "drover: {}: run for the tick at {}\n", j.name, format_utc(tick));
        drover::job run = j;
        run.options.journal.fresh = true;
        for (auto& t : run.tasks) t.env["DROVER_TICK"] = format_utc(tick);
        try {
            last = drover::cli::run_job_once({.json = a.json, .quiet = a.quiet, .signals = &caught}, std::move(run), stop);
        } catch (const drover::config_error&) {
            throw;
        } catch (const std::exception& e) {
            fmt::print(stderr, "drover: {}: the run failed: {}\n", j.name, terminal_safe(e.what()));
            last = 1;
        }
        return !stop;
    };
    hooks.log = [&](const std::string& m) { fmt::print(stderr, "drover: {}: {}\n", j.name, terminal_safe(m)); };
    fmt::print(stderr, "drover: {}: service for schedule \"{}\" ({}, overlap {})\n", j.name, terminal_safe(j.schedule->cron),
               j.schedule->timezone.empty() ? "local time" : j.schedule->timezone, j.schedule->overlap);
    run_service(schedule, tz, overlap, hooks);
    return stop ? 130 : last;
}

// A run once: the tasks go from the file into the scheduler one at a time (job_stream), so a
// million-task job is never held as task_specs. A schedule serves runs of the whole job.
int run(const cli_args& a, drover::job_stream& js) {
    auto& j = js.settings();
    if (a.state_dir) j.options.state_dir = *a.state_dir;
    j.options.journal.retry_dead = a.retry_dead;
    j.options.journal.fresh = a.fresh;
    if (j.schedule && !a.once) return serve(a, std::move(js).to_job());
    auto sched = drover::make_scheduler(js);
    bool stop = false;
    return drover::cli::run_job_once({.json = a.json, .quiet = a.quiet}, j, sched, stop);
}

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    auto parsed = drover::cli::parse_args(argc, argv);
    if (auto* e = std::get_if<drover::cli::cli_exit>(&parsed)) {
        std::cout << e->out;
        std::cerr << e->err;
        return e->code;
    }
    const auto& args = std::get<cli_args>(parsed);
    try {
        if (args.command == "status") return status(args);
        if (args.command == "exec") return drover::cli::run_exec(args.exec);
        if (args.command == "serve") return drover::cli::run_serve(args.serve);
        for (const char* c : {"trigger", "runs", "logs", "events", "retry", "succeed", "cancel", "hosts", "pools"})
            if (args.command == c) return drover::cli::run_client(args);
        drover::job_stream js(args.job_file, args.load);
        if (args.command == "validate") return validate(args, js);
        return run(args, js);
    } catch (const drover::config_error& e) {
        std::cerr << "drover: configuration error: " << terminal_safe(e.what()) << "\n";
        return exit_usage;
    } catch (const std::exception& e) {
        // "drover: status: no journal in ...", "drover: cannot run: ..."
        std::cerr << "drover: " << (args.command == "run" || args.command == "exec" ? "cannot run" : args.command) << ": " << terminal_safe(e.what())
                  << "\n";
        return exit_usage;
    }
}
