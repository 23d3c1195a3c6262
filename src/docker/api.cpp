#include "docker/api.hpp"

#include <boost/json.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/grammar/alnum_chars.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <fmt/format.h>

#include <cmath>

namespace drover::docker {

namespace json = boost::json;

namespace {

json::value parse_json(std::string_view body, std::string_view what) {
    json::parse_options po;
    po.max_depth = 64;
    boost::system::error_code ec;
    json::value v = json::parse(body, ec, {}, po);
    if (ec) {
        std::string head(body.substr(0, 120));
        throw protocol_error(fmt::format("{}: invalid JSON ({}): {:?}", what, ec.message(), head));
    }
    return v;
}

const json::object& object_of(const json::value& v, std::string_view what) {
    if (!v.is_object()) throw protocol_error(fmt::format("{}: expected a JSON object", what));
    return v.get_object();
}

std::optional<std::string> opt_string(const json::object& o, std::string_view key) {
    auto it = o.find(key);
    if (it == o.end() || it->value().is_null()) return std::nullopt;
    if (!it->value().is_string()) return std::nullopt;
    return std::string(it->value().get_string());
}

std::int64_t int_field(const json::object& o, std::string_view key, std::string_view what) {
    auto it = o.find(key);
    if (it == o.end()) throw protocol_error(fmt::format("{}: no {}", what, key));
    const auto& v = it->value();
    if (v.is_int64()) return v.get_int64();
    if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
        return static_cast<std::int64_t>(v.get_uint64());
    throw protocol_error(fmt::format("{}: {} is not an integer", what, key));
}

std::string clip(std::string_view s, std::size_t n = 300) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.remove_suffix(1);
    if (s.size() <= n) return std::string(s);
    return std::string(s.substr(0, n)) + "...";
}

std::string parse_id(std::string_view body, std::string_view what) {
    auto v = parse_json(body, what);
    const auto& o = object_of(v, what);
    auto id = opt_string(o, "Id");
    if (!id || id->empty()) throw protocol_error(fmt::format("{}: no Id", what));
    if (id->size() > 128 || id->find_first_of("/?#% ") != std::string::npos)
        throw protocol_error(fmt::format("{}: implausible Id {}", what, clip(*id, 80)));
    return *id;
}

}  // namespace

std::string url_encode(std::string_view s) { return boost::urls::encode(s, boost::urls::unreserved_chars); }

std::string container_name(std::string_view run_id, std::string_view task_id, int attempt) {
    std::string n = fmt::format("drover-{}-{}-{}", run_id, task_id, attempt);
    for (char& c : n)
        if (!(boost::urls::grammar::alnum_chars(c) || c == '_' || c == '.' || c == '-')) c = '_';
    return n;
}

namespace {

// Cmd (`prefix` then the task's argv), Env and WorkingDir: a container's or an exec's.
void put_process(json::object& body, json::array prefix, const task_spec& t) {
    for (auto& a : t.command) prefix.emplace_back(a);
    body["Cmd"] = std::move(prefix);
    json::array env;
    for (auto& [k, v] : t.env) env.emplace_back(k + "=" + v);
    body["Env"] = std::move(env);
    if (!t.workdir.empty()) body["WorkingDir"] = t.workdir;
}

json::object create_object(const task_spec& t, const std::string& image, const container_labels& l) {
    json::object body;
    body["Image"] = image;
    put_process(body, {}, t);
    body["Tty"] = false;
    body["OpenStdin"] = false;
    body["AttachStdin"] = false;
    body["AttachStdout"] = false;
    body["AttachStderr"] = false;
    body["Labels"] = json::object{{"drover.run", l.run},
                                  {"drover.task", l.task},
                                  {"drover.attempt", std::to_string(l.attempt)},
                                  {"drover.state", l.state}};
    const auto* d = t.extension<docker_task_options>();
    const container_options c = d ? d->container : container_options{};
    json::object host;
    host["NetworkMode"] = c.network == container_network::host ? "host" : "none";
    if (c.memory > 0) {
        host["Memory"] = c.memory;
        host["MemorySwap"] = c.memory;  // the limit includes swap: no swapping past it
    }
    if (c.cpus > 0) host["NanoCpus"] = static_cast<std::int64_t>(std::llround(c.cpus * 1e9));
    host["LogConfig"] = json::object{{"Type", "json-file"}, {"Config", json::object{}}};
    body["HostConfig"] = std::move(host);
    return body;
}

// Runs "$@" in a session of its own and waits; then kills what it left in that session.
// (A timeout or cancel removes the whole container instead.)
constexpr std::string_view exec_wrapper = R"(setsid "$@" </dev/null &
c=$!
wait $c; rc=$?
kill -KILL -$c 2>/dev/null
exit $rc)";

}  // namespace

std::string create_body(const task_spec& t, const std::string& image, const container_labels& l) {
    return json::serialize(create_object(t, image, l));
}

std::string warm_create_body(const task_spec& t, const std::string& image, const container_labels& l) {
    auto body = create_object(t, image, l);
    // PID 1 of the container: sleeps until the container is removed (force: SIGKILL).
    body["Cmd"] = json::array{"sh", "-c", "while :; do sleep 3600; done"};
    body["Env"] = json::array{};
    body.erase("WorkingDir");
    body["Labels"].as_object()["drover.warm"] = "1";
    return json::serialize(body);
}

std::string warm_container_name(std::string_view run_id, std::uint64_t n) {
    return container_name(run_id, "warm", static_cast<int>(n % 1000000000));
}

std::string warm_key(const task_spec& t, const std::string& image) {
    const auto* d = t.extension<docker_task_options>();
    const container_options c = d ? d->container : container_options{};
    return fmt::format("{}\n{}\n{}\n{}", image, c.network == container_network::host ? "host" : "none", c.memory,
                       c.cpus);
}

std::string exec_create_body(const task_spec& t) {
    json::object body;
    put_process(body, json::array{"sh", "-c", json::string(exec_wrapper), "drover"}, t);
    body["AttachStdin"] = false;
    body["AttachStdout"] = true;
    body["AttachStderr"] = true;
    body["Tty"] = false;
    return json::serialize(body);
}

std::string exec_create_target(std::string_view container_id) {
    return fmt::format("{}/containers/{}/exec", api_prefix, url_encode(container_id));
}
std::string exec_start_target(std::string_view exec_id) {
    return fmt::format("{}/exec/{}/start", api_prefix, url_encode(exec_id));
}
std::string exec_inspect_target(std::string_view exec_id) {
    return fmt::format("{}/exec/{}/json", api_prefix, url_encode(exec_id));
}

std::string create_target(std::string_view name) {
    return fmt::format("{}/containers/create?name={}", api_prefix, url_encode(name));
}
std::string start_target(std::string_view id) { return fmt::format("{}/containers/{}/start", api_prefix, url_encode(id)); }
std::string logs_target(std::string_view id) {
    return fmt::format("{}/containers/{}/logs?follow=1&stdout=1&stderr=1", api_prefix, url_encode(id));
}
std::string logs_all_target(std::string_view id) {
    return fmt::format("{}/containers/{}/logs?stdout=1&stderr=1", api_prefix, url_encode(id));
}
std::string wait_target(std::string_view id) {
    return fmt::format("{}/containers/{}/wait?condition=not-running", api_prefix, url_encode(id));
}
std::string inspect_target(std::string_view id) { return fmt::format("{}/containers/{}/json", api_prefix, url_encode(id)); }
std::string remove_target(std::string_view id) {
    return fmt::format("{}/containers/{}?force=1&v=1", api_prefix, url_encode(id));
}
std::string pull_target(std::string_view image) {
    // "name:tag" or "name@digest"; a ':' before the last '/' belongs to a registry port.
    std::string_view name = image, tag = "latest";
    if (auto at = image.find('@'); at != std::string_view::npos) {
        name = image.substr(0, at);
        tag = image.substr(at + 1);
    } else if (auto colon = image.rfind(':'); colon != std::string_view::npos &&
                                              (image.rfind('/') == std::string_view::npos || colon > image.rfind('/'))) {
        name = image.substr(0, colon);
        tag = image.substr(colon + 1);
    }
    return fmt::format("{}/images/create?fromImage={}&tag={}", api_prefix, url_encode(name), url_encode(tag));
}
std::string list_target(std::string_view label_filter) {
    json::object f{{"label", json::array{json::string(label_filter)}}};
    return fmt::format("{}/containers/json?all=1&filters={}", api_prefix, url_encode(json::serialize(f)));
}

std::string error_message(unsigned status, std::string_view body) {
    json::parse_options po;
    po.max_depth = 16;
    boost::system::error_code ec;
    json::value v = json::parse(body, ec, {}, po);
    // A message of only spaces says nothing: the body, then the status, say more.
    if (!ec && v.is_object())
        if (auto m = opt_string(v.get_object(), "message"); m && !clip(*m).empty()) return clip(*m);
    if (body.find_first_not_of(" \r\n\t") == std::string_view::npos) return fmt::format("HTTP {}", status);
    return clip(body);
}

std::string parse_create(std::string_view body) { return parse_id(body, "container create response"); }

std::string parse_exec_create(std::string_view body) { return parse_id(body, "exec create response"); }

exec_state parse_exec_inspect(std::string_view body) {
    auto v = parse_json(body, "exec inspect response");
    const auto& o = object_of(v, "exec inspect response");
    exec_state r;
    auto it = o.find("Running");
    if (it == o.end() || !it->value().is_bool()) throw protocol_error("exec inspect response: no Running");
    r.running = it->value().get_bool();
    if (!r.running) r.exit_code = int_field(o, "ExitCode", "exec inspect response");
    return r;
}

wait_result parse_wait(std::string_view body) {
    auto v = parse_json(body, "container wait response");
    const auto& o = object_of(v, "container wait response");
    wait_result r;
    r.status_code = int_field(o, "StatusCode", "container wait response");
    if (auto it = o.find("Error"); it != o.end() && it->value().is_object())
        if (auto m = opt_string(it->value().get_object(), "Message")) r.error = *m;
    return r;
}

container_state parse_inspect(std::string_view body) {
    auto v = parse_json(body, "container inspect response");
    const auto& o = object_of(v, "container inspect response");
    auto it = o.find("State");
    if (it == o.end() || !it->value().is_object()) throw protocol_error("container inspect response: no State");
    const auto& s = it->value().get_object();
    container_state r;
    auto flag = [&](std::string_view k) {
        auto f = s.find(k);
        return f != s.end() && f->value().is_bool() && f->value().get_bool();
    };
    r.running = flag("Running");
    r.oom_killed = flag("OOMKilled");
    r.exit_code = int_field(s, "ExitCode", "container inspect response State");
    if (auto e = opt_string(s, "Error")) r.error = *e;
    return r;
}

std::vector<container_summary> parse_list(std::string_view body) {
    auto v = parse_json(body, "container list");
    if (!v.is_array()) throw protocol_error("container list: expected a JSON array");
    std::vector<container_summary> out;
    for (const auto& e : v.get_array()) {
        const auto& o = object_of(e, "container list entry");
        container_summary c;
        auto id = opt_string(o, "Id");
        if (!id || id->empty()) throw protocol_error("container list entry: no Id");
        c.id = *id;
        if (auto it = o.find("Names"); it != o.end() && it->value().is_array() && !it->value().get_array().empty() &&
                                       it->value().get_array()[0].is_string()) {
            std::string_view n = it->value().get_array()[0].get_string();
            if (n.starts_with("/")) n.remove_prefix(1);
            c.name = std::string(n);
        }
        if (auto s = opt_string(o, "State")) c.state = *s;
        if (auto it = o.find("Labels"); it != o.end() && it->value().is_object())
            for (const auto& [k, lv] : it->value().get_object())
                if (lv.is_string()) c.labels[std::string(k)] = std::string(lv.get_string());
        out.push_back(std::move(c));
    }
    return out;
}

std::optional<std::string> pull_error(std::string_view body) {
    // One JSON object per line; a line that is not JSON is skipped, not fatal.
    json::parse_options po;
    po.max_depth = 16;
    for (std::size_t start = 0; start < body.size();) {
        auto nl = body.find('\n', start);
        if (nl == std::string_view::npos) nl = body.size();
        std::string_view line = body.substr(start, nl - start);
        start = nl + 1;
        boost::system::error_code ec;
        json::value v = json::parse(line, ec, {}, po);
        if (ec || !v.is_object()) continue;
        const auto& o = v.get_object();
        std::optional<std::string> e = opt_string(o, "error");
        if (auto it = o.find("errorDetail"); !e && it != o.end() && it->value().is_object())
            e = opt_string(it->value().get_object(), "message");
        if (e) return clip(*e).empty() ? clip(line) : clip(*e);  // a blank message: the line says more
    }
    return std::nullopt;
}

}  // namespace drover::docker
