#include "docker/api.hpp"

#include <boost/json.hpp>
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

}  // namespace

std::string url_encode(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') out += static_cast<char>(c);
        else out += fmt::format("%{:02X}", c);
    }
    return out;
}

std::string container_name(std::string_view run_id, std::string_view task_id, int attempt) {
    std::string n = fmt::format("drover-{}-{}-{}", run_id, task_id, attempt);
    for (char& c : n)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) c = '_';
    return n;
}

std::string create_body(const task_spec& t, const std::string& image, const container_labels& l) {
    json::object body;
    body["Image"] = image;
    json::array cmd;
    for (auto& a : t.command) cmd.emplace_back(a);
    body["Cmd"] = std::move(cmd);
    json::array env;
    for (auto& [k, v] : t.env) env.emplace_back(k + "=" + v);
    body["Env"] = std::move(env);
    if (!t.workdir.empty()) body["WorkingDir"] = t.workdir;
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
    return json::serialize(body);
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

std::string parse_create(std::string_view body) {
    auto v = parse_json(body, "container create response");
    const auto& o = object_of(v, "container create response");
    auto id = opt_string(o, "Id");
    if (!id || id->empty()) throw protocol_error("container create response: no Id");
    if (id->size() > 128 || id->find_first_of("/?#% ") != std::string::npos)
        throw protocol_error("container create response: implausible Id " + clip(*id, 80));
    return *id;
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
