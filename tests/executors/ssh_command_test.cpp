// SSH command building without sockets: host specs, quoting, the exit marker.
#include <doctest/doctest.h>

#include <drover/error.hpp>

#include "executors/ssh_command.hpp"
#include "support/support.hpp"

#include <algorithm>

using namespace drover;
using drover::detail::parse_ssh_host;

TEST_CASE("ssh_command: host specs") {
    auto h = parse_ssh_host("alice@example.org:2222");
    CHECK(h.destination == "alice@example.org");
    CHECK(h.port == "2222");
    h = parse_ssh_host("build-box");
    CHECK(h.destination == "build-box");
    CHECK(h.port.empty());
    h = parse_ssh_host("root@[::1]:22");
    CHECK(h.destination == "root@::1");
    CHECK(h.port == "22");
    h = parse_ssh_host("fe80::1");  // bare IPv6 without a port
    CHECK(h.destination == "fe80::1");
    CHECK(h.port.empty());
    for (const char* bad : {"", "host:", "host:0", "host:65536", "host:22x", "-oProxyCommand=sh", "a b", "[::1",
                            "[::1]x", "user@", "h'x", "h\"x"})
        CHECK_THROWS_AS_MESSAGE(parse_ssh_host(bad), config_error, std::string(bad));
}

TEST_CASE("ssh_command: shell_quote survives a real shell byte for byte") {
    std::vector<std::string> hostile{"plain", "", "two words", "it's", "'", "''", "\"dq\"", "$HOME", "$(id)", "`id`",
                                     "a;b", "a&&b", "a|b", "*", "~", "back\\slash", "new\nline", "tab\there", "-n",
                                     "\xe6\x97\xa5\xe6\x9c\xac", "!", "#comment", "%s", "{}"};
    std::string cmd = "printf '%s\\0'";
    for (auto& a : hostile) cmd += " " + shell_quote(a);
    auto out = drover::test::run_shell(cmd);
    CHECK(out.exit_code == 0);
    std::string expected;
    for (auto& a : hostile) expected += a + std::string(1, '\0');
    CHECK(out.output == expected);
}

TEST_CASE("ssh_command: the remote command carries cd, env and argv quoted") {
    task_spec t{.id = "t", .command = {"echo", "a b", "it's"}, .env = {{"K", "v w"}}, .workdir = "/tmp/x y"};
    auto cmd = detail::remote_command(t, "", std::chrono::milliseconds(1500));
    CHECK(cmd.starts_with("cd '/tmp/x y' && env 'K=v w' sh -c '"));
    CHECK(cmd.find(" drover 1.500 'echo' 'a b' 'it'\\''s'") != std::string::npos);
    task_spec plain{.id = "t", .command = {"true"}};
    CHECK(detail::remote_command(plain, "/srv", std::chrono::milliseconds(1000)).starts_with("cd '/srv' && sh -c"));
}

TEST_CASE("ssh_command: ssh arguments keep strict host keys and batch mode") {
    ssh_executor_options o;
    o.hosts = {"u@h:2200"};
    o.identity = "/k";
    o.config_file = "/dev/null";
    o.ssh_options = {"UserKnownHostsFile=/kh"};
    auto h = parse_ssh_host("u@h:2200");
    task_spec t{.id = "t", .command = {"true"}};
    auto a = detail::ssh_task_command(o, h, "/ctl", t);
    auto has = [&](std::string_view s) { return std::find(a.begin(), a.end(), s) != a.end(); };
    CHECK(a.front() == "ssh");
    CHECK(has("BatchMode=yes"));
    CHECK(has("StrictHostKeyChecking=yes"));
    CHECK(has("ControlPath=/ctl"));
    CHECK(has("ControlMaster=no"));
    CHECK(has("UserKnownHostsFile=/kh"));
    CHECK(has("2200"));
    CHECK(a[a.size() - 2] == "u@h");  // destination right before the remote command, after "--"
    CHECK(a[a.size() - 3] == "--");
    o.accept_new_host_keys = true;
    auto m = detail::ssh_master_command(o, h, "/ctl");
    CHECK(std::find(m.begin(), m.end(), "StrictHostKeyChecking=accept-new") != m.end());
    CHECK(std::find(m.begin(), m.end(), "-f") != m.end());
}

TEST_CASE("ssh_command: the exit marker is taken out of stderr, split anywhere") {
    std::string full = "warning: x\npartial" + std::string(detail::exit_marker) + "7\n";
    for (std::size_t cut = 0; cut <= full.size(); ++cut) {
        detail::marker_filter f;
        std::string passed;
        auto out = [&](std::string_view b) { passed.append(b); };
        f.feed(std::string_view(full).substr(0, cut), out);
        f.feed(std::string_view(full).substr(cut), out);
        f.finish(out);
        CHECK_MESSAGE(passed == "warning: x\npartial", "cut at " << cut);
        REQUIRE(f.exit_code());
        CHECK(*f.exit_code() == 7);
    }
    detail::marker_filter g;  // a look-alike that is not the marker passes through
    std::string passed;
    g.feed("\x1enot the marker\nok\n", [&](std::string_view b) { passed.append(b); });
    g.finish([&](std::string_view b) { passed.append(b); });
    CHECK(passed == "\x1enot the marker\nok\n");
    CHECK(!g.exit_code());
}

TEST_CASE("ssh_command: permanent ssh errors are recognised") {
    CHECK(detail::ssh_error_is_permanent("Host key verification failed.\r\n"));
    CHECK(detail::ssh_error_is_permanent("root@127.0.0.1: Permission denied (publickey).\n"));
    CHECK_FALSE(detail::ssh_error_is_permanent("ssh: connect to host 127.0.0.1 port 22: Connection refused\n"));
    CHECK_FALSE(detail::ssh_error_is_permanent("Connection timed out during banner exchange\n"));
}
