// drover::service_client: drover's HTTP client (http/client.hpp), one blocking request at a
// time on an io_context of its own.

#include <drover/service_client.hpp>

#include "http/client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

namespace drover {

namespace json = boost::json;
using boost::beast::http::verb;

struct service_client::impl {
    explicit impl(service_client_options o) : opts(std::move(o)) {
        auto u = http::parse_http_url(opts.url, "service URL");
        prefix = u.target == "/" ? "" : u.target;
        if (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
        http::client_options co;
        co.target = u.ep;
        co.tls.ca_file = opts.ca_file;
        co.request_timeout = opts.timeout;
        co.connect_timeout = opts.timeout;
        client = std::make_unique<http::client>(io.get_executor(), co);
    }

    service_client_options opts;
    std::string prefix;
    boost::asio::io_context io;
    std::unique_ptr<http::client> client;

    http::result send(verb method, const std::string& target, std::string body) {
        http::request req;
        req.method = method;
        req.target = prefix + target;
        if (!opts.token.empty()) req.headers.emplace_back("Authorization", "Bearer " + opts.token);
        if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
        req.body = std::move(body);
        http::result out;
        client->async_request(std::move(req), [&](http::result r) { out = std::move(r); });
        io.restart();
        io.run();
        return out;
    }

    /// The answer's JSON; errors by status, with the server's "error".
    json::value call(verb method, const std::string& target, std::string body = {}) {
        auto r = send(method, target, std::move(body));
        auto where = std::string(method == verb::get ? "GET " : "POST ") + target;
        if (!r) throw error("cannot reach the drover service at " + opts.url + ": " + r.error);
        boost::system::error_code ec;
        auto v = json::parse(r.res.body, ec);
        std::string message;
        if (!ec && v.is_object())
            if (auto* e = v.as_object().if_contains("error"); e && e->is_string()) message = std::string(e->get_string());
        if (r.res.status >= 200 && r.res.status < 300) {
            if (ec) throw error(where + ": the service's answer is not JSON");
            return v;
        }
        if (message.empty()) message = "HTTP " + std::to_string(r.res.status);
        auto text = where + ": " + message;
        switch (r.res.status) {
            case 404: throw not_found_error(text);
            case 409: throw conflict_error(text);
            case 400:
            case 413:
            case 415: throw config_error(text);
            default: throw error(text + " (HTTP " + std::to_string(r.res.status) + ")");
        }
    }
};

namespace {

std::string segment(std::string_view s) {
    static const char* hexd = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                     c == '_' || c == '~';
        if (plain) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hexd[c >> 4];
            out += hexd[c & 15];
        }
    }
    return out;
}

std::string job_path(std::string_view key) { return "/api/v1/jobs/" + segment(key); }

bool flag(const json::value& v, const char* key) {
    auto* b = v.is_object() ? v.as_object().if_contains(key) : nullptr;
    return b && b->is_bool() && b->as_bool();
}

}  // namespace

service_client::service_client(service_client_options o) : impl_(std::make_unique<impl>(std::move(o))) {}
service_client::~service_client() = default;
service_client::service_client(service_client&&) noexcept = default;
service_client& service_client::operator=(service_client&&) noexcept = default;

json::value service_client::jobs() { return impl_->call(verb::get, "/api/v1/jobs"); }
json::value service_client::job(std::string_view key) { return impl_->call(verb::get, job_path(key)); }

json::value service_client::runs(std::string_view key, std::size_t limit) {
    return impl_->call(verb::get, job_path(key) + "/runs?limit=" + std::to_string(limit));
}

json::value service_client::tasks(std::string_view key, std::string_view state, std::size_t limit, std::size_t offset) {
    auto t = job_path(key) + "/tasks?limit=" + std::to_string(limit) + "&offset=" + std::to_string(offset);
    if (!state.empty()) t += "&state=" + segment(state);
    return impl_->call(verb::get, t);
}

json::value service_client::task_events(std::string_view key, std::uint64_t after, std::size_t limit) {
    return impl_->call(verb::get, job_path(key) + "/events?after=" + std::to_string(after) + "&limit=" + std::to_string(limit));
}

json::value service_client::task(std::string_view key, std::string_view id) {
    return impl_->call(verb::get, job_path(key) + "/tasks/" + segment(id));
}

json::value service_client::attempt_stderr(std::string_view key, std::string_view id, int attempt, std::size_t bytes,
                                           std::string_view run) {
    auto t = job_path(key) + "/tasks/" + segment(id) + "/attempts/" + std::to_string(attempt) +
             "/stderr?bytes=" + std::to_string(bytes);
    if (!run.empty()) t += "&run=" + segment(run);
    return impl_->call(verb::get, t);
}

std::string service_client::trigger(std::string_view key, const trigger_options& o) {
    json::object params;
    for (auto& [k, vs] : o.params) {
        json::array a;
        for (auto& v : vs) a.emplace_back(v);
        params[k] = std::move(a);
    }
    json::object body{{"params", std::move(params)}, {"fresh", o.fresh}, {"retry_dead", o.retry_dead}};
    auto v = impl_->call(verb::post, job_path(key) + "/runs", json::serialize(body));
    auto* id = v.is_object() ? v.as_object().if_contains("run_id") : nullptr;
    if (!id || !id->is_string()) throw error("POST " + job_path(key) + "/runs: the answer has no run_id");
    return std::string(id->get_string());
}

bool service_client::cancel(std::string_view key) {
    return flag(impl_->call(verb::post, job_path(key) + "/cancel"), "cancelled");
}

bool service_client::cancel_task(std::string_view key, std::string_view id) {
    return flag(impl_->call(verb::post, job_path(key) + "/tasks/" + segment(id) + "/cancel"), "cancelled");
}

bool service_client::retry_task(std::string_view key, std::string_view id) {
    return flag(impl_->call(verb::post, job_path(key) + "/tasks/" + segment(id) + "/retry"), "retried");
}

bool service_client::mark_succeeded(std::string_view key, std::string_view id) {
    return flag(impl_->call(verb::post, job_path(key) + "/tasks/" + segment(id) + "/succeed"), "marked");
}

json::value service_client::hosts(std::string_view key) { return impl_->call(verb::get, job_path(key) + "/hosts"); }

void service_client::add_host(std::string_view key, std::string_view spec, std::optional<std::size_t> executor) {
    json::object body{{"host", spec}};
    if (executor) body["executor"] = *executor;
    impl_->call(verb::post, job_path(key) + "/hosts", json::serialize(body));
}

void service_client::drain_host(std::string_view key, std::string_view spec, bool remove) {
    json::object body{{"host", spec}, {"remove", remove}};
    impl_->call(verb::post, job_path(key) + "/hosts/drain", json::serialize(body));
}

std::size_t service_client::submit(std::string_view key, const json::array& tasks) {
    auto v = impl_->call(verb::post, job_path(key) + "/tasks", json::serialize(json::object{{"tasks", tasks}}));
    auto* n = v.is_object() ? v.as_object().if_contains("submitted") : nullptr;
    return n && n->is_int64() ? static_cast<std::size_t>(n->as_int64()) : 0;
}

json::value service_client::pools() { return impl_->call(verb::get, "/api/v1/pools"); }

std::string service_client::metrics() {
    auto r = impl_->send(verb::get, "/metrics", {});
    if (!r) throw error("cannot reach the drover service at " + impl_->opts.url + ": " + r.error);
    if (r.res.status != 200) throw error("GET /metrics: HTTP " + std::to_string(r.res.status));
    return r.res.body;
}

bool service_client::reachable() {
    auto r = impl_->send(verb::get, "/api/v1/health", {});
    return r && r.res.status == 200;
}

}  // namespace drover
