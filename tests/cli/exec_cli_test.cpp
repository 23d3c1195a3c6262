// `drover exec` (issue 20, the ad-hoc mode): GNU-parallel-style arguments, hostile values,
// exactly-once output to files and to stdout, retries, timeouts, resume, stdin, errors.
#include <doctest/doctest.h>

#include "support/support.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <set>

using namespace drover::test;

namespace {

// stderr merged unless the caller redirects it itself (stdout_only).
command_result drover_exec(const temp_dir& d, const std::string& args, const std::string& input = "") {
    std::string cmd = "cd " + d.path().string() + " && ";
    if (!input.empty()) cmd += "printf '" + input + "' | ";  // input: a printf format
    return run_shell(cmd + DROVER_CLI_PATH + " exec " + args + " 2>&1");
}
command_result stdout_only(const temp_dir& d, const std::string& args) {
    return run_shell("cd " + d.path().string() + " && " + DROVER_CLI_PATH + " exec " + args + " 2>stderr.txt");
}

bool has(const command_result& r, std::string_view part) { return r.output.find(part) != std::string::npos; }

// A task that prints its argv (after argv[0]) as one record: {"a":[...]}.
const std::string print_args =
    "/usr/bin/python3 -c 'import json,sys; print(json.dumps({\"a\": sys.argv[1:]}))'";

std::string args_record(const fs::path& file) {
    auto lines = split_lines(read_gzip(file));
    REQUIRE(lines.size() == 1);
    return lines[0];
}

}  // namespace

TEST_CASE("cli exec: ::: groups run as a cross product into files named by the arguments" * doctest::timeout(60)) {
    temp_dir d;
    auto r = drover_exec(d, "-j 2 -q --out out -- sh -c 'echo \"{\\\"day\\\":\\\"$0\\\",\\\"n\\\":$1}\"' {1} {2} ::: "
                            "2018-01-01 2018-01-02 ::: 1 2");
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    CHECK_MESSAGE(has(r, "4 succeeded, 0 dead, 0 skipped of 4 tasks"), r.output);
    CHECK(list_files(d / "out") == std::vector<std::string>{"2018-01-01=1.jsonl.gz", "2018-01-01=2.jsonl.gz",
                                                            "2018-01-02=1.jsonl.gz", "2018-01-02=2.jsonl.gz"});
    CHECK(read_gzip(d / "out" / "2018-01-02=1.jsonl.gz") == "{\"day\":\"2018-01-02\",\"n\":1}\n");
}

TEST_CASE("cli exec: hostile arguments reach the command as they are, without a shell" * doctest::timeout(60)) {
    temp_dir d;
    // From the command line, and from a file (lines: an empty one, quotes, $(id), a tab).
    write_file(d / "args.txt", "\n'quoted' \"twice\"\n$(id)\ta b\n");
    auto r = drover_exec(d, "-q --out out -- " + print_args + " {} ::: 'a b' '$(id)' \"it's\" '' :::: args.txt");
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    CHECK_MESSAGE(has(r, "12 succeeded"), r.output);
    CHECK(args_record(d / "out" / "a_20b=_.jsonl.gz") == R"({"a": ["a b "]})");
    CHECK(args_record(d / "out" / "_24_28id_29=_24_28id_29_09a_20b.jsonl.gz") == R"({"a": ["$(id) $(id)\ta b"]})");
    CHECK(args_record(d / "out" / "_=_27quoted_27_20_22twice_22.jsonl.gz") == R"({"a": [" 'quoted' \"twice\""]})");
    // {1} and {2} keep each value one argument, even an empty one.
    r = drover_exec(d, "-q --out out2 -- " + print_args + " {2} {1} ::: \"it's\" :::: args.txt");
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    CHECK(args_record(d / "out2" / "it_27s=_.jsonl.gz") == R"({"a": ["", "it's"]})");
    CHECK(read_records(d / "out").size() == 12);
    for (const auto& line : read_records(d / "out")) CHECK_MESSAGE(line.find("uid=") == std::string::npos, line);
}

TEST_CASE("cli exec: --shell runs sh -c with the arguments quoted" * doctest::timeout(60)) {
    temp_dir d;
    // One word for drover: the script, with {} where the quoted argument goes.
    auto r = drover_exec(
        d, R"(-q --shell --out out -- "/usr/bin/python3 -c 'import json,sys; print(json.dumps({\"a\": sys.argv[1:]}))' {} | cat" ::: 'a b' '$(id)' "it's")");
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    CHECK(read_records(d / "out") ==
          std::vector<std::string>{R"x({"a": ["$(id)"]})x", R"({"a": ["a b"]})", R"({"a": ["it's"]})"});
}

TEST_CASE("cli exec: without --out each task's records go to stdout together and the summary to stderr" *
          doctest::timeout(60)) {
    temp_dir d;
    auto r = stdout_only(d, "-j 4 -- sh -c 'for i in 1 2 3; do echo \"{\\\"t\\\":\\\"$0\\\",\\\"i\\\":$i}\"; sleep "
                            "0.05; done' ::: a b c d e f");
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    auto lines = split_lines(r.output);
    REQUIRE_MESSAGE(lines.size() == 18, r.output);
    std::set<std::string> tasks;
    for (std::size_t i = 0; i < lines.size(); i += 3) {
        auto t = boost::json::parse(lines[i]).at("t").as_string();
        tasks.insert(std::string(t));
        for (int k = 0; k < 3; ++k) {
            auto rec = boost::json::parse(lines[i + k]).as_object();
            CHECK_MESSAGE(rec.at("t").as_string() == t, r.output);
            CHECK(rec.at("i").as_int64() == k + 1);
        }
    }
    CHECK(tasks.size() == 6);
    auto err = read_file(d / "stderr.txt");
    CHECK_MESSAGE(err.find("6 succeeded, 0 dead") != std::string::npos, err);
    CHECK_MESSAGE(err.find("output:  stdout") != std::string::npos, err);
}

TEST_CASE("cli exec: a failed attempt's records are never output and a retry's are output once" *
          doctest::timeout(60)) {
    temp_dir d;
    // Each task prints a record, then fails its first attempt.
    std::string cmd = "-q --retries 1 -- sh -c 'echo \"{\\\"x\\\":\\\"$0\\\"}\"; test -e m-$0 || { touch m-$0; exit 3; }' ";
    auto r = drover_exec(d, cmd.substr(0, 2) + " --out out" + cmd.substr(2) + "::: a b c");
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    CHECK(read_records(d / "out") == std::vector<std::string>{R"({"x":"a"})", R"({"x":"b"})", R"({"x":"c"})"});
    for (auto m : {"m-a", "m-b", "m-c"}) fs::remove(d / m);
    r = stdout_only(d, cmd + "::: a b c");
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    auto lines = split_lines(r.output);
    std::sort(lines.begin(), lines.end());
    CHECK(lines == std::vector<std::string>{R"({"x":"a"})", R"({"x":"b"})", R"({"x":"c"})"});
}

TEST_CASE("cli exec: a timeout kills the task and the exit code is 1" * doctest::timeout(60)) {
    temp_dir d;
    auto start = std::chrono::steady_clock::now();
    auto r = drover_exec(d, "-q --timeout 300ms --retries 1 -- sleep ::: 30 0");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
    CHECK_MESSAGE(r.exit_code == 1, r.output);
    CHECK_MESSAGE(has(r, "1 succeeded, 1 dead"), r.output);
    CHECK_MESSAGE(has(r, "30: timed out"), r.output);
}

TEST_CASE("cli exec: --state resumes and skips tasks that succeeded, without it every run is new" *
          doctest::timeout(60)) {
    temp_dir d;
    std::string cmd =
        R"(-q --out out --state st -- sh -c 'echo "$0" >> runs.log; test "$0" != bad && echo "{\"v\":\"$0\"}"' ::: a bad b)";
    auto r = drover_exec(d, cmd);
    CHECK_MESSAGE(r.exit_code == 1, r.output);
    CHECK(split_lines(read_file(d / "runs.log")).size() == 3);
    r = drover_exec(d, cmd);
    CHECK_MESSAGE(r.exit_code == 1, r.output);
    CHECK_MESSAGE(has(r, "0 done, 2 resumed"), r.output);
    CHECK(split_lines(read_file(d / "runs.log")).size() == 3);  // bad is dead: not retried without --retry-dead
    r = drover_exec(d, "--retry-dead " + cmd);
    CHECK_MESSAGE(has(r, "0 done, 2 resumed, 1 dead"), r.output);
    CHECK(split_lines(read_file(d / "runs.log")).size() == 4);
    CHECK(read_records(d / "out") == std::vector<std::string>{R"({"v":"a"})", R"({"v":"b"})"});
    // Without --state: a fresh run each time.
    fs::remove(d / "runs.log");
    cmd = R"(-q --out out3 -- sh -c 'echo "$0" >> runs.log; echo "{\"v\":\"$0\"}"' ::: c)";
    r = drover_exec(d, cmd);
    r = drover_exec(d, cmd);
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    CHECK(split_lines(read_file(d / "runs.log")).size() == 2);
    CHECK(read_records(d / "out3") == std::vector<std::string>{R"({"v":"c"})"});  // replaced, not duplicated
}

TEST_CASE("cli exec: arguments come from stdin lines without ::: and from :::: -" * doctest::timeout(60)) {
    temp_dir d;
    auto r = drover_exec(d, "-q --out out -- " + print_args + " {#} {}", "x\\ny z\\n\\n");
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    CHECK(list_files(d / "out") == std::vector<std::string>{"_.jsonl.gz", "x.jsonl.gz", "y_20z.jsonl.gz"});
    CHECK(args_record(d / "out" / "y_20z.jsonl.gz") == R"({"a": ["2", "y z"]})");
    CHECK(args_record(d / "out" / "_.jsonl.gz") == R"({"a": ["3", ""]})");
    r = drover_exec(d, "-q --out out2 -- " + print_args + " :::: - ::: 1", "p\\nq");
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    CHECK(list_files(d / "out2") == std::vector<std::string>{"p=1.jsonl.gz", "q=1.jsonl.gz"});
    // Empty input: nothing to do, like parallel and xargs.
    r = run_shell("cd " + d.path().string() + " && " + DROVER_CLI_PATH + " exec -- echo </dev/null 2>&1");
    CHECK_MESSAGE(r.exit_code == 0, r.output);
    CHECK_MESSAGE(has(r, "nothing to run"), r.output);
}

TEST_CASE("cli exec: Ctrl-C cancels, kills the tasks and exits 130" * doctest::timeout(60)) {
    temp_dir d;
    auto start = std::chrono::steady_clock::now();
    auto r = run_shell("cd " + d.path().string() + " && timeout --preserve-status -s INT 1 " + DROVER_CLI_PATH +
                       " exec -q -- sleep ::: 30 31 2>&1");
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
    CHECK_MESSAGE(r.exit_code == 130, r.output);
    CHECK(processes_matching("sleep 31").empty());
}

TEST_CASE("cli exec: mistakes are usage errors with exit code 2" * doctest::timeout(60)) {
    temp_dir d;
    write_file(d / "latin1.txt", "ok\ncaf\xe9\n");
    struct bad_case {
        std::string args, message;
    };
    for (const auto& c : std::vector<bad_case>{
             {"::: a b", "exec needs a command"},
             {"--", "exec needs a command"},
             {"-- echo {3} ::: a ::: b", "'{3}' in the command, but there are 2 argument group(s)"},
             {"-- echo ::: a :::", "::: needs at least one argument"},
             {"-- echo :::: ::: a", ":::: needs at least one file"},
             {"-- echo :::+ a", "linked arguments"},
             {"-- echo :::: missing.txt", "missing.txt: cannot open the file of arguments"},
             {"-- echo :::: latin1.txt", "latin1.txt:2: an argument is not UTF-8 text"},
             {"--timeout soon -- echo ::: a", "--timeout"},
             {"-j 0 -- echo ::: a", "--jobs"},
             {"--partition 'n={n}' -- echo ::: a", "a partition needs an output directory"},
             {"--bogus -- echo ::: a", "bogus"},
         }) {
        auto r = drover_exec(d, c.args);
        CHECK_MESSAGE(r.exit_code == 2, c.args << ": " << r.output);
        CHECK_MESSAGE(has(r, c.message), c.args << ": " << r.output);
    }
    auto r = drover_exec(d, "--help");
    CHECK(r.exit_code == 0);
    CHECK_MESSAGE(has(r, ":::: FILES"), r.output);
}
