// The service's HTTP API without sockets: service_api::handle over a real service (real job
// files, real runs of local processes), and the bearer tokens.
#include "service/api.hpp"
#include "service/tokens.hpp"
#include "service_support.hpp"
#include "support/slow_commit_sink.hpp"

#include <algorithm>
#include <map>

using namespace drover::test;
namespace json = boost::json;
namespace detail = drover::detail;

namespace {

detail::http_request req(std::string method, std::string target, std::string body = {},
                         std::string token = admin_token, std::string content_type = "application/json") {
    detail::http_request r{std::move(method), std::move(target), {}, std::move(body)};
    if (!token.empty()) r.headers.emplace_back("Authorization", "Bearer " + token);
    if (!r.body.empty()) r.headers.emplace_back("Content-Type", content_type);
    return r;
}

struct api_fixture {
    temp_dir d;
    std::unique_ptr<drover::service> svc;
    detail::token_set tokens;
    std::unique_ptr<detail::service_api> api;

    explicit api_fixture(bool with_tokens = true) {
        fs::create_directories(d / "jobs");
        write_file(d / "jobs" / "days.toml", sleepy_job("days", 4, 0.2));
        write_file(d / "jobs" / "long.toml", sleepy_job("long", 2, 30));
        write_file(d / "jobs" / "broken.toml", "name = \"broken\"\n[[tasks]]\nid = \"x\"\ncommand = 7\n");
        svc = std::make_unique<drover::service>(
            drover::service_options{.jobs_dir = d / "jobs", .state_dir = d / "state", .listen = ""});
        svc->start();
        if (with_tokens) {
            write_tokens(d / "tokens");
            tokens = detail::token_set::load(d / "tokens");
        }
        api = std::make_unique<detail::service_api>(*svc, tokens);
    }
    ~api_fixture() { svc->stop(); }
    detail::http_answer operator()(const detail::http_request& r) const { return api->handle(r); }
};

std::string error_of(const detail::http_answer& a) {
    auto v = json_of(a.body);
    REQUIRE(v.is_object());
    REQUIRE(v.as_object().contains("error"));
    return std::string(v.at("error").as_string());
}

}  // namespace

TEST_CASE("service tokens: the file's mistakes name file and line, tokens compare whole") {
    using detail::token_set;
    auto t = token_set::parse("# comment\n\nadmin aaaaaaaaaaaaaaaa1\n  read   bbbbbbbbbbbbbbbb2  \n", "tok");
    CHECK(t.check("aaaaaaaaaaaaaaaa1") == detail::api_scope::admin);
    CHECK(t.check("bbbbbbbbbbbbbbbb2") == detail::api_scope::read);
    CHECK_FALSE(t.check("aaaaaaaaaaaaaaaa"));  // a prefix is not the token
    CHECK_FALSE(t.check("aaaaaaaaaaaaaaaa12"));
    CHECK_FALSE(t.check(""));
    struct bad {
        const char* text;
        const char* message;
    };
    for (auto b : {bad{"admin short\n", "tok:1: a token must have at least 16 characters"},
                   bad{"\nroot aaaaaaaaaaaaaaaa1\n", "tok:2: unknown scope (admin or read)"},
                   bad{"admin aaaaaaaaaaaaaaaa1 extra\n", "tok:1: expected \"admin TOKEN\" or \"read TOKEN\""},
                   bad{"admin aaaaaaaaaaaaaaaa1\nread aaaaaaaaaaaaaaaa1\n", "tok:2: the same token is listed twice"},
                   bad{"# nothing\n", "tok: no tokens"}}) {
        CAPTURE(b.text);
        try {
            token_set::parse(b.text, "tok");
            FAIL("no error");
        } catch (const drover::config_error& e) {
            CHECK(std::string(e.what()).find(b.message) == 0);
        }
    }
    CHECK(detail::bearer_token("Bearer abc") == std::string_view("abc"));
    CHECK(detail::bearer_token("bearer   abc ") == std::string_view("abc"));
    CHECK_FALSE(detail::bearer_token("Basic abc"));
    CHECK_FALSE(detail::bearer_token("Bearer "));
    CHECK_FALSE(detail::bearer_token(""));
}

TEST_CASE("service api: tokens decide - 401 without a valid one, 403 for a read token that changes, none = read-only") {
    api_fixture f;
    CHECK(f(req("GET", "/api/v1/jobs", {}, "")).status == 401);
    auto no = f(req("GET", "/api/v1/jobs", {}, "wrong-token-0123456789"));
    CHECK(no.status == 401);
    bool challenge = false;
    for (auto& [k, v] : no.headers) challenge = challenge || (k == "WWW-Authenticate" && v.find("Bearer") == 0);
    CHECK(challenge);
    CHECK(f(req("GET", "/api/v1/jobs", {}, read_token)).status == 200);
    CHECK(f(req("GET", "/metrics", {}, read_token)).status == 200);
    CHECK(f(req("GET", "/metrics", {}, "")).status == 401);
    auto ro = f(req("POST", "/api/v1/jobs/days/runs", "{}", read_token));
    CHECK(ro.status == 403);
    CHECK(error_of(ro) == "this token may only read");
    CHECK(f(req("GET", "/api/v1/health", {}, "")).status == 200);  // for load balancers

    api_fixture open(false);
    CHECK(open(req("GET", "/api/v1/jobs", {}, "")).status == 200);
    auto refused = open(req("POST", "/api/v1/jobs/days/runs", "{}", ""));
    CHECK(refused.status == 403);
    CHECK(error_of(refused).find("no tokens file") != std::string::npos);
}

TEST_CASE("service api: jobs are listed with their errors, a trigger runs the job with its parameters") {
    api_fixture f;
    auto list = f(req("GET", "/api/v1/jobs"));
    REQUIRE(list.status == 200);
    auto jobs = json_of(list.body).at("jobs").as_array();
    REQUIRE(jobs.size() == 3);
    CHECK(jobs[0].at("key") == "broken");
    CHECK(jobs[0].at("loads") == false);
    auto err = std::string(jobs[0].at("error").as_string());
    CHECK(err.find("broken.toml:4:") != std::string::npos);
    CHECK(err.find("command") != std::string::npos);
    CHECK(jobs[1].at("key") == "days");
    CHECK(jobs[1].at("tasks") == 4);

    auto t = f(req("POST", "/api/v1/jobs/days/runs", R"({"params":{"i":["2","3"]}})"));
    REQUIRE(t.status == 201);
    auto run_id = std::string(json_of(t.body).at("run_id").as_string());
    CHECK_FALSE(run_id.empty());
    bool location = false;
    for (auto& [k, v] : t.headers) location = location || (k == "Location" && v == "/api/v1/jobs/days/runs/" + run_id);
    CHECK(location);
    REQUIRE(wait_until([&] { return run_ended(*f.svc, "days"); }));
    auto job = f.svc->job("days");
    CHECK(job.last_run_id == run_id);
    CHECK(job.last_result == "succeeded");
    auto records = read_records(f.d / "state" / "days" / "output");
    CHECK(records == std::vector<std::string>{R"({"task":"t-2"})", R"({"task":"t-3"})"});

    auto one = f(req("GET", "/api/v1/jobs/days/runs/" + run_id));  // where Location pointed
    REQUIRE(one.status == 200);
    CHECK(json_of(one.body).at("records") == 2);
    CHECK(f(req("GET", "/api/v1/jobs/days/runs/20990101T000000Z-0000")).status == 404);
    auto runs = json_of(f(req("GET", "/api/v1/jobs/days/runs")).body).at("runs").as_array();
    REQUIRE(runs.size() == 1);
    CHECK(runs[0].at("run_id").as_string() == run_id);
    CHECK(runs[0].at("status") == "finished");
    CHECK(runs[0].at("succeeded") == 2);
    auto tasks = json_of(f(req("GET", "/api/v1/jobs/days/tasks?state=succeeded&limit=1")).body);
    CHECK(tasks.at("total") == 2);
    REQUIRE(tasks.at("tasks").as_array().size() == 1);
    CHECK(tasks.at("tasks").as_array()[0].at("id") == "t-2");
    auto task = json_of(f(req("GET", "/api/v1/jobs/days/tasks/t-3")).body);
    CHECK(task.at("state") == "succeeded");
    CHECK(task.at("attempts").as_array().size() == 1);
    CHECK(task.at("attempts").as_array()[0].at("exit_code") == 0);
    CHECK(f(req("GET", "/api/v1/jobs/days/tasks/t-4")).status == 404);  // not in this run's journal
    auto detail = json_of(f(req("GET", "/api/v1/jobs/days")).body);
    CHECK(detail.at("journal").at("counts").at("succeeded") == 2);
    CHECK(detail.at("last_run").at("result") == "succeeded");
}

TEST_CASE("service api: a second trigger while a run goes is 409, cancel ends the run, a job that does not load is 400") {
    api_fixture f;
    REQUIRE(f(req("POST", "/api/v1/jobs/long/runs")).status == 201);
    auto again = f(req("POST", "/api/v1/jobs/long/runs"));
    CHECK(again.status == 409);
    CHECK(error_of(again).find("is going") != std::string::npos);
    REQUIRE(wait_until([&] { return f.svc->job("long").counts.running == 2; }));
    auto c = f(req("POST", "/api/v1/jobs/long/cancel"));
    CHECK(c.status == 200);
    CHECK(json_of(c.body).at("cancelled") == true);
    REQUIRE(wait_until([&] { return run_ended(*f.svc, "long"); }, std::chrono::seconds(10)));
    CHECK(f.svc->job("long").last_result == "cancelled");
    CHECK(json_of(f(req("POST", "/api/v1/jobs/long/cancel")).body).at("cancelled") == false);
    CHECK_FALSE(fs::exists(f.d / "state" / "long" / "service-run.json"));  // cancelled on request: not resumed

    auto broken = f(req("POST", "/api/v1/jobs/broken/runs"));
    CHECK(broken.status == 400);
    CHECK(error_of(broken).find("broken.toml:4:") != std::string::npos);
}

TEST_CASE("service api: a trigger as soon as the job shows no run going starts the next run - no 409 while the last one is let go") {
    api_fixture f;
    for (int i = 0; i < 8; ++i) {
        auto a = f(req("POST", "/api/v1/jobs/days/runs"));
        INFO("run " << i << ": " << a.body);
        REQUIRE(a.status == 201);
        // Ask as fast as we can: the moment the run shows as ended, before the jobs thread
        // has let it go, is the one where a trigger used to get 409.
        auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (!f.svc->job("days").run_id.empty() && std::chrono::steady_clock::now() < end) std::this_thread::yield();
        REQUIRE(f.svc->job("days").run_id.empty());
    }
    auto last = f(req("POST", "/api/v1/jobs/days/runs"));
    CHECK(last.status == 201);
    REQUIRE(wait_until([&] { return run_ended(*f.svc, "days"); }, std::chrono::seconds(10)));
    CHECK(f.svc->job("days").last_result == "succeeded");
    CHECK_FALSE(fs::exists(f.d / "state" / "days" / "service-run.json"));
    CHECK(json_of(f(req("GET", "/api/v1/jobs/days/runs")).body).at("runs").as_array().size() == 9);
}

TEST_CASE("service api: bad requests name what is wrong") {
    api_fixture f;
    struct bad {
        detail::http_request r;
        unsigned status;
        const char* error;
        const char* field;
    };
    std::vector<bad> cases{
        {req("POST", "/api/v1/jobs/days/runs", R"({"params":)"), 400, "malformed JSON", ""},
        {req("POST", "/api/v1/jobs/days/runs", R"([1])"), 400, "the request body must be a JSON object", ""},
        {req("POST", "/api/v1/jobs/days/runs", R"({"parms":{}})"), 400, "unknown field 'parms'", "parms"},
        {req("POST", "/api/v1/jobs/days/runs", R"({"params":{"i":5}})"), 400, "params.i: must be a string", "params.i"},
        {req("POST", "/api/v1/jobs/days/runs", R"({"params":{"i":["1",2]}})"), 400, "params.i: values must be strings", "params.i"},
        {req("POST", "/api/v1/jobs/days/runs", R"({"params":[]})"), 400, "params: must be an object", "params"},
        {req("POST", "/api/v1/jobs/days/runs", R"({"fresh":"yes"})"), 400, "fresh: must be true or false", "fresh"},
        {req("POST", "/api/v1/jobs/days/runs", R"({"params":{"nope":"1"}})"), 400, "param override 'nope'", ""},
        {req("POST", "/api/v1/jobs/days/runs", R"({"params":{"i":"x"}})"), 400, "", ""},
        {req("POST", "/api/v1/jobs/days/runs", "a=1", admin_token, "application/x-www-form-urlencoded"), 415,
         "the request body must be application/json", ""},
        {req("POST", "/api/v1/jobs/days/cancel", R"({"x":1})"), 400, "unknown field 'x'", "x"},
        {req("GET", "/api/v1/jobs/nope"), 404, "no job 'nope'", ""},
        {req("GET", "/api/v1/nothing"), 404, "no such endpoint", ""},
        {req("GET", "/api/v1/jobs/days/bogus"), 404, "no such endpoint", ""},
        {req("DELETE", "/api/v1/jobs"), 405, "use GET", ""},
        {req("GET", "/api/v1/jobs/days/cancel"), 405, "use POST", ""},
        {req("GET", "/api/v1/jobs/d%zzays"), 400, "bad percent-encoding in the URL", ""},
        // Not UTF-8 once decoded: quoted in the message, which stays valid JSON (found by fuzzing).
        {req("GET", "/api/v1/jobs/j%ACob"), 404, "no job 'j\xEF\xBF\xBDob'", ""},
        {req("GET", "/api/v1/jobs/days/runs?limit=-1"), 400, "limit: must be a whole number", "limit"},
        {req("GET", "/api/v1/jobs/days/tasks?offset=1e3"), 400, "offset: must be a whole number", "offset"},
        {req("POST", "/api/v1/jobs/days/tasks/t-1/retry"), 409, "days: no run is going", ""},
        {req("POST", "/api/v1/jobs/days/tasks", R"({"tasks":[{"id":"x","command":["true"]}]})"), 409,
         "days: no run is going", ""},
        {req("GET", "relative"), 400, "the request target must be a path", ""},
        {req("GET", "/api/v1/jobs/days/tasks?state=ready"), 400, "state: not a task state", "state"},
        {req("GET", "/api/v1/jobs/days/tasks?state=bogus"), 400, "state: not a task state", "state"},
        {req("HEAD", "/api/v1/jobs"), 405, "use GET", ""},
        {req("POST", "/api/v1/health"), 405, "use GET", ""},
        {req("POST", "/api/v1/jobs/days/runs/x"), 405, "use GET", ""},
    };
    for (auto& b : cases) {
        CAPTURE(b.r.method);
        CAPTURE(b.r.target);
        CAPTURE(b.r.body);
        auto a = f(b.r);
        CHECK(a.status == b.status);
        auto v = json_of(a.body);
        CHECK(std::string(v.at("error").as_string()).find(b.error) == 0);
        if (*b.field) CHECK(v.at("field") == b.field);
    }
    CHECK(f.svc->job("days").last_run_id.empty());  // none of them started a run
}

TEST_CASE("service api: tasks submitted into a running run, retry and cancel of single tasks") {
    api_fixture f;
    temp_dir marks;
    // One task fails until a mark exists; one runs long so the run stays while we act.
    write_file(f.d / "jobs" / "ctl.toml", fmt::format(R"(name = "ctl"
[[executors]]
kind = "local"
slots = 4
[[tasks]]
id = "flaky"
command = ["sh", "-c", "test -e {0}/ok && echo '{{\"task\":\"flaky\"}}'"]
[[tasks]]
id = "long"
command = ["sleep", "30"]
)",
                                                      marks.path().string()));
    f.svc->reload();
    REQUIRE(f(req("POST", "/api/v1/jobs/ctl/runs")).status == 201);
    REQUIRE(wait_until([&] { return f.svc->job("ctl").counts.dead == 1; }));
    write_file(marks / "ok", "");
    auto r = f(req("POST", "/api/v1/jobs/ctl/tasks/flaky/retry"));
    CHECK(r.status == 200);
    CHECK(json_of(r.body).at("retried") == true);
    REQUIRE(wait_until([&] { return f.svc->job("ctl").counts.succeeded == 1; }));
    CHECK(f(req("POST", "/api/v1/jobs/ctl/tasks/nope/retry")).status == 404);

    auto bad = f(req("POST", "/api/v1/jobs/ctl/tasks", R"({"tasks":[{"id":"x","command":["true"],"timeout":"soon"}]})"));
    CHECK(bad.status == 400);
    CHECK(json_of(bad.body).at("field") == "tasks[0].timeout");
    CHECK(f(req("POST", "/api/v1/jobs/ctl/tasks", R"({"tasks":[]})")).status == 400);
    auto sub = f(req("POST", "/api/v1/jobs/ctl/tasks",
                     R"({"tasks":[{"id":"late","command":["sh","-c","echo '{\"task\":\"late\"}'"]}]})"));
    CHECK(sub.status == 201);
    CHECK(json_of(sub.body).at("submitted") == 1);
    REQUIRE(wait_until([&] { return f.svc->job("ctl").counts.succeeded == 2; }));

    auto c = f(req("POST", "/api/v1/jobs/ctl/tasks/long/cancel"));
    CHECK(c.status == 200);
    CHECK(json_of(c.body).at("cancelled") == true);
    REQUIRE(wait_until([&] { return run_ended(*f.svc, "ctl"); }));
    CHECK(read_records(f.d / "state" / "ctl" / "output") ==
          std::vector<std::string>{R"({"task":"flaky"})", R"({"task":"late"})"});
}

TEST_CASE("service api: /metrics is the Prometheus text format with the job's counters") {
    api_fixture f;
    REQUIRE(f(req("POST", "/api/v1/jobs/days/runs")).status == 201);
    REQUIRE(wait_until([&] { return run_ended(*f.svc, "days"); }));
    auto m = f(req("GET", "/metrics"));
    REQUIRE(m.status == 200);
    CHECK(m.content_type.find("text/plain; version=0.0.4") == 0);
    auto& t = m.body;
    CHECK(t.find("# TYPE drover_attempts_finished_total counter\n") != std::string::npos);
    CHECK(t.find("drover_attempts_finished_total{drover_job=\"days\",outcome=\"success\"} 4\n") != std::string::npos);
    CHECK(t.find("drover_tasks{drover_job=\"days\",state=\"succeeded\"} 4\n") != std::string::npos);
    CHECK(t.find("drover_records_total{drover_job=\"days\"} 4\n") != std::string::npos);
    CHECK(t.find("drover_runs_total{drover_job=\"days\",result=\"succeeded\"} 1\n") != std::string::npos);
    CHECK(t.find("drover_attempt_duration_seconds_bucket{drover_job=\"days\",le=\"+Inf\"} 4\n") != std::string::npos);
    CHECK(t.find("drover_attempt_duration_seconds_bucket{drover_job=\"days\",le=\"0.1\"} 0\n") != std::string::npos);
    CHECK(t.find("drover_job_loaded{drover_job=\"broken\"} 0\n") != std::string::npos);
    // The sink's bytes and commit times, the journal's commit lag.
    CHECK(t.find("drover_sink_commit_duration_seconds_count{drover_job=\"days\"} 4\n") != std::string::npos);
    CHECK(t.find("drover_sink_bytes_total{drover_job=\"days\"} 0\n") == std::string::npos);
    CHECK(t.find("drover_sink_bytes_total{drover_job=\"days\"} ") != std::string::npos);
    CHECK(t.find("drover_journal_lag_seconds_count{drover_job=\"days\"} 0\n") == std::string::npos);
    CHECK(t.find("drover_journal_lag_seconds_bucket{drover_job=\"days\",le=\"+Inf\"} ") != std::string::npos);
    CHECK(t.find("t-1") == std::string::npos);  // no task ids as labels
    CHECK(t.find("drover_slots{drover_job=\"days\"}") == std::string::npos);  // no run going: no slots
    // Slots of a running run, and how many are busy.
    REQUIRE(f(req("POST", "/api/v1/jobs/long/runs")).status == 201);
    REQUIRE(wait_until([&] { return f.svc->job("long").counts.running == 2; }));
    auto running = f(req("GET", "/metrics")).body;
    CHECK(running.find("drover_slots{drover_job=\"long\"} 2\n") != std::string::npos);
    CHECK(running.find("drover_slots_busy{drover_job=\"long\"} 2\n") != std::string::npos);
    CHECK(f(req("POST", "/api/v1/jobs/long/cancel")).status == 200);
    REQUIRE(wait_until([&] { return run_ended(*f.svc, "long"); }));
    // The exposition format, as Prometheus' own linter reads it.
    if (auto promtool = run_shell("command -v promtool"); promtool.exit_code == 0) {
        write_file(f.d / "metrics.txt", t);
        auto lint = run_shell("promtool check metrics < " + (f.d / "metrics.txt").string() + " 2>&1");
        INFO(lint.output);
        CHECK(lint.exit_code == 0);
    } else if (services_required()) {
        FAIL("promtool is missing (Debian prometheus)");
    }
}

TEST_CASE("service api: dashboard files, a login cookie, CSRF on changing requests, live events") {
    api_fixture f;
    auto page = f(req("GET", "/", {}, ""));
    CHECK(page.status == 200);
    CHECK(page.content_type == "text/html; charset=utf-8");
    CHECK(page.body.find("<script src=\"/dashboard.js\"") != std::string::npos);
    bool csp = false;
    for (auto& [k, v] : page.headers) csp = csp || (k == "Content-Security-Policy" && v.find("script-src 'self'") != std::string::npos);
    CHECK(csp);
    CHECK(f(req("GET", "/dashboard.js", {}, "")).content_type == "text/javascript; charset=utf-8");
    CHECK(f(req("GET", "/dashboard.css", {}, "")).content_type == "text/css; charset=utf-8");
    CHECK(f(req("GET", "/other.js", {}, "")).status == 401);  // who asks comes first
    CHECK(f(req("GET", "/other.js")).status == 404);

    CHECK(f(req("POST", "/api/v1/login", R"({"token":"wrong-token-0123456789"})", "")).status == 401);
    CHECK(f(req("POST", "/api/v1/login", R"({"tokn":"x"})", "")).status == 400);
    CHECK(f(req("GET", "/api/v1/login", {}, "")).status == 405);
    auto login = f(req("POST", "/api/v1/login", std::string(R"({"token":")") + admin_token + "\"}", ""));
    REQUIRE(login.status == 200);
    std::string cookie;
    for (auto& [k, v] : login.headers)
        if (k == "Set-Cookie") cookie = v;
    CHECK(cookie.find("HttpOnly") != std::string::npos);
    CHECK(cookie.find("SameSite=Strict") != std::string::npos);
    auto session = cookie.substr(0, cookie.find(';'));  // drover_session=...
    auto csrf = std::string(json_of(login.body).at("csrf").as_string());
    CHECK(json_of(login.body).at("scope") == "admin");
    auto with_cookie = [&](std::string method, std::string target, std::string body, std::string csrf_header) {
        auto r = req(std::move(method), std::move(target), std::move(body), "");
        r.headers.emplace_back("Cookie", "theme=dark; " + session);
        if (!csrf_header.empty()) r.headers.emplace_back("X-Drover-CSRF", csrf_header);
        return f(r);
    };
    CHECK(with_cookie("GET", "/api/v1/jobs", {}, "").status == 200);
    auto s = json_of(with_cookie("GET", "/api/v1/session", {}, "").body);
    CHECK(s.at("csrf").as_string() == csrf);
    auto forged = with_cookie("POST", "/api/v1/jobs/days/runs", "{}", "");
    CHECK(forged.status == 403);
    CHECK(error_of(forged) == "a missing or wrong X-Drover-CSRF header");
    CHECK(with_cookie("POST", "/api/v1/jobs/days/runs", "{}", std::string(csrf.size(), '0')).status == 403);
    CHECK(with_cookie("POST", "/api/v1/jobs/days/runs", "{}", csrf).status == 201);
    // A bearer token needs no CSRF header: no browser sends one by itself.
    CHECK(f(req("GET", "/api/v1/session")).status == 200);

    auto events = with_cookie("GET", "/api/v1/events", {}, "");
    REQUIRE(events.status == 200);
    REQUIRE(events.next_event);
    auto e = events.next_event();
    CHECK(e.find("event: jobs\ndata: {\"jobs\":[") == 0);
    CHECK(e.substr(e.size() - 2) == "\n\n");
    CHECK(e.find("\"key\":\"days\"") != std::string::npos);

    CHECK(with_cookie("POST", "/api/v1/logout", {}, csrf).status == 200);
    CHECK(with_cookie("GET", "/api/v1/jobs", {}, "").status == 401);  // the session is gone
    CHECK(f(req("GET", "/api/v1/events", {}, "")).status == 401);
}

TEST_CASE("service api: a dead task marked succeeded lets what comes after it run, the journal keeps it") {
    api_fixture f;
    write_file(f.d / "jobs" / "mark.toml", R"(name = "mark"
[[executors]]
kind = "local"
slots = 4
[[tasks]]
id = "bad"
command = ["sh", "-c", "echo 'broken upstream' >&2; exit 3"]
[[tasks]]
id = "after"
after = ["bad"]
command = ["sh", "-c", "echo '{\"task\":\"after\"}'"]
[[tasks]]
id = "long"
command = ["sleep", "30"]
)");
    f.svc->reload();
    auto t = f(req("POST", "/api/v1/jobs/mark/runs"));
    REQUIRE(t.status == 201);
    auto run_id = std::string(json_of(t.body).at("run_id").as_string());
    REQUIRE(wait_until([&] { return f.svc->job("mark").counts.upstream_failed == 1; }));
    // A read token may not; a running task is not marked; an unknown one is 404.
    CHECK(f(req("POST", "/api/v1/jobs/mark/tasks/bad/succeed", {}, read_token)).status == 403);
    auto running = f(req("POST", "/api/v1/jobs/mark/tasks/long/succeed"));
    CHECK(running.status == 200);
    CHECK(json_of(running.body).at("marked") == false);
    CHECK(f(req("POST", "/api/v1/jobs/mark/tasks/nope/succeed")).status == 404);
    CHECK(f(req("POST", "/api/v1/jobs/mark/tasks/bad/succeed", R"({"why":1})")).status == 400);

    auto r = f(req("POST", "/api/v1/jobs/mark/tasks/bad/succeed"));
    CHECK(r.status == 200);
    CHECK(json_of(r.body).at("marked") == true);
    REQUIRE(wait_until([&] { return f.svc->job("mark").counts.succeeded == 2; }));
    auto bad = json_of(f(req("GET", "/api/v1/jobs/mark/tasks/bad")).body);
    CHECK(bad.at("state") == "succeeded");
    CHECK(bad.at("message") == "marked succeeded");
    CHECK(bad.at("attempts").as_array().size() == 1);  // the failed one; marking ran nothing
    CHECK(f(req("POST", "/api/v1/jobs/mark/tasks/bad/succeed")).body.find("false") != std::string::npos);

    // The run's attempts, for the timeline: bad failed, after succeeded, long runs.
    auto at = f(req("GET", "/api/v1/jobs/mark/runs/" + run_id + "/attempts"));
    REQUIRE(at.status == 200);
    std::map<std::string, std::string> outcome;
    auto attempts = json_of(at.body);  // (a range-for over a temporary's member would dangle)
    for (auto& a : attempts.at("attempts").as_array())
        outcome[std::string(a.at("task").as_string())] =
            a.at("finished_ms").is_null() ? "running" : std::string(a.at("failure").as_string());
    CHECK(outcome == std::map<std::string, std::string>{{"after", "none"}, {"bad", "exit_code"}, {"long", "running"}});
    CHECK(json_of(at.body).at("truncated") == false);
    auto one = json_of(f(req("GET", "/api/v1/jobs/mark/runs/" + run_id + "/attempts?limit=1")).body);
    CHECK(one.at("attempts").as_array().size() == 1);
    CHECK(one.at("truncated") == true);
    CHECK(f(req("GET", "/api/v1/jobs/mark/runs/nope/attempts")).status == 404);
    CHECK(f(req("GET", "/api/v1/jobs/mark/runs/" + run_id + "/attempts?limit=-1")).status == 400);

    CHECK(f(req("POST", "/api/v1/jobs/mark/cancel")).status == 200);
    REQUIRE(wait_until([&] { return run_ended(*f.svc, "mark"); }));
    CHECK(read_records(f.d / "state" / "mark" / "output") == std::vector<std::string>{R"({"task":"after"})"});
    CHECK(f(req("POST", "/api/v1/jobs/mark/tasks/bad/succeed")).status == 409);  // no run going
}

TEST_CASE("service api: hosts of a running SSH fleet - listed with their health, added, drained, removed") {
    api_fixture f;
    // Hosts nobody answers on (port 1 of loopback): they stay down, so the run waits and the
    // list can be acted on.
    write_file(f.d / "jobs" / "fleet.toml", R"(name = "fleet"
[[executors]]
kind = "ssh"
hosts = ["127.0.0.1:1"]
slots = 2
connect_timeout = "2s"
[[tasks]]
id = "t"
command = ["true"]
)");
    f.svc->reload();
    CHECK(json_of(f(req("GET", "/api/v1/jobs/fleet/hosts")).body).at("hosts").as_array().empty());  // no run
    CHECK(f(req("POST", "/api/v1/jobs/fleet/hosts", R"({"host":"127.0.0.2:1"})")).status == 409);
    REQUIRE(f(req("POST", "/api/v1/jobs/fleet/runs")).status == 201);
    auto hosts = [&] { return json_of(f(req("GET", "/api/v1/jobs/fleet/hosts")).body).at("hosts").as_array(); };
    REQUIRE(wait_until([&] { auto h = hosts(); return h.size() == 1 && h[0].at("state") == "down"; }));
    auto h0 = hosts()[0];
    CHECK(h0.at("host") == "127.0.0.1:1");
    CHECK(h0.at("kind") == "ssh");
    CHECK(h0.at("executor") == 0);
    CHECK(!h0.at("reason").as_string().empty());

    // Bad requests name the field; a read token may only look.
    CHECK(json_of(f(req("POST", "/api/v1/jobs/fleet/hosts", R"({"host":""})")).body).at("field") == "host");
    CHECK(json_of(f(req("POST", "/api/v1/jobs/fleet/hosts", R"({"host":"h","executor":"0"})")).body).at("field") ==
          "executor");
    CHECK(json_of(f(req("POST", "/api/v1/jobs/fleet/hosts", R"({"host":"h","slots":2})")).body).at("field") == "slots");
    CHECK(f(req("POST", "/api/v1/jobs/fleet/hosts", R"({"host":"h","executor":3})")).status == 400);
    CHECK(f(req("POST", "/api/v1/jobs/fleet/hosts", R"({"host":"h"})", read_token)).status == 403);
    CHECK(f(req("POST", "/api/v1/jobs/fleet/hosts/drain", R"({"host":"127.9.9.9:1"})")).status == 404);

    auto add = f(req("POST", "/api/v1/jobs/fleet/hosts", R"({"host":"127.0.0.2:1","executor":0})"));
    CHECK(add.status == 201);
    REQUIRE(wait_until([&] { return hosts().size() == 2; }));
    CHECK(hosts()[1].at("host") == "127.0.0.2:1");
    // Draining a host without attempts: it leaves at once; removing the other leaves none.
    CHECK(f(req("POST", "/api/v1/jobs/fleet/hosts/drain", R"({"host":"127.0.0.2:1"})")).status == 200);
    REQUIRE(wait_until([&] { return hosts().size() == 1; }));
    auto rm = f(req("POST", "/api/v1/jobs/fleet/hosts/drain", R"({"host":"127.0.0.1:1","remove":true})"));
    CHECK(rm.status == 200);
    CHECK(json_of(rm.body).at("removed") == "127.0.0.1:1");
    REQUIRE(wait_until([&] { return hosts().empty(); }));
    CHECK(f(req("POST", "/api/v1/jobs/fleet/cancel")).status == 200);
    REQUIRE(wait_until([&] { return run_ended(*f.svc, "fleet"); }));
}

TEST_CASE("service pools: tasks of two jobs share a pool - never more running than its places, listed and measured") {
    temp_dir d;
    fs::create_directories(d / "jobs");
    fs::create_directories(d / "times");
    // Each task appends "start NS" and "end NS" to a file of its own.
    auto job = [&](const std::string& name) {
        return fmt::format(R"(name = "{0}"
[[executors]]
kind = "local"
slots = 4
[[tasks]]
id = "{0}-{{i}}"
foreach = {{ i = {{ from = 1, to = 4 }} }}
pool = "heavy"
command = ["sh", "-c", "f={1}/{0}-{{i}}; echo start $(date +%s%N) >> $f; sleep 0.3; echo end $(date +%s%N) >> $f"]
)",
                           name, (d / "times").string());
    };
    write_file(d / "jobs" / "one.toml", job("one"));
    write_file(d / "jobs" / "two.toml", job("two"));
    write_file(d / "jobs" / "undeclared.toml", "name = \"u\"\n[[tasks]]\nid = \"t\"\ncommand = [\"true\"]\npool = \"gpu\"\n");
    CHECK_THROWS_AS(drover::service({.jobs_dir = d / "jobs", .state_dir = d / "s0", .listen = "", .pools = {{"a b", 1}}})
                        .start(),
                    drover::config_error);
    drover::service svc({.jobs_dir = d / "jobs", .state_dir = d / "state", .listen = "", .pools = {{"heavy", 2}}});
    svc.start();
    detail::token_set tokens;
    detail::service_api api(svc, tokens);
    CHECK(svc.job("one").error.empty());
    CHECK(svc.job("undeclared").error.find("pool 'gpu' is not declared in [pools] (there is no [pools] table; shared: heavy)") !=
          std::string::npos);
    svc.trigger("one");
    svc.trigger("two");
    std::size_t seen_in_use = 0, seen_waiting = 0;
    REQUIRE(wait_until([&] {
        seen_in_use = std::max(seen_in_use, svc.pools().at(0).in_use);
        seen_waiting = std::max(seen_waiting, svc.pools().at(0).waiting);
        return run_ended(svc, "one") && run_ended(svc, "two");
    }));
    CHECK(svc.job("one").last_result == "succeeded");
    CHECK(svc.job("two").last_result == "succeeded");
    // The tasks' own clocks: at no moment more than 2 of the 8 ran.
    std::vector<std::pair<long long, int>> events;
    for (const auto& e : fs::directory_iterator(d / "times")) {
        auto lines = split_lines(read_file(e.path()));
        REQUIRE(lines.size() == 2);
        events.emplace_back(std::stoll(lines[0].substr(6)), +1);
        events.emplace_back(std::stoll(lines[1].substr(4)), -1);
    }
    REQUIRE(events.size() == 16);
    std::sort(events.begin(), events.end());
    int cur = 0, most = 0;
    for (auto [t, delta] : events) most = std::max(most, cur += delta);
    CHECK(most == 2);
    CHECK(seen_in_use <= 2);
    CHECK(seen_waiting >= 1);  // 8 tasks for 2 places: a job waited in line
    auto pools = json_of(api.handle(req("GET", "/api/v1/pools", {}, {})).body);
    CHECK(pools == json::parse(R"({"pools":[{"name":"heavy","limit":2,"in_use":0,"waiting":0}]})"));
    auto metrics = svc.metrics();
    CHECK(metrics.find("drover_pool_limit{pool=\"heavy\"} 2\n") != std::string::npos);
    CHECK(metrics.find("drover_pool_in_use{pool=\"heavy\"} 0\n") != std::string::npos);
    CHECK(metrics.find("drover_pool_waiting{pool=\"heavy\"} 0\n") != std::string::npos);
    svc.stop();
}

TEST_CASE("service secrets: a task's secret env values never reach an answer - its own stderr redacted, tokens never echoed") {
    api_fixture f;
    write_file(f.d / "jobs" / "leaky.toml", R"(name = "leaky"
[defaults]
env = { API_TOKEN = "tok-0123456789-secret" }
[[tasks]]
id = "leak"
params = { pw = "default-password-1" }
env = { DB_PASSWORD = "{pw}" }
command = ["sh", "-c", "echo \"token=$API_TOKEN password=$DB_PASSWORD\" >&2; echo \"$API_TOKEN\"; exit 3"]
)");
    f.svc->reload();
    REQUIRE(f(req("POST", "/api/v1/jobs/leaky/runs", R"({"params":{"pw":"param-password-2"}})")).status == 201);
    REQUIRE(wait_until([&] { return run_ended(*f.svc, "leaky"); }));
    std::string everything;
    for (const char* target : {"/api/v1/jobs", "/api/v1/jobs/leaky", "/api/v1/jobs/leaky/runs", "/api/v1/jobs/leaky/tasks",
                               "/api/v1/jobs/leaky/tasks/leak", "/api/v1/jobs/leaky/tasks?state=dead", "/metrics",
                               "/api/v1/session"}) {
        auto a = f(req("GET", target));
        CHECK(a.status == 200);
        everything += a.body;
    }
    everything += f.api->jobs_event();
    for (const char* secret : {"tok-0123456789-secret", "param-password-2", "default-password-1", admin_token, read_token}) {
        CAPTURE(secret);
        CHECK(everything.find(secret) == std::string::npos);
    }
    // What the task printed is there, with its secrets replaced.
    auto leak = json_of(f(req("GET", "/api/v1/jobs/leaky/tasks/leak")).body);
    CHECK(leak.at("attempts").at(0).at("stderr_tail").as_string().find("token=[redacted] password=[redacted]") !=
          std::string::npos);
    CHECK(f.svc->redact("leaky", "x tok-0123456789-secret y") == "x [redacted] y");
    // A wrong token is not echoed in the refusal.
    auto refused = f(req("GET", "/api/v1/jobs", {}, "wrong-token-that-is-long-enough"));
    CHECK(refused.status == 401);
    CHECK(refused.body.find("wrong-token") == std::string::npos);
}

TEST_CASE("service api: a job's counts show the tasks whose output commits while their slots run others" *
          doctest::timeout(60)) {
    // A sink kind whose commits take 400 ms: one slot, so while a task's output commits the
    // slot runs the next task, and the job's counts say so.
    temp_dir d;
    fs::create_directories(d / "jobs");
    drover::kinds kinds;
    struct slow_options {
        fs::path root;
    };
    kinds.add_sink<slow_options>(
        "slow", {.read = [](const drover::job_table& t) {
                     t.check_keys({"kind", "path"});
                     return slow_options{t.get_string("path").value_or("")};
                 },
                 .make = [](const slow_options& o) -> std::shared_ptr<drover::sink> {
                     return std::make_shared<slow_commit_sink>(drover::file_sink_options{.root = o.root, .fsync = false},
                                                               std::chrono::milliseconds(400));
                 },
                 .location = [](const slow_options& o) { return o.root.string(); }});
    write_file(d / "jobs" / "slow.toml",
               fmt::format("name = \"slow\"\n[sink]\nkind = \"slow\"\npath = \"{}\"\n", (d / "out").string()) +
                   sleepy_job("slow", 4, 0.05, 1).substr(std::string_view("name = \"slow\"\n").size()));
    auto svc = std::make_unique<drover::service>(drover::service_options{
        .jobs_dir = d / "jobs", .state_dir = d / "state", .listen = "", .kinds = kinds});
    svc->start();
    write_tokens(d / "tokens");
    auto tokens = detail::token_set::load(d / "tokens");
    detail::service_api api(*svc, tokens);
    REQUIRE(api.handle(req("POST", "/api/v1/jobs/slow/runs")).status == 201);
    // The first commit is waited for; from the second task on, a task commits while the next runs.
    std::int64_t most = 0;
    REQUIRE(wait_until(
        [&] {
            auto counts = json_of(api.handle(req("GET", "/api/v1/jobs/slow")).body).at("counts");
            auto committing = counts.at("committing").as_int64();
            CHECK(committing <= counts.at("running").as_int64());
            most = std::max(most, committing);
            return run_ended(*svc, "slow");
        },
        std::chrono::seconds(30)));
    CHECK(most == 1);
    auto counts = json_of(api.handle(req("GET", "/api/v1/jobs/slow")).body).at("counts");
    CHECK(counts.at("succeeded") == 4);
    CHECK(counts.at("committing") == 0);
    svc->stop();
}
