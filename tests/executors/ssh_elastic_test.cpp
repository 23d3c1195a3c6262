// Hosts that join and leave a running SSH job (real sshd instances on 127.0.0.1): a hosts
// file that grows, a host removed under running attempts, a fleet that is empty for a while,
// and malformed lines.
#include <doctest/doctest.h>

#include <drover/journal.hpp>

#include "executors/fleet_watch.hpp"
#include "scheduler/fixture.hpp"
#include "services/sshd.hpp"

#include <thread>

using namespace std::chrono_literals;
using namespace drover::test;

namespace {

// An SSH run whose hosts come from a file, which starts with `first`.
struct elastic_run : fleet_run<drover::ssh_executor> {
    fs::path hosts_file = dir / "hosts";
    drover::ssh_executor_options options(const sshd_fleet& fleet, const std::vector<std::string>& first) {
        auto o = options_for(fleet);
        o.hosts.clear();
        o.hosts_file = hosts_file.string();
        list(first);
        return o;
    }
    void list(const std::vector<std::string>& hosts) const { fleet_run::list(hosts_file, hosts); }
    std::size_t started_on(const std::string& host) const { return drover::test::started_on(*ex, host); }
};

}  // namespace

TEST_CASE("ssh elastic: 300 tasks, two hosts join through the hosts file, the first is removed mid-run" *
          doctest::timeout(240)) {
    SSHD_OR_SKIP();
    sshd_fleet fleet(3);
    elastic_run r;
    auto o = r.options(fleet, {fleet.host(0)});
    o.slots_per_host = 2;
    auto s = r.make(o);
    auto expected = submit_numbered(s, 300, "0.1");  // retries = 0: a lost attempt must not cost one

    drover::run_summary sum;
    std::thread run([&] { sum = s.run(); });
    bool grew = wait_for([&] { return r.w.finished >= 20; });
    r.list({fleet.host(0), fleet.host(1), fleet.host(2)});
    bool joined = wait_for([&] { return r.started_on(fleet.host(1)) > 0 && r.started_on(fleet.host(2)) > 0; });
    // Removed now, with attempts running on it: they go back to the queue.
    bool busy = wait_for([&] {
        auto hs = r.ex->hosts();
        return std::any_of(hs.begin(), hs.end(), [&](auto& h) { return h.spec == fleet.host(0) && h.running > 0; });
    });
    r.ex->remove_host(fleet.host(0));
    run.join();
    INFO(r.w.all());
    CHECK(grew);
    CHECK(joined);
    CHECK(busy);
    CHECK(sum.ok());
    CHECK(sum.counts.succeeded == 300);
    CHECK(read_records(r.out) == expected);
    for (std::size_t i = 0; i < 3; ++i) CHECK(r.started_on(fleet.host(i)) > 0);
    // The removal cost attempts, not retries: some tasks ran twice and still succeeded.
    int twice = 0;
    for (auto& t : sum.tasks) twice += t.attempts > 1;
    CHECK(twice > 0);
    CHECK(r.w.any(fleet.host(0), "removed"));
    CHECK(r.w.any(fleet.host(0), "left"));
    CHECK(r.ex->failed() == std::nullopt);
    CHECK(r.w.was(fleet.host(1), drover::host_state::up));
    // `drover status` shows the hosts as the run left them: the removed one is not among them.
    auto st = drover::read_journal_status(r.dir / "state");
    std::vector<std::string> listed;
    for (auto& h : st.hosts) listed.push_back(h.executor + " " + h.spec + " " + h.state);
    CHECK(listed == std::vector<std::string>{"ssh " + fleet.host(1) + " up", "ssh " + fleet.host(2) + " up"});
    CHECK(r.w.was(fleet.host(0) + " left", drover::host_state::draining));
}

TEST_CASE("ssh elastic: every host gone for a while, then a new one joins before down_timeout: the job completes" *
          doctest::timeout(240)) {
    SSHD_OR_SKIP();
    sshd_fleet fleet(2);
    elastic_run r;
    auto o = r.options(fleet, {fleet.host(0)});
    o.down_timeout = 30s;
    auto s = r.make(o);
    auto expected = submit_numbered(s, 40, "0.05");
    drover::run_summary sum;
    std::thread run([&] { sum = s.run(); });
    bool some = wait_for([&] { return r.w.finished >= 5; });
    r.list({});  // the host drains and leaves: nobody is left
    bool empty = wait_for([&] { return r.w.any("no ssh host is listed", "waiting up to 30s"); });
    std::this_thread::sleep_for(1500ms);
    int during = r.w.finished;
    std::this_thread::sleep_for(1000ms);
    CHECK(r.w.finished == during);  // nothing ran without a host
    r.list({"# a replacement with a new address", fleet.host(1)});
    run.join();
    INFO(r.w.all());
    CHECK(some);
    CHECK(empty);
    CHECK(sum.ok());
    CHECK(read_records(r.out) == expected);
    CHECK(r.started_on(fleet.host(1)) > 0);
}

TEST_CASE("ssh elastic: a malformed hosts file line names the file and line, and a rejected host is not retried while listed" *
          doctest::timeout(120)) {
    SSHD_OR_SKIP();
    sshd_fleet fleet(1);
    elastic_run r;
    auto o = r.options(fleet, {});
    o.down_timeout = 20s;
    // A bad line, a host nobody can log into (wrong user), and the good host.
    write_file(r.hosts_file, "user@[::1:22\nnobody-here@127.0.0.1:" + std::to_string(fleet.port(0)) + "\n" +
                                 fleet.host(0) + "\n");
    auto s = r.make(o);
    auto expected = submit_numbered(s, 10, "0");
    auto sum = s.run();
    INFO(r.w.all());
    CHECK(sum.ok());
    CHECK(read_records(r.out) == expected);
    CHECK(r.w.any(r.hosts_file.string() + ":1:", "user@[::1:22"));
    CHECK(r.w.any("nobody-here@", "cannot be used"));
    CHECK(r.started_on("nobody-here@127.0.0.1:" + std::to_string(fleet.port(0))) == 0);
}

TEST_CASE("ssh elastic: a failing, then hanging hosts_command keeps the last good list and says so" *
          doctest::timeout(120)) {
    SSHD_OR_SKIP();
    sshd_fleet fleet(1);
    elastic_run r;
    auto o = options_for(fleet);
    o.hosts.clear();
    // Lists the host (and a bad line) once, then fails (exit 3), then hangs: the mode file says which.
    auto list_file = r.dir / "fleet.txt";
    auto mode = r.dir / "mode";
    write_file(mode, "list");
    o.hosts_command = {"sh", "-c",
                       "case $(cat '" + mode.string() + "') in list) cat '" + list_file.string() +
                           "';; fail) echo 'ec2: throttled' >&2; exit 3;; hang) sleep 60;; esac"};
    o.hosts_refresh = 100ms;
    o.hosts_timeout = 500ms;
    r.fleet_run::list(list_file, {fleet.host(0), "-bad"});
    auto s = r.make(o);
    auto expected = submit_numbered(s, 30, "0.1");
    drover::run_summary sum;
    std::thread run([&] { sum = s.run(); });
    bool started = wait_for([&] { return r.w.finished >= 2; });
    write_file(mode, "fail");
    bool failing = wait_for([&] { return r.w.any("exit code 3", "ec2: throttled"); });
    write_file(mode, "hang");
    bool hanging = wait_for([&] { return r.w.any("hosts_command sh", "no answer within 500ms"); });
    run.join();
    INFO(r.w.all());
    CHECK(started);
    CHECK(failing);
    CHECK(hanging);
    CHECK(sum.ok());
    CHECK(read_records(r.out) == expected);
    CHECK(r.w.any("line 3 of its output", "must not start with '-'"));
    CHECK(r.w.count("must not start with '-'") == 1);  // said once, not at every refresh
    CHECK(r.w.any("keeping the last list", "hosts_command"));
}
