#include "cli/args.hpp"

#include <drover/version.hpp>

#include "detail/utf8.hpp"

#include <CLI/CLI.hpp>

#include <sstream>

namespace drover::cli {

namespace {

constexpr const char* run_help =
    "Run a job file. Exit code 0 when every task succeeded, 1 when some were dead-lettered or\n"
    "skipped, 2 for usage or configuration errors, 130 when cancelled. Running it again with\n"
    "the same state directory resumes: tasks that succeeded are not run again. A job with a\n"
    "schedule runs as a service (docs/workflows.md).";

void add_state(CLI::App& app, std::optional<std::string>& state) {
    app.add_option_function<std::string>(
           "--state", [&state](const std::string& s) { state = s; },
           "state directory (default: the job's state_dir, or .drover/<name>)")
        ->type_name("DIR")
        ->check([](const std::string& s) { return s.empty() ? std::string("--state needs a directory") : ""; });
}

// --param NAME=VALUE (repeatable; a foreach variable given twice takes both values),
// --only GLOB (repeatable) and --no-deps: job_load_options, for run and validate.
void add_selection(CLI::App& app, job_load_options& load) {
    app.add_option_function<std::vector<std::string>>(
           "--param",
           [&load](const std::vector<std::string>& all) {
               for (const auto& p : all) {
                   auto eq = p.find('=');
                   load.params[p.substr(0, eq)].push_back(p.substr(eq + 1));
               }
           },
           "override a param or a foreach variable of the job's tasks; a foreach variable given several "
           "times takes each value")
        ->type_name("NAME=VALUE")
        ->allow_extra_args(false)
        ->check([](const std::string& p) {
            auto eq = p.find('=');
            if (eq == std::string::npos || eq == 0)
                return "expected NAME=VALUE, got '" + detail::terminal_safe(p) + "' (e.g. --param date=2018-01-06)";
            return std::string();
        });
    auto* only = app.add_option("--only", load.only,
                                "run only the tasks whose id matches GLOB (and the tasks they come after)")
                     ->type_name("GLOB")
                     ->allow_extra_args(false)
                     ->check([](const std::string& g) { return g.empty() ? std::string("a glob must not be empty") : ""; });
    app.add_flag_callback(
           "--no-deps", [&load] { load.with_dependencies = false; },
           "with --only: not the tasks they come after (their `after` on tasks left out is dropped)")
        ->needs(only);
}

}  // namespace

std::variant<cli_args, cli_exit> parse_args(int argc, const char* const* argv) {
    cli_args a;
    CLI::App app{"drover: runs a job file's tasks on local processes, SSH hosts or Docker daemons, "
                 "with retries, a journal and exactly-once output.",
                 "drover"};
    app.set_version_flag("--version", std::string("drover ") + DROVER_VERSION_STRING, "print the version and exit");
    app.require_subcommand(1, 1);

    auto* run = app.add_subcommand("run", run_help);
    run->add_option("job", a.job_file, "the job file (TOML)")->required()->type_name("JOB.toml");
    add_state(*run, a.state_dir);
    run->add_flag("--json", a.json, "print the summary as one JSON object on stdout");
    run->add_flag("-q,--quiet", a.quiet, "no progress output");
    run->add_flag("--retry-dead", a.retry_dead, "on resume, run tasks dead-lettered in earlier runs again");
    run->add_flag("--fresh", a.fresh, "forget earlier runs' task states and run every task");
    run->add_flag("--once", a.once, "for a job with a schedule: one run now instead of the service");
    add_selection(*run, a.load);

    auto* validate = app.add_subcommand("validate", "Check a job file and print what it would run.");
    validate->add_option("job", a.job_file, "the job file (TOML)")->required()->type_name("JOB.toml");
    validate->add_flag("--json", a.json,
                       "print the job as one JSON document: every task with its argv and dependencies, the "
                       "executors, pools, sink and the schedule's next fire times");
    add_selection(*validate, a.load);

    auto* status = app.add_subcommand(
        "status", "The journal of a state directory: tasks per state, running attempts, hosts, dead tasks.");
    status->add_option("job", a.job_file, "a job file, for its state_dir")->type_name("JOB.toml");
    add_state(*status, a.state_dir);
    status->add_flag("--json", a.json, "print the status as one JSON object on stdout");

    if (argc >= 2 && argv[1][0] != '-' && std::string_view(argv[1]) != "help") {
        std::string cmd = argv[1];
        bool known = true;
        try {
            (void)app.get_subcommand(cmd);
        } catch (const CLI::OptionNotFound&) {
            known = false;
        }
        if (!known)
            return cli_exit{{},
                            "drover: unknown command '" + detail::terminal_safe(cmd) +
                                "' (the commands: run, validate, status)\nRun 'drover --help'.\n",
                            exit_usage};
    }
    // `drover help [COMMAND]` as a synonym of --help.
    std::vector<std::string> args;
    for (int i = argc - 1; i >= 1; --i) args.emplace_back(argv[i]);  // CLI11 takes them reversed
    if (!args.empty() && args.back() == "help") {
        args.pop_back();
        args.insert(args.begin(), "--help");
    }

    std::ostringstream out, err;
    try {
        app.parse(args);
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e, out, err);
        if (code == 0) return cli_exit{out.str(), {}, 0};
        std::string msg = e.what();
        return cli_exit{{}, "drover: " + detail::terminal_safe(msg) + "\nRun 'drover --help' or 'drover COMMAND --help'.\n",
                        exit_usage};
    }
    if (run->parsed()) a.command = "run";
    if (validate->parsed()) a.command = "validate";
    if (status->parsed()) {
        a.command = "status";
        if (!a.state_dir && a.job_file.empty())
            return cli_exit{{}, "drover: status needs --state DIR or a job file\n", exit_usage};
    }
    return a;
}

}  // namespace drover::cli
