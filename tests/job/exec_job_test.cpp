// drover::make_exec_job (issue 20, the ad-hoc mode): the cross product, the placeholders,
// task ids, and every bad input a config_error.
#include <doctest/doctest.h>

#include <drover/exec.hpp>

#include "job/exec_template.hpp"

#include <set>
#include <sstream>

using drover::config_error;
using drover::exec_spec;
using drover::exec_task_id;
using drover::make_exec_job;

namespace {

using argv = std::vector<std::string>;

std::vector<argv> commands(const drover::job& j) {
    std::vector<argv> out;
    for (const auto& t : j.tasks) out.push_back(t.command);
    return out;
}

std::vector<std::string> ids(const drover::job& j) {
    std::vector<std::string> out;
    for (const auto& t : j.tasks) out.push_back(t.id);
    return out;
}

std::string error_of(const exec_spec& s) {
    try {
        (void)make_exec_job(s);
    } catch (const config_error& e) {
        return e.what();
    }
    return "(no error)";
}

bool has(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("exec job: groups make their cross product in order with the first group outermost") {
    auto j = make_exec_job({.command = {"echo", "{1}-{2}", "{#}"}, .groups = {{"a", "b"}, {"1", "2", "3"}}});
    CHECK(commands(j) == std::vector<argv>{{"echo", "a-1", "1"}, {"echo", "a-2", "2"}, {"echo", "a-3", "3"},
                                           {"echo", "b-1", "4"}, {"echo", "b-2", "5"}, {"echo", "b-3", "6"}});
    CHECK(ids(j) == std::vector<std::string>{"a=1", "a=2", "a=3", "b=1", "b=2", "b=3"});
    CHECK(j.tasks[4].params == std::map<std::string, std::string>{{"n", "5"}, {"arg1", "b"}, {"arg2", "2"}});
}

TEST_CASE("exec job: {} is every argument and a command without placeholders gets them appended") {
    auto j = make_exec_job({.command = {"echo", "x{}y"}, .groups = {{"a"}, {"1"}}});
    CHECK(commands(j) == std::vector<argv>{{"echo", "xa 1y"}});
    j = make_exec_job({.command = {"echo", "--n", "{#}"}, .groups = {{"a b", ""}}});
    CHECK(commands(j) == std::vector<argv>{{"echo", "--n", "1", "a b"}, {"echo", "--n", "2", ""}});
    // Braces that are not replacement strings stay as they are (JSON in a command).
    j = make_exec_job({.command = {"echo", R"({"i":{}})", "{x}", "{", "{1a}"}, .groups = {{"7"}}});
    CHECK(commands(j) == std::vector<argv>{{"echo", R"({"i":7})", "{x}", "{", "{1a}"}});
}

TEST_CASE("exec job: path modifiers behave as GNU parallel's") {
    using drover::detail::apply_path_part;
    using drover::detail::path_part;
    CHECK(apply_path_part("sub.dir/foo.tar.gz", path_part::no_extension) == "sub.dir/foo.tar");
    CHECK(apply_path_part("sub.dir/bar", path_part::no_extension) == "sub.dir/bar");
    CHECK(apply_path_part(".bashrc", path_part::no_extension) == ".bashrc");
    CHECK(apply_path_part("a/b/c.txt", path_part::basename) == "c.txt");
    CHECK(apply_path_part("a/b/c.txt", path_part::dirname) == "a/b");
    CHECK(apply_path_part("c.txt", path_part::dirname) == ".");
    CHECK(apply_path_part("/c.txt", path_part::dirname) == "/");
    CHECK(apply_path_part("a/b/c.txt", path_part::basename_no_extension) == "c");
    auto j = make_exec_job({.command = {"conv", "{}", "{.}.png", "{/}", "{//}", "{/.}", "{2/.}"},
                            .groups = {{"in/x.jpg"}, {"d/y.z"}}});
    CHECK(commands(j) ==
          std::vector<argv>{{"conv", "in/x.jpg d/y.z", "in/x d/y.png", "x.jpg y.z", "in d", "x y", "y"}});
}

TEST_CASE("exec job: with shell the words are one script and every argument is quoted for it") {
    auto j = make_exec_job({.command = {"echo", "{}", "|", "tr", "a-z", "A-Z"},
                            .groups = {{"it's $(id)", "plain", ""}},
                            .shell = true});
    CHECK(commands(j) == std::vector<argv>{{"sh", "-c", R"(echo 'it'\''s $(id)' | tr a-z A-Z)"},
                                           {"sh", "-c", "echo plain | tr a-z A-Z"},
                                           {"sh", "-c", "echo '' | tr a-z A-Z"}});
    // Without shell the same words are argv: nothing is interpreted.
    j = make_exec_job({.command = {"echo", "{}"}, .groups = {{"$(id); rm -rf /"}}});
    CHECK(commands(j) == std::vector<argv>{{"echo", "$(id); rm -rf /"}});
}

TEST_CASE("exec job: ids are readable for plain values, escaped for the rest, and distinct") {
    CHECK(exec_task_id({"2018-01-01"}) == "2018-01-01");
    CHECK(exec_task_id({"a b.txt", "3"}) == "a_20b.txt=3");
    CHECK(exec_task_id({"a_b"}) == "a__b");
    CHECK(exec_task_id({""}) == "_");
    CHECK(exec_task_id({"", ""}) == "_=_");
    CHECK(exec_task_id({"-x"}) == "_2dx");
    CHECK(exec_task_id({".."}) == "_2e.");
    CHECK(exec_task_id({"a=b"}) == "a_3db");
    CHECK(exec_task_id({"é"}) == "_c3_a9");
    // Values that sanitising would merge stay apart.
    std::set<std::string> seen;
    for (std::string v : {"a b", "a_b", "a__b", "a_20b", "a/b", "a-b", "a.b", "a=b", "_", ""})
        CHECK_MESSAGE(seen.insert(exec_task_id({v})).second, v);
    CHECK(exec_task_id({"ab", "c"}) != exec_task_id({"a", "bc"}));
    // Long values: a cut id with a hash, still valid and distinct.
    std::string long_a(300, 'a'), long_b = long_a + "b";
    auto ia = exec_task_id({long_a}), ib = exec_task_id({long_b});
    CHECK(ia != ib);
    CHECK(ia.size() <= 120);
    CHECK(drover::valid_task_id(ia));
    CHECK(drover::valid_task_id(exec_task_id({std::string(200, ' ')})));
    CHECK(exec_task_id({long_a}) == ia);  // stable
}

TEST_CASE("exec job: repeated arguments get distinct ids in order") {
    auto j = make_exec_job({.command = {"echo"}, .groups = {{"a", "b", "a", "a"}}});
    CHECK(ids(j) == std::vector<std::string>{"a", "b", "a_r2", "a_r3"});
    for (const auto& t : j.tasks) CHECK(drover::valid_task_id(t.id));
}

TEST_CASE("exec job: options reach the tasks, the executor and the sink") {
    auto j = make_exec_job({.command = {"true"}, .groups = {{"x"}}, .slots = 3, .retries = 2,
                            .timeout = std::chrono::seconds(5), .out = "out", .partition = "n={n}",
                            .state_dir = "st"});
    REQUIRE(j.tasks.size() == 1);
    CHECK(j.tasks[0].retries == 2);
    CHECK(j.tasks[0].timeout == std::chrono::milliseconds(5000));
    CHECK_FALSE(j.tasks[0].control_lines);
    CHECK(j.kinds.slots(j.executors.at(0)) == 3);
    CHECK(j.sink->kind == "file");
    CHECK(j.kinds.partition(*j.sink) == "n={n}");
    CHECK(j.options.state_dir == "st");
    CHECK(j.options.journal.enabled);
    j = make_exec_job({.command = {"true"}, .groups = {{"x"}}});
    CHECK(j.sink->kind == "stdout");
    CHECK(j.kinds.location(*j.sink) == "stdout");
}

TEST_CASE("exec job: bad input is a clear config error") {
    CHECK(has(error_of({.command = {}, .groups = {{"a"}}}), "no command"));
    CHECK(has(error_of({.command = {""}, .groups = {{"a"}}}), "first word is empty"));
    CHECK(has(error_of({.command = {"echo"}, .groups = {}}), "no arguments"));
    CHECK(has(error_of({.command = {"echo"}, .groups = {{"a"}, {}}}), "argument group 2 is empty"));
    CHECK(has(error_of({.command = {"echo", "{9}"}, .groups = {{"a"}, {"b"}}}), "'{9}' in the command, but there are 2"));
    CHECK(has(error_of({.command = {"echo", "{0}"}, .groups = {{"a"}}}), "groups count from {1}"));
    CHECK(has(error_of({.command = {"echo", "{99999999999999999999999}"}, .groups = {{"a"}}}), "argument group"));
    CHECK(has(error_of({.command = {"echo"}, .groups = {{std::string("a\0b", 3)}}}), "NUL"));
    CHECK(has(error_of({.command = {"echo"}, .groups = {{"\xff"}}}), "not UTF-8"));
    CHECK(has(error_of({.command = {"echo"}, .groups = {{std::string(70'000, 'x')}}}), "longer than 65536 bytes"));
    CHECK(has(error_of({.command = {"echo"}, .groups = {{"a"}}, .partition = "p={n}"}), "needs an output directory"));
    CHECK(has(error_of({.command = {"echo"}, .groups = {{"a"}}, .out = "o", .partition = "{nope}"}), "nope"));
    CHECK(has(error_of({.command = {"echo"}, .groups = {{"a"}}, .out = "o", .partition = "../x"}), "partition"));
    // 2000 x 1000 = 2M tasks: refused before anything is built.
    std::vector<std::string> many(2000, "v"), more(1000, "w");
    CHECK(has(error_of({.command = {"echo"}, .groups = {many, more}}), "more than 1000000 tasks"));
}

TEST_CASE("exec job: argument lines are read with their line numbers checked") {
    std::istringstream in("a b\n\n$(id)\nlast");
    CHECK(drover::read_exec_arguments(in, "f") == std::vector<std::string>{"a b", "", "$(id)", "last"});
    std::istringstream bad("ok\n\xc3\x28\n");
    try {
        (void)drover::read_exec_arguments(bad, "list.txt");
        FAIL("no error");
    } catch (const config_error& e) {
        CHECK(has(e.what(), "list.txt:2: an argument is not UTF-8"));
    }
    CHECK_THROWS_AS(drover::read_exec_arguments(std::filesystem::path("/nonexistent/args.txt")), config_error);
    CHECK_THROWS_AS(drover::read_exec_arguments(std::filesystem::path("/")), config_error);
    std::string big;
    for (int i = 0; i < 1'000'001; ++i) big += "1\n";
    std::istringstream huge(big);
    CHECK_THROWS_WITH_AS(drover::read_exec_arguments(huge, "stdin"), "stdin:1000001: more than 1000000 arguments",
                         config_error);
}
