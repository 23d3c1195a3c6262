// examples/polite_executor: the complete small executor of docs/extending.md. Real processes,
// a real scheduler run; the load average comes from a file the test writes.

#include <doctest/doctest.h>

#include "polite_executor.hpp"
#include "support/support.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <thread>

using namespace drover::test;

namespace {

drover::kinds with_polite() {
    drover::kinds k;
    polite::add_to(k);
    return k;
}

std::string job_text(const temp_dir& d, const std::string& executor_keys, const std::string& tasks) {
    return "name = \"p\"\nstate_dir = \"" + (d / "state").string() +
           "\"\n[[executors]]\nkind = \"polite\"\nslots = 2\ncheck_interval = \"50ms\"\nkill_grace = \"200ms\"\n"
           "load_file = \"" +
           (d / "loadavg").string() + "\"\n" + executor_keys + "\n[sink]\nkind = \"file\"\npath = \"" +
           (d / "out").string() + "\"\n" + tasks;
}

drover::run_summary run(const std::string& text) {
    auto job = drover::parse_job(text, "p.toml", with_polite());
    return drover::make_scheduler(job).run();
}

const drover::task_result& result_of(const drover::run_summary& s, std::string_view id) {
    for (const auto& t : s.tasks)
        if (t.id == id) return t;
    FAIL("no task " << id);
    throw;
}

std::string config_error_of(const std::string& text) {
    try {
        (void)drover::parse_job(text, "p.toml", with_polite());
    } catch (const drover::config_error& e) {
        return e.what();
    }
    return "(no error)";
}

double now_seconds() {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

#define CHECK_HAS(msg, part) CHECK_MESSAGE((msg).find(part) != std::string::npos, "message: " << (msg))

TEST_CASE("polite executor: tasks run as processes, and exit 75 requeues without spending a retry" *
          doctest::timeout(60)) {
    temp_dir d;
    write_file(d / "loadavg", "0.10 0.20 0.30 1/100 4242\n");
    auto mark = (d / "mark").string();
    auto s = run(job_text(d, "", R"(
[defaults]
retries = 0
[[tasks]]
id = "hello"
command = ["sh", "-c", "echo '{\"a\":1}'"]
[[tasks]]
id = "not-now"
command = ["sh", "-c", "if [ -e )" + mark + R"( ]; then echo '{\"b\":2}'; else touch )" + mark + R"(; exit 75; fi"]
[[tasks]]
id = "broken"
command = ["sh", "-c", "exit 3"]
)"));
    CHECK(result_of(s, "hello").state == drover::task_state::succeeded);
    const auto& not_now = result_of(s, "not-now");
    CHECK(not_now.state == drover::task_state::succeeded);  // retries = 0: the 75 did not count
    CHECK(not_now.attempts == 2);
    const auto& broken = result_of(s, "broken");  // any other exit code is the task's failure
    CHECK(broken.state == drover::task_state::dead);
    CHECK(broken.attempts == 1);
    CHECK(broken.last.failure == drover::failure_class::exit_code);
    CHECK(broken.last.exit_code == 3);
    CHECK(broken.last.executor == "polite");
    CHECK(read_records(d / "out") == std::vector<std::string>{R"({"a":1})", R"({"b":2})"});
}

TEST_CASE("polite executor: no task starts while the load is at max_load, they start when it drops" *
          doctest::timeout(60)) {
    temp_dir d;
    write_file(d / "loadavg", "9.50 8.00 7.00 3/200 4242\n");
    double lowered_at = 0;
    std::thread lower([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(1200));
        lowered_at = now_seconds();
        write_file(d / "loadavg", "0.50 8.00 7.00 3/200 4242\n");
    });
    auto s = run(job_text(d, "max_load = 2.0", R"(
[[tasks]]
id = "t-{n}"
command = ["sh", "-c", "echo \"{\\\"started\\\":$(date +%s.%N)}\""]
foreach.n = { from = 1, to = 3 }
)"));
    lower.join();
    REQUIRE(s.ok());
    auto records = read_records(d / "out");
    REQUIRE(records.size() == 3);
    for (const auto& r : records) {
        double started = boost::json::parse(r).at("started").to_number<double>();
        CHECK_MESSAGE(started >= lowered_at, "started " << started << " before the load dropped at " << lowered_at);
    }
}

TEST_CASE("polite executor: a timeout kills the task's whole process tree" * doctest::timeout(60)) {
    temp_dir d;
    write_file(d / "loadavg", "0.10 0.20 0.30 1/100 4242\n");
    auto s = run(job_text(d, "", R"(
[[tasks]]
id = "stuck"
command = ["sh", "-c", "sleep 3111 & sleep 3111; wait"]
timeout = "500ms"
retries = 0
)"));
    const auto& t = result_of(s, "stuck");
    CHECK(t.state == drover::task_state::dead);
    CHECK(t.last.failure == drover::failure_class::timeout);
    // The child the shell put in the background is gone too, not only the shell.
    // ([1]: the pattern does not match pgrep's own shell.)
    CHECK(run_shell("pgrep -f 'sleep 311[1]' || true").output.empty());
}

TEST_CASE("polite executor: an unreadable load file stops the executor with the reason" * doctest::timeout(60)) {
    temp_dir d;  // no loadavg file
    auto s = run(job_text(d, "", R"(
[[tasks]]
id = "t"
command = ["true"]
)"));
    const auto& t = result_of(s, "t");
    CHECK(t.state == drover::task_state::dead);
    CHECK(t.attempts == 0);
    CHECK_HAS(t.last.message, "no executor can run it: polite: cannot read the load average from " +
                                  (d / "loadavg").string());

    temp_dir d2;  // (a fresh state directory: d's journal has t dead)
    write_file(d2 / "loadavg", "busy\n");
    auto s2 = run(job_text(d2, "", "[[tasks]]\nid = \"t\"\ncommand = [\"true\"]\n"));
    CHECK_HAS(result_of(s2, "t").last.message, "'busy' is not a load average");
}

TEST_CASE("polite executor: its keys are checked with file, line and key") {
    temp_dir d;
    auto tasks = std::string("[[tasks]]\nid = \"t\"\ncommand = [\"true\"]\n");
    CHECK_HAS(config_error_of(job_text(d, "max_load = -1", tasks)), "p.toml:");
    CHECK_HAS(config_error_of(job_text(d, "max_load = -1", tasks)), "executors[0].max_load: must be above 0");
    CHECK_HAS(config_error_of(job_text(d, "max_lod = 2", tasks)), "unknown key 'max_lod' (did you mean 'max_load'?)");
    auto fast = job_text(d, "", tasks);
    fast.replace(fast.find("check_interval = \"50ms\""), 23, "check_interval = \"1ms\"");
    CHECK_HAS(config_error_of(fast), "check_interval: must be at least 10ms");
    CHECK_HAS(config_error_of(job_text(d, "tempfail_exit = 300", tasks)), "tempfail_exit");
    CHECK_HAS(config_error_of(job_text(d, "max_load = \"high\"", tasks)), "max_load");
    auto job = drover::parse_job(job_text(d, "max_load = 3", tasks), "p.toml", with_polite());
    CHECK(job.executors[0].options_as<polite::options>().max_load == 3.0);
    CHECK(job.executors[0].options_as<polite::options>().slots == 2);
}

TEST_CASE("polite executor: the example job runs through its program" * doctest::timeout(60)) {
    temp_dir d;
    // The example waits for a load under 4; a test machine running the suite may be busier.
    auto r = run_shell("cd '" + d.path().string() + "' && sed 's/^max_load = .*/max_load = 1000/' '" DROVER_SOURCE_DIR
                       "/examples/polite_executor/night.toml' > night.toml && '" POLITE_PATH "' night.toml");
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    CHECK(boost::json::parse(r.output).at("succeeded").to_number<int>() == 3);
    CHECK(read_records(d / "out/night").size() == 3);
}
