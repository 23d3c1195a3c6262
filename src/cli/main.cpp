// drover — command-line front end: `drover run JOB.toml`.

#include <drover/drover.hpp>

#include "cli/progress.hpp"
#include "cli/report.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>

#include <csignal>
#include <cstring>
#include <iostream>
#include <optional>
#include <thread>
#include <unistd.h>

namespace {

constexpr int exit_usage = 2;

const char* usage_text = R"(usage: drover run JOB.toml [--state DIR] [--json] [--quiet]
       drover validate JOB.toml
       drover --version | --help

run       run a job file; exit code 0 when every task succeeded, 1 when some were
          dead-lettered or skipped, 2 for usage or configuration errors, 130 when cancelled
validate  check a job file and print what it would run
  --state DIR  state directory (default: the job's state_dir, or .drover/<name>)
  --json       print the summary as one JSON object on stdout
  --quiet      no progress output
)";

struct cli_args {
    std::string command;
    std::string job_file;
    std::optional<std::string> state_dir;
    bool json = false;
    bool quiet = false;
};

[[noreturn]] void usage_error(const std::string& msg) {
    std::cerr << "drover: " << msg << "\n" << usage_text;
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
    if (a.command != "run" && a.command != "validate") usage_error("unknown command '" + a.command + "'");
    if (rest.size() < 2) usage_error(a.command + " needs a job file");
    if (rest.size() > 2) usage_error("unexpected argument '" + rest[2] + "'");
    a.job_file = rest[1];
    return a;
}

int validate(const drover::job& j) {
    std::size_t slots = 0;
    for (auto& e : j.executors) {
        if (e.kind == "ssh")
            slots += e.ssh.hosts.size() * e.ssh.slots_per_host;
        else if (e.kind == "docker")  // no hosts: one daemon from DOCKER_HOST
            slots += std::max<std::size_t>(1, e.docker.hosts.size()) * e.docker.slots_per_host;
        else
            slots += e.local.slots ? e.local.slots : std::max(1u, std::thread::hardware_concurrency());
    }
    fmt::print("{}: ok — job '{}', {} task(s), {} executor(s) with {} slot(s), output {}\n", j.source.string(), j.name,
               j.tasks.size(), j.executors.size(), slots, j.sink ? j.sink->file.root.string() : "(state dir)/output");
    for (std::size_t i = 0; i < j.tasks.size() && i < 3; ++i) {
        std::string cmd;
        for (auto& a : j.tasks[i].command) cmd += (cmd.empty() ? "" : " ") + a;
        fmt::print("  {}: {}\n", j.tasks[i].id, cmd);
    }
    if (j.tasks.size() > 3) fmt::print("  ... {} more\n", j.tasks.size() - 3);
    return 0;
}

int run(const cli_args& a, drover::job j) {
    if (a.state_dir) j.options.state_dir = *a.state_dir;
    auto sched = drover::make_scheduler(j);
    drover::cli::progress_reporter reporter({.terminal = ::isatty(STDERR_FILENO) == 1, .quiet = a.quiet, .out = stderr});
    sched.add_observer(reporter);

    boost::asio::io_context ctx;
    boost::asio::signal_set signals(ctx, SIGINT, SIGTERM, SIGHUP);
    std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code ec, int sig) {
        if (ec) return;
        reporter.clear_line();
        fmt::print(stderr, "drover: {} received: cancelling, killing running tasks\n", sigabbrev_np(sig) ? sigabbrev_np(sig) : "signal");
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
    if (err) std::rethrow_exception(err);

    if (a.json)
        std::cout << drover::to_json(summary) << "\n";
    else
        std::cout << drover::cli::summary_text(j.name, summary);
    return summary.exit_code();
}

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    cli_args args = parse_args(argc, argv);
    try {
        auto j = drover::load_job(args.job_file);
        if (args.command == "validate") return validate(j);
        return run(args, std::move(j));
    } catch (const drover::config_error& e) {
        std::cerr << "drover: configuration error: " << e.what() << "\n";
        return exit_usage;
    } catch (const std::exception& e) {
        std::cerr << "drover: cannot run: " << e.what() << "\n";
        return exit_usage;
    }
}
