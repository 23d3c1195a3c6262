// A real Prometheus (Debian `prometheus`) scrapes the service's /metrics with a bearer token
// every second while a job runs; its query API then has the series.
#include "service_support.hpp"

#include <csignal>
#include <spawn.h>
#include <sys/wait.h>

using namespace drover::test;
using boost::beast::http::verb;
using namespace std::chrono_literals;

namespace {

struct prometheus_process {
    pid_t pid = -1;
    int port = 0;
    ~prometheus_process() {
        if (pid > 0) {
            ::kill(pid, SIGTERM);
            int st = 0;
            ::waitpid(pid, &st, 0);
        }
    }
};

std::string percent_encode(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '_' || c == '-' || c == '.')
            out += static_cast<char>(c);
        else
            out += fmt::format("%{:02X}", c);
    }
    return out;
}

// The value of the first sample the instant query returns; nullopt when none.
std::optional<double> query(int port, const std::string& promql) {
    auto r = call(static_cast<std::uint16_t>(port), verb::get, "/api/v1/query?query=" + percent_encode(promql), {}, "");
    if (!r || r.res.status != 200) return std::nullopt;
    auto v = json_of(r.res.body);
    auto& result = v.at("data").at("result").as_array();
    if (result.empty()) return std::nullopt;
    return std::stod(std::string(result[0].at("value").as_array()[1].as_string()));
}

}  // namespace

TEST_CASE("prometheus: a real Prometheus scrapes /metrics with a bearer token and has the run's series" *
          doctest::timeout(120)) {
    if (run_shell("command -v prometheus").exit_code != 0) {
        if (services_required()) FAIL("prometheus is missing (Debian prometheus; scripts/deps/service.txt)");
        MESSAGE("skipped: prometheus is not installed");
        return;
    }
    temp_dir d;
    fs::create_directories(d / "jobs");
    write_tokens(d / "tokens");
    write_file(d / "read-token", read_token);
    write_file(d / "jobs" / "days.toml", sleepy_job("days", 6, 0.3, 3));
    drover::service svc({.jobs_dir = d / "jobs", .state_dir = d / "state", .listen = "127.0.0.1:0",
                         .tokens_file = d / "tokens"});
    svc.start();

    prometheus_process prom;
    prom.port = free_loopback_port();
    write_file(d / "prom.yml", fmt::format(R"(global:
  scrape_interval: 1s
scrape_configs:
  - job_name: drover
    authorization:
      credentials_file: {}/read-token
    static_configs:
      - targets: ["127.0.0.1:{}"]
)",
                                           d.path().string(), svc.port()));
    std::string cmd = fmt::format(
        "exec prometheus --config.file={0}/prom.yml --storage.tsdb.path={0}/data --web.listen-address=127.0.0.1:{1} "
        ">{0}/prom.log 2>&1",
        d.path().string(), prom.port);
    const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
    REQUIRE(posix_spawn(&prom.pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) == 0);
    INFO(read_file(d / "prom.log"));
    REQUIRE(wait_until([&] { return call(prom.port, verb::get, "/-/ready", {}, "").res.status == 200; }, 60s));

    svc.trigger("days");
    REQUIRE(wait_until([&] { return run_ended(svc, "days"); }));
    // The scrape target is up (the token was accepted) and the counters arrived.
    REQUIRE(wait_until([&] { return query(prom.port, R"(up{job="drover"})") == 1.0; }, 30s));
    REQUIRE(wait_until(
        [&] { return query(prom.port, R"(drover_attempts_finished_total{drover_job="days",outcome="success"})") == 6.0; },
        30s));
    CHECK(query(prom.port, R"(drover_tasks{drover_job="days",state="succeeded"})") == 6.0);
    CHECK(query(prom.port, R"(drover_records_total{drover_job="days"})") == 6.0);
    CHECK(query(prom.port, R"(drover_attempt_duration_seconds_count{drover_job="days"})") == 6.0);
    auto p50 = query(prom.port, R"(histogram_quantile(0.5, drover_attempt_duration_seconds_bucket{drover_job="days"}))");
    REQUIRE(p50);
    CHECK(*p50 > 0.25);
    CHECK(*p50 <= 1.0);
    svc.stop();
}
