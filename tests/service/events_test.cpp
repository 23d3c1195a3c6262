// A job's events (service::task_events, GET /api/v1/jobs/{job}/events and its Server-Sent
// Events stream): real runs of local processes, the API without sockets, then the stream over
// a real socket with a reader that resumes, one that never reads, and a job that goes away.
#include "service/api.hpp"
#include "service/task_events.hpp"
#include "service/tokens.hpp"
#include "service_support.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>

using namespace drover::test;
using namespace std::chrono_literals;
namespace json = boost::json;
namespace detail = drover::detail;

namespace {

struct events_fixture {
    temp_dir d;
    std::unique_ptr<drover::service> svc;
    detail::token_set tokens;
    std::unique_ptr<detail::service_api> api;

    explicit events_fixture(std::string listen = "") {
        fs::create_directories(d / "jobs");
        write_file(d / "jobs" / "days.toml", sleepy_job("days", 3, 0.05));
        write_tokens(d / "tokens");
        tokens = detail::token_set::load(d / "tokens");
        svc = std::make_unique<drover::service>(drover::service_options{
            .jobs_dir = d / "jobs", .state_dir = d / "state", .listen = std::move(listen), .tokens_file = d / "tokens"});
        svc->start();
        api = std::make_unique<detail::service_api>(*svc, tokens);
    }
    ~events_fixture() { svc->stop(); }
};

// kind/task/state of each event, e.g. "task_state t-1 succeeded".
std::vector<std::string> event_lines(const std::vector<drover::service_task_event>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.kind + (e.task.empty() ? "" : " " + e.task) + (e.state.empty() ? "" : " " + e.state));
    return out;
}

bool has_line(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

}  // namespace

TEST_CASE("task event log: a reader behind the ring learns how many it lost, a number from before a restart reads from the oldest") {
    detail::task_event_log log(3);
    CHECK(log.read(0, 10).events.empty());
    CHECK(log.read(0, 10).last_seq == 0);
    log.begin_run("r1");
    drover::task_spec t;
    for (int i = 1; i <= 5; ++i) {
        t.id = "t" + std::to_string(i);
        log.on_task_started(t, 1, "local");
    }
    auto all = log.read(0, 10);
    CHECK(all.last_seq == 5);
    CHECK(all.lost == 2);  // 1 and 2 are gone
    REQUIRE(all.events.size() == 3);
    CHECK(all.events[0].seq == 3);
    CHECK(all.events[0].task == "t3");
    CHECK(all.events[2].run_id == "r1");
    auto on = log.read(3, 1);
    CHECK(on.lost == 0);
    REQUIRE(on.events.size() == 1);
    CHECK(on.events[0].seq == 4);
    CHECK(log.read(5, 10).events.empty());
    auto restarted = log.read(900, 10);  // a reader's number from before a restart
    REQUIRE(restarted.events.size() == 3);
    CHECK(restarted.events[0].seq == 3);
    CHECK(log.read(0, 0).events.empty());
}

TEST_CASE("service events: a run's events in order, numbered on over runs - a dead task's failure, a cancelled task, secrets redacted") {
    events_fixture f;
    auto& svc = *f.svc;
    svc.trigger("days");
    REQUIRE(wait_until([&] { return run_ended(svc, "days"); }));
    auto got = svc.task_events("days");
    auto lines = event_lines(got.events);
    INFO(fmt::format("{}", fmt::join(lines, " | ")));
    REQUIRE(got.events.size() == 8);  // run_started, 3 x (started, succeeded), run_finished
    CHECK(lines.front() == "run_started");
    CHECK(lines.back() == "run_finished succeeded");
    CHECK(got.events.front().tasks == 3);
    for (int i = 1; i <= 3; ++i) {
        auto id = "t-" + std::to_string(i);
        auto started = std::find(lines.begin(), lines.end(), "task_started " + id + " running");
        auto done = std::find(lines.begin(), lines.end(), "task_state " + id + " succeeded");
        CHECK(started < done);
        CHECK(done != lines.end());
    }
    for (std::size_t i = 0; i < got.events.size(); ++i) {
        CHECK(got.events[i].seq == i + 1);
        CHECK(got.events[i].run_id == svc.job("days").last_run_id);
        CHECK(got.events[i].time_ms > 1'700'000'000'000);
    }
    auto ok = std::find_if(got.events.begin(), got.events.end(), [](auto& e) { return e.kind == "task_state"; });
    CHECK(ok->failure == "none");
    CHECK(ok->exit_code == 0);
    CHECK(ok->records == 1);
    CHECK(ok->attempt == 1);
    CHECK(ok->executor.find("local") == 0);
    CHECK(got.last_seq == 8);

    // Another job: a dead task with its exit code, a secret in its message redacted, a
    // running task cancelled on its own.
    write_file(f.d / "jobs" / "ctl.toml", R"(name = "ctl"
[defaults]
env = { API_TOKEN = "tok-0123456789-secret" }
[[tasks]]
id = "bad"
command = ["sh", "-c", "exit 3"]
retries = 0
[[tasks]]
id = "after"
after = ["bad"]
command = ["true"]
[[tasks]]
id = "long"
command = ["sleep", "30"]
)");
    svc.reload();
    svc.trigger("ctl");
    REQUIRE(wait_until([&] { return svc.job("ctl").counts.dead == 1 && svc.job("ctl").counts.running == 1; }));
    CHECK(svc.cancel_task("ctl", "long"));
    REQUIRE(wait_until([&] { return run_ended(svc, "ctl"); }));
    auto c = svc.task_events("ctl");
    auto cl = event_lines(c.events);
    INFO(fmt::format("{}", fmt::join(cl, " | ")));
    CHECK(has_line(cl, "task_state bad dead"));
    CHECK(has_line(cl, "task_state after upstream_failed"));
    CHECK(has_line(cl, "task_state long cancelled"));
    CHECK(cl.back() == "run_finished failed");
    auto dead = std::find_if(c.events.begin(), c.events.end(), [](auto& e) { return e.task == "bad" && e.kind == "task_state"; });
    CHECK(dead->failure == "exit_code");
    CHECK(dead->exit_code == 3);
    CHECK(dead->message == "exit code 3");
    CHECK(c.events.front().seq == 1);  // numbered per job

    // The same job again: numbers go on, the new run's id.
    svc.trigger("days", {.fresh = true});
    REQUIRE(wait_until([&] { return run_ended(svc, "days") && svc.task_events("days").last_seq == 16; }));
    auto second = svc.task_events("days", 8);
    REQUIRE(second.events.size() == 8);
    CHECK(second.events.front().seq == 9);
    CHECK(second.events.front().kind == "run_started");
    CHECK(second.events.front().run_id != got.events.front().run_id);
    CHECK(svc.task_events("days", 8, 2).events.size() == 2);
    CHECK_THROWS_AS(svc.task_events("nope"), drover::not_found_error);

    // A secret a task's message carries: redacted.
    write_file(f.d / "jobs" / "leaky.toml", R"(name = "leaky"
[defaults]
env = { API_TOKEN = "tok-0123456789-secret" }
[[tasks]]
id = "leak"
command = ["/nonexistent/tok-0123456789-secret"]
retries = 0
)");
    svc.reload();
    svc.trigger("leaky");
    REQUIRE(wait_until([&] { return run_ended(svc, "leaky"); }));
    auto leaky = svc.task_events("leaky").events;
    auto spawn = std::find_if(leaky.begin(), leaky.end(), [](auto& e) { return e.kind == "task_state"; });
    REQUIRE(spawn != leaky.end());
    CHECK(spawn->failure == "spawn_error");
    CHECK(spawn->message.find("cannot start '/nonexistent/[redacted]'") == 0);
    for (const char* job : {"leaky", "ctl"}) {
        auto body = f.api->handle(api_get(std::string("/api/v1/jobs/") + job + "/events")).body;
        CHECK(body.find("tok-0123456789-secret") == std::string::npos);
    }
}

TEST_CASE("service events api: the JSON page fits what service::task_events says, bad numbers are 400 naming the field") {
    events_fixture f;
    f.svc->trigger("days");
    REQUIRE(wait_until([&] { return run_ended(*f.svc, "days"); }));
    auto a = f.api->handle(api_get("/api/v1/jobs/days/events?after=2&limit=3"));
    REQUIRE(a.status == 200);
    auto v = json_of(a.body);
    CHECK(v.at("last_seq") == 8);
    CHECK(v.at("lost") == 0);
    auto& events = v.at("events").as_array();
    REQUIRE(events.size() == 3);
    CHECK(events[0].at("seq") == 3);
    CHECK(events[2].at("seq") == 5);
    auto all = json_of(f.api->handle(api_get("/api/v1/jobs/days/events")).body);
    CHECK(all.at("events").as_array().size() == 8);
    CHECK(all.at("events").at(0).at("kind") == "run_started");
    CHECK(all.at("events").at(0).at("tasks") == 3);
    CHECK(all.at("events").at(7).at("state") == "succeeded");

    auto refused = [&](detail::http_request r, const char* field) {
        auto x = f.api->handle(r);
        CHECK(x.status == 400);
        CHECK(json_of(x.body).at("field") == field);
    };
    refused(api_get("/api/v1/jobs/days/events?after=x"), "after");
    refused(api_get("/api/v1/jobs/days/events?after=-1"), "after");
    refused(api_get("/api/v1/jobs/days/events?limit=10001"), "limit");
    refused(api_get("/api/v1/jobs/days/events/stream", {{"Last-Event-ID", "12abc"}}), "Last-Event-ID");
    refused(api_get("/api/v1/jobs/days/events/stream", {{"Last-Event-ID", "99999999999999999999999"}}), "Last-Event-ID");
    CHECK(f.api->handle(api_get("/api/v1/jobs/nope/events")).status == 404);
    CHECK(f.api->handle(api_get("/api/v1/jobs/nope/events/stream")).status == 404);
    CHECK(f.api->handle(api_get("/api/v1/jobs/days/events/more")).status == 404);
    auto post = api_get("/api/v1/jobs/days/events");
    post.method = "POST";
    CHECK(f.api->handle(post).status == 405);
    CHECK(f.api->handle({"GET", "/api/v1/jobs/days/events", {}, {}}).status == 401);

    // The stream, without a socket: what is new at each call, with the numbers as ids.
    auto s = f.api->handle(api_get("/api/v1/jobs/days/events/stream", {{"Last-Event-ID", "6"}}));
    REQUIRE(s.status == 200);
    CHECK(s.content_type == "text/event-stream");
    REQUIRE(s.next_event);
    auto first = s.next_event();
    CHECK(first.find("id: 7\nevent: task_") == 0);
    CHECK(first.find("id: 8\nevent: run_finished\ndata: {\"seq\":8,") != std::string::npos);
    CHECK(s.next_event().empty());  // nothing new
    f.svc->trigger("days", {.fresh = true});
    REQUIRE(wait_until([&] { return run_ended(*f.svc, "days") && f.svc->task_events("days").last_seq == 16; }));
    auto next = s.next_event();
    CHECK(next.find("id: 9\nevent: run_started\n") == 0);
    CHECK(next.find("id: 16\nevent: run_finished\n") != std::string::npos);
}

TEST_CASE("service events stream: over a socket, resumed by Last-Event-ID - a reader that never reads holds nothing up, a removed job ends it") {
    events_fixture f("127.0.0.1:0");
    auto port = f.svc->port();
    namespace asio = boost::asio;
    asio::io_context io;
    auto open_stream = [&](const std::string& extra) {
        auto s = std::make_unique<asio::ip::tcp::socket>(io);
        s->connect({asio::ip::make_address("127.0.0.1"), port});
        timeval tv{1, 0};
        ::setsockopt(s->native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        asio::write(*s, asio::buffer(fmt::format("GET /api/v1/jobs/days/events/stream HTTP/1.1\r\nHost: x\r\n"
                                                 "Authorization: Bearer {}\r\n{}\r\n",
                                                 admin_token, extra)));
        return s;
    };
    // Reads until `until` appears (or 30 s pass, or the server closes).
    auto read_until = [](asio::ip::tcp::socket& s, const std::string& until, std::string& out) {
        auto end = std::chrono::steady_clock::now() + 30s;
        char buf[4096];
        while (out.find(until) == std::string::npos && std::chrono::steady_clock::now() < end) {
            boost::system::error_code ec;
            auto n = s.read_some(asio::buffer(buf), ec);
            out.append(buf, n);
            if (ec && ec != asio::error::would_block && ec != asio::error::try_again) return false;
        }
        return out.find(until) != std::string::npos;
    };

    auto reader = open_stream("");
    auto stuck = open_stream("");  // never read: its socket buffers fill, the service goes on
    std::string got;
    REQUIRE(read_until(*reader, "\r\n\r\n", got));
    CHECK(got.find("HTTP/1.1 200 OK") == 0);
    CHECK(got.find("Content-Type: text/event-stream") != std::string::npos);
    f.svc->trigger("days");
    REQUIRE(read_until(*reader, "event: run_finished", got));
    CHECK(got.find("id: 1\nevent: run_started\ndata: {\"seq\":1,") != std::string::npos);
    CHECK(got.find("\"task\":\"t-3\",\"state\":\"succeeded\"") != std::string::npos);
    REQUIRE(wait_until([&] { return run_ended(*f.svc, "days"); }));

    // Many runs while `stuck` reads nothing: they all finish.
    for (int i = 0; i < 3; ++i) {
        f.svc->trigger("days", {.fresh = true});
        REQUIRE(wait_until([&] { return run_ended(*f.svc, "days"); }));
    }
    CHECK(f.svc->task_events("days").last_seq == 32);

    // A reconnecting reader with the last id it saw gets what came after, nothing twice.
    auto again = open_stream("Last-Event-ID: 30\r\n");
    std::string more;
    REQUIRE(read_until(*again, "id: 32\n", more));
    CHECK(more.find("id: 30\n") == std::string::npos);
    CHECK(more.find("id: 31\nevent: task_state\n") != std::string::npos);

    // The job's file goes: its stream ends (the server closes the connection).
    fs::remove(f.d / "jobs" / "days.toml");
    f.svc->reload();
    std::string rest;
    CHECK_FALSE(read_until(*again, "never-sent", rest));
}
