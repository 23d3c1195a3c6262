// drover — command-line front end: `drover run JOB.toml`.

#include <drover/drover.hpp>

#include "cli/progress.hpp"
#include "cli/report.hpp"
#include "alerts/alerts.hpp"
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
#include <malloc.h>
#include <optional>
#include <unistd.h>

namespace {

constexpr int exit_usage = 2;

// Whatever drover prints that came from a job file, a task, a journal or the command line
// goes through this: control characters become visible escapes (no cursor moves, no
// retitled windows, nothing hidden).
using drover::detail::terminal_safe;

const char* usage_text = R"(usage: drover run JOB.toml [--state DIR] [--json] [--quiet] [--retry-dead] [--fresh] [--once]
       drover status [JOB.toml] [--state DIR] [--json]
       drover validate JOB.toml
       drover --version | --help

run       run a job file; exit code 0 when every task succeeded, 1 when some were
          dead-lettered or skipped, 2 for usage or configuration errors, 130 when cancelled.
          Running it again with the same state directory resumes: tasks that succeeded
          are not run again. A job with a schedule runs as a service (see docs/workflows.md).
status    the journal of a state directory: tasks per state, running attempts, dead tasks
validate  check a job file and print what it would run
  --state DIR    state directory (default: the job's state_dir, or .drover/<name>)
  --json         print the summary (or status) as one JSON object on stdout
  --quiet        no progress output
  --retry-dead   on resume, run tasks that were dead-lettered in earlier runs again
  --fresh        forget earlier runs' task states and run every task
  --once         for a job with a schedule: one run now instead of the service
)";

struct cli_args {
    std::string command;
    std::string job_file;
    std::optional<std::string> state_dir;
    bool json = false;
    bool quiet = false;
    bool retry_dead = false;
    bool fresh = false;
    bool once = false;
};

[[noreturn]] void usage_error(const std::string& msg) {
    std::cerr << "drover: " << terminal_safe(msg) << "\n" << usage_text;
    std::exit(exit_usage);
}

cli_args parse_args(int argc, char** argv) {
    cli_args a;
    std::vector<std::string> rest;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--help" || arg == "-h" || arg == "help") {
            std::cout << usage_text;
            std::exit(0);
        } else if (arg == "--version") {
            std::cout << "drover " << DROVER_VERSION_STRING << "\n";
            std::exit(0);
        } else if (arg == "--json") {
            a.json = true;
        } else if (arg == "--quiet" || arg == "-q") {
            a.quiet = true;
        } else if (arg == "--retry-dead") {
            a.retry_dead = true;
        } else if (arg == "--fresh") {
            a.fresh = true;
        } else if (arg == "--once") {
            a.once = true;
        } else if (arg == "--state" || arg.starts_with("--state=")) {
            if (arg == "--state") {
                if (++i >= argc) usage_error("--state needs a directory");
                a.state_dir = argv[i];
            } else {
                a.state_dir = arg.substr(8);
            }
            if (a.state_dir->empty()) usage_error("--state needs a directory");
        } else if (arg.starts_with("-") && arg != "-") {
            usage_error("unknown option '" + arg + "'");
        } else {
            rest.push_back(arg);
        }
    }
    if (rest.empty()) usage_error("no command given");
    a.command = rest[0];
    if (a.command != "run" && a.command != "validate" && a.command != "status")
        usage_error("unknown command '" + a.command + "'");
    if (a.command == "status") {
        if (rest.size() > 2) usage_error("unexpected argument '" + rest[2] + "'");
        if (rest.size() == 2) a.job_file = rest[1];
        if (!a.state_dir && a.job_file.empty()) usage_error("status needs --state DIR or a job file");
        return a;
    }
    if (rest.size() < 2) usage_error(a.command + " needs a job file");
    if (rest.size() > 2) usage_error("unexpected argument '" + rest[2] + "'");
    a.job_file = rest[1];
    return a;
}

int validate(const drover::job& j) {
    // What `run` checks before it starts anything, beyond the job file itself: the
    // executors', the sink's and the scheduler's own checks (nothing is started).
    (void)drover::make_scheduler(j);
    std::size_t slots = 0;
    for (auto& e : j.executors) slots += j.kinds.slots(e);
    fmt::print("{}: ok — job '{}', {} task(s), {} executor(s) with {} slot(s), output {}\n",
               terminal_safe(j.source.string()), j.name, j.tasks.size(), j.executors.size(), slots,
               terminal_safe(j.sink ? j.kinds.location(*j.sink) : std::string("(state dir)/output")));
    for (std::size_t i = 0; i < j.tasks.size() && i < 3; ++i) {
        std::string cmd;
        for (auto& a : j.tasks[i].command) cmd += (cmd.empty() ? "" : " ") + a;
        fmt::print("  {}: {}\n", j.tasks[i].id, terminal_safe(cmd));
    }
    if (j.tasks.size() > 3) fmt::print("  ... {} more\n", j.tasks.size() - 3);
    return 0;
}

int status(const cli_args& a) {
    std::filesystem::path dir = a.state_dir ? std::filesystem::path(*a.state_dir)
                                            : drover::load_job(a.job_file).options.state_dir;
    auto s = drover::read_journal_status(dir);
    if (a.json)
        std::cout << drover::to_json(s) << "\n";
    else
        std::cout << drover::cli::status_text(s);
    return 0;
}

// Alerts still on their way when the run ended. The summary is out already: wait for them
// at most on_failure.timeout in all (the alerter gives up on the rest), and not at all once
// a signal comes.
void wait_for_alerts(boost::asio::io_context& ctx, boost::asio::signal_set& signals, drover::detail::alerter& alerts,
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

// One run of the job. `stop` is set when a signal arrived (the run was cancelled).
int run_once(const cli_args& a, drover::job j, bool& stop) {
    auto sched = drover::make_scheduler(j);
    // The scheduler keeps its own compact copy: give the parsed tasks' memory back to the
    // system (a million-task job is ~0.6 GB as task_specs, ~50 MB in the scheduler).
    std::vector<drover::task_spec>().swap(j.tasks);
    ::malloc_trim(0);
    drover::cli::progress_reporter reporter({.terminal = ::isatty(STDERR_FILENO) == 1, .quiet = a.quiet, .out = stderr});
    sched.add_observer(reporter);
    std::optional<drover::detail::alerter> alerts;
    if (j.on_failure) {
        alerts.emplace(j.name, *j.on_failure,
                       [](const std::string& m) { fmt::print(stderr, "drover: {}\n", terminal_safe(m)); });
        sched.add_observer(*alerts);
    }

    boost::asio::io_context ctx;
    boost::asio::signal_set signals(ctx, SIGINT, SIGTERM, SIGHUP);
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
    drover::run_summary summary;
    sched.async_run(ctx.get_executor(), [&](std::exception_ptr e, drover::run_summary s) {
        err = e;
        summary = std::move(s);
        signals.cancel();
    });
    ctx.run();

    if (!err) {
        if (a.json)
            std::cout << drover::to_json(summary) << std::endl;
        else
            std::cout << drover::cli::summary_text(j.name, summary) << std::flush;
    }
    if (alerts) wait_for_alerts(ctx, signals, *alerts, stop);  // after the summary, bounded
    if (err) std::rethrow_exception(err);
    return summary.exit_code();
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
    service_hooks hooks;
    hooks.now = [] { return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()); };
    hooks.sleep_until = [&](std::chrono::sys_seconds t) {
        if (stop) return false;
        boost::asio::io_context ctx;
        boost::asio::system_timer timer(ctx, t);
        boost::asio::signal_set signals(ctx, SIGINT, SIGTERM, SIGHUP);
        signals.async_wait([&](boost::system::error_code ec, int) {
            if (!ec) stop = true;
            timer.cancel();
        });
        timer.async_wait([&](boost::system::error_code) { signals.cancel(); });
        ctx.run();
        return !stop;
    };
    hooks.run = [&](std::chrono::sys_seconds tick) {
        fmt::print(stderr, "drover: {}: run for the tick at {}\n", j.name, format_utc(tick));
        drover::job run = j;
        run.options.journal.fresh = true;
        for (auto& t : run.tasks) t.env["DROVER_TICK"] = format_utc(tick);
        try {
            last = run_once(a, std::move(run), stop);
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

int run(const cli_args& a, drover::job j) {
    if (a.state_dir) j.options.state_dir = *a.state_dir;
    j.options.journal.retry_dead = a.retry_dead;
    j.options.journal.fresh = a.fresh;
    if (j.schedule && !a.once) return serve(a, j);
    bool stop = false;
    return run_once(a, std::move(j), stop);
}

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    cli_args args = parse_args(argc, argv);
    try {
        if (args.command == "status") return status(args);
        auto j = drover::load_job(args.job_file);
        if (args.command == "validate") return validate(j);
        return run(args, std::move(j));
    } catch (const drover::config_error& e) {
        std::cerr << "drover: configuration error: " << terminal_safe(e.what()) << "\n";
        return exit_usage;
    } catch (const std::exception& e) {
        // "drover: status: no journal in ...", "drover: cannot run: ..."
        std::cerr << "drover: " << (args.command == "run" ? "cannot run" : args.command) << ": " << terminal_safe(e.what())
                  << "\n";
        return exit_usage;
    }
}
