#include "cli/args.hpp"

#include <drover/version.hpp>

#include "detail/utf8.hpp"

#include <CLI/CLI.hpp>

#include <optional>
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
// --only GLOB (repeatable), --no-deps and --max-tasks N: job_load_options, for run and validate.
void add_params(CLI::App& app, job_load_options& load) {
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
}

void add_selection(CLI::App& app, job_load_options& load) {
    add_params(app, load);
    auto* only = app.add_option("--only", load.only,
                                "run only the tasks whose id matches GLOB (and the tasks they come after)")
                     ->type_name("GLOB")
                     ->allow_extra_args(false)
                     ->check([](const std::string& g) { return g.empty() ? std::string("a glob must not be empty") : ""; });
    app.add_flag_callback(
           "--no-deps", [&load] { load.with_dependencies = false; },
           "with --only: not the tasks they come after (their `after` on tasks left out is dropped)")
        ->needs(only);
    app.add_option_function<std::size_t>(
           "--max-tasks", [&load](std::size_t n) { load.max_tasks = n; },
           "the most tasks the job may expand to (instead of the job file's max_tasks; default 10000000)")
        ->type_name("N")
        ->check(CLI::PositiveNumber);
}

constexpr const char* exec_summary =
    "Run a command once per argument, GNU parallel style (::: ARGS, :::: FILES, stdin lines), with\n"
    "drover's retries, timeouts and exactly-once output.";
constexpr const char* exec_help =
    "  drover exec [OPTIONS] [--] COMMAND... [::: ARGS...]... [:::: FILES...]...\n"
    "{} is the argument, {N} the one of group N, {#} the task number; {.} {/} {//} {/.} as in\n"
    "parallel. Several groups make their cross product. Without ::: or ::::, arguments are the\n"
    "lines of stdin. Each task prints JSON-lines records: with --out they go to gzip files\n"
    "(DIR/<task-id>.jsonl.gz), without it to stdout, all of a task's records together when it\n"
    "succeeds. The summary goes to stderr. The command runs without a shell unless --shell.\n"
    "Exit code 0 when every task succeeded, 1 when some failed, 2 for usage errors, 130 when\n"
    "cancelled. With --state DIR a second run resumes: tasks that succeeded are not run again.";

// ":::" starts a group of arguments, "::::" a list of files, each one group; the words
// before the first are the command. Returns an error message, or empty.
std::string split_exec_words(std::vector<std::string> words, exec_args& e) {
    enum { command, values, files } mode = command;
    for (auto& w : words) {
        if (w == ":::+" || w == "::::+")
            return "'" + w + "' (linked arguments) is not supported; use ::: or :::: (cross product)";
        if (w == ":::" || w == "::::") {
            if (mode == values && e.sources.back().values.empty()) return "::: needs at least one argument";
            if (mode == files && e.sources.back().path.empty()) return ":::: needs at least one file";
            mode = w == ":::" ? values : files;
            if (mode == values) e.sources.push_back({});
            else e.sources.push_back({.file = true});  // replaced by the first file
            continue;
        }
        switch (mode) {
            case command: e.command.push_back(std::move(w)); break;
            case values: e.sources.back().values.push_back(std::move(w)); break;
            case files:
                if (e.sources.back().file && e.sources.back().path.empty()) e.sources.back().path = std::move(w);
                else e.sources.push_back({.file = true, .path = std::move(w)});
                break;
        }
    }
    if (mode == values && e.sources.back().values.empty()) return "::: needs at least one argument";
    if (mode == files && e.sources.back().path.empty()) return ":::: needs at least one file";
    if (e.command.empty()) return "exec needs a command (e.g. drover exec -- echo {} ::: a b)";
    return {};
}

void add_exec(CLI::App& exec, exec_args& e) {
    exec.prefix_command();  // options end at the command: its own options are its words
    exec.add_option("-j,--jobs", e.jobs, "tasks at once (default: one per core)")->type_name("N")->check(CLI::Range(1, 100000));
    exec.add_option("--retries", e.retries, "extra attempts of a failed task (default 0)")->type_name("N")->check(CLI::Range(0, 1000));
    exec.add_option_function<std::string>(
            "--timeout", [&e](const std::string& s) { e.timeout = parse_duration(s); },
            "per attempt: kill the task's process group after this long (30s, 5m, 1h30m)")
        ->type_name("DURATION")
        ->check([](const std::string& s) {
            try {
                (void)parse_duration(s);
                return std::string();
            } catch (const std::exception& x) {
                return std::string(x.what());
            }
        });
    exec.add_option_function<std::string>(
            "--out", [&e](const std::string& s) { e.out = s; }, "write records to gzip JSON-lines files under DIR")
        ->type_name("DIR")
        ->check([](const std::string& s) { return s.empty() ? std::string("--out needs a directory") : ""; });
    exec.add_option("--partition", e.partition,
                    "with --out: partition directories, from {record.FIELD}, {n} (task number), {arg1}, {arg2}, ...")
        ->type_name("TEMPLATE");
    add_state(exec, e.state_dir);
    exec.get_option("--state")->description("state directory: a run with the same one resumes (default: .drover/exec, fresh each run)");
    exec.add_flag("--shell", e.shell, "run the command with sh -c, the arguments quoted for it");
    exec.add_flag("-q,--quiet", e.quiet, "no progress output");
    exec.add_flag("--retry-dead", e.retry_dead, "with --state: run tasks that failed in earlier runs again");
}

// The options every client command has.
void add_client(CLI::App& app, client_args& c, bool with_task, bool task_required) {
    app.add_option("job", c.key, "the job's key (its file name without .toml)")->required()->type_name("JOB");
    if (with_task) {
        auto* t = app.add_option("task", c.task, "the task's id")->type_name("TASK");
        if (task_required) t->required();
    }
    app.add_option("--url", c.url, "the service (default: $DROVER_URL, else http://127.0.0.1:8080)")->type_name("URL");
    app.add_option("--token-file", c.token_file,
                   "a file holding the bearer token (default: $DROVER_TOKEN_FILE; $DROVER_TOKEN is the token itself)")
        ->type_name("FILE");
    app.add_option("--ca-file", c.ca_file, "https: the PEM CA bundle to verify the service with (default: the system's)")
        ->type_name("FILE");
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

    auto* exec = app.add_subcommand("exec", exec_summary);
    exec->footer(exec_help);
    add_exec(*exec, a.exec);

    auto* serve = app.add_subcommand(
        "serve", "A long-running service: every job file of a directory, their schedules, an HTTP API and /metrics "
                 "(docs/service.md).");
    serve->add_option("--jobs", a.serve.jobs_dir, "the directory of job files (*.toml; the file name is the job's key)")
        ->required()
        ->type_name("DIR");
    serve->add_option("--state", a.serve.state_dir, "where each job's state directory goes (DIR/<key>)")
        ->required()
        ->type_name("DIR");
    serve->add_option("--listen", a.serve.listen, "the HTTP API's address (port 0: any free port; empty: no HTTP)")
        ->type_name("HOST:PORT")
        ->capture_default_str();
    serve->add_option("--tokens", a.serve.tokens_file,
                      "bearer tokens, lines \"admin TOKEN\" or \"read TOKEN\"; without, the API only reads")
        ->type_name("FILE");
    serve->add_option("--tls-cert", a.serve.tls_cert, "HTTPS: the PEM certificate chain (with --tls-key)")
        ->type_name("FILE");
    serve->add_option("--tls-key", a.serve.tls_key, "HTTPS: the certificate's PEM private key")->type_name("FILE");
    serve->add_option("--rate-limit", a.serve.rate_limit,
                      "requests per second each client address may make (bursts of twice as many); 0: no limit")
        ->type_name("N")
        ->check(CLI::NonNegativeNumber);
    serve->add_option("--pool", a.serve.pools,
                      "a pool every job's tasks may name (`pool = \"NAME\"`), with N places across jobs; repeatable")
        ->type_name("NAME=N");
    auto* pools = app.add_subcommand("pools", "The pools a service's jobs share, with the places taken now.");
    pools->add_option("--url", a.client.url, "the service (default: $DROVER_URL, else http://127.0.0.1:8080)")
        ->type_name("URL");
    pools->add_option("--token-file", a.client.token_file,
                      "a file holding the bearer token (default: $DROVER_TOKEN_FILE; $DROVER_TOKEN is the token itself)")
        ->type_name("FILE");
    pools->add_option("--ca-file", a.client.ca_file, "https: the PEM CA bundle to verify the service with")
        ->type_name("FILE");
    pools->add_flag("--json", a.json, "print the API's JSON");

    auto* trigger = app.add_subcommand("trigger", "Start a run of a served job now (prints the run id).");
    add_client(*trigger, a.client, false, false);
    add_params(*trigger, a.load);
    trigger->add_flag("--fresh", a.fresh, "forget earlier runs' task states and run every task");
    trigger->add_flag("--retry-dead", a.retry_dead, "run tasks dead-lettered in earlier runs again");
    auto* runs = app.add_subcommand("runs", "A served job's runs, newest first.");
    add_client(*runs, a.client, false, false);
    runs->add_option("--limit", a.client.limit, "how many runs")->capture_default_str();
    add_state(*runs, a.client.state_dir);
    runs->get_option("--state")->description("the service's state directory: read its journal when no service answers");
    runs->add_flag("--json", a.json, "print the API's JSON");
    auto* logs = app.add_subcommand("logs", "A task's attempts with the end of their stderr.");
    add_client(*logs, a.client, true, true);
    add_state(*logs, a.client.state_dir);
    logs->get_option("--state")->description("the service's state directory: read its journal when no service answers");
    logs->add_option("--jobs", a.client.jobs_dir,
                     "with --state: the service's job files; the secret env values of <DIR>/<job>.toml are redacted "
                     "from what the journal shows, as the service does")
        ->type_name("DIR");
    logs->add_option("--attempt", a.client.attempt, "print this attempt's stderr log (its end: --bytes)")
        ->type_name("N")
        ->check(CLI::PositiveNumber);
    logs->add_option("--bytes", a.client.bytes, "with --attempt: how many bytes of the log's end (at most 16 MiB)")
        ->type_name("N")
        ->check(CLI::Range(std::size_t{0}, std::size_t{16} * 1024 * 1024))
        ->capture_default_str();
    logs->add_flag("--json", a.json, "print the API's JSON");
    auto* events = app.add_subcommand(
        "events", "A served job's events: runs started and finished, attempts started, tasks' new states.");
    add_client(*events, a.client, false, false);
    events->add_option("--after", a.client.after, "only events numbered after N (the last one seen)")->type_name("N");
    events->add_flag("--follow,-f", a.client.follow, "print new events as they come, until interrupted");
    events->add_flag("--json", a.json, "one JSON object per event and line");
    auto* retry = app.add_subcommand("retry", "Run a dead or cancelled task of a served job's running run again.");
    add_client(*retry, a.client, true, true);
    auto* cancel = app.add_subcommand("cancel", "Cancel a served job's running run, or one task of it.");
    add_client(*cancel, a.client, true, false);
    auto* succeed = app.add_subcommand(
        "succeed", "Mark a task of a served job's running run succeeded without running it; what comes after it runs.");
    add_client(*succeed, a.client, true, true);
    auto* hosts = app.add_subcommand("hosts", "The hosts of a served job's running run; add, drain or remove one.");
    add_client(*hosts, a.client, false, false);
    hosts->add_option("--add", a.client.add_host, "add this host (ssh: [user@]host[:port], docker: a daemon URL)")
        ->type_name("HOST");
    hosts->add_option("--executor", a.client.executor, "--add to this executor (its position in [[executors]], from 0)")
        ->type_name("N");
    hosts->add_option("--drain", a.client.drain_host, "no new attempts on this host; it leaves when they end")
        ->type_name("HOST");
    hosts->add_option("--remove", a.client.remove_host, "this host leaves now; its attempts run again elsewhere")
        ->type_name("HOST");
    hosts->add_flag("--json", a.json, "print the API's JSON");

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
                                "' (the commands: run, validate, status, exec, serve, trigger, runs, logs, retry, cancel)\nRun 'drover --help'.\n",
                            exit_usage};
    }
    // `drover help [COMMAND]` as a synonym of --help.
    // exec: the words after the first `--` are the command and its arguments, never options
    // (CLI11 would hand them to the parent command).
    int end = argc;
    std::optional<std::vector<std::string>> exec_tail;
    if (argc >= 2 && std::string_view(argv[1]) == "exec")
        for (int i = 2; i < argc; ++i)
            if (std::string_view(argv[i]) == "--") {
                exec_tail.emplace(argv + i + 1, argv + argc);
                end = i;
                break;
            }
    std::vector<std::string> args;
    for (int i = end - 1; i >= 1; --i) args.emplace_back(argv[i]);  // CLI11 takes them reversed
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
    if (serve->parsed()) a.command = "serve";
    for (auto* c : {trigger, runs, logs, events, retry, cancel, succeed, hosts, pools})
        if (c->parsed()) a.command = c->get_name();
    if (hosts->parsed() && (!a.client.add_host.empty() + !a.client.drain_host.empty() + !a.client.remove_host.empty()) > 1)
        return cli_exit{{}, "drover: hosts: give one of --add, --drain and --remove\n", exit_usage};
    if (hosts->parsed() && a.client.executor && a.client.add_host.empty())
        return cli_exit{{}, "drover: hosts: --executor goes with --add\n", exit_usage};
    if (exec->parsed()) {
        a.command = "exec";
        // Words before `--` that are not options start the command: then `--` is one of its words.
        auto words = exec->remaining();
        // CLI11 leaves an unknown option there (prefix_command): it is not the command.
        if (!words.empty() && words.front().size() > 1 && words.front().front() == '-')
            return cli_exit{{},
                            "drover: exec: unknown option '" + detail::terminal_safe(words.front()) +
                                "' (a command starting with '-' goes after --)\nRun 'drover exec --help'.\n",
                            exit_usage};
        if (exec_tail) {
            if (!words.empty()) words.emplace_back("--");
            words.insert(words.end(), exec_tail->begin(), exec_tail->end());
        }
        if (auto problem = split_exec_words(std::move(words), a.exec); !problem.empty())
            return cli_exit{{}, "drover: exec: " + detail::terminal_safe(problem) + "\nRun 'drover exec --help'.\n", exit_usage};
    }
    if (status->parsed()) {
        a.command = "status";
        if (!a.state_dir && a.job_file.empty())
            return cli_exit{{}, "drover: status needs --state DIR or a job file\n", exit_usage};
    }
    return a;
}

}  // namespace drover::cli
