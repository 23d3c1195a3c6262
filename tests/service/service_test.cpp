// drover::service over real sockets and real processes: the HTTP server's limits, the jobs
// directory read again while serving, and `drover serve` killed with SIGKILL or stopped with
// SIGTERM in the middle of a run, then started again.
#include "service_support.hpp"

#include <drover/executors/local.hpp>

#include "cron/service.hpp"
#include "journal/cli_run.hpp"

#include <condition_variable>
#include <csignal>
#include <mutex>
#include <fstream>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <spawn.h>
#include <sys/wait.h>

using namespace drover::test;
using boost::beast::http::verb;
using namespace std::chrono_literals;

namespace {

// `drover serve` in the background with its stderr in DIR/serve.log; returns its pid.
pid_t start_serve(const fs::path& dir, int port) {
    std::string cmd = fmt::format("exec {} serve --jobs {}/jobs --state {}/state --listen 127.0.0.1:{} --tokens {}/tokens "
                                  ">> {}/serve.log 2>&1",
                                  DROVER_CLI_PATH, dir.string(), dir.string(), port, dir.string(), dir.string());
    const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
    pid_t pid = -1;
    REQUIRE(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) == 0);
    REQUIRE(wait_until([&] { return call(port, verb::get, "/api/v1/health", {}, "").res.status == 200; }, 20s));
    return pid;
}

// Sends `bytes` on a new connection and reads until the server closes it.
std::string raw_exchange(int port, const std::string& bytes) {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket s(io);
    s.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    boost::asio::write(s, boost::asio::buffer(bytes));
    std::string out;
    char buf[4096];
    boost::system::error_code ec;
    while (!ec) {
        auto n = s.read_some(boost::asio::buffer(buf), ec);
        out.append(buf, n);
    }
    return out;
}

}  // namespace

TEST_CASE("service http: keep-alive requests, oversized bodies get 413, garbage gets 400, nothing else listens") {
    temp_dir d;
    fs::create_directories(d / "jobs");
    write_tokens(d / "tokens");
    write_file(d / "jobs" / "days.toml", sleepy_job("days", 2, 0.1));
    drover::service svc({.jobs_dir = d / "jobs", .state_dir = d / "state", .listen = "127.0.0.1:0",
                         .tokens_file = d / "tokens", .max_body_bytes = 1000});
    svc.start();
    auto port = svc.port();
    REQUIRE(port != 0);
    auto list = call(port, verb::get, "/api/v1/jobs");
    REQUIRE(list);
    CHECK(list.res.status == 200);
    CHECK(list.res.header("Content-Type") == std::string_view("application/json"));
    CHECK(list.res.header("Cache-Control") == std::string_view("no-store"));
    auto big = call(port, verb::post, "/api/v1/jobs/days/runs", std::string(5000, ' '));
    REQUIRE(big);
    CHECK(big.res.status == 413);
    CHECK(big.res.body.find("larger than 1000 bytes") != std::string::npos);
    // Not HTTP at all.
    CHECK(raw_exchange(port, "HELLO\r\n\r\n").find("HTTP/1.1 400") == 0);
    CHECK(raw_exchange(port, "GET / HTTP/1.1\r\nHost: x\r\n" + std::string(20000, 'a') + ": b\r\n\r\n").find("HTTP/1.1 431") == 0);
    // A trigger over the socket, then the run's records.
    auto t = call(port, verb::post, "/api/v1/jobs/days/runs", "{}");
    REQUIRE(t);
    CHECK(t.res.status == 201);
    REQUIRE(wait_until([&] { return run_ended(svc, "days"); }));
    CHECK(read_records(d / "state" / "days" / "output").size() == 2);
    svc.stop();
    CHECK_FALSE(call(port, verb::get, "/api/v1/health", {}, ""));  // closed
    CHECK_THROWS_AS(drover::service({.jobs_dir = d / "jobs", .state_dir = d / "state", .listen = "0.0.0.0:0"}).start(),
                    drover::config_error);  // not loopback, no tokens
    CHECK_THROWS_AS(drover::service({.jobs_dir = d / "nope", .state_dir = d / "state", .listen = ""}).start(),
                    drover::config_error);
    CHECK_THROWS_AS(drover::service({.jobs_dir = d / "jobs", .state_dir = d / "state", .listen = "127.0.0.1:x"}).start(),
                    drover::config_error);
}

TEST_CASE("service http: a trigger whose job file takes long to read holds up no other request" * doctest::timeout(120)) {
    // An executor kind whose reading blocks, once armed, until the test lets it go: the trigger
    // is still reading its job file while the test asks other things.
    struct slow_options {
        std::size_t slots = 1;
    };
    std::mutex m;
    std::condition_variable cv;
    bool armed = false, reading = false, go = false;
    drover::kinds k;
    k.add_executor<slow_options>("slow", {
        .read = [&](const drover::job_table& t) {
            t.check_keys({"kind"});
            std::unique_lock lock(m);
            if (armed) {
                reading = true;
                cv.notify_all();
                cv.wait(lock, [&] { return go; });
            }
            return slow_options{};
        },
        .make = [](const slow_options& o) {
            return std::make_shared<drover::local_executor>(drover::local_executor_options{.slots = o.slots});
        },
    });
    temp_dir d;
    fs::create_directories(d / "jobs");
    write_tokens(d / "tokens");
    write_file(d / "jobs" / "big.toml", R"(name = "big"
[[executors]]
kind = "slow"
[[tasks]]
id = "t"
command = ["true"]
)");
    drover::service svc({.jobs_dir = d / "jobs", .state_dir = d / "state", .listen = "127.0.0.1:0",
                         .tokens_file = d / "tokens", .kinds = k});
    svc.start();
    auto port = svc.port();
    {
        std::lock_guard lock(m);
        armed = true;
    }
    drover::http::result trig;
    std::thread trigger([&] { trig = call(port, verb::post, "/api/v1/jobs/big/runs", "{}"); });
    {
        std::unique_lock lock(m);
        REQUIRE(cv.wait_for(lock, 30s, [&] { return reading; }));
    }
    // The trigger is reading the job file now. The API still answers, within a few seconds
    // (a server that read the file on its own thread answered nothing until `go`).
    auto asked = std::chrono::steady_clock::now();
    boost::asio::io_context io;
    drover::http::client_options o;
    o.target = drover::http::parse_endpoint("tcp://127.0.0.1:" + std::to_string(port));
    o.request_timeout = 5s;
    drover::http::client c(io.get_executor(), o);
    drover::http::request req{verb::get, "/api/v1/jobs", {{"Authorization", std::string("Bearer ") + read_token}}, {}, std::nullopt};
    drover::http::result list;
    c.async_request(std::move(req), [&](drover::http::result r) { list = std::move(r); });
    io.run();
    INFO("answered after ", std::chrono::duration<double>(std::chrono::steady_clock::now() - asked).count(), " s");
    CHECK(list.res.status == 200);
    CHECK(call(port, verb::get, "/api/v1/health", {}, "").res.status == 200);
    {
        std::lock_guard lock(m);
        go = true;
        armed = false;
    }
    cv.notify_all();
    trigger.join();
    REQUIRE(trig);
    CHECK(trig.res.status == 201);
    CHECK(json_of(trig.res.body).at("run_id").as_string().size() > 0);
    REQUIRE(wait_until([&] { return run_ended(svc, "big"); }));
    CHECK(svc.job("big").last_result == "succeeded");
    // A trigger that fails (the job file is broken now) is answered from there too, as before.
    write_file(d / "jobs" / "big.toml", "name = \"big\"\n[[tasks]]\nid = 3\n");
    auto bad = call(port, verb::post, "/api/v1/jobs/big/runs", "{}");
    CHECK(bad.res.status == 400);
    CHECK(bad.res.body.find("big.toml") != std::string::npos);
    svc.stop();
}

TEST_CASE("service reload: added, broken, fixed and removed job files while serving") {
    temp_dir d;
    fs::create_directories(d / "jobs");
    write_file(d / "jobs" / "a.toml", sleepy_job("a", 1, 0.1));
    drover::service svc({.jobs_dir = d / "jobs", .state_dir = d / "state", .listen = "",
                         .reload_interval = std::chrono::milliseconds(100)});
    svc.start();
    REQUIRE(svc.jobs().size() == 1);
    write_file(d / "jobs" / "b.toml", sleepy_job("b", 3, 0.1));
    write_file(d / "jobs" / "not a job.toml", sleepy_job("c", 1, 0.1));  // a name that is no key
    write_file(d / "jobs" / "notes.txt", "not a job file");
    REQUIRE(wait_until([&] { return svc.jobs().size() == 2; }, 10s));
    CHECK(svc.job("b").tasks == 3);
    // Broken: listed with its error, the other job still runs.
    write_file(d / "jobs" / "b.toml", "name = \"b\"\n[[tasks]]\nid = \"t\"\ncommand = [\"true\"]\nretries = -1\n");
    REQUIRE(wait_until([&] { return !svc.job("b").error.empty(); }, 10s));
    CHECK(svc.job("b").error.find("b.toml:5:") != std::string::npos);
    CHECK(svc.job("b").error.find("retries") != std::string::npos);
    svc.trigger("a");
    REQUIRE(wait_until([&] { return run_ended(svc, "a"); }));
    CHECK(svc.job("a").last_result == "succeeded");
    // Fixed.
    write_file(d / "jobs" / "b.toml", sleepy_job("b", 5, 0.1));
    REQUIRE(wait_until([&] { return svc.job("b").error.empty() && svc.job("b").tasks == 5; }, 10s));
    // Removed.
    fs::remove(d / "jobs" / "a.toml");
    REQUIRE(wait_until([&] { return svc.jobs().size() == 1; }, 10s));
    CHECK_THROWS_AS(svc.job("a"), drover::not_found_error);
    CHECK_THROWS_AS(svc.trigger("a"), drover::not_found_error);
}

TEST_CASE("service schedule: the next tick is listed and exposed, a schedule in a broken file is dropped") {
    temp_dir d;
    fs::create_directories(d / "jobs");
    write_file(d / "jobs" / "cron.toml", "schedule = \"*/5 * * * *\"\ntimezone = \"UTC\"\n" + sleepy_job("cron", 1, 0.1));
    drover::service svc({.jobs_dir = d / "jobs", .state_dir = d / "state", .listen = ""});
    svc.start();
    auto j = svc.job("cron");
    CHECK(j.schedule == "*/5 * * * *");
    REQUIRE(j.next_fire_ms);
    auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    CHECK(*j.next_fire_ms > now_ms);
    CHECK(*j.next_fire_ms <= now_ms + 5 * 60'000);
    CHECK(*j.next_fire_ms % (5 * 60'000) == 0);
    CHECK(svc.metrics().find("drover_cron_next_fire_timestamp_seconds{drover_job=\"cron\"} ") != std::string::npos);
    write_file(d / "jobs" / "cron.toml", "schedule = \"61 * * * *\"\n" + sleepy_job("cron", 1, 0.1));
    svc.reload();
    CHECK(svc.job("cron").error.find("cron") != std::string::npos);
    CHECK_FALSE(svc.job("cron").next_fire_ms);
}

TEST_CASE("serve: SIGKILL during a triggered run, then a restart resumes it with its parameters - records once") {
    temp_dir d;
    fs::create_directories(d / "jobs");
    write_tokens(d / "tokens");
    write_file(d / "jobs" / "slow.toml", sleepy_job("slow", 10, 0.6, 2));
    int port = free_loopback_port();
    pid_t pid = start_serve(d.path(), port);
    auto t = call(port, verb::post, "/api/v1/jobs/slow/runs", R"({"params":{"i":["1","2","3","4","5","6","7","8"]}})");
    REQUIRE(t.res.status == 201);
    // Some tasks done, some running.
    REQUIRE(wait_until([&] { return read_records(d / "state" / "slow" / "output").size() >= 3; }, 20s));
    kill_cli(pid);
    auto done_before = read_records(d / "state" / "slow" / "output").size();
    CHECK(done_before < 8);
    CHECK(fs::exists(d / "state" / "slow" / "service-run.json"));

    pid = start_serve(d.path(), port);
    REQUIRE(wait_until(
        [&] {
            auto j = json_of(call(port, verb::get, "/api/v1/jobs/slow").res.body);
            return j.at("run").is_null() && j.as_object().contains("last_run");
        },
        30s));
    auto job = json_of(call(port, verb::get, "/api/v1/jobs/slow").res.body);
    CHECK(job.at("last_run").at("result") == "succeeded");
    std::vector<std::string> expected;
    for (int i = 1; i <= 8; ++i) expected.push_back(fmt::format(R"({{"task":"t-{}"}})", i));
    std::sort(expected.begin(), expected.end());
    CHECK(read_records(d / "state" / "slow" / "output") == expected);  // 8 tasks: the parameters held
    auto runs = json_of(call(port, verb::get, "/api/v1/jobs/slow/runs").res.body).at("runs").as_array();
    REQUIRE(runs.size() == 2);
    // The journal follows the sink by a group commit: a task whose output was committed just
    // before the kill may run again (its output is replaced, not added to). The first ones
    // were journaled long before.
    CHECK(runs[0].at("resumed").as_int64() >= 1);
    CHECK(runs[0].at("resumed").as_int64() <= static_cast<std::int64_t>(done_before));
    CHECK(runs[0].at("total") == 8);
    CHECK(runs[1].at("status") == "interrupted");
    CHECK_FALSE(fs::exists(d / "state" / "slow" / "service-run.json"));
    ::kill(pid, SIGTERM);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    INFO(read_file(d / "serve.log"));
    CHECK(read_file(d / "serve.log").find("slow: run ") != std::string::npos);
}

TEST_CASE("serve: SIGHUP reads the jobs directory now and keeps serving, SIGTERM then stops it with exit code 0") {
    temp_dir d;
    fs::create_directories(d / "jobs");
    write_tokens(d / "tokens");
    write_file(d / "jobs" / "a.toml", sleepy_job("a", 1, 0.1));
    int port = free_loopback_port();
    pid_t pid = start_serve(d.path(), port);
    write_file(d / "jobs" / "b.toml", sleepy_job("b", 1, 0.1));
    ::kill(pid, SIGHUP);
    // The scan SIGHUP asked for has logged the new job, and the service still answers.
    REQUIRE(wait_until([&] { return read_file(d / "serve.log").find("HUP received: reading the jobs directory now") !=
                                    std::string::npos; }, 10s));
    REQUIRE(wait_until([&] { return call(port, verb::get, "/api/v1/jobs/b").res.status == 200; }, 10s));
    CHECK(call(port, verb::post, "/api/v1/jobs/b/runs").res.status == 201);
    REQUIRE(wait_until([&] { return read_records(d / "state" / "b" / "output").size() == 1; }, 20s));
    ::kill(pid, SIGHUP);  // twice: the handler waits again
    REQUIRE(wait_until([&] {
        auto log = read_file(d / "serve.log");
        return log.find("HUP received") != log.rfind("HUP received");
    }, 10s));
    CHECK(call(port, verb::get, "/api/v1/health", {}, "").res.status == 200);
    ::kill(pid, SIGTERM);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(read_file(d / "serve.log").find("TERM received: stopping") != std::string::npos);
}

TEST_CASE("serve: SIGTERM cancels the run going, the next start resumes it") {
    temp_dir d;
    fs::create_directories(d / "jobs");
    write_tokens(d / "tokens");
    write_file(d / "jobs" / "slow.toml", sleepy_job("slow", 6, 0.8, 2));
    int port = free_loopback_port();
    pid_t pid = start_serve(d.path(), port);
    REQUIRE(call(port, verb::post, "/api/v1/jobs/slow/runs").res.status == 201);
    REQUIRE(wait_until([&] { return read_records(d / "state" / "slow" / "output").size() >= 2; }, 20s));
    ::kill(pid, SIGTERM);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(fs::exists(d / "state" / "slow" / "service-run.json"));
    CHECK(read_records(d / "state" / "slow" / "output").size() < 6);
    pid = start_serve(d.path(), port);
    REQUIRE(wait_until([&] { return read_records(d / "state" / "slow" / "output").size() == 6; }, 30s));
    REQUIRE(wait_until([&] { return !fs::exists(d / "state" / "slow" / "service-run.json"); }, 10s));
    auto runs = json_of(call(port, verb::get, "/api/v1/jobs/slow/runs").res.body).at("runs").as_array();
    REQUIRE(runs.size() == 2);
    CHECK(runs[1].at("status") == "cancelled");
    CHECK(runs[0].at("status") == "finished");
    ::kill(pid, SIGTERM);
    REQUIRE(waitpid(pid, &status, 0) == pid);
}

TEST_CASE("client commands: trigger, runs, logs, events, retry, succeed, hosts, pools and cancel against drover serve, the journal without it") {
    temp_dir d;
    fs::create_directories(d / "jobs");
    write_tokens(d / "tokens");
    write_file(d / "token", std::string(admin_token) + "\n");
    write_file(d / "jobs" / "days.toml", sleepy_job("days", 3, 0.1));
    write_file(d / "jobs" / "fail.toml", failing_job("fail", "something broke"));
    int port = free_loopback_port();
    pid_t pid = start_serve(d.path(), port);
    auto cli = [&](const std::string& args, const std::string& token_file = "token") {
        return run_shell(fmt::format("cd {} && DROVER_URL=http://127.0.0.1:{} {} {} {} 2>&1", d.path().string(), port,
                                     DROVER_CLI_PATH, args, token_file.empty() ? "" : "--token-file " + token_file));
    };
    auto trig = cli("trigger days --param i=2 --param i=3");
    REQUIRE(trig.exit_code == 0);
    auto run_id = trig.output.substr(0, trig.output.find('\n'));
    CHECK(run_id.size() > 10);
    REQUIRE(wait_until([&] { return read_records(d / "state" / "days" / "output").size() == 2; }));
    auto runs = cli("runs days");
    CHECK(runs.exit_code == 0);
    CHECK(runs.output.find(run_id) != std::string::npos);
    CHECK(runs.output.find("RUN ") == 0);
    auto denied = cli("runs days", "");  // no token
    CHECK(denied.exit_code == 2);
    CHECK(denied.output.find("a valid bearer token is needed (HTTP 401)") != std::string::npos);
    CHECK(cli("trigger days --param nope=1").output.find("param override 'nope'") != std::string::npos);
    CHECK(cli("runs nope").output.find("no job 'nope'") != std::string::npos);

    REQUIRE(cli("trigger fail").exit_code == 0);
    REQUIRE(wait_until([&] { return cli("logs fail bad").output.find("exit_code") != std::string::npos; }));
    auto logs = cli("logs fail bad");
    CHECK(logs.output.find("bad: dead after 1 attempt(s)") == 0);
    CHECK(logs.output.find("  | something broke") != std::string::npos);
    auto whole = cli("logs fail bad --attempt 1");
    CHECK(whole.exit_code == 0);
    CHECK(whole.output.find("bad attempt 1 of run ") == 0);
    CHECK(whole.output.find(": 16 byte(s) of stderr\nsomething broke\n") != std::string::npos);
    CHECK(cli("logs fail bad --attempt 1 --bytes 6").output.find("the last 6 shown\nbroke\n") != std::string::npos);
    CHECK(cli("logs fail bad --attempt 7").output.find("no attempt 7 of task 'bad'") != std::string::npos);
    CHECK(cli("logs fail bad --attempt 0").exit_code == 2);
    auto retry = cli("retry fail bad");
    CHECK(retry.exit_code == 0);
    CHECK(retry.output.find("fail: bad runs again") != std::string::npos);
    REQUIRE(wait_until([&] { return cli("logs fail bad --json").output.find("\"attempt\":2") != std::string::npos; }));
    CHECK(cli("retry fail long").exit_code == 1);  // running: nothing to retry
    auto mark = cli("succeed fail long");
    CHECK(mark.exit_code == 1);  // running: cancel it first
    CHECK(mark.output.find("drover: succeed: long is running, succeeded or skipped") != std::string::npos);
    REQUIRE(wait_until([&] { return cli("logs fail bad --json").output.find("\"state\":\"dead\"") != std::string::npos; }));
    auto marked = cli("succeed fail bad");
    CHECK(marked.exit_code == 0);
    CHECK(marked.output.find("fail: bad is marked succeeded") != std::string::npos);
    auto hosts = cli("hosts fail");  // a local executor: no hosts
    CHECK(hosts.exit_code == 0);
    CHECK(hosts.output.find("EXEC") == 0);
    auto add = cli("hosts fail --add 127.0.0.1:1");
    CHECK(add.exit_code == 2);
    CHECK(add.output.find("has no executor with hosts") != std::string::npos);
    CHECK(cli("hosts fail --add a --drain b").exit_code == 2);  // one at a time
    CHECK(cli("hosts fail --executor 1").exit_code == 2);       // --executor goes with --add
    auto pools = cli("pools --json");
    CHECK(pools.exit_code == 0);
    CHECK(pools.output.find("{\"pools\":[]}") == 0);
    auto events = cli("events fail");
    CHECK(events.exit_code == 0);
    CHECK(events.output.find("run_started  run ") != std::string::npos);
    CHECK(events.output.find("task_state   bad dead, attempt 1 on ") != std::string::npos);
    CHECK(events.output.find(": exit code 3\n") != std::string::npos);
    CHECK(events.output.find("task_state   bad succeeded") != std::string::npos);  // marked
    auto events_json = cli("events fail --json --after 1");
    CHECK(events_json.output.find("{\"seq\":2,") == 0);
    CHECK(cli("events fail --after x").exit_code == 2);
    CHECK(cli("events nope").output.find("no job 'nope'") != std::string::npos);
    // --follow prints what comes until it is stopped.
    auto follow = run_shell(fmt::format("cd {}; (sleep 1; DROVER_URL=http://127.0.0.1:{} {} trigger days --fresh --token-file token) "
                                        ">/dev/null & DROVER_URL=http://127.0.0.1:{} timeout 8 {} events days --follow --after 6 "
                                        "--token-file token 2>&1",
                                        d.path().string(), port, DROVER_CLI_PATH, port, DROVER_CLI_PATH));
    CHECK(follow.exit_code == 124);  // stopped by timeout: it was still following
    CHECK(follow.output.find("run_finished run ") != std::string::npos);
    CHECK(follow.output.find("     7 ") == 0);
    auto cancel = cli("cancel fail");
    CHECK(cancel.exit_code == 0);
    REQUIRE(wait_until([&] { return cli("cancel fail").exit_code == 1; }));

    ::kill(pid, SIGTERM);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    // No service: the journal.
    auto offline = cli("runs days --state state");
    CHECK(offline.exit_code == 0);
    CHECK(offline.output.find(run_id) != std::string::npos);
    CHECK(cli("logs fail bad --state state").output.find("  | something broke") != std::string::npos);
    CHECK(cli("logs fail bad --attempt 1 --state state").output.find("\nsomething broke\n") != std::string::npos);
    auto gone = cli("runs days");
    CHECK(gone.exit_code == 2);
    CHECK(gone.output.find("cannot reach the drover service at http://127.0.0.1:") != std::string::npos);
}

TEST_CASE("client logs without a service: --jobs redacts the job file's secrets from the journal's tails and messages, "
          "a job file it cannot read is an error") {
    temp_dir d;
    fs::create_directories(d / "jobs");
    // The task prints its token after "token=" and on a line of its own, then fails.
    write_file(d / "jobs" / "leak.toml", R"(name = "leak"
[defaults]
env = { API_TOKEN = "tok-0123456789abcdef" }
[[tasks]]
id = "bad"
command = ["sh", "-c", "echo \"token=$API_TOKEN\" >&2; echo \"$API_TOKEN\" >&2; exit 3"]
)");
    auto run = run_shell(fmt::format("cd {} && {} run jobs/leak.toml --state state/leak --quiet 2>&1", d.path().string(),
                                     DROVER_CLI_PATH));
    REQUIRE(run.exit_code == 1);
    int port = free_loopback_port();  // nothing listens: the journal is read
    auto cli = [&](const std::string& args) {
        return run_shell(fmt::format("cd {} && DROVER_URL=http://127.0.0.1:{} {} {} 2>&1", d.path().string(), port,
                                     DROVER_CLI_PATH, args));
    };
    // Without --jobs the journal is shown as it is (whoever runs this can read its files).
    CHECK(cli("logs leak bad --state state").output.find("tok-0123456789abcdef") != std::string::npos);
    for (auto args : {"logs leak bad --state state --jobs jobs", "logs leak bad --state state --jobs jobs --json",
                      "logs leak bad --attempt 1 --state state --jobs jobs",
                      "logs leak bad --attempt 1 --state state --jobs jobs --json"}) {
        auto r = cli(args);
        INFO(args, "\n", r.output);
        CHECK(r.exit_code == 0);
        CHECK(r.output.find("tok-0123") == std::string::npos);
        CHECK(r.output.find("token=[redacted]") != std::string::npos);
    }
    // A tail that starts inside the secret shows none of it (the log: "token=tok-...\ntok-...\n").
    auto cut = cli("logs leak bad --attempt 1 --bytes 30 --state state --jobs jobs");
    INFO(cut.output);
    CHECK(cut.exit_code == 0);
    CHECK(cut.output.find("0123") == std::string::npos);
    CHECK(cut.output.find("cdef") == std::string::npos);
    auto missing = cli("logs leak bad --state state --jobs nowhere");
    CHECK(missing.exit_code == 2);
    CHECK(missing.output.find("for the secrets to redact") != std::string::npos);
    CHECK(missing.output.find("tok-0123") == std::string::npos);
}

TEST_CASE("serve: a schedule's tick runs the job, SIGKILL during it and a restart resume that tick - no second run" *
          doctest::timeout(150)) {
    temp_dir d;
    fs::create_directories(d / "jobs");
    write_tokens(d / "tokens");
    // Every minute; two tasks on one slot, 2 s each, print the tick they belong to.
    write_file(d / "jobs" / "tick.toml", R"(name = "tick"
schedule = "* * * * *"
timezone = "UTC"
[[executors]]
kind = "local"
slots = 1
[[tasks]]
id = "t-{i}"
foreach = { i = { from = 1, to = 2 } }
command = ["sh", "-c", "sleep 2; echo \"{\\\"task\\\":\\\"t-{i}\\\",\\\"tick\\\":\\\"$DROVER_TICK\\\"}\""]
)");
    // Not too close to a minute's end: the tick, the kill and the resume fit in one minute.
    auto sec = [] { return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()).time_since_epoch().count() % 60; };
    while (sec() > 45) std::this_thread::sleep_for(200ms);
    int port = free_loopback_port();
    pid_t pid = start_serve(d.path(), port);
    auto job = json_of(call(port, verb::get, "/api/v1/jobs/tick").res.body);
    auto next_ms = job.at("schedule").at("next_fire_ms").as_int64();
    CHECK(next_ms % 60'000 == 0);
    // The tick's run: its first record, then SIGKILL while the second task runs.
    REQUIRE(wait_until([&] { return read_records(d / "state" / "tick" / "output").size() == 1; }, 75s));
    std::this_thread::sleep_for(300ms);  // its journal entry follows the output by a group commit
    kill_cli(pid);
    pid = start_serve(d.path(), port);
    REQUIRE(wait_until([&] { return read_records(d / "state" / "tick" / "output").size() == 2; }, 20s));
    REQUIRE(wait_until([&] { return !fs::exists(d / "state" / "tick" / "service-run.json"); }, 10s));
    auto tick = drover::detail::format_utc(std::chrono::sys_seconds(std::chrono::seconds(next_ms / 1000)));
    CHECK(read_records(d / "state" / "tick" / "output") ==
          std::vector<std::string>{fmt::format(R"({{"task":"t-1","tick":"{}"}})", tick),
                                   fmt::format(R"({{"task":"t-2","tick":"{}"}})", tick)});
    auto runs = json_of(call(port, verb::get, "/api/v1/jobs/tick/runs").res.body).at("runs").as_array();
    REQUIRE(runs.size() == 2);  // the interrupted tick and its resume: the tick did not fire twice
    CHECK(runs[1].at("status") == "interrupted");
    CHECK(runs[0].at("status") == "finished");
    CHECK(runs[0].at("resumed") == 1);
    INFO(read_file(d / "serve.log"));
    CHECK(read_file(d / "serve.log").find("started (schedule)") != std::string::npos);
    CHECK(read_file(d / "serve.log").find("started (resume)") != std::string::npos);
    ::kill(pid, SIGTERM);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
}

TEST_CASE("service https: a certificate of its own, clients that verify it, plain HTTP refused, a rate limit gives 429") {
    temp_dir d;
    fs::create_directories(d / "jobs");
    write_tokens(d / "tokens");
    write_file(d / "jobs" / "days.toml", sleepy_job("days", 1, 0.1));
    auto gen = run_shell(fmt::format(
        "cd {} && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 -subj /CN=127.0.0.1 "
        "-addext subjectAltName=IP:127.0.0.1 2>&1",
        d.path().string()));
    INFO(gen.output);
    REQUIRE(gen.exit_code == 0);
    drover::service svc({.jobs_dir = d / "jobs", .state_dir = d / "state", .listen = "127.0.0.1:0",
                         .tokens_file = d / "tokens", .tls_cert_file = d / "cert.pem", .tls_key_file = d / "key.pem",
                         .rate_limit = 20});
    svc.start();
    auto url = "https://127.0.0.1:" + std::to_string(svc.port());
    drover::service_client good({.url = url, .token = admin_token, .ca_file = (d / "cert.pem").string()});
    CHECK(good.jobs().at("jobs").as_array().size() == 1);
    auto id = good.trigger("days");
    REQUIRE(wait_until([&] { return run_ended(svc, "days"); }));
    CHECK(good.runs("days").at("runs").as_array()[0].at("run_id").as_string() == id);
    // A client that does not know the certificate refuses it.
    drover::service_client strange({.url = url, .token = admin_token});
    try {
        strange.jobs();
        FAIL("no error");
    } catch (const drover::error& e) {
        CHECK(std::string(e.what()).find("certificate verify failed") != std::string::npos);
    }
    // Plain HTTP on the TLS port gets no answer.
    CHECK_FALSE(call(svc.port(), verb::get, "/api/v1/health", {}, ""));
    // 20 requests a second, bursts of 40: a quick burst of 60 sees 429s with Retry-After.
    int limited = 0;
    for (int i = 0; i < 60; ++i) {
        try {
            good.jobs();
        } catch (const drover::error& e) {
            CHECK(std::string(e.what()).find("too many requests from this address (HTTP 429)") != std::string::npos);
            ++limited;
        }
    }
    CHECK(limited >= 10);
    std::this_thread::sleep_for(1s);
    CHECK_NOTHROW(good.jobs());  // the bucket fills again
    CHECK_THROWS_AS(drover::service({.jobs_dir = d / "jobs", .state_dir = d / "state", .listen = "127.0.0.1:0",
                                     .tls_cert_file = d / "cert.pem"})
                        .start(),
                    drover::config_error);  // a certificate without its key
    CHECK_THROWS_AS(drover::service({.jobs_dir = d / "jobs", .state_dir = d / "state", .listen = "127.0.0.1:0",
                                     .tls_cert_file = d / "key.pem", .tls_key_file = d / "key.pem"})
                        .start(),
                    drover::config_error);  // not a certificate
}

TEST_CASE("serve options: --tls-cert, --tls-key, --rate-limit and --pool reach the service - mistakes exit 2") {
    temp_dir d;
    fs::create_directories(d / "jobs");
    write_tokens(d / "tokens");
    write_file(d / "token", std::string(admin_token) + "\n");
    write_file(d / "jobs" / "days.toml", sleepy_job("days", 2, 0.1));
    auto gen = run_shell(fmt::format(
        "cd {} && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 -subj /CN=127.0.0.1 "
        "-addext subjectAltName=IP:127.0.0.1 2>&1",
        d.path().string()));
    REQUIRE(gen.exit_code == 0);
    auto serve = [&](const std::string& extra) {
        return run_shell(fmt::format("cd {} && timeout 20 {} serve --jobs jobs --state state --listen 127.0.0.1:0 "
                                     "--tokens tokens {} 2>&1",
                                     d.path().string(), DROVER_CLI_PATH, extra));
    };
    for (const char* bad : {"--pool heavy", "--pool heavy=0", "--pool =2", "--pool 'a b=1'", "--pool h=1 --pool h=2",
                            "--rate-limit -1", "--tls-cert cert.pem"}) {
        CAPTURE(bad);
        auto r = serve(bad);
        CHECK(r.exit_code == 2);
    }
    CHECK(serve("--pool heavy").output.find("--pool 'heavy': give NAME=N with N at least 1") != std::string::npos);

    int port = free_loopback_port();
    std::string cmd = fmt::format(
        "cd {0} && exec {1} serve --jobs jobs --state state --listen 127.0.0.1:{2} --tokens tokens --tls-cert cert.pem "
        "--tls-key key.pem --rate-limit 1000 --pool heavy=3 --pool gpu=1 >> serve.log 2>&1",
        d.path().string(), DROVER_CLI_PATH, port);
    const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
    pid_t pid = -1;
    REQUIRE(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) == 0);
    auto cli = [&](const std::string& args) {
        return run_shell(fmt::format("cd {} && {} {} --url https://127.0.0.1:{} --token-file token --ca-file cert.pem 2>&1",
                                     d.path().string(), DROVER_CLI_PATH, args, port));
    };
    REQUIRE(wait_until([&] { return cli("pools").exit_code == 0; }, 20s));
    auto pools = cli("pools");
    CHECK(pools.output.find("POOL") == 0);
    CHECK(pools.output.find("gpu") != std::string::npos);
    CHECK(cli("pools --json").output.find(R"({"pools":[{"name":"gpu","limit":1,"in_use":0,"waiting":0},{"name":"heavy","limit":3,"in_use":0,"waiting":0}]})") == 0);
    ::kill(pid, SIGTERM);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
}
