#include "service/api.hpp"

#include <drover/journal.hpp>
#include <drover/outcome.hpp>

#include "detail/json_fields.hpp"
#include "detail/utf8.hpp"
#include "scheduler/task_json.hpp"
#include "service/dashboard.hpp"
#include "service/journal_views.hpp"
#include "service/task_events.hpp"

#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <charconv>
#include <chrono>
#include <limits>
#include <optional>

namespace drover::detail {

namespace json = boost::json;

namespace {

// Takes the value by value: callers move what they built (a copy of a 100-row page costs as
// much as building it).
http_answer answer(unsigned status, json::value v, std::vector<std::pair<std::string, std::string>> headers = {}) {
    auto body = json::serialize(v);
    body += '\n';
    return {status, "application/json", std::move(body), std::move(headers)};
}

// Messages may quote what the request said (a job key, a task id, a query value decoded from
// the URL): any bytes, made valid UTF-8 so the answer stays JSON.
http_answer problem(unsigned status, std::string_view message, std::string_view field = {}) {
    json::object o{{"error", repair_utf8(message)}};
    if (!field.empty()) o["field"] = repair_utf8(field);
    return answer(status, o);
}

// A request the API refuses: answered with its status and message.
struct refused {
    unsigned status;
    std::string message;
    std::string field{};
};

struct target {
    std::vector<std::string> path;              // decoded segments
    std::map<std::string, std::string> query;   // decoded
};

// The request target in origin form (RFC 3986, Boost.URL): its segments and query, decoded.
target split_target(std::string_view t) {
    auto u = boost::urls::parse_origin_form(t);
    if (!u) {
        if (t.empty() || t.front() != '/') throw refused{400, "the request target must be a path"};
        throw refused{400, "bad percent-encoding in the URL"};
    }
    target out;
    for (auto seg : u->segments()) out.path.push_back(std::string(seg));
    for (auto param : u->params()) out.query[std::string(param.key)] = std::string(param.value);
    return out;
}

// Digits only, the whole string; nullopt otherwise (a sign, spaces, empty, too large).
std::optional<std::uint64_t> whole_number(std::string_view s) {
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return n;
}

std::size_t query_number(const target& t, const std::string& key, std::size_t fallback, std::size_t max) {
    auto it = t.query.find(key);
    if (it == t.query.end()) return fallback;
    auto n = whole_number(it->second);
    if (!n || *n > max) throw refused{400, key + ": must be a whole number from 0 to " + std::to_string(max), key};
    return *n;
}

// The states the journal keeps ("ready" is a moment of a run, never journaled).
bool is_task_state(std::string_view s) {
    for (int i = 0; i < 64; ++i) {
        auto name = to_string(static_cast<task_state>(i));
        if (name == "unknown") break;
        if (name == s) return name != "ready";
    }
    return false;
}

json::object job_json(const service_job& j) {
    json::object o{{"key", j.key},
                   {"file", j.file.string()},
                   {"state_dir", j.state_dir.string()},
                   {"name", j.name},
                   {"loads", j.error.empty()},
                   {"tasks", j.tasks}};
    if (!j.error.empty()) o["error"] = j.error;
    if (!j.schedule.empty()) {
        json::object s{{"cron", j.schedule}, {"timezone", j.timezone}};
        if (j.next_fire_ms) s["next_fire_ms"] = *j.next_fire_ms;
        o["schedule"] = std::move(s);
    }
    if (!j.run_id.empty()) {
        json::object params;
        for (auto& [k, vs] : j.run_params) {
            json::array a;
            for (auto& v : vs) a.emplace_back(v);
            params[k] = std::move(a);
        }
        o["run"] = json::object{{"run_id", j.run_id}, {"reason", j.run_reason}, {"params", std::move(params)}};
    } else {
        o["run"] = nullptr;
    }
    const auto& c = j.counts;
    o["counts"] = json::object{{"total", c.total},         {"pending", c.pending},     {"running", c.running},
                               {"committing", c.committing}, {"retry_wait", c.retry_wait}, {"succeeded", c.succeeded}, {"dead", c.dead},
                               {"skipped", c.skipped},     {"upstream_failed", c.upstream_failed},
                               {"cancelled", c.cancelled}, {"records", c.records},
                               {"elapsed_ms", c.elapsed.count()}};
    // The last run this process ran, or why the last start (a tick, a resume) failed.
    if (!j.last_run_id.empty() || !j.last_result.empty())
        o["last_run"] = json::object{{"run_id", j.last_run_id.empty() ? json::value(nullptr) : json::value(j.last_run_id)},
                                     {"result", j.last_result}};
    return o;
}

// The body of a POST as a JSON object: empty means {}.
json::object body_object(const http_request& r) {
    if (r.body.empty()) return {};
    auto ct = r.header("Content-Type");
    if (ct.substr(0, ct.find(';')) != "application/json") throw refused{415, "the request body must be application/json"};
    boost::system::error_code ec;
    json::parse_options po;
    po.max_depth = 32;
    auto v = json::parse(r.body, ec, {}, po);
    if (ec) throw refused{400, "malformed JSON: " + ec.message()};
    if (!v.is_object()) throw refused{400, "the request body must be a JSON object"};
    return std::move(v.as_object());
}

void only_fields(const json::object& o, std::initializer_list<std::string_view> known) {
    for (auto& [k, v] : o) {
        bool ok = false;
        for (auto n : known) ok = ok || k == n;
        if (!ok) throw refused{400, "unknown field '" + std::string(k) + "'", std::string(k)};
    }
}

bool bool_field(const json::object& o, std::string_view key) {
    auto* v = o.if_contains(key);
    if (!v) return false;
    if (!v->is_bool()) throw refused{400, std::string(key) + ": must be true or false", std::string(key)};
    return v->as_bool();
}

trigger_options trigger_body(const json::object& o) {
    only_fields(o, {"params", "fresh", "retry_dead"});
    trigger_options t;
    t.fresh = bool_field(o, "fresh");
    t.retry_dead = bool_field(o, "retry_dead");
    if (auto* p = o.if_contains("params")) {
        if (!p->is_object()) throw refused{400, "params: must be an object of names to values", "params"};
        for (auto& [k, v] : p->as_object()) {
            auto field = "params." + std::string(k);
            auto& vs = t.params[std::string(k)];
            if (v.is_string()) {
                vs.emplace_back(v.as_string());
            } else if (v.is_array()) {
                for (auto& x : v.as_array()) {
                    if (!x.is_string()) throw refused{400, field + ": values must be strings", field};
                    vs.emplace_back(x.as_string());
                }
            } else {
                throw refused{400, field + ": must be a string or an array of strings", field};
            }
        }
    }
    return t;
}

std::vector<task_spec> tasks_body(const json::object& o, const task_spec& defaults) {
    only_fields(o, {"tasks"});
    auto* a = o.if_contains("tasks");
    if (!a || !a->is_array() || a->as_array().empty())
        throw refused{400, "tasks: must be a non-empty array of task objects", "tasks"};
    std::vector<task_spec> out;
    std::size_t i = 0;
    for (auto& v : a->as_array()) {
        auto field = "tasks[" + std::to_string(i++) + "]";
        if (!v.is_object()) throw refused{400, field + ": must be an object", field};
        try {
            out.push_back(task_from_json(v.as_object(), defaults));
        } catch (const config_error& e) {
            std::string msg = e.what();
            throw refused{400, field + "." + msg, field + "." + msg.substr(0, msg.find(':'))};
        }
    }
    return out;
}

// Server-Sent Events of task_events: each with its number as the id, which a reconnecting
// EventSource sends back in Last-Event-ID; "lost" first when the reader fell behind the ring.
std::string sse_task_events(const service_task_events& got) {
    std::string out;
    if (got.lost) out += "event: lost\ndata: " + json::serialize(json::object{{"lost", got.lost}}) + "\n\n";
    for (const auto& e : got.events)
        out += "id: " + std::to_string(e.seq) + "\nevent: " + e.kind + "\ndata: " + json::serialize(task_event_json(e)) +
               "\n\n";
    return out;
}

// Where a reader of the job's events starts: Last-Event-ID (a reconnecting EventSource), else
// ?after=, else 0 (from the oldest kept).
std::uint64_t events_after(const http_request& r, const target& t) {
    auto id = r.header("Last-Event-ID");
    if (id.empty()) return query_number(t, "after", 0, std::numeric_limits<std::uint64_t>::max());
    auto n = whole_number(id);
    if (!n) throw refused{400, "Last-Event-ID: must be an event's number", "Last-Event-ID"};
    return *n;
}

json::object host_json(const service_host& h) {
    auto since = std::chrono::duration_cast<std::chrono::milliseconds>(h.host.since.time_since_epoch()).count();
    json::object o{{"executor", h.executor},         {"kind", h.kind},
                   {"host", h.host.spec},            {"state", std::string(to_string(h.host.state))},
                   {"running", h.host.running},      {"started", h.host.started},
                   {"since_ms", since}};
    if (!h.host.reason.empty()) o["reason"] = h.host.reason;
    return o;
}

std::string host_field(const json::object& o) {
    auto* v = o.if_contains("host");
    if (!v || !v->is_string() || v->as_string().empty())
        throw refused{400, "host: must be a non-empty string", "host"};
    return std::string(v->as_string());
}

}  // namespace

void service_api::redact_text(json::object& o, std::string_view field, const std::string& key) const {
    auto* v = o.if_contains(field);
    if (v && v->is_string()) *v = svc_.redact(key, std::string(v->as_string()));
}

stderr_filter service_api::redactor(const std::string& key) const {
    // Also where the tail of a log cuts a secret (journal_views.hpp).
    return [this, &key](std::string text, redact_cuts cuts) { return svc_.redact(key, std::move(text), cuts); };
}

std::string service_api::jobs_event() const {
    json::array jobs;
    for (auto& j : svc_.jobs()) jobs.push_back(job_json(j));
    return "event: jobs\ndata: " + json::serialize(json::object{{"jobs", std::move(jobs)}}) + "\n\n";
}

http_answer service_api::login(const http_request& r) const {
    if (r.method != "POST") return problem(405, "use POST");
    if (tokens_.empty()) return problem(400, "this service has no tokens file: there is nothing to log in to");
    auto o = body_object(r);
    only_fields(o, {"token"});
    auto* t = o.if_contains("token");
    if (!t || !t->is_string()) throw refused{400, "token: a string is needed", "token"};
    auto scope = tokens_.check(t->get_string());
    if (!scope) return problem(401, "unknown token");
    auto [id, s] = sessions_.create(*scope);
    return answer(200, {{"scope", *scope == api_scope::admin ? "admin" : "read"}, {"csrf", s.csrf}},
                  {{"Set-Cookie", std::string(session_store::cookie_name) + "=" + id +
                                      "; HttpOnly; SameSite=Strict; Path=/; Max-Age=" +
                                      std::to_string(std::chrono::seconds(session_store::lifetime).count())}});
}

namespace {

// An answer for each of the errors a request can end in.
template <class F>
http_answer answering(F&& f) {
    try {
        return f();
    } catch (const refused& e) {
        return problem(e.status, e.message, e.field);
    } catch (const not_found_error& e) {
        return problem(404, e.what());
    } catch (const conflict_error& e) {
        return problem(409, e.what());
    } catch (const config_error& e) {
        return problem(400, e.what());
    } catch (const error& e) {
        return problem(500, e.what());  // a run that could not start: its executor, sink, state directory
    }
}

}  // namespace

http_answer service_api::handle(const http_request& r) const {
    return answering([&] { return route(r); });
}

http_answer service_api::later(std::function<http_answer()> work) const {
    if (!slow_) return answering(work);
    http_answer a;
    a.later = [slow = slow_, work = std::move(work)](std::function<void(http_answer)> done) {
        slow([work, done = std::move(done)] {
            http_answer b;
            try {
                b = answering(work);
            } catch (const std::exception&) {
                b = problem(500, "internal error");
            }
            done(std::move(b));
        });
    };
    return a;
}

http_answer service_api::route(const http_request& r) const {
    auto t = split_target(r.target);
    auto& p = t.path;
    bool reading = r.method == "GET";
    if (p.size() == 3 && p[0] == "api" && p[1] == "v1" && p[2] == "health")
        return reading ? answer(200, {{"status", "ok"}}) : problem(405, "use GET");
    if (p.size() == 3 && p[0] == "api" && p[1] == "v1" && p[2] == "openapi.json")
        return reading ? http_answer{200, "application/json", std::string(openapi_document()), {}} : problem(405, "use GET");
    // The dashboard's files: no token (the page asks for one).
    if (reading && p.size() <= 1) {
        auto asset = dashboard_asset(p.empty() ? std::string_view() : std::string_view(p[0]));
        if (asset) return *asset;
    }
    bool api = p.size() >= 2 && p[0] == "api" && p[1] == "v1";
    if (api && p.size() == 3 && p[2] == "login") return login(r);
    // Who asks, and may they do this.
    auto cookie = cookie_value(r.header("Cookie"), session_store::cookie_name);
    std::optional<session_store::session> session;
    std::optional<api_scope> scope;
    if (tokens_.empty()) {
        scope = api_scope::read;
    } else if (auto auth = r.header("Authorization"); !auth.empty()) {
        auto token = bearer_token(auth);
        scope = token ? tokens_.check(*token) : std::nullopt;
    } else if (!cookie.empty() && (session = sessions_.find(cookie))) {
        scope = session->scope;
    }
    if (!scope)
        return {401, "application/json", R"({"error":"a valid bearer token is needed"})" "\n",
                {{"WWW-Authenticate", "Bearer realm=\"drover\""}}};
    if (api && p.size() == 3 && p[2] == "session" && reading)
        return answer(200, {{"scope", *scope == api_scope::admin ? "admin" : "read"},
                            {"csrf", session ? json::value(session->csrf) : json::value(nullptr)},
                            {"tokens", !tokens_.empty()}});
    if (api && p.size() == 3 && p[2] == "logout" && r.method == "POST") {
        if (!cookie.empty()) sessions_.remove(cookie);
        return answer(200, {{"logged_out", true}},
                      {{"Set-Cookie", std::string(session_store::cookie_name) +
                                          "=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"}});
    }
    if (!reading) {
        if (tokens_.empty())
            return problem(403, "this service has no tokens file: its API only reads (start it with --tokens FILE)");
        if (*scope != api_scope::admin) return problem(403, "this token may only read");
        // A request the browser sent with the session cookie: it must prove it comes from our
        // page, which alone knows the session's CSRF token.
        if (session && !same_secret(r.header("X-Drover-CSRF"), session->csrf))
            return problem(403, "a missing or wrong X-Drover-CSRF header");
    }
    if (api && p.size() == 3 && p[2] == "events") {
        if (!reading) return problem(405, "use GET");
        http_answer a{200, "text/event-stream", {}, {}};
        a.next_event = [this] { return jobs_event(); };
        return a;
    }
    if (p.size() == 1 && p[0] == "metrics") {
        if (!reading) return problem(405, "use GET");
        return {200, "text/plain; version=0.0.4; charset=utf-8", svc_.metrics(), {}};
    }
    if (api && p.size() == 3 && p[2] == "pools") {
        if (!reading) return problem(405, "use GET");
        json::array pools;
        for (auto& pool : svc_.pools())
            pools.push_back(json::object{{"name", pool.name}, {"limit", pool.limit}, {"in_use", pool.in_use}, {"waiting", pool.waiting}});
        return answer(200, {{"pools", std::move(pools)}});
    }
    if (p.size() < 3 || p[0] != "api" || p[1] != "v1" || p[2] != "jobs") return problem(404, "no such endpoint");
    if (p.size() == 3) {
        if (!reading) return problem(405, "use GET");
        json::array jobs;
        for (auto& j : svc_.jobs()) jobs.push_back(job_json(j));
        return answer(200, {{"jobs", std::move(jobs)}});
    }
    const auto& key = p[3];
    auto job = svc_.job(key);  // not_found_error: 404
    if (p.size() == 4) {
        if (!reading) return problem(405, "use GET");
        auto o = job_json(job);
        o["journal"] = journal_status_json(job.state_dir);
        return answer(200, std::move(o));
    }
    const auto& what = p[4];
    if (p.size() == 5 && what == "runs") {
        if (reading) return answer(200, {{"runs", runs_json(job.state_dir, query_number(t, "limit", 50, 10'000))}});
        if (r.method != "POST") return problem(405, "use GET or POST");
        // Reading the job file and making its run takes as long as the file is big: not on
        // the thread that answers every other request.
        return later([this, key = std::string(key), o = trigger_body(body_object(r))] {
            auto id = svc_.trigger(key, o);
            return answer(201, {{"job", key}, {"run_id", id}}, {{"Location", "/api/v1/jobs/" + key + "/runs/" + id}});
        });
    }
    if (p.size() == 7 && what == "runs" && p[6] == "attempts") {
        if (!reading) return problem(405, "use GET");
        auto a = run_attempts_json(job.state_dir, p[5], query_number(t, "limit", 5000, 100'000));
        if (!a) return problem(404, "no run '" + p[5] + "' in the journal of " + key);
        return answer(200, std::move(*a));
    }
    if (p.size() == 6 && what == "runs") {
        if (!reading) return problem(405, "use GET");
        auto run = run_json(job.state_dir, p[5]);
        if (!run) return problem(404, "no run '" + p[5] + "' in the journal of " + key);
        return answer(200, std::move(*run));
    }
    if (what == "events" && (p.size() == 5 || (p.size() == 6 && p[5] == "stream"))) {
        if (!reading) return problem(405, "use GET");
        auto after = events_after(r, t);
        if (p.size() == 5) {
            auto got = svc_.task_events(key, after, query_number(t, "limit", 1000, 10'000));
            json::array events;
            for (const auto& e : got.events) events.push_back(task_event_json(e));
            return answer(200, {{"events", std::move(events)}, {"lost", got.lost}, {"last_seq", got.last_seq}});
        }
        // Four times a second, what is new; nothing when nothing is (a keep-alive comment
        // now and then). A removed job ends the stream (the exception closes it).
        http_answer a{200, "text/event-stream", {}, {}};
        a.event_interval = std::chrono::milliseconds(250);
        a.next_event = [this, key, after]() mutable {
            auto got = svc_.task_events(key, after, 1000);
            if (!got.events.empty()) after = got.events.back().seq;
            return sse_task_events(got);
        };
        return a;
    }
    if (p.size() == 5 && what == "cancel") {
        if (r.method != "POST") return problem(405, "use POST");
        only_fields(body_object(r), {});
        return answer(200, {{"cancelled", svc_.cancel(key)}});
    }
    if (p.size() == 5 && what == "tasks") {
        if (reading) {
            std::optional<std::string> state;
            if (auto it = t.query.find("state"); it != t.query.end()) {
                state = it->second;
                if (!is_task_state(*state))
                    throw refused{400, "state: not a task state (pending, running, retry_wait, succeeded, dead, "
                                       "upstream_failed, skipped, cancelled)",
                                  "state"};
            }
            // The page is built on one arena, freed at once: a page of 100 rows otherwise
            // costs about 1,500 allocations.
            json::monotonic_resource arena(32 * 1024);
            auto tasks = tasks_json(job.state_dir, state, query_number(t, "limit", 100, 100'000),
                                    query_number(t, "offset", 0, 100'000'000), &arena);
            for (auto& row : tasks.at("tasks").as_array()) redact_text(row.as_object(), "message", key);
            return answer(200, std::move(tasks));
        }
        if (r.method != "POST") return problem(405, "use GET or POST");
        auto tasks = tasks_body(body_object(r), svc_.task_defaults(key));
        auto n = tasks.size();
        svc_.submit(key, std::move(tasks));
        return answer(201, {{"submitted", n}});
    }
    if (p.size() == 6 && what == "tasks") {
        if (!reading) return problem(405, "use GET");
        // A task may print its own secrets: what the API shows has them replaced.
        auto task = task_json(job.state_dir, p[5], redactor(key));
        if (!task) return problem(404, "no task '" + p[5] + "' in the journal of " + key);
        return answer(200, std::move(*task));
    }
    if (p.size() == 9 && what == "tasks" && p[6] == "attempts" && p[8] == "stderr") {
        if (!reading) return problem(405, "use GET");
        auto& a = p[7];
        auto n = whole_number(a);
        if (!n || *n < 1 || *n > std::uint64_t(std::numeric_limits<int>::max()))
            return problem(404, "no attempt '" + a + "': attempts are numbered 1, 2, ...");
        std::optional<std::string> run;
        if (auto it = t.query.find("run"); it != t.query.end()) run = it->second;
        auto log = attempt_stderr_json(job.state_dir, p[5], static_cast<std::int64_t>(*n), run,
                                       query_number(t, "bytes", 64 * 1024, 16 * 1024 * 1024), redactor(key));
        if (!log) return problem(404, "no attempt " + a + " of task '" + p[5] + "' in the journal of " + key);
        return answer(200, std::move(*log));
    }
    if (p.size() == 7 && what == "tasks" && (p[6] == "cancel" || p[6] == "retry" || p[6] == "succeed")) {
        if (r.method != "POST") return problem(405, "use POST");
        only_fields(body_object(r), {});
        if (p[6] == "succeed") return answer(200, {{"marked", svc_.mark_succeeded(key, p[5])}});
        bool done = p[6] == "cancel" ? svc_.cancel_task(key, p[5]) : svc_.retry_task(key, p[5]);
        return answer(200, {{p[6] == "cancel" ? "cancelled" : "retried", done}});
    }
    if (p.size() == 5 && what == "hosts") {
        if (reading) {
            json::array hosts;
            for (auto& h : svc_.hosts(key)) hosts.push_back(host_json(h));
            return answer(200, {{"hosts", std::move(hosts)}});
        }
        if (r.method != "POST") return problem(405, "use GET or POST");
        auto o = body_object(r);
        only_fields(o, {"host", "executor"});
        auto host = host_field(o);
        std::optional<std::size_t> executor;
        if (auto* v = o.if_contains("executor")) {
            if (!v->is_int64() || v->as_int64() < 0 || v->as_int64() > 1'000'000)
                throw refused{400, "executor: must be the executor's position in [[executors]] (0, 1, ...)",
                              "executor"};
            executor = static_cast<std::size_t>(v->as_int64());
        }
        svc_.add_host(key, host, executor);
        return answer(201, {{"added", host}});
    }
    if (p.size() == 6 && what == "hosts" && p[5] == "drain") {
        if (r.method != "POST") return problem(405, "use POST");
        auto o = body_object(r);
        only_fields(o, {"host", "remove"});
        auto host = host_field(o);
        bool remove = bool_field(o, "remove");
        svc_.drain_host(key, host, remove);
        return answer(200, {{remove ? "removed" : "drained", host}});
    }
    return problem(404, "no such endpoint");
}

}  // namespace drover::detail
