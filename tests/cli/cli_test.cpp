// The drover CLI as users run it: exit codes, output, signals.
#include <doctest/doctest.h>

#include "support/support.hpp"

#include <drover/version.hpp>

#include <boost/json.hpp>

#include <csignal>
#include <spawn.h>
#include <sys/wait.h>
#include <thread>

extern char** environ;

using namespace drover::test;
using namespace std::chrono_literals;

namespace {

std::string cli() { return DROVER_CLI_PATH; }

command_result drover_cli(const temp_dir& d, const std::string& args) {
    return run_shell("cd " + d.path().string() + " && " + cli() + " " + args + " 2>&1");
}

const char* small_job = R"(name = "small"
[[executors]]
kind = "local"
slots = 2
[sink]
kind = "file"
path = "out"
partition = "n={n}"
[[tasks]]
id = "t-{n}"
command = ["sh", "-c", "echo '{\"n\":{n}}'"]
foreach.n = [1, 2, 3, 4]
)";

}  // namespace

TEST_CASE("cli: run succeeds, prints a summary and writes partitioned output" * doctest::timeout(60)) {
    temp_dir d;
    write_file(d / "job.toml", small_job);
    auto r = drover_cli(d, "run job.toml --quiet");
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("4 succeeded, 0 dead, 0 skipped of 4 tasks") != std::string::npos);
    CHECK(r.output.find("output:  " + (d / "out").string()) != std::string::npos);
    CHECK(list_files(d / "out") == std::vector<std::string>{"n=1/t-1.jsonl.gz", "n=2/t-2.jsonl.gz",
                                                            "n=3/t-3.jsonl.gz", "n=4/t-4.jsonl.gz"});
    CHECK(read_gzip(d / "out" / "n=3" / "t-3.jsonl.gz") == "{\"n\":3}\n");
    CHECK(std::filesystem::exists(d / ".drover" / "small" / "runs" / "latest" / "summary.json"));
}

TEST_CASE("cli: --json prints one JSON object and --state moves the state directory" * doctest::timeout(60)) {
    temp_dir d;
    write_file(d / "job.toml", small_job);
    auto r = run_shell("cd " + d.path().string() + " && " + cli() + " run job.toml --json --quiet --state st");
    CHECK(r.exit_code == 0);
    auto j = boost::json::parse(r.output).as_object();
    CHECK(j.at("ok").as_bool());
    CHECK(j.at("succeeded").as_int64() == 4);
    CHECK(j.at("records").as_int64() == 4);
    CHECK(std::filesystem::exists(d / "st" / "runs" / "latest"));
}

TEST_CASE("cli: exit code 1 when tasks are dead, with the reason in the summary" * doctest::timeout(60)) {
    temp_dir d;
    write_file(d / "job.toml", R"(name = "failing"
[[tasks]]
id = "bad"
command = ["sh", "-c", "echo boom >&2; exit 4"]
)");
    auto r = drover_cli(d, "run job.toml");
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("1 dead") != std::string::npos);
    CHECK(r.output.find("bad: exit code 4 after 1 attempt(s)") != std::string::npos);
    CHECK(r.output.find("stderr: boom") != std::string::npos);
}

TEST_CASE("cli: exit code 2 for usage and configuration errors" * doctest::timeout(60)) {
    temp_dir d;
    write_file(d / "broken.toml", "name = \"x\"\n[[tasks]]\nid = \"a\"\ncommand = \"not an array\"\n");
    auto r = drover_cli(d, "run broken.toml");
    CHECK(r.exit_code == 2);
    CHECK(r.output.find("broken.toml:4") != std::string::npos);
    CHECK(r.output.find("command") != std::string::npos);
    CHECK(drover_cli(d, "run missing.toml").exit_code == 2);
    CHECK(drover_cli(d, "frobnicate x.toml").exit_code == 2);
    CHECK(drover_cli(d, "run").exit_code == 2);
    CHECK(drover_cli(d, "run broken.toml --bogus").exit_code == 2);
    CHECK(drover_cli(d, "--help").exit_code == 0);
}

TEST_CASE("cli: --help per command, --version, and unknown or misplaced options are usage errors" *
          doctest::timeout(60)) {
    temp_dir d;
    write_file(d / "ok.toml", "name = \"x\"\n[[tasks]]\nid = \"a\"\ncommand = [\"true\"]\n");
    auto has = [](const command_result& r, const std::string& part) {
        return r.output.find(part) != std::string::npos;
    };
    auto top = drover_cli(d, "--help");
    CHECK(top.exit_code == 0);
    for (const char* cmd : {"run", "validate", "status"}) CHECK_MESSAGE(has(top, cmd), top.output);
    auto run = drover_cli(d, "run --help");
    CHECK(run.exit_code == 0);
    CHECK_MESSAGE(has(run, "--retry-dead"), run.output);
    CHECK(has(run, "Run a job file"));
    CHECK(drover_cli(d, "help run").output == run.output);
    auto validate = drover_cli(d, "validate --help");
    CHECK(validate.exit_code == 0);
    CHECK_MESSAGE(has(validate, "--json"), validate.output);
    CHECK_MESSAGE(!has(validate, "--retry-dead"), validate.output);  // validate does not run
    auto version = drover_cli(d, "--version");
    CHECK(version.exit_code == 0);
    CHECK(version.output == "drover " DROVER_VERSION_STRING "\n");

    struct bad {
        const char* args;
        const char* says;
    };
    for (auto [args, says] : {bad{"validate ok.toml --fresh", "--fresh"},
                              bad{"--json run ok.toml", "--json"},
                              bad{"run ok.toml --stat dir", "--stat"},
                              bad{"run ok.toml other.toml", "other.toml"},
                              bad{"run ok.toml --state", "--state"},
                              bad{"run ok.toml --state=", "--state"},
                              bad{"run --state \"\" ok.toml", "--state needs a directory"},
                              bad{"status", "status needs --state DIR or a job file"},
                              bad{"status --quiet --state s", "--quiet"},
                              bad{"", "A subcommand is required"},
                              bad{"frobnicate", "unknown command 'frobnicate'"}}) {
        CAPTURE(args);
        auto r = drover_cli(d, args);
        CHECK(r.exit_code == 2);
        CHECK_MESSAGE(has(r, says), r.output);
        CHECK_MESSAGE(has(r, "drover: "), r.output);
    }
    // Options may come before or after the job file, and --state=DIR works too.
    CHECK(drover_cli(d, "run --quiet --state=st ok.toml").exit_code == 0);
    CHECK(drover_cli(d, "run ok.toml -q --state st --fresh").exit_code == 0);
}

TEST_CASE("cli: validate checks a job without running it" * doctest::timeout(60)) {
    temp_dir d;
    write_file(d / "job.toml", small_job);
    auto r = drover_cli(d, "validate job.toml");
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("4 task(s)") != std::string::npos);
    CHECK(!std::filesystem::exists(d / "out"));
}

TEST_CASE("cli: SIGINT cancels cleanly: children killed, exit 130, summary printed" * doctest::timeout(60)) {
    temp_dir d;
    auto pidfile = d / "pids";
    write_file(d / "job.toml", "name = \"long\"\n[[executors]]\nkind = \"local\"\nslots = 2\n"
                               "[[tasks]]\nid = \"t-{n}\"\ncommand = [\"sh\", \"-c\", \"sleep 300 & echo $! >> " +
                                   pidfile.string() + "; wait\"]\nforeach.n = [1, 2, 3]\n");
    std::string out_path = (d / "cli.out").string();
    std::string script = "cd " + d.path().string() + " && exec " + cli() + " run job.toml > " + out_path + " 2>&1";
    const char* argv[] = {"sh", "-c", script.c_str(), nullptr};
    pid_t pid;
    REQUIRE(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) == 0);
    // Wait until both slots are busy.
    for (int i = 0; i < 100; ++i) {
        std::this_thread::sleep_for(50ms);
        if (std::filesystem::exists(pidfile) && split_lines(read_file(pidfile)).size() == 2) break;
    }
    ::kill(pid, SIGINT);
    int status = 0;
    waitpid(pid, &status, 0);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 130);
    auto out = read_file(out_path);
    CHECK(out.find("cancelling") != std::string::npos);
    CHECK(out.find("cancelled") != std::string::npos);
    for (auto& l : split_lines(read_file(pidfile))) CHECK_MESSAGE(process_gone(std::stoi(l)), "pid " << l);
}
