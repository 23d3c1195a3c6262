// docker_task_options as task JSON: "image" and "container" {memory, cpus, network, pull}.

#include <drover/error.hpp>
#include <drover/executors/docker_task.hpp>

#include "detail/json_fields.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cmath>
#include <limits>

namespace drover {

namespace json = boost::json;

namespace {

using detail::json_fields::bad;
using detail::json_fields::kind_of;
using detail::json_fields::string_of;

std::uint64_t bytes_of(const json::value& v, std::string_view key) {
    if (v.is_uint64()) return v.get_uint64();
    if (v.is_int64() && v.get_int64() >= 0) return static_cast<std::uint64_t>(v.get_int64());
    if (v.is_int64()) bad(key, "must be between 0 and " + std::to_string(std::numeric_limits<std::int64_t>::max()));
    bad(key, "must be a whole number, not " + std::string(kind_of(v)));
}

double cpus_of(const json::value& v, std::string_view key) { return detail::json_fields::number_of(v, key, 0, 1024); }

const char* network_name(container_network n) { return n == container_network::host ? "host" : "none"; }
const char* pull_name(pull_policy p) { return p == pull_policy::missing ? "missing" : "never"; }

void read_container(const json::value& v, container_options& c) {
    if (!v.is_object()) bad("container", "must be an object, not " + std::string(kind_of(v)));
    for (const auto& [k, x] : v.get_object()) {
        if (k == "memory") {
            c.memory = bytes_of(x, "container.memory");
        } else if (k == "cpus") {
            c.cpus = cpus_of(x, "container.cpus");
        } else if (k == "network") {
            auto n = string_of(x, "container.network");
            if (n != "none" && n != "host") bad("container.network", "must be \"none\" or \"host\", not \"" + n + "\"");
            c.network = n == "host" ? container_network::host : container_network::none;
        } else if (k == "pull") {
            auto p = string_of(x, "container.pull");
            if (p != "never" && p != "missing") bad("container.pull", "must be \"never\" or \"missing\", not \"" + p + "\"");
            c.pull = p == "missing" ? pull_policy::missing : pull_policy::never;
        } else {
            bad("container." + std::string(k), "unknown key (known: memory, cpus, network, pull)");
        }
    }
}

}  // namespace

void docker_task_options::to_json(json::object& task) const {
    task["image"] = image;
    task["container"] = {{"memory", container.memory},
                         {"cpus", container.cpus},
                         {"network", network_name(container.network)},
                         {"pull", pull_name(container.pull)}};
}

docker_task_options docker_task_options::from_json(const json::object& task, docker_task_options base) {
    if (const auto* v = task.if_contains("image")) base.image = string_of(*v, "image");
    if (const auto* v = task.if_contains("container")) read_container(*v, base.container);
    return base;
}

}  // namespace drover
