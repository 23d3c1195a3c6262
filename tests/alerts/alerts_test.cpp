// on_failure alerts: a command gets the payload on stdin; a webhook gets it POSTed (to a
// small HTTP receiver on 127.0.0.1 in this test); secrets from task env are redacted.
#include <doctest/doctest.h>

#include "alerts/alerts.hpp"
#include "scheduler/fixture.hpp"

#include <drover/error.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <csignal>
#include <thread>

using namespace drover;
using namespace drover::test;
namespace asio = boost::asio;

namespace {

// Accepts connections on 127.0.0.1, answers every request with `status`, records them.
struct receiver {
    asio::io_context ctx;
    asio::ip::tcp::acceptor acceptor{ctx, {asio::ip::make_address("127.0.0.1"), 0}};
    std::atomic<int> status = 200;
    std::atomic<bool> stop = false;
    std::mutex m;
    std::vector<std::pair<std::string, std::string>> requests;  // (head, body)
    std::thread th;

    receiver() {
        th = std::thread([this] {
            for (;;) {
                asio::ip::tcp::socket s(ctx);
                boost::system::error_code ec;
                acceptor.accept(s, ec);
                if (ec || stop) return;
                asio::streambuf buf;
                auto n = asio::read_until(s, buf, "\r\n\r\n", ec);
                if (ec) continue;
                std::string all{asio::buffers_begin(buf.data()), asio::buffers_end(buf.data())};
                std::string head = all.substr(0, n);
                std::string body = all.substr(n);
                auto cl = head.find("Content-Length: ");
                std::size_t len = cl == std::string::npos ? 0 : std::stoul(head.substr(cl + 16));
                if (body.size() < len) {
                    std::string more(len - body.size(), '\0');
                    asio::read(s, asio::buffer(more), ec);
                    body += more;
                }
                {
                    std::lock_guard lock(m);
                    requests.emplace_back(head, body);
                }
                std::string reply = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 4\r\n"
                                    "Connection: close\r\n\r\nnope";
                asio::write(s, asio::buffer(reply), ec);
            }
        });
    }
    ~receiver() {
        // A blocking accept() does not wake up when the acceptor is closed: connect to it.
        stop = true;
        asio::ip::tcp::socket wake(ctx);
        boost::system::error_code ec;
        wake.connect(acceptor.local_endpoint(), ec);
        th.join();
    }
    std::string url(const std::string& path) const {
        return "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + path;
    }
};

// A run with one dead task (it prints its token to stderr and fails) and one that succeeds.
run_summary failing_run(sched_fixture& f, detail::alerter& a) {
    auto s = f.make(2);
    s.add_observer(a);
    auto bad = sh("bad", "echo \"using $API_TOKEN now\" >&2; exit 3");
    bad.env = {{"API_TOKEN", "tok-5ecret-value"}, {"PLAIN", "visible"}};
    s.submit(bad);
    s.submit(sh("good", "echo '{\"x\":1}'"));
    return s.run();
}

}  // namespace

TEST_CASE("alerts: the command gets a task_dead and a run_failed payload, secrets redacted") {
    sched_fixture f;
    auto out = f.dir / "alerts.jsonl";
    std::vector<std::string> log;
    detail::alerter a("job1", {.command = {"sh", "-c", "cat >> " + out.string() + "; echo \" $DROVER_ALERT_EVENT\" >> " + out.string()}},
                      [&](const std::string& m) { log.push_back(m); });
    auto r = failing_run(f, a);
    CHECK(r.counts.dead == 1);
    a.drain();
    CHECK(a.sent() == 2);
    CHECK(a.failed() == 0);
    auto lines = split_lines(read_file(out));
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].ends_with(" task_dead"));
    CHECK(lines[1].ends_with(" run_failed"));
    auto dead = boost::json::parse(lines[0].substr(0, lines[0].rfind(' '))).as_object();
    CHECK(dead.at("event").as_string() == "task_dead");
    CHECK(dead.at("job").as_string() == "job1");
    CHECK(dead.at("task").as_string() == "bad");
    CHECK(dead.at("exit_code").as_int64() == 3);
    CHECK(dead.at("stderr_tail").as_array().at(0).as_string() == "using [redacted] now");
    CHECK(lines[0].find("tok-5ecret-value") == std::string::npos);
    auto run = boost::json::parse(lines[1].substr(0, lines[1].rfind(' '))).as_object();
    CHECK(run.at("dead").as_int64() == 1);
    CHECK(run.at("succeeded").as_int64() == 1);
    CHECK(run.at("dead_tasks").as_array().at(0).as_string() == "bad");
    CHECK(log.empty());
}

TEST_CASE("alerts: the webhook gets the payload POSTed as JSON, HTTP errors are logged, not fatal") {
    receiver rx;
    {
        sched_fixture f;
        std::vector<std::string> log;
        detail::alerter a("job2", {.webhook = rx.url("/hooks/drover?k=1")}, [&](const std::string& m) { log.push_back(m); });
        failing_run(f, a);
        a.drain();
        CHECK(a.sent() == 2);
        std::lock_guard lock(rx.m);
        REQUIRE(rx.requests.size() == 2);
        CHECK(rx.requests[0].first.starts_with("POST /hooks/drover?k=1 HTTP/1.1\r\n"));
        CHECK(rx.requests[0].first.find("Content-Type: application/json") != std::string::npos);
        auto body = boost::json::parse(rx.requests[0].second).as_object();
        CHECK(body.at("event").as_string() == "task_dead");
        CHECK(rx.requests[0].second.find("tok-5ecret-value") == std::string::npos);
        CHECK(boost::json::parse(rx.requests[1].second).as_object().at("event").as_string() == "run_failed");
    }
    rx.status = 500;
    sched_fixture f;
    std::vector<std::string> log;
    detail::alerter a("job3", {.webhook = rx.url("/h")}, [&](const std::string& m) { log.push_back(m); });
    auto r = failing_run(f, a);
    CHECK(r.counts.succeeded == 1);  // the run itself is unaffected
    a.drain();
    CHECK(a.failed() == 2);
    REQUIRE_FALSE(log.empty());
    CHECK(log[0].find("HTTP 500") != std::string::npos);
}

TEST_CASE("alerts: unreachable webhooks and failing commands are reported, bad URLs are config errors") {
    // A port nothing listens on: bind one, remember it, close it.
    asio::io_context ctx;
    asio::ip::tcp::acceptor acc(ctx, {asio::ip::make_address("127.0.0.1"), 0});
    auto port = acc.local_endpoint().port();
    acc.close();
    std::vector<std::string> log;
    detail::alerter a("j", {.command = {"sh", "-c", "exit 9"}, .webhook = "http://127.0.0.1:" + std::to_string(port) + "/x"},
                      [&](const std::string& m) { log.push_back(m); }, std::chrono::milliseconds(2000));
    run_summary s;
    s.counts.total = 1;
    s.counts.dead = 1;
    a.on_run_finished(s);
    a.drain();
    CHECK(a.failed() == 2);
    REQUIRE(log.size() == 2);
    CHECK(log[0] == "on_failure command 'sh' failed: exit code 9");
    CHECK(log[1].starts_with("on_failure webhook: tcp://127.0.0.1:"));

    CHECK_THROWS_AS(detail::parse_webhook_url("ftp://x/y"), config_error);
    CHECK_THROWS_AS(detail::parse_webhook_url("http://user:pw@host/y"), config_error);
    CHECK_THROWS_AS(detail::parse_webhook_url("http://host:99999/y"), config_error);
    CHECK_THROWS_AS(detail::parse_webhook_url("http://host/a b"), config_error);
    auto [ep, target] = detail::parse_webhook_url("https://example.test:8443/p?q=1");
    CHECK(ep.kind == http::transport::tls);
    CHECK(ep.port == 8443);
    CHECK(target == "/p?q=1");
    CHECK(detail::parse_webhook_url("http://h").second == "/");
}

TEST_CASE("alerts: which env values count as secrets") {
    auto s = detail::secret_values({{"API_KEY", "abcd1234"}, {"db_password", "hunter22"}, {"HOME", "/root"},
                                    {"TOKEN", "abc"}, {"AUTH_HEADER", "Bearer xyz"}});
    CHECK(s == std::vector<std::string>{"Bearer xyz", "abcd1234", "hunter22"});
    CHECK(detail::redact("a hunter22 b hunter22", {"hunter22"}) == "a [redacted] b [redacted]");
}

TEST_CASE("alerts: a secret cut at the front or the back of a piece of text is redacted as far as it shows") {
    std::vector<std::string> secrets{"tok-0123456789-secret", "hunter22"};
    // Cut at the front: the end of a secret, the longest that fits, and nothing shorter than
    // the piece's start.
    CHECK(detail::redact("9-secret and more", secrets, true, false) == "[redacted] and more");
    CHECK(detail::redact("t and more", secrets, true, false) == "[redacted] and more");
    CHECK(detail::redact("ter22 x hunter22", secrets, true, false) == "[redacted] x [redacted]");
    CHECK(detail::redact("x-secret", secrets, true, false) == "x-secret");  // not a cut secret's end
    CHECK(detail::redact("9-secret and more", secrets, false, false) == "9-secret and more");
    // Cut at the back: a secret's beginning.
    CHECK(detail::redact("token tok-01234", secrets, false, true) == "token [redacted]");
    CHECK(detail::redact("a hunter22 b hun", secrets, false, true) == "a [redacted] b [redacted]");
    // At a cut, even one character that could be a secret's last goes: "t" of "...secret".
    CHECK(detail::redact("token tok-01234", secrets, true, false) == "[redacted]oken tok-01234");
    CHECK(detail::redact("zoken tok-01234", secrets, true, false) == "zoken tok-01234");
    // Both, a piece inside one secret, and pieces shorter than anything.
    CHECK(detail::redact("secret x tok-0", secrets, true, true) == "[redacted] x [redacted]");
    CHECK(detail::redact("0123456789", secrets, true, true) == "[redacted]");
    CHECK(detail::redact("", secrets, true, true).empty());
    CHECK(detail::redact("abc", {""}, true, true) == "abc");
}

TEST_CASE("alerts: a command's whole process group dies with it, children included" * doctest::timeout(30)) {
    temp_dir d;
    auto pidfile = d / "child.pid";
    // The command starts a child, ignores SIGTERM and outlives the timeout.
    std::vector<std::string> log;
    {
        detail::alerter a("j", {.command = {"sh", "-c", "sleep 60 & echo $! > " + pidfile.string() +
                                                              "; trap '' TERM; sleep 60; exit 0"}},
                          [&](const std::string& m) { log.push_back(m); }, std::chrono::milliseconds(500));
        run_summary s;
        s.counts.total = 1;
        s.counts.dead = 1;
        a.on_run_finished(s);
        a.drain();
        CHECK(a.failed() == 1);
    }
    REQUIRE(fs::exists(pidfile));
    auto pids = read_pids(pidfile);
    REQUIRE(pids.size() == 1);
    bool gone = process_gone(pids[0], 3000);
    if (!gone) ::kill(pids[0], SIGKILL);
    CHECK_MESSAGE(gone, "the alert command's child " << pids[0] << " survived it");
    REQUIRE_FALSE(log.empty());
    CHECK(log[0].find("killed after") != std::string::npos);
}

TEST_CASE("alerts: many alerts to an unresponsive webhook are bounded as a whole" * doctest::timeout(60)) {
    // Accepts connections (the kernel's backlog does) and never answers.
    asio::io_context ctx;
    asio::ip::tcp::acceptor hole(ctx, {asio::ip::make_address("127.0.0.1"), 0});
    hole.listen(512);
    auto url = "http://127.0.0.1:" + std::to_string(hole.local_endpoint().port()) + "/hook";
    std::vector<std::string> log;
    detail::alerter a("j", {.webhook = url}, [&](const std::string& m) { log.push_back(m); },
                      std::chrono::milliseconds(1000));
    auto t0 = std::chrono::steady_clock::now();
    attempt_outcome o;
    o.failure = failure_class::exit_code;
    o.exit_code = 1;
    for (int i = 0; i < 20; ++i) a.on_task_finished(sh("t" + std::to_string(i), "exit 1"), o, task_state::dead);
    run_summary s;
    s.counts.total = 20;
    s.counts.dead = 20;
    a.on_run_finished(s);
    a.drain();
    auto took = std::chrono::steady_clock::now() - t0;
    MESSAGE("21 alerts to a black hole: drain took " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                                                     << " ms");
    CHECK(took < std::chrono::milliseconds(3000));  // one deadline for all (1 s + 0.5 s), not 1 s each
    CHECK(a.failed() == 21);
    CHECK(a.sent() == 0);
    REQUIRE_FALSE(log.empty());
    CHECK(log.back().find("on_failure: gave up after 1s500ms") == 0);
}
