#include "scheduler/task_json.hpp"

#include <drover/duration.hpp>
#include <drover/error.hpp>

#include "detail/secrets.hpp"
#include "detail/template.hpp"

#include "detail/json_fields.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace drover::detail {

namespace json = boost::json;

namespace {

using detail::json_fields::bad;
using detail::json_fields::kind_of;
using detail::json_fields::number_of;
using detail::json_fields::string_of;

std::vector<std::string> strings_of(const json::value& v, std::string_view key) {
    if (!v.is_array()) bad(key, "must be an array of strings, not " + std::string(kind_of(v)));
    std::vector<std::string> out;
    for (std::size_t i = 0; i < v.get_array().size(); ++i)
        out.push_back(string_of(v.get_array()[i], std::string(key) + "[" + std::to_string(i) + "]"));
    return out;
}

// Params may be given as numbers: {"page": 7} means "7".
std::map<std::string, std::string> map_of(const json::value& v, std::string_view key, bool numbers) {
    if (!v.is_object()) bad(key, "must be an object of strings, not " + std::string(kind_of(v)));
    std::map<std::string, std::string> out;
    for (const auto& [k, x] : v.get_object()) {
        std::string sub = std::string(key) + "." + std::string(k);
        if (numbers && (x.is_int64() || x.is_uint64()))
            out[std::string(k)] = json::serialize(x);
        else
            out[std::string(k)] = string_of(x, sub);
    }
    return out;
}

std::int64_t int_of(const json::value& v, std::string_view key, std::int64_t lo, std::int64_t hi) {
    std::int64_t n = 0;
    if (v.is_int64())
        n = v.get_int64();
    else if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(hi))
        n = static_cast<std::int64_t>(v.get_uint64());
    else if (v.is_uint64())
        n = hi + (hi < std::numeric_limits<std::int64_t>::max() ? 1 : 0);
    else
        bad(key, "must be a whole number, not " + std::string(kind_of(v)));
    if (n < lo || n > hi) bad(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    return n;
}


bool bool_of(const json::value& v, std::string_view key) {
    if (!v.is_bool()) bad(key, "must be true or false, not " + std::string(kind_of(v)));
    return v.get_bool();
}

duration duration_of(const json::value& v, std::string_view key) {
    try {
        return parse_duration(string_of(v, key));
    } catch (const config_error& e) {
        bad(key, e.what());
    }
}

void read_backoff(const json::value& v, backoff_policy& b) {
    if (!v.is_object()) bad("backoff", "must be an object, not " + std::string(kind_of(v)));
    for (const auto& [k, x] : v.get_object()) {
        if (k == "initial")
            b.initial = duration_of(x, "backoff.initial");
        else if (k == "max")
            b.max = duration_of(x, "backoff.max");
        else if (k == "multiplier")
            b.multiplier = number_of(x, "backoff.multiplier", 1, 1000);
        else if (k == "jitter")
            b.jitter = number_of(x, "backoff.jitter", 0, 1);
        else
            bad("backoff." + std::string(k), "unknown key (known: initial, max, multiplier, jitter)");
    }
}

}  // namespace

std::string task_to_json(const task_spec& t) {
    json::object o;
    o["id"] = t.id;
    json::array cmd;
    for (const auto& a : t.command) cmd.emplace_back(a);
    o["command"] = std::move(cmd);
    json::object env, params;
    json::array redacted;
    for (const auto& [k, v] : t.env) {
        if (is_secret_env(k, v))
            redacted.emplace_back(k);
        else
            env[k] = v;
    }
    for (const auto& [k, v] : t.params) params[k] = v;
    o["env"] = std::move(env);
    if (!redacted.empty()) o["redacted_env"] = std::move(redacted);
    o["params"] = std::move(params);
    json::array after;
    for (const auto& a : t.after) after.emplace_back(a);
    o["after"] = std::move(after);
    o["retries"] = t.retries;
    if (t.timeout) o["timeout"] = format_duration(*t.timeout);
    o["backoff"] = {{"initial", format_duration(t.backoff.initial)},
                    {"max", format_duration(t.backoff.max)},
                    {"multiplier", t.backoff.multiplier},
                    {"jitter", t.backoff.jitter}};
    o["pool"] = t.pool;
    o["workdir"] = t.workdir;
    o["control_lines"] = t.control_lines;
    if (!t.speculate) o["speculate"] = false;
    for (const auto& e : t.extensions) e.type->to_json(e.value.get(), o);  // Docker: "image", "container"
    return json::serialize(o);
}

namespace {

// A default env value is a template over the task's params ({date}), as in job files.
std::string expand_default(const std::string& name, const std::string& value, const task_spec& t) {
    try {
        return expand_template(value, [&](std::string_view n) -> std::optional<std::string> {
            auto it = t.params.find(std::string(n));
            if (it == t.params.end()) return std::nullopt;
            return it->second;
        });
    } catch (const unknown_placeholder& e) {
        bad("env." + name, "the default value needs the parameter '" + e.name + "', which the task does not have");
    } catch (const bad_placeholder& e) {
        bad("env." + name, e.what());
    }
}

// The extension type owning a task JSON key, among those `known` carries.
const task_extension_type* owner_of(std::string_view key, const task_extensions& known) {
    for (const auto& e : known)
        for (auto k : e.type->json_keys)
            if (k == key) return e.type;
    return nullptr;
}

task_spec read_task(const json::object& o, const task_spec& defaults, const task_extensions& known,
                    std::vector<std::string>* redacted) {
    task_spec t = defaults;
    std::vector<const task_extension_type*> present;
    t.id.clear();
    t.command.clear();
    t.params.clear();
    t.after.clear();
    std::map<std::string, std::string> env;
    for (const auto& [k, v] : o) {
        if (k == "id") {
            t.id = string_of(v, "id");
            if (!valid_task_id(t.id))
                bad("id", "'" + t.id + "' is not a valid task id (letters, digits, '.', '_', '-', '='; not first: '.', '-')");
        } else if (k == "command") {
            t.command = strings_of(v, "command");
            if (t.command.empty()) bad("command", "must not be empty");
        } else if (k == "env") {
            env = map_of(v, "env", false);
            for (auto& [name, value] : env)
                if (name.empty() || name.find('=') != std::string::npos)
                    bad("env", "variable names must be non-empty and must not contain '='");
        } else if (k == "redacted_env" && redacted) {
            *redacted = strings_of(v, "redacted_env");
        } else if (k == "params") {
            t.params = map_of(v, "params", true);
        } else if (k == "after") {
            t.after = strings_of(v, "after");
        } else if (k == "retries") {
            // Any count the C++ API takes: the journal keeps submitted tasks in this JSON.
            t.retries = static_cast<int>(int_of(v, "retries", 0, std::numeric_limits<int>::max()));
        } else if (k == "timeout") {
            t.timeout = duration_of(v, "timeout");
        } else if (k == "backoff") {
            read_backoff(v, t.backoff);
        } else if (k == "pool") {
            t.pool = string_of(v, "pool");
        } else if (k == "workdir") {
            t.workdir = string_of(v, "workdir");
        } else if (k == "control_lines") {
            t.control_lines = bool_of(v, "control_lines");
        } else if (k == "speculate") {
            t.speculate = bool_of(v, "speculate");
        } else if (const auto* type = owner_of(k, known)) {
            if (std::find(present.begin(), present.end(), type) == present.end()) present.push_back(type);
        } else {
            std::string keys = "id, command, params, after, env, retries, timeout, backoff, pool, workdir, control_lines, speculate";
            for (const auto& e : known)
                for (auto key : e.type->json_keys) keys += ", " + std::string(key);
            bad(k, "unknown key (known: " + keys + ")");
        }
    }
    for (const auto* type : present) {  // each extension reads its keys on top of the defaults' value
        const auto* base = t.extensions.find(type->name);
        t.extensions.set(*type, type->from_json(o, base ? base->value.get() : nullptr));
    }
    if (t.id.empty()) bad("id", "missing");
    if (t.command.empty()) bad("command", "missing");
    for (auto& [name, value] : t.env) value = expand_default(name, value, t);
    for (auto& [name, value] : env) t.env[name] = std::move(value);
    return t;
}

}  // namespace

task_spec task_from_json(const json::object& o, const task_spec& defaults) {
    return read_task(o, defaults, defaults.extensions, nullptr);
}

task_spec task_from_journal(const json::object& o, const task_spec& defaults) {
    std::vector<std::string> redacted;
    task_spec t = read_task(o, task_spec{}, defaults.extensions, &redacted);
    for (const auto& name : redacted)
        if (auto it = defaults.env.find(name); it != defaults.env.end()) t.env[name] = expand_default(name, it->second, t);
    return t;
}

void add_executor_extensions(task_spec& defaults, const std::vector<std::shared_ptr<executor>>& executors) {
    for (const auto& ex : executors)
        for (const auto* type : ex->task_extension_types())
            if (!defaults.extensions.find(type->name)) defaults.extensions.set(*type, type->from_json({}, nullptr));
}

}  // namespace drover::detail
