// An attempt's whole stderr log through the API (GET .../tasks/ID/attempts/N/stderr), beyond the
// 4 KiB tail a task's answer carries: real runs of local processes, the API without sockets.
#include "service/api.hpp"
#include "service/tokens.hpp"
#include "service_support.hpp"

using namespace drover::test;
namespace json = boost::json;
namespace detail = drover::detail;

TEST_CASE("service logs: an attempt's stderr beyond the 4 KiB tail - its end by bytes, each run's, secrets redacted") {
    temp_dir d;
    fs::create_directories(d / "jobs");
    // 3,000 numbered lines and the secret on stderr (100,921 bytes), then exit 3.
    write_file(d / "jobs" / "loud.toml", R"(name = "loud"
[defaults]
env = { API_TOKEN = "tok-0123456789-secret" }
[[tasks]]
id = "noisy"
retries = 1
backoff = "10ms"
command = ["sh", "-c", "i=1; while [ $i -le 3000 ]; do echo \"line $i of the attempt's stderr\" >&2; i=$((i+1)); done; echo \"token $API_TOKEN\" >&2; exit 3"]
)");
    write_tokens(d / "tokens");
    auto tokens = detail::token_set::load(d / "tokens");
    drover::service svc({.jobs_dir = d / "jobs", .state_dir = d / "state", .listen = "", .tokens_file = d / "tokens"});
    svc.start();
    detail::service_api api(svc, tokens);
    auto first = svc.trigger("loud");
    REQUIRE(wait_until([&] { return run_ended(svc, "loud"); }));

    auto whole = api.handle(api_get("/api/v1/jobs/loud/tasks/noisy/attempts/2/stderr?bytes=16777216"));
    REQUIRE(whole.status == 200);
    auto v = json_of(whole.body);
    auto text = std::string(v.at("text").as_string());
    std::uint64_t size = 0;
    for (int i = 1; i <= 3000; ++i) size += fmt::format("line {} of the attempt's stderr\n", i).size();
    size += std::string("token tok-0123456789-secret\n").size();
    CHECK(v.at("size") == size);
    CHECK(v.at("offset") == 0);
    CHECK(v.at("attempt") == 2);
    CHECK(v.at("task") == "noisy");
    CHECK(v.at("run_id").as_string() == first);
    CHECK(text.find("line 1 of the attempt's stderr\nline 2 of") == 0);
    CHECK(text.find("line 3000 of the attempt's stderr\ntoken [redacted]\n") != std::string::npos);
    CHECK(text.find("tok-0123456789-secret") == std::string::npos);

    // bytes=100: the end only, from the first whole line in it (the last two lines of 34 bytes
    // and the secret's of 28); the default: the last 64 KiB, from a line's start.
    auto tail = json_of(api.handle(api_get("/api/v1/jobs/loud/tasks/noisy/attempts/1/stderr?bytes=100")).body);
    CHECK(tail.at("offset") == size - 96);
    CHECK(tail.at("text") == "line 2999 of the attempt's stderr\nline 3000 of the attempt's stderr\ntoken [redacted]\n");
    auto dflt = json_of(api.handle(api_get("/api/v1/jobs/loud/tasks/noisy/attempts/1/stderr")).body);
    auto offset = dflt.at("offset").to_number<std::uint64_t>();
    CHECK(offset > size - 64 * 1024);
    CHECK(offset < size - 64 * 1024 + 34);
    CHECK(dflt.at("text").as_string().starts_with("line "));
    CHECK(dflt.at("text").as_string().size() == size - offset - (21 - 10));  // the secret became "[redacted]"

    // A second run: attempt 1 is that of the newest run that has one, unless ?run= names the first.
    svc.trigger("loud", {.fresh = true});
    REQUIRE(wait_until([&] { return run_ended(svc, "loud") && svc.job("loud").last_run_id != first; }));
    std::string expected;
    auto task = json_of(api.handle(api_get("/api/v1/jobs/loud/tasks/noisy")).body);
    for (auto& a : task.at("attempts").as_array())
        if (a.at("attempt") == 1 && expected.empty()) expected = std::string(a.at("run_id").as_string());  // newest first
    CHECK(expected == svc.job("loud").last_run_id);
    auto newest = json_of(api.handle(api_get("/api/v1/jobs/loud/tasks/noisy/attempts/1/stderr?bytes=10")).body);
    CHECK(newest.at("run_id").as_string() == expected);
    auto older = json_of(api.handle(api_get("/api/v1/jobs/loud/tasks/noisy/attempts/1/stderr?bytes=10&run=" + first)).body);
    CHECK(older.at("run_id").as_string() == first);

    auto status = [&](const std::string& target) { return api.handle(api_get(target)).status; };
    CHECK(status("/api/v1/jobs/loud/tasks/noisy/attempts/3/stderr") == 404);
    CHECK(status("/api/v1/jobs/loud/tasks/noisy/attempts/0/stderr") == 404);
    CHECK(status("/api/v1/jobs/loud/tasks/noisy/attempts/x/stderr") == 404);
    CHECK(status("/api/v1/jobs/loud/tasks/noisy/attempts/-1/stderr") == 404);
    CHECK(status("/api/v1/jobs/loud/tasks/noisy/attempts/1/stderr?run=nope") == 404);
    CHECK(status("/api/v1/jobs/loud/tasks/nope/attempts/1/stderr") == 404);
    CHECK(status("/api/v1/jobs/nope/tasks/noisy/attempts/1/stderr") == 404);
    auto big = api.handle(api_get("/api/v1/jobs/loud/tasks/noisy/attempts/1/stderr?bytes=16777217"));
    CHECK(big.status == 400);
    CHECK(json_of(big.body).at("field") == "bytes");

    // The log file gone (a pruned run directory): the attempt is there, its log empty.
    fs::remove_all(d / "state" / "loud" / "runs" / first / "logs");
    auto pruned = json_of(api.handle(api_get("/api/v1/jobs/loud/tasks/noisy/attempts/2/stderr?run=" + first)).body);
    CHECK(pruned.at("size") == 0);
    CHECK(pruned.at("text") == "");
    svc.stop();
}

TEST_CASE("service logs: a tail that starts or ends inside a secret shows none of it - whole lines where there are any") {
    temp_dir d;
    fs::create_directories(d / "jobs");
    // lines: the secret on a line of its own among others. one-line: the secret, then 4,090 y
    // and no line break (its 4 KiB tail starts 15 bytes into the secret). open-end: a log that
    // ends in the secret's first 9 bytes, as one still being written does.
    write_file(d / "jobs" / "cut.toml", R"(name = "cut"
[defaults]
env = { API_TOKEN = "tok-0123456789-secret" }
[[tasks]]
id = "lines"
command = ["sh", "-c", "echo first >&2; echo \"token $API_TOKEN\" >&2; echo last >&2"]
[[tasks]]
id = "one-line"
command = ["sh", "-c", "printf '%s' \"$API_TOKEN\" >&2; i=0; while [ $i -lt 409 ]; do printf yyyyyyyyyy >&2; i=$((i+1)); done"]
[[tasks]]
id = "open-end"
command = ["sh", "-c", "printf 'token %.9s' \"$API_TOKEN\" >&2"]
)");
    drover::service svc({.jobs_dir = d / "jobs", .state_dir = d / "state", .listen = ""});
    svc.start();
    detail::token_set no_tokens;
    detail::service_api api(svc, no_tokens);
    svc.trigger("cut");
    REQUIRE(wait_until([&] { return run_ended(svc, "cut"); }));
    auto log = [&](const std::string& task, int bytes) {
        auto v = json_of(api.handle(api_get("/api/v1/jobs/cut/tasks/" + task + "/attempts/1/stderr?bytes=" + std::to_string(bytes))).body);
        INFO(task << " " << bytes << ": " << json::serialize(v));
        CHECK(v.at("text").as_string().find("secret") == std::string::npos);
        CHECK(v.at("text").as_string().find("0123") == std::string::npos);
        return v;
    };
    // "first\ntoken tok-0123456789-secret\nlast\n" (6 + 28 + 5 bytes): 10 bytes from the end
    // start inside the secret's line, so the tail starts at the next line.
    auto v = log("lines", 10);
    CHECK(v.at("text") == "last\n");
    CHECK(v.at("offset") == 34);
    CHECK(v.at("size") == 39);
    CHECK(log("lines", 5).at("text") == "last\n");  // starts at a line: nothing dropped
    CHECK(log("lines", 35).at("text") == "token [redacted]\nlast\n");
    // No line break to start at: the secret's end is redacted where the tail starts.
    v = log("one-line", 4100);
    CHECK(v.at("offset") == 21 + 4090 - 4100);
    CHECK(v.at("text").as_string() == "[redacted]" + std::string(4090, 'y'));
    CHECK(log("one-line", 4).at("text") == "yyyy");
    v = log("open-end", 8);  // "ok-01234", out of the middle of the secret
    CHECK(v.at("text") == "[redacted]");
    CHECK(log("open-end", 100).at("text") == "token [redacted]");
    // The task's 4 KiB tails, as a task's answer carries them.
    auto tail_of = [&](const std::string& task) {
        auto t = json_of(api.handle(api_get("/api/v1/jobs/cut/tasks/" + task)).body);
        return std::string(t.at("attempts").as_array().at(0).at("stderr_tail").as_string());
    };
    CHECK(tail_of("one-line") == "[redacted]" + std::string(4090, 'y'));
    CHECK(tail_of("open-end") == "token [redacted]");
    CHECK(tail_of("lines") == "first\ntoken [redacted]\nlast\n");
    svc.stop();
}
