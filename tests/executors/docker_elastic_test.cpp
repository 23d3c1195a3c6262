// Docker daemons that join and leave a running job (real dockerd instances): a hosts_command
// (a script reading a file, as an `aws ec2 describe-instances` wrapper would) whose list
// changes, and a daemon SIGKILLed mid-run. (A hosts_command that fails or hangs: in
// ssh_elastic_test.cpp, where a fleet is cheaper to start.)
#include <doctest/doctest.h>

#include "executors/fleet_watch.hpp"
#include "scheduler/fixture.hpp"
#include "services/dockerd.hpp"

#include <algorithm>
#include <thread>

using namespace std::chrono_literals;
using namespace drover::test;


namespace {

struct command_run : fleet_run<drover::docker_executor> {
    fs::path list_file = dir / "fleet.txt";
    void list(const std::vector<std::string>& hosts) const { fleet_run::list(list_file, hosts); }
};

}  // namespace

TEST_CASE("docker elastic: hosts_command lists a changing fleet, and a daemon is SIGKILLed mid-run" *
          doctest::timeout(400)) {
    DOCKERD_OR_SKIP();
    dockerd_fleet fleet({.plain = 3});
    command_run r;
    auto o = docker_options_for(fleet);
    o.hosts.clear();
    o.hosts_command = {"sh", "-c", "cat '" + r.list_file.string() + "'"};
    o.hosts_refresh = 200ms;
    o.slots_per_host = 2;
    r.list({fleet.tcp_host(0)});
    auto s = r.make(o);
    auto expected = submit_numbered(s, 80, "0.2");  // retries = 0
    drover::run_summary sum;
    std::thread run([&] { sum = s.run(); });
    bool first = wait_for([&] { return r.w.finished >= 6; }, 120s);
    r.list({fleet.tcp_host(0), fleet.tcp_host(1), fleet.tcp_host(2)});
    bool joined = wait_for([&] { return started_on(*r.ex, fleet.tcp_host(1)) > 0 && started_on(*r.ex, fleet.tcp_host(2)) > 0; });
    bool busy = wait_for([&] { return r.running_on(fleet.tcp_host(2)) > 0; });
    fleet.kill(2);                                      // a spot node vanishes under its attempts
    r.list({fleet.tcp_host(1), fleet.tcp_host(2)});     // and the first node is retired: it drains
    run.join();
    INFO(r.w.all());
    CHECK(first);
    CHECK(joined);
    CHECK(busy);
    CHECK(sum.ok());
    CHECK(sum.counts.succeeded == 80);
    CHECK(read_records(r.out) == expected);
    for (std::size_t i = 0; i < 3; ++i) CHECK(started_on(*r.ex, fleet.tcp_host(i)) > 0);
    int twice = 0;
    for (auto& t : sum.tasks) twice += t.attempts > 1;
    CHECK(twice > 0);  // the killed daemon's attempts ran again, without spending a retry
    CHECK(r.w.any(fleet.tcp_host(2), "is down"));
    CHECK(r.w.any(fleet.tcp_host(0), "left"));
    CHECK(r.w.was(fleet.tcp_host(0) + " left", drover::host_state::draining));
    for (std::size_t i = 0; i < 2; ++i) CHECK(fleet.containers_of_run(i, sum.run_id).empty());
}
