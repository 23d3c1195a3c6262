// The Slurm executor's protocol without a cluster: sbatch's command line and job script,
// sbatch's and squeue's answers (well-formed, truncated, hostile), state to outcome.
#include <doctest/doctest.h>

#include <drover/error.hpp>

#include "slurm/protocol.hpp"
#include "support/support.hpp"

#include <csignal>

using namespace drover;
using namespace drover::slurm;
using namespace drover::test;
using namespace std::chrono_literals;

namespace {

submit_files files() { return {"drover:t1", "drover state=abc run=r1 attempt=1 task=t1", "/d/1.sh", "/d/1.out", "/d/1.err", "/w"}; }

job_status status(std::string state, int exit_status = 0, std::string reason = "None") {
    return {"42", std::move(state), std::move(reason), exit_status, ""};
}

}  // namespace

TEST_CASE("slurm protocol: sbatch arguments carry every setting in order") {
    slurm_job_settings s{.partition = "long", .account = "proj", .qos = "high", .time_limit = duration(90'000),
                         .memory = (3u << 20) + 1, .cpus = 4, .gres = "gpu:1", .sbatch_args = {"--constraint=avx2"}};
    auto a = sbatch_args(s, files());
    std::vector<std::string> expected{"--parsable", "--job-name=drover:t1", "--comment=drover state=abc run=r1 attempt=1 task=t1",
                                      "--output=/d/1.out", "--error=/d/1.err", "--open-mode=append", "--no-requeue",
                                      "--chdir=/w", "--partition=long", "--account=proj", "--qos=high",
                                      "--time=0-00:02:00", "--mem=4M", "--cpus-per-task=4", "--gres=gpu:1",
                                      "--constraint=avx2", "/d/1.sh"};
    CHECK(a == expected);
    auto t = sbatch_args(s, files(), true);
    CHECK(t[1] == "--test-only");
    CHECK(t.back() == "--wrap=true");
    CHECK(std::find(t.begin(), t.end(), "--output=/d/1.out") == t.end());
    CHECK(setting_key(s, "--partition=long") == "partition");
    CHECK(setting_key(s, "--mem=4M") == "memory");
    CHECK(setting_key(s, "--time=0-00:02:00") == "time_limit");
    CHECK(setting_key(s, "--constraint=avx2") == "sbatch_args[0]");
    CHECK(setting_key(s, "--parsable").empty());
    // No settings: nothing but drover's own options and the script.
    CHECK(sbatch_args({}, files()).size() == 9);
}

TEST_CASE("slurm protocol: time limits round up to whole minutes") {
    CHECK(time_limit_arg(duration(1)) == "0-00:01:00");
    CHECK(time_limit_arg(duration(60'000)) == "0-00:01:00");
    CHECK(time_limit_arg(duration(60'001)) == "0-00:02:00");
    CHECK(time_limit_arg(std::chrono::duration_cast<duration>(25h + 3min)) == "1-01:03:00");
    CHECK(time_limit_arg(duration(0)) == "0-00:01:00");
    // Centuries are capped, never overflow into a negative or garbled limit.
    auto huge = time_limit_arg(duration(std::numeric_limits<std::int64_t>::max()));
    CHECK(huge.starts_with("36500-"));
}

TEST_CASE("slurm protocol: a task's settings win over the executor's and its timeout sets the limit") {
    slurm_job_settings d{.partition = "main", .memory = 1u << 30, .sbatch_args = {"--nice=10"}};
    task_spec t{.id = "t", .command = {"true"}};
    CHECK(effective_settings(d, t) == d);
    t.timeout = duration(30'000);
    CHECK(effective_settings(d, t).time_limit == duration(90'000));
    t.set_extension(slurm_task_options{{.partition = "gpu", .time_limit = duration(600'000), .cpus = 2,
                                        .sbatch_args = {"--constraint=a100"}}});
    auto e = effective_settings(d, t);
    CHECK(e.partition == "gpu");
    CHECK(e.memory == 1u << 30);
    CHECK(e.cpus == 2);
    CHECK(e.time_limit == duration(600'000));
    CHECK(e.sbatch_args == std::vector<std::string>{"--nice=10", "--constraint=a100"});
}

TEST_CASE("slurm protocol: the job script passes hostile argv, env and workdir byte for byte") {
    temp_dir d;
    auto out = d / "args.txt";
    task_spec t{.id = "x", .command = {"sh", "-c", "printf '%s\\n' \"$@\" \"$V1\" \"$PWD\" > " + out.string(), "sh",
                                       "two words", "it's", "$(id)", "`id`", "a;b", "*", "back\\slash", "-n"}};
    t.env = {{"V1", "$HOME 'q' \"d\" `x`"}};
    fs::create_directories(d / "work dir");
    t.workdir = (d / "work dir").string();
    auto script = job_script(t);
    CHECK(script.starts_with("#!/bin/sh\n"));
    write_file(d / "job.sh", script);
    auto r = run_shell("sh " + (d / "job.sh").string());
    REQUIRE(r.exit_code == 0);
    CHECK(read_file(out) == "two words\nit's\n$(id)\n`id`\na;b\n*\nback\\slash\n-n\n$HOME 'q' \"d\" `x`\n" +
                                (d / "work dir").string() + "\n");
    t.env = {{"BAD-NAME", "x"}};
    CHECK_THROWS_AS(job_script(t), config_error);
    t.env = {{"1X", "x"}};
    CHECK_THROWS_AS(job_script(t), config_error);
    t.env.clear();
    t.workdir = (d / "missing").string();
    write_file(d / "job2.sh", job_script(t));
    CHECK(run_shell("sh " + (d / "job2.sh").string() + " 2>/dev/null").exit_code == 127);
    t.command.clear();
    CHECK_THROWS_AS(job_script(t), config_error);
}

TEST_CASE("slurm protocol: sbatch's job id, and garbage instead of one") {
    CHECK(parse_job_id("123\n") == "123");
    CHECK(parse_job_id("123;cluster\n") == "123");
    CHECK(parse_job_id("sbatch: warning: something\n77\n") == "77");
    for (const std::string& bad : std::vector<std::string>{"", "\n", "Submitted batch job 12", "abc", "12a", "-1", std::string(100, '9'), "12 13",
                            std::string("1\0", 2), "<html>"})
        CHECK_THROWS_AS(parse_job_id(bad), protocol_error);
}

TEST_CASE("slurm protocol: squeue lines, and malformed, truncated and hostile ones") {
    auto j = parse_squeue("2|COMPLETED|None|0|drover state=a run=b attempt=1 task=t\n"
                          "3|FAILED|NonZeroExitCode|768|(null)\n"
                          "\n"
                          "4_1|RUNNING|None|N/A|comment|with|bars\n");
    REQUIRE(j.size() == 3);
    CHECK(j[0].id == "2");
    CHECK(j[0].state == "COMPLETED");
    CHECK(j[0].comment == "drover state=a run=b attempt=1 task=t");
    CHECK(j[1].exit_status == 768);
    CHECK(j[1].reason == "NonZeroExitCode");
    CHECK(j[2].id == "4_1");
    CHECK(j[2].comment == "comment|with|bars");
    CHECK(parse_squeue("").empty());
    for (const std::string& bad : std::vector<std::string>{"2|COMPLETED|None", "2|COMPLETED", "x|COMPLETED|None|0|c", "2|completed|None|0|c",
                            "2|COMPLETED|None|abc|c", "2|COMPLETED|None|-5|c", "2||None|0|c",
                            "2|COMPLETED|None|99999999999999999999|c", "|||||", "2|" + std::string(40, 'A') + "|N|0|c"})
        CHECK_THROWS_AS(parse_squeue(bad + "\n"), protocol_error);
    try {
        parse_squeue("1|RUNNING|None|0|c\n2|RUNNING\n");
        FAIL("no error");
    } catch (const protocol_error& e) {
        CHECK(std::string(e.what()).find("line 2") != std::string::npos);
    }
}

TEST_CASE("slurm protocol: job states become outcomes") {
    CHECK(job_outcome(status("COMPLETED"), false, "").failure == failure_class::none);
    auto f = job_outcome(status("FAILED", 3 << 8, "NonZeroExitCode"), false, "");
    CHECK(f.failure == failure_class::exit_code);
    CHECK(f.exit_code == 3);
    CHECK(f.message == "exit code 3");
    auto k = job_outcome(status("FAILED", SIGKILL, "JobLaunchFailure"), false, "");
    CHECK(k.failure == failure_class::signal);
    CHECK(k.signal == SIGKILL);
    CHECK(k.message.find("SIGKILL") != std::string::npos);
    // slurmstepd's memory kill (jobacct_gather) and cgroup's OUT_OF_MEMORY.
    CHECK(job_outcome(status("FAILED", SIGKILL), false, "slurmstepd-vm: error: Exceeded job memory limit\n").failure ==
          failure_class::oom_killed);
    CHECK(job_outcome(status("OUT_OF_MEMORY", 0), false, "").failure == failure_class::oom_killed);
    CHECK(job_outcome(status("TIMEOUT"), false, "").failure == failure_class::timeout);
    CHECK(job_outcome(status("DEADLINE"), false, "").failure == failure_class::timeout);
    for (auto s : {"NODE_FAIL", "BOOT_FAIL", "PREEMPTED"})
        CHECK(job_outcome(status(s), false, "").failure == failure_class::executor_lost);
    auto c = job_outcome(status("CANCELLED", 0, "None"), false, "");
    CHECK(c.failure == failure_class::signal);
    CHECK(c.message.find("cancelled outside drover") != std::string::npos);
    CHECK(job_outcome(status("CANCELLED"), true, "").failure == failure_class::cancelled);
    CHECK(job_outcome(status("TIMEOUT"), true, "").failure == failure_class::cancelled);
    CHECK(job_outcome(status("WEIRD_NEW_STATE"), false, "").failure == failure_class::executor_lost);
    for (auto s : {"PENDING", "RUNNING", "COMPLETING", "REQUEUED", "SUSPENDED", "CONFIGURING", "RESIZING", "SIGNALING"})
        CHECK_FALSE(is_final(s));
    for (auto s : {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "PREEMPTED"}) CHECK(is_final(s));
    for (auto s : {"PENDING", "CONFIGURING", "REQUEUED", "REQUEUE_HOLD"}) CHECK(is_waiting(s));
    for (auto s : {"RUNNING", "COMPLETING", "SUSPENDED", "COMPLETED", "CANCELLED", "", "pending"}) CHECK_FALSE(is_waiting(s));
}

TEST_CASE("slurm protocol: drover's comment names the state directory and the run") {
    auto c = job_comment("0123abcd", "20261129-1", "day|2018 01", 3);
    CHECK(c == "drover state=0123abcd run=20261129-1 attempt=3 task=day_2018_01");
    auto f = parse_comment(c);
    REQUIRE(f);
    CHECK(f->state == "0123abcd");
    CHECK(f->run == "20261129-1");
    for (auto other : {"", "(null)", "drover", "drover state=", "drover state=a", "drover state=a run=", "xdrover state=a run=b",
                       "drover state=a task=b"})
        CHECK_FALSE(parse_comment(other));
    CHECK(safe_text("a b/c\n", 100) == "a_b_c_");
    CHECK(safe_text(std::string(500, 'x'), 10).size() == 10);
}
