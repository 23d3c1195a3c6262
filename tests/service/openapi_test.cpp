// The OpenAPI document served at /api/v1/openapi.json against the API's real answers: every
// answer's path, method and status are documented, and its JSON fits the documented schema
// (types, required and unknown properties, enums, nullable).
#include "service/api.hpp"
#include "service_support.hpp"

#include <set>

using namespace drover::test;
namespace json = boost::json;
namespace detail = drover::detail;

namespace {

struct checker {
    const json::object& doc;

    const json::object& resolve(const json::object& s) const {
        if (auto* r = s.if_contains("$ref")) {
            std::string ref(r->as_string());
            REQUIRE(ref.rfind("#/components/schemas/", 0) == 0);
            return doc.at("components").at("schemas").at(ref.substr(21)).as_object();
        }
        return s;
    }

    // Problems of `v` against schema `s`, with where they are.
    void check(const json::value& v, const json::object& schema, const std::string& where,
               std::vector<std::string>& out) const {
        const auto& s = resolve(schema);
        if (v.is_null()) {
            if (!(s.contains("nullable") && s.at("nullable").as_bool())) out.push_back(where + ": null is not allowed");
            return;
        }
        if (auto* all = s.if_contains("allOf")) {
            for (auto& sub : all->as_array()) check(v, sub.as_object(), where, out);
            return;
        }
        if (auto* one = s.if_contains("oneOf")) {
            for (auto& sub : one->as_array()) {
                std::vector<std::string> tmp;
                check(v, sub.as_object(), where, tmp);
                if (tmp.empty()) return;
            }
            out.push_back(where + ": matches none of oneOf");
            return;
        }
        if (auto* e = s.if_contains("enum")) {
            bool found = false;
            for (auto& x : e->as_array()) found = found || x == v;
            if (!found) out.push_back(where + ": " + json::serialize(v) + " is not in the enum");
        }
        auto type = s.contains("type") ? std::string(s.at("type").as_string()) : std::string();
        if (type == "string" && !v.is_string()) out.push_back(where + ": not a string");
        if (type == "integer" && !v.is_int64() && !v.is_uint64()) out.push_back(where + ": not an integer");
        if (type == "boolean" && !v.is_bool()) out.push_back(where + ": not a boolean");
        if (type == "array") {
            if (!v.is_array()) return out.push_back(where + ": not an array");
            std::size_t i = 0;
            for (auto& x : v.as_array()) check(x, s.at("items").as_object(), where + "[" + std::to_string(i++) + "]", out);
        }
        if (type == "object") {
            if (!v.is_object()) return out.push_back(where + ": not an object");
            const auto& o = v.as_object();
            const json::object empty;
            const auto& props = s.contains("properties") ? s.at("properties").as_object() : empty;
            if (auto* req = s.if_contains("required"))
                for (auto& r : req->as_array())
                    if (!o.contains(r.as_string())) out.push_back(where + ": no '" + std::string(r.as_string()) + "'");
            for (auto& [k, x] : o) {
                if (auto* p = props.if_contains(k)) {
                    check(x, p->as_object(), where + "." + std::string(k), out);
                } else if (auto* extra = s.if_contains("additionalProperties")) {
                    if (extra->is_bool() && !extra->as_bool())
                        out.push_back(where + ": '" + std::string(k) + "' is not documented");
                    else if (extra->is_object())
                        check(x, extra->as_object(), where + "." + std::string(k), out);
                }
            }
        }
    }

    // The documented path template that `target` matches.
    std::optional<std::string> path_of(const std::string& target) const {
        auto path = target.substr(0, target.find('?'));
        auto split = [](const std::string& p) {
            std::vector<std::string> out;
            std::size_t i = 1;
            while (i <= p.size()) {
                auto j = p.find('/', i);
                out.push_back(p.substr(i, j == std::string::npos ? std::string::npos : j - i));
                if (j == std::string::npos) break;
                i = j + 1;
            }
            return out;
        };
        auto have = split(path);
        for (auto& [templ, item] : doc.at("paths").as_object()) {
            auto want = split(std::string(templ));
            if (want.size() != have.size()) continue;
            bool ok = true;
            for (std::size_t i = 0; i < want.size() && ok; ++i)
                ok = (!want[i].empty() && want[i].front() == '{') || want[i] == have[i];
            if (ok) return std::string(templ);
        }
        return std::nullopt;
    }

    mutable std::set<std::string> exercised;  // "get /api/v1/jobs/{key}"

    void answer_fits(const detail::http_request& r, const detail::http_answer& a) const {
        CAPTURE(r.method);
        CAPTURE(r.target);
        CAPTURE(a.status);
        CAPTURE(a.body);
        auto path = path_of(r.target);
        REQUIRE(path);
        std::string method = r.method;
        for (auto& c : method) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        const auto& item = doc.at("paths").at(*path).as_object();
        REQUIRE(item.contains(method));
        exercised.insert(method + " " + *path);
        const auto& responses = item.at(method).at("responses").as_object();
        auto code = std::to_string(a.status);
        REQUIRE(responses.contains(code));
        const auto& content = responses.at(code).at("content").as_object();
        if (a.content_type != "application/json") {
            CHECK(content.contains(a.content_type.substr(0, a.content_type.find(';'))));
            return;
        }
        REQUIRE(content.contains("application/json"));
        std::vector<std::string> problems;
        check(json_of(a.body), content.at("application/json").at("schema").as_object(), "answer", problems);
        INFO(fmt::format("{}", fmt::join(problems, "\n")));
        CHECK(problems.empty());
    }
};

detail::http_request req(std::string method, std::string target, std::string body = {}) {
    detail::http_request r{std::move(method), std::move(target), {}, std::move(body)};
    r.headers.emplace_back("Authorization", std::string("Bearer ") + admin_token);
    if (!r.body.empty()) r.headers.emplace_back("Content-Type", "application/json");
    return r;
}

}  // namespace

TEST_CASE("openapi: the served document describes the real answers of every endpoint") {
    temp_dir d;
    fs::create_directories(d / "jobs");
    write_file(d / "jobs" / "days.toml", "schedule = \"0 3 * * *\"\n" + sleepy_job("days", 3, 0.1));
    write_file(d / "jobs" / "ctl.toml", failing_job("ctl", "oops"));
    write_file(d / "jobs" / "broken.toml", "name = 1\n");
    write_tokens(d / "tokens");
    drover::service svc({.jobs_dir = d / "jobs", .state_dir = d / "state", .listen = ""});
    svc.start();
    auto tokens = detail::token_set::load(d / "tokens");
    detail::service_api api(svc, tokens);

    auto doc_answer = api.handle({"GET", "/api/v1/openapi.json", {}, {}});
    REQUIRE(doc_answer.status == 200);
    auto doc = json_of(doc_answer.body);
    CHECK(doc.at("openapi").as_string().starts_with("3."));
    checker c{doc.as_object()};
    // The checker itself finds what does not fit.
    auto problems_of = [&](const char* value, const char* schema) {
        std::vector<std::string> out;
        json::object ref{{"$ref", std::string("#/components/schemas/") + schema}};
        c.check(json::parse(value), ref, "v", out);
        return out;
    };
    CHECK(problems_of(R"({"run_id":"r","status":"finished","started_ms":1,"finished_ms":null,"total":1,"resumed":0})", "Run").empty());
    CHECK(problems_of(R"({"run_id":"r","status":"finished","started_ms":1,"finished_ms":null,"total":1})", "Run") ==
          std::vector<std::string>{"v: no 'resumed'"});
    CHECK(problems_of(R"({"run_id":"r","status":"finished","started_ms":"1","finished_ms":null,"total":1,"resumed":0,"x":1})",
                      "Run") == std::vector<std::string>{"v.started_ms: not an integer", "v: 'x' is not documented"});
    CHECK(problems_of(R"({"scope":"root","csrf":null})", "Session") ==
          std::vector<std::string>{"v.scope: \"root\" is not in the enum"});
    CHECK_FALSE(problems_of(R"({"error":null})", "Error").empty());

    auto run = [&](detail::http_request r) {
        auto a = api.handle(r);
        c.answer_fits(r, a);
        return a;
    };
    auto trig = run(req("POST", "/api/v1/jobs/days/runs", R"({"params":{"i":["1","2"]},"fresh":true})"));
    auto run_id = std::string(json_of(trig.body).at("run_id").as_string());
    REQUIRE(wait_until([&] { return run_ended(svc, "days"); }));
    run(req("POST", "/api/v1/jobs/ctl/runs"));
    REQUIRE(wait_until([&] { return svc.job("ctl").counts.dead == 1 && svc.job("ctl").counts.running == 1; }));
    for (const char* target : {"/api/v1/health", "/api/v1/jobs", "/api/v1/jobs/days", "/api/v1/jobs/ctl",
                               "/api/v1/jobs/broken", "/api/v1/jobs/days/runs", "/api/v1/jobs/days/tasks",
                               "/api/v1/jobs/ctl/tasks?state=dead", "/api/v1/jobs/ctl/tasks/bad",
                               "/api/v1/jobs/days/tasks/t-1", "/api/v1/session", "/metrics", "/api/v1/jobs/nope",
                               "/api/v1/jobs/days/runs?limit=x", "/api/v1/jobs/days/tasks/t-9", "/api/v1/jobs/days/events",
                               "/api/v1/jobs/ctl/events?after=1&limit=2", "/api/v1/jobs/days/events?after=x",
                               "/api/v1/jobs/nope/events", "/api/v1/jobs/ctl/tasks/bad/attempts/1/stderr?bytes=5",
                               "/api/v1/jobs/ctl/tasks/bad/attempts/9/stderr", "/api/v1/jobs/ctl/tasks/bad/attempts/1/stderr?bytes=x"})
        run(req("GET", target));
    run(req("GET", "/api/v1/jobs/days/runs/" + run_id));
    run(req("POST", "/api/v1/jobs/ctl/tasks", R"({"tasks":[{"id":"x","command":["true"]}]})"));
    run(req("POST", "/api/v1/jobs/ctl/tasks", R"({"tasks":[]})"));
    run(req("POST", "/api/v1/jobs/ctl/tasks/bad/retry"));
    run(req("POST", "/api/v1/jobs/ctl/tasks/long/cancel"));
    run(req("POST", "/api/v1/jobs/ctl/runs"));  // 409 while it goes
    run(req("POST", "/api/v1/jobs/broken/runs"));
    run(req("POST", "/api/v1/jobs/days/runs", "{\"x\":1}"));
    run(req("POST", "/api/v1/jobs/ctl/cancel"));
    REQUIRE(wait_until([&] { return run_ended(svc, "ctl"); }));
    run(req("POST", "/api/v1/jobs/ctl/tasks/bad/retry"));  // 409: no run
    run(req("POST", "/api/v1/login", std::string(R"({"token":")") + admin_token + "\"}"));
    run(req("POST", "/api/v1/logout"));
    run({"GET", "/api/v1/jobs", {}, {}});  // 401

    // Marking a task succeeded, a run's attempts, hosts (ctl has no fleet executor: none to
    // list, add or drain).
    run(req("POST", "/api/v1/jobs/ctl/runs", R"({"fresh":true})"));
    REQUIRE(wait_until([&] { return svc.job("ctl").counts.dead == 1 && svc.job("ctl").counts.running == 1; }));
    run(req("POST", "/api/v1/jobs/ctl/tasks/bad/succeed"));
    run(req("POST", "/api/v1/jobs/ctl/tasks/long/succeed"));  // running: marked false
    run(req("GET", "/api/v1/jobs/ctl/hosts"));
    run(req("GET", "/api/v1/pools"));
    run(req("GET", "/api/v1/openapi.json"));
    run(req("POST", "/api/v1/jobs/ctl/hosts", R"({"host":"ssh://example.invalid"})"));
    run(req("POST", "/api/v1/jobs/ctl/hosts", R"({"host":7})"));
    run(req("POST", "/api/v1/jobs/ctl/hosts/drain", R"({"host":"nope"})"));
    run(req("GET", "/api/v1/jobs/days/runs/" + run_id + "/attempts"));
    run(req("GET", "/api/v1/jobs/days/runs/" + run_id + "/attempts?limit=1"));
    run(req("GET", "/api/v1/jobs/days/runs/nope/attempts"));
    run(req("POST", "/api/v1/jobs/ctl/cancel"));
    REQUIRE(wait_until([&] { return run_ended(svc, "ctl"); }));
    run(req("POST", "/api/v1/jobs/ctl/hosts", R"({"host":"h"})"));  // 409: no run

    // Every operation the document lists was called (the event streams are streams: the
    // service and events tests read them over sockets).
    for (auto& [templ, item] : doc.at("paths").as_object())
        for (auto& [method, op] : item.as_object()) {
            if (method == "parameters" || templ == "/api/v1/events" || templ == "/api/v1/jobs/{key}/events/stream") continue;
            auto op_name = std::string(method) + " " + std::string(templ);
            CHECK_MESSAGE(c.exercised.contains(op_name), op_name);
        }
}
