// The SSH executor against real sshd instances on 127.0.0.1 (tests/services/sshd.hpp):
// records, quoting, remote kills, a host dying mid-run, host keys and authentication.
#include <doctest/doctest.h>

#include "executors/fleet_watch.hpp"
#include "scheduler/fixture.hpp"
#include "services/sshd.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

using namespace std::chrono_literals;
using namespace drover::test;


namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
}

using ssh_run = pool_run<drover::ssh_executor>;


}  // namespace

TEST_CASE("ssh: 100 tasks over two hosts, every record exactly once" * doctest::timeout(120)) {
    SSHD_OR_SKIP();
    sshd_fleet fleet(2);
    ssh_run r;
    auto o = options_for(fleet);
    o.slots_per_host = 2;
    auto s = r.make(o);
    CHECK(r.ex->slots() == 4);
    std::vector<std::string> expected;
    for (int i = 0; i < 100; ++i) {
        auto rec = "{\"i\":" + std::to_string(i) + "}";
        s.submit(sh("t-" + std::to_string(i), "echo '" + rec + "'"));
        expected.push_back(rec);
    }
    std::sort(expected.begin(), expected.end());
    auto sum = s.run();
    CHECK_MESSAGE(sum.ok(), dump(sum));
    CHECK(sum.counts.succeeded == 100);
    CHECK(sum.counts.records == 100);
    CHECK(r.output_records() == expected);
    auto a = r.attempts_on(fleet.host(0)), b = r.attempts_on(fleet.host(1));
    CHECK(a > 0);
    CHECK(b > 0);
    CHECK(a + b == 100);
    CHECK(r.ex->failed() == std::nullopt);
}

TEST_CASE("ssh: hostile arguments, env values and workdir arrive byte for byte" * doctest::timeout(120)) {
    SSHD_OR_SKIP();
    sshd_fleet fleet(1);
    ssh_run r;
    auto outfile = r.dir / "args.bin";
    const std::vector<std::string> args = {
        "two words",
        "it's",
        "say \"hi\"",
        "$HOME",
        "${HOME}",
        "$(id)",
        "`id`",
        "a; rm -rf /nonexistent",
        "true && false",
        "a | b",
        "> /tmp/x",
        "*",
        "~",
        "~root",
        "back\\slash\\",
        "line1\nline2\n",
        "tab\there",
        "-n",
        "--",
        "",
        "'\\''",
        "%s%d%%",
        "{}",
        "{{x}}",
        "日本語のテキスト",
        "rocket \xF0\x9F\x9A\x80 party \xF0\x9F\x8E\x89",
        std::string(10 * 1024, 'x') + "'\"$end",
        "!",
        "!!",
        "# not a comment",
        "  leading and trailing  ",
        "\r",
        "$((1+1))",
        "a=b",
    };
    const std::vector<std::string> env_values = {
        "two words", "it's \"quoted\"", "$HOME $(id) `id`", "a;b&&c|d>e", "*?[a-z]", "line1\nline2",
        "\ttab", "", "'\\''", "日本語 🚀", "-x", "{{ }} %s !#~\\",
    };
    std::string script = "for a in \"$@\"; do printf '%s\\0' \"$a\"; done > " + outfile.string() + "; printf '%s\\0'";
    drover::task_spec t{.id = "quoting", .command = {"sh", "-c", "", "sh"}};
    for (std::size_t i = 0; i < env_values.size(); ++i) {
        auto name = "V" + std::to_string(i + 1);
        t.env[name] = env_values[i];
        script += " \"$" + name + "\"";
    }
    script += " >> " + outfile.string() + "; echo '{\"ok\":true}'";
    t.command[2] = script;
    t.command.insert(t.command.end(), args.begin(), args.end());
    auto s = r.make(options_for(fleet));
    s.submit(t);
    // A workdir whose name needs quoting too.
    auto wd = r.dir / "work dir 'q' $x";
    fs::create_directories(wd);
    s.submit({.id = "workdir", .command = {"sh", "-c", "pwd > ../pwd.txt"}, .workdir = wd.string()});
    auto sum = s.run();
    REQUIRE_MESSAGE(sum.ok(), dump(sum));

    std::vector<std::string> expected = args;
    expected.insert(expected.end(), env_values.begin(), env_values.end());
    std::string want;
    for (auto& e : expected) want += e + '\0';
    std::string got = read_file(outfile);
    CHECK(got.size() == want.size());
    // Item by item, so a failure says which value was mangled.
    std::vector<std::string> items;
    for (std::size_t start = 0; start < got.size();) {
        auto nul = got.find('\0', start);
        if (nul == std::string::npos) nul = got.size();
        items.push_back(got.substr(start, nul - start));
        start = nul + 1;
    }
    REQUIRE(items.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i)
        CHECK_MESSAGE(items[i] == expected[i], "value " << i << " mangled: sent [" << expected[i].substr(0, 80)
                                                        << "] got [" << items[i].substr(0, 80) << "]");
    CHECK(got == want);
    CHECK(read_file(r.dir / "pwd.txt") == fs::canonical(wd).string() + "\n");
}

TEST_CASE("ssh: exit codes and stderr pass through" * doctest::timeout(120)) {
    SSHD_OR_SKIP();
    sshd_fleet fleet(1);
    ssh_run r;
    auto s = r.make(options_for(fleet));
    s.submit(sh("fails", "echo '{\"before\":1}'; echo err >&2; exit 3"));
    s.submit(sh("ok", "echo note >&2; echo '{\"x\":1}'"));
    auto sum = s.run();
    REQUIRE(sum.tasks.size() == 2);
    auto& f = sum.tasks[0];
    CHECK(f.state == drover::task_state::dead);
    CHECK(f.last.failure == drover::failure_class::exit_code);
    CHECK(f.last.exit_code == 3);
    CHECK(f.last.message.starts_with("exit code 3"));
    CHECK(std::find(f.last.stderr_tail.begin(), f.last.stderr_tail.end(), "err") != f.last.stderr_tail.end());
    for (auto& l : f.last.stderr_tail) CHECK_MESSAGE(!contains(l, "drover-exit"), "wrapper marker leaked: " << l);
    auto& ok = sum.tasks[1];
    CHECK(ok.state == drover::task_state::succeeded);
    CHECK(ok.last.exit_code == 0);
    std::string tail;
    for (auto& l : ok.last.stderr_tail) tail += "[" + l + "]";
    CHECK_MESSAGE(ok.last.stderr_tail == std::vector<std::string>{"note"}, "stderr tail: " << tail);
    CHECK(r.output_records() == std::vector<std::string>{"{\"x\":1}"});
}

TEST_CASE("ssh: a timeout kills the remote process tree" * doctest::timeout(120)) {
    SSHD_OR_SKIP();
    sshd_fleet fleet(1);
    ssh_run r;
    auto pidfile = r.dir / "pids";
    auto s = r.make(options_for(fleet));
    auto t = sh("slow", "echo $$ >> " + pidfile.string() + "; sleep 300 & echo $! >> " + pidfile.string() +
                            "; sh -c 'sleep 300 & echo $! >> " + pidfile.string() + "; wait' & wait");
    t.timeout = 1s;
    s.submit(t);
    auto t0 = std::chrono::steady_clock::now();
    auto sum = s.run();
    CHECK(std::chrono::steady_clock::now() - t0 < 10s);
    CHECK(sum.counts.dead == 1);
    CHECK_MESSAGE(sum.tasks[0].last.failure == drover::failure_class::timeout, dump(sum));
    auto pids = read_pids(pidfile);
    REQUIRE(pids.size() == 3);
    for (int pid : pids) CHECK_MESSAGE(process_gone(pid, 5000), "remote pid " << pid << " survived the timeout");
}

TEST_CASE("ssh: cancel kills the remote processes on every host" * doctest::timeout(120)) {
    SSHD_OR_SKIP();
    sshd_fleet fleet(2);
    ssh_run r;
    auto o = options_for(fleet);
    o.slots_per_host = 2;
    auto s = r.make(o);
    for (int i = 0; i < 6; ++i) {
        auto pf = r.dir / ("pids" + std::to_string(i));
        s.submit(sh("t" + std::to_string(i),
                    "sleep 300 & echo $! >> " + pf.string() + "; sh -c 'sleep 300' & echo $! >> " + pf.string() + "; wait"));
    }
    std::atomic<bool> all_started = false;
    std::thread canceller([&] {
        // Cancel once four tasks (both hosts' slots) have their processes running.
        for (auto end = std::chrono::steady_clock::now() + 30s; std::chrono::steady_clock::now() < end;) {
            int n = 0;
            for (int i = 0; i < 6; ++i)
                if (read_pids(r.dir / ("pids" + std::to_string(i))).size() == 2) ++n;
            if (n >= 4) {
                all_started = true;
                break;
            }
            std::this_thread::sleep_for(50ms);
        }
        s.cancel();
    });
    auto sum = s.run();
    canceller.join();
    CHECK(all_started);
    CHECK(sum.cancelled);
    CHECK(sum.counts.succeeded == 0);
    CHECK(sum.counts.skipped == 6);
    std::vector<int> pids;
    for (int i = 0; i < 6; ++i)
        for (int p : read_pids(r.dir / ("pids" + std::to_string(i)))) pids.push_back(p);
    CHECK(pids.size() == 8);
    for (int pid : pids) CHECK_MESSAGE(process_gone(pid, 5000), "remote pid " << pid << " survived cancel");
}

TEST_CASE("ssh: a host dying mid-run costs no retries, the other host takes over" * doctest::timeout(120)) {
    SSHD_OR_SKIP();
    sshd_fleet fleet(2);
    ssh_run r;
    auto o = options_for(fleet);
    o.slots_per_host = 2;
    auto s = r.make(o);
    for (int i = 0; i < 40; ++i)
        s.submit(sh("t-" + std::to_string(i), "sleep 0.3; echo '{\"i\":" + std::to_string(i) + "}'"));
    std::thread killer([&] {
        std::this_thread::sleep_for(1s);
        fleet.stop(0);  // does not throw
    });
    auto sum = s.run();
    killer.join();
    CHECK_MESSAGE(sum.ok(), dump(sum));
    CHECK(sum.counts.succeeded == 40);
    CHECK(sum.counts.records == 40);
    CHECK(r.output_records().size() == 40);

    std::size_t lost = 0;
    for (auto& d : r.events.done)
        if (d.outcome.failure == drover::failure_class::executor_lost) {
            ++lost;
            CHECK(d.next == drover::task_state::ready);  // straight back, no retry wait
        }
    CHECK_MESSAGE(lost >= 1, "no attempt was running on host 0 when it stopped?");
    std::size_t attempts = 0;
    for (auto& t : sum.tasks) attempts += static_cast<std::size_t>(t.attempts);
    auto a = r.attempts_on(fleet.host(0)), b = r.attempts_on(fleet.host(1));
    INFO("host0 ", a, ", host1 ", b, ", lost ", lost, "; events:\n", r.hosts.all());
    CHECK(a + b == attempts);
    CHECK(attempts == 40 + lost);
    CHECK(b > a);  // host 0 ran only the first second's worth
    CHECK(b >= 40 - (a - lost));
    bool down = false;
    for (auto& m : r.hosts.snapshot())
        if (contains(m, fleet.host(0)) && contains(m, "down")) down = true;
    CHECK(down);
}

TEST_CASE("ssh: a host that comes back is re-probed and used again" * doctest::timeout(120)) {
    SSHD_OR_SKIP();
    sshd_fleet fleet(2);
    ssh_run r;
    auto o = options_for(fleet);
    o.slots_per_host = 2;
    auto s = r.make(o);
    // Each task logs when it finished and which server port served it (from SSH_CONNECTION).
    auto log = r.dir / "served";
    for (int i = 0; i < 60; ++i)
        s.submit(sh("t-" + std::to_string(i),
                    "sleep 0.3; echo \"$(date +%s%N) ${SSH_CONNECTION##* }\" >> " + log.string()));
    std::size_t events_before_restart = 0;
    long long restarted_ns = 0;
    std::string flap_error;
    std::thread flapper([&] {
        try {
            std::this_thread::sleep_for(1s);
            fleet.stop(0);
            std::this_thread::sleep_for(1500ms);
            events_before_restart = r.hosts.snapshot().size();
            fleet.start(0);
            restarted_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
        } catch (const std::exception& e) {
            flap_error = e.what();
        }
    });
    auto sum = s.run();
    flapper.join();
    REQUIRE_MESSAGE(flap_error.empty(), flap_error);
    CHECK_MESSAGE(sum.ok(), dump(sum));
    auto msgs = r.hosts.snapshot();
    INFO("events:\n", r.hosts.all());
    REQUIRE(msgs.size() > events_before_restart);
    bool back = false;
    for (std::size_t i = events_before_restart; i < msgs.size(); ++i)
        if (contains(msgs[i], fleet.host(0)) && contains(msgs[i], "up again")) back = true;
    CHECK(back);
    std::size_t after_restart_on_0 = 0;
    for (auto& l : split_lines(read_file(log))) {
        auto sp = l.find(' ');
        if (std::stoll(l.substr(0, sp)) > restarted_ns && l.substr(sp + 1) == std::to_string(fleet.port(0)))
            ++after_restart_on_0;
    }
    CHECK_MESSAGE(after_restart_on_0 > 0, "host 0 ran nothing after it came back");
}

TEST_CASE("ssh: an unknown host key fails clearly under strict checking" * doctest::timeout(120)) {
    SSHD_OR_SKIP();
    sshd_fleet fleet(1);
    ssh_run r;
    auto empty = r.dir / "empty_known_hosts";
    write_file(empty, "");
    auto o = options_for(fleet);
    o.ssh_options = {"UserKnownHostsFile=" + empty.string(), "IdentitiesOnly=yes", "LogLevel=ERROR"};
    auto s = r.make(o);
    for (int i = 0; i < 5; ++i) s.submit(sh("t" + std::to_string(i), "echo '{}'"));
    auto t0 = std::chrono::steady_clock::now();
    auto sum = s.run();
    CHECK(std::chrono::steady_clock::now() - t0 < 30s);
    CHECK_FALSE(sum.ok());
    CHECK(sum.counts.succeeded == 0);
    CHECK(sum.counts.dead + sum.counts.skipped == 5);
    auto failed = r.ex->failed();
    REQUIRE(failed);
    INFO("failed(): ", *failed, "\nevents:\n", r.hosts.all(), "\n", dump(sum));
    CHECK(contains(*failed, "127.0.0.1"));
    CHECK(contains(lower(*failed), "host key verification failed"));
    auto ev = r.hosts.all();
    CHECK(contains(ev, "127.0.0.1"));
    CHECK(contains(lower(ev), "host key verification failed"));
    for (auto& t : sum.tasks) CHECK(contains(lower(t.last.message), "host key verification failed"));
    CHECK(read_file(empty).empty());  // strict: nothing was added
}

TEST_CASE("ssh: accept_new_host_keys records an unknown key and proceeds" * doctest::timeout(120)) {
    SSHD_OR_SKIP();
    sshd_fleet fleet(1);
    ssh_run r;
    auto kh = r.dir / "known_hosts";
    write_file(kh, "");
    auto o = options_for(fleet);
    o.ssh_options = {"UserKnownHostsFile=" + kh.string(), "IdentitiesOnly=yes", "LogLevel=ERROR"};
    o.accept_new_host_keys = true;
    auto s = r.make(o);
    s.submit(sh("t", "echo '{}'"));
    auto sum = s.run();
    CHECK_MESSAGE(sum.ok(), dump(sum));
    CHECK(contains(read_file(kh), "[127.0.0.1]:" + std::to_string(fleet.port(0))));
}

TEST_CASE("ssh: with one host's key unknown, the other host runs everything" * doctest::timeout(120)) {
    SSHD_OR_SKIP();
    sshd_fleet fleet(2);
    ssh_run r;
    // known_hosts with only host 1.
    auto partial = r.dir / "partial_known_hosts";
    std::string only1;
    for (auto& l : split_lines(read_file(fleet.known_hosts())))
        if (contains(l, "]:" + std::to_string(fleet.port(1)) + " ")) only1 += l + "\n";
    REQUIRE(!only1.empty());
    write_file(partial, only1);
    auto o = options_for(fleet);
    o.slots_per_host = 2;
    o.ssh_options = {"UserKnownHostsFile=" + partial.string(), "IdentitiesOnly=yes", "LogLevel=ERROR"};
    auto s = r.make(o);
    for (int i = 0; i < 20; ++i) s.submit(sh("t" + std::to_string(i), "echo '{\"i\":" + std::to_string(i) + "}'"));
    auto sum = s.run();
    INFO("events:\n", r.hosts.all());
    CHECK_MESSAGE(sum.ok(), dump(sum));
    CHECK(r.output_records().size() == 20);
    CHECK(r.attempts_on(fleet.host(0)) == 0);
    CHECK(r.attempts_on(fleet.host(1)) == 20);
    CHECK(r.ex->failed() == std::nullopt);
    auto ev = r.hosts.all();
    CHECK(contains(ev, std::to_string(fleet.port(0))));
    CHECK(contains(lower(ev), "host key verification failed"));
}

TEST_CASE("ssh: a key the server does not accept fails clearly" * doctest::timeout(120)) {
    SSHD_OR_SKIP();
    sshd_fleet fleet(1);
    ssh_run r;
    auto other = r.dir / "otherkey";
    generate_ssh_key(other);
    auto o = options_for(fleet);
    o.identity = other.string();
    auto s = r.make(o);
    for (int i = 0; i < 3; ++i) s.submit(sh("t" + std::to_string(i), "echo '{}'"));
    auto sum = s.run();
    CHECK(sum.counts.succeeded == 0);
    CHECK(sum.counts.dead + sum.counts.skipped == 3);
    auto failed = r.ex->failed();
    REQUIRE(failed);
    INFO("failed(): ", *failed, "\nevents:\n", r.hosts.all(), "\n", dump(sum));
    CHECK(contains(*failed, "Permission denied"));
    CHECK(contains(*failed, "127.0.0.1"));
    auto ev = r.hosts.all();
    CHECK(contains(ev, "Permission denied"));
}

TEST_CASE("ssh: a state directory too deep for a Unix socket path still works" * doctest::timeout(120)) {
    SSHD_OR_SKIP();
    sshd_fleet fleet(1);
    temp_dir dir;
    // ssh binds "<ControlPath>.<16 chars>" first: a socket path of ~95 bytes fits the
    // 108-byte limit alone but not with that suffix. Run ids are 21 characters.
    std::size_t fixed = dir.path().string().size() + std::string("/x/state/ssh/").size() + 21 + std::string("/00.sock").size();
    REQUIRE(fixed < 95);
    auto state = dir / std::string(95 - fixed, 'd') / "state";
    drover::scheduler s({.state_dir = state, .seed = 1});
    auto o = options_for(fleet);
    s.add_executor(drover::ssh_executor(o));
    s.set_sink(drover::file_sink({.root = dir / "out", .fsync = false}));
    s.submit(sh("deep", "echo '{\"ok\":1}'"));
    auto t0 = std::chrono::steady_clock::now();
    auto sum = s.run();
    CHECK_MESSAGE(sum.ok(), dump(sum));
    CHECK(read_records(dir / "out") == std::vector<std::string>{"{\"ok\":1}"});
    // The host was never marked down waiting for a socket it could not bind.
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(8));
}
