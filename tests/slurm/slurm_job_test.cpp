// Job files with a Slurm executor and per-task `slurm` tables: what is read, and every mistake
// reported as file:line:column, key and problem.

#include <doctest/doctest.h>

#include <drover/error.hpp>
#include <drover/executors/slurm.hpp>
#include <drover/job_file.hpp>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

namespace {

std::string error_of(std::string_view text) {
    try {
        (void)drover::parse_job(text, "s.toml");
    } catch (const drover::config_error& e) {
        return e.what();
    }
    return "(no error)";
}

std::string slurm_exec(std::string_view body, std::string_view task_body = "") {
    return "name = \"j\"\n[[executors]]\nkind = \"slurm\"\n" + std::string(body) +
           "\n[[tasks]]\nid = \"a\"\ncommand = [\"x\"]\n" + std::string(task_body) + "\n";
}

}  // namespace

#define CHECK_HAS(msg, part) CHECK_MESSAGE((msg).find(part) != std::string::npos, "message: " << (msg))

TEST_CASE("job slurm: executor keys and task tables are read") {
    auto j = drover::parse_job(R"(name = "sim"
[[executors]]
kind = "slurm"
slots = 500
shared_dir = "/shared/drover"
workdir = "/shared/work"
poll_interval = "2s"
command_timeout = "20s"
controller_timeout = "3m"
max_submits = 8
check_settings = false
partition = "main"
account = "proj1"
qos = "normal"
time_limit = "1h"
memory = "2GiB"
cpus = 2
gres = "gpu:1"
sbatch_args = ["--constraint=avx2", "--nice=5"]

[defaults]
slurm = { partition = "short", memory = "512MiB" }

[[tasks]]
id = "a"
command = ["sim", "1"]

[[tasks]]
id = "b"
command = ["sim", "2"]
slurm = { partition = "long", time_limit = "2d", cpus = 8, sbatch_args = ["--exclusive"] }
)", "s.toml");
    REQUIRE(j.executors.size() == 1);
    const auto& o = j.executors[0].options_as<drover::slurm_executor_options>();
    CHECK(o.slots == 500);
    CHECK(o.shared_dir == "/shared/drover");
    CHECK(o.workdir == "/shared/work");
    CHECK(o.poll_interval == std::chrono::seconds(2));
    CHECK(o.command_timeout == std::chrono::seconds(20));
    CHECK(o.controller_timeout == std::chrono::minutes(3));
    CHECK(o.max_submits == 8);
    CHECK_FALSE(o.check_settings);
    CHECK(o.defaults.partition == "main");
    CHECK(o.defaults.account == "proj1");
    CHECK(o.defaults.qos == "normal");
    CHECK(o.defaults.time_limit == std::chrono::hours(1));
    CHECK(o.defaults.memory == 2ull << 30);
    CHECK(o.defaults.cpus == 2);
    CHECK(o.defaults.gres == "gpu:1");
    CHECK(o.defaults.sbatch_args == std::vector<std::string>{"--constraint=avx2", "--nice=5"});
    REQUIRE(j.tasks.size() == 2);
    const auto* a = j.tasks[0].extension<drover::slurm_task_options>();
    REQUIRE(a);
    CHECK(a->job.partition == "short");
    CHECK(a->job.memory == 512u << 20);
    const auto* b = j.tasks[1].extension<drover::slurm_task_options>();
    REQUIRE(b);
    CHECK(b->job.partition == "long");
    CHECK(b->job.memory == 512u << 20);  // from [defaults]
    CHECK(b->job.time_limit == std::chrono::hours(48));
    CHECK(b->job.cpus == 8);
    CHECK(b->job.sbatch_args == std::vector<std::string>{"--exclusive"});
    // The extension survives the task JSON round trip (control lines, the journal).
    boost::json::object js;
    b->to_json(js);
    auto back = drover::slurm_task_options::from_json(js, {});
    CHECK(back == *b);
    // drover validate --json shows the executor's settings and each task's.
    auto doc = boost::json::parse(drover::to_json(j)).as_object();
    const auto& ex = doc.at("executors").as_array().at(0).as_object();
    CHECK(ex.at("partition").as_string() == "main");
    CHECK(ex.at("time_limit").to_number<double>() == 3600.0);
    CHECK(ex.at("memory").to_number<std::uint64_t>() == 2ull << 30);
    CHECK(ex.at("sbatch_args").as_array().size() == 2);
    CHECK(ex.at("slots").to_number<std::size_t>() == 500);
    const auto& tb = doc.at("tasks").as_array().at(1).as_object();
    CHECK(tb.at("executor").at("slurm").at("partition").as_string() == "long");
    CHECK(tb.at("executor").at("slurm").at("cpus").to_number<int>() == 8);
}

TEST_CASE("job slurm: mistakes name line, column, key and problem") {
    auto m = error_of(slurm_exec("partition = \"\""));
    CHECK_HAS(m, "s.toml:4:");
    CHECK_HAS(m, "partition");
    CHECK_HAS(m, "must not be empty");

    m = error_of(slurm_exec("sbatch_args = [\"--nice=1\", \"--output=/tmp/x\"]"));
    CHECK_HAS(m, "s.toml:4:");
    CHECK_HAS(m, "sbatch_args[1]");
    CHECK_HAS(m, "--output is set by drover");

    m = error_of(slurm_exec("sbatch_args = [\"-o/tmp/x\"]"));
    CHECK_HAS(m, "sbatch_args[0]");
    CHECK_HAS(m, "set by drover");

    m = error_of(slurm_exec("sbatch_args = [\"constraint=avx\"]"));
    CHECK_HAS(m, "expected an sbatch option");

    m = error_of(slurm_exec("slots = 0"));
    CHECK_HAS(m, "slots");

    m = error_of(slurm_exec("poll_interval = \"0s\""));
    CHECK_HAS(m, "poll_interval");
    CHECK_HAS(m, "more than 0s");

    m = error_of(slurm_exec("partiton = \"main\""));
    CHECK_HAS(m, "partiton");
    CHECK_HAS(m, "partition");  // did you mean

    m = error_of(slurm_exec("memory = \"lots\""));
    CHECK_HAS(m, "memory");

    m = error_of(slurm_exec("", "slurm = { partition = \"x\", gpus = 2 }"));
    CHECK_HAS(m, "s.toml:");
    CHECK_HAS(m, "gpus");

    m = error_of(slurm_exec("", "slurm = { time_limit = \"-5s\" }"));
    CHECK_HAS(m, "time_limit");

    m = error_of(slurm_exec("", "slurm = \"long\""));
    CHECK_HAS(m, "slurm");

    m = error_of(slurm_exec("account = \"a\\nb\""));
    CHECK_HAS(m, "control characters");
}

TEST_CASE("job slurm: task JSON with bad slurm values is refused with the key") {
    auto bad = [](std::string_view text) {
        try {
            auto v = boost::json::parse(text);
            (void)drover::slurm_task_options::from_json(v.as_object(), {});
        } catch (const std::exception& e) {
            return std::string(e.what());
        }
        return std::string("(no error)");
    };
    CHECK_HAS(bad(R"({"slurm": 5})"), "slurm");
    CHECK_HAS(bad(R"({"slurm": {"cpus": "many"}})"), "slurm.cpus");
    CHECK_HAS(bad(R"({"slurm": {"memory": -1}})"), "slurm.memory");
    CHECK_HAS(bad(R"({"slurm": {"nodes": 2}})"), "slurm.nodes");
    CHECK_HAS(bad(R"({"slurm": {"sbatch_args": "--x"}})"), "slurm.sbatch_args");
    CHECK_HAS(bad(R"({"slurm": {"sbatch_args": [1]}})"), "slurm.sbatch_args");
}

TEST_CASE("job slurm: a control line's task cannot take over drover's own sbatch options") {
    auto v = boost::json::parse(R"({"slurm": {"sbatch_args": ["--array=1-100"]}})");
    CHECK_THROWS_WITH_AS((void)drover::slurm_task_options::from_json(v.as_object(), {}),
                         doctest::Contains("--array is set by drover"), std::exception);
}
