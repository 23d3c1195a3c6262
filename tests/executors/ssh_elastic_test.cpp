// Hosts that join and leave a running SSH job (real sshd instances on 127.0.0.1): a hosts
// file that grows, a host removed under running attempts, a fleet that is empty for a while,
// and malformed lines.
#include <doctest/doctest.h>

#include <drover/journal.hpp>

#include "executors/fleet_watch.hpp"
#include "scheduler/fixture.hpp"
#include "services/sshd.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

using namespace std::chrono_literals;
using namespace drover::test;

#define SSHD_OR_SKIP()                                                                       \
    do {                                                                                     \
        if (!sshd_available()) {                                                             \
            if (services_required()) FAIL("sshd, ssh or ssh-keygen missing (needs openssh-server)"); \
            MESSAGE("skipped: /usr/sbin/sshd, ssh or ssh-keygen not installed");            \
            return;                                                                          \
        }                                                                                    \
    } while (0)

namespace {

struct elastic_run {
    temp_dir dir;
    fs::path out = dir / "out";
    fs::path hosts_file = dir / "hosts";
    fleet_watch w;
    std::shared_ptr<drover::ssh_executor> ex;

    drover::scheduler make(drover::ssh_executor_options o) {
        drover::scheduler_options so{.state_dir = dir / "state", .seed = 7};
        so.journal.enabled = true;
        drover::scheduler s(so);
        ex = std::make_shared<drover::ssh_executor>(std::move(o));
        s.add_executor(std::shared_ptr<drover::executor>(ex));
        s.set_sink(drover::file_sink({.root = out, .fsync = false}));
        s.add_observer(w);
        return s;
    }
    void list(const std::vector<std::string>& hosts) {
        std::string text = "# the fleet, as a spot-fleet script would write it\n";
        for (auto& h : hosts) text += h + "\n";
        auto tmp = dir / "hosts.tmp";
        write_file(tmp, text);
        fs::rename(tmp, hosts_file);
    }
    std::size_t started_on(const std::string& host) const { return drover::test::started_on(*ex, host); }
};

std::vector<std::string> submit_numbered(drover::scheduler& s, int n, const char* sleep) {
    std::vector<std::string> expected;
    for (int i = 0; i < n; ++i) {
        auto rec = "{\"i\":" + std::to_string(i) + "}";
        s.submit(sh("t-" + std::to_string(i), std::string("sleep ") + sleep + "; echo '" + rec + "'"));
        expected.push_back(rec);
    }
    std::sort(expected.begin(), expected.end());
    return expected;
}

}  // namespace

TEST_CASE("ssh elastic: 300 tasks; two hosts join through the hosts file, the first is removed mid-run" *
          doctest::timeout(240)) {
    SSHD_OR_SKIP();
    sshd_fleet fleet(3);
    elastic_run r;
    auto o = options_for(fleet);
    o.hosts.clear();
    o.hosts_file = r.hosts_file.string();
    o.slots_per_host = 2;
    r.list({fleet.host(0)});
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
    auto o = options_for(fleet);
    o.hosts.clear();
    o.hosts_file = r.hosts_file.string();
    o.down_timeout = 30s;
    r.list({fleet.host(0)});
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

TEST_CASE("ssh elastic: a malformed hosts file line names the file and line; a rejected host is not retried while listed" *
          doctest::timeout(120)) {
    SSHD_OR_SKIP();
    sshd_fleet fleet(1);
    elastic_run r;
    auto o = options_for(fleet);
    o.hosts.clear();
    o.hosts_file = r.hosts_file.string();
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
