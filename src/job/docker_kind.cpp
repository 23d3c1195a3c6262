// `[[executors]] kind = "docker"`, and the Docker keys of [defaults] and [[tasks]] (image,
// memory, cpus, network, pull), read into the task's docker_task_options extension.

#include "job/builtin_kinds.hpp"

#include "executors/docker_hosts.hpp"

#include <boost/json/value.hpp>
#include <fmt/format.h>

namespace drover::detail {

namespace {

std::string clip(std::string_view s) {
    return s.size() <= 64 ? std::string(s) : std::string(s.substr(0, 60)) + "...";
}

std::optional<std::string> nonempty(const job_table& t, std::string_view key) {
    auto s = t.get_string(key);
    if (s && s->empty()) t.fail(key, "must not be empty");
    return s;
}

docker_executor_options read_docker(const job_table& t) {
    std::vector<std::string_view> keys = host_pool_keys;
    keys.insert(keys.end(), {"kind", "tls", "tls_ca", "tls_cert", "tls_key", "tls_verify", "default_image",
                             "connect_timeout", "request_timeout", "ping_interval", "max_line_bytes", "reap", "reuse"});
    t.check_keys(keys);
    docker_executor_options o;
    if (auto v = t.get_bool("tls")) o.tls.enabled = *v;
    if (auto v = nonempty(t, "tls_ca")) o.tls.ca_file = *v;
    if (auto v = nonempty(t, "tls_cert")) o.tls.cert_file = *v;
    if (auto v = nonempty(t, "tls_key")) o.tls.key_file = *v;
    if (auto v = t.get_bool("tls_verify")) o.tls.verify = *v;
    if (!o.tls.cert_file.empty() != !o.tls.key_file.empty())
        t.fail(o.tls.cert_file.empty() ? "tls_key" : "tls_cert", "tls_cert and tls_key go together: give both or neither");
    if (auto v = nonempty(t, "default_image")) o.default_image = *v;
    if (auto v = get_positive_duration(t, "connect_timeout")) o.connect_timeout = *v;
    if (auto v = get_positive_duration(t, "request_timeout")) o.request_timeout = *v;
    if (auto v = get_positive_duration(t, "ping_interval")) o.ping_interval = *v;
    if (auto v = line_limit(t)) o.max_line_bytes = *v;
    if (auto v = t.get_bool("reap")) o.reap = *v;
    if (auto v = t.get_string("reuse")) {
        if (*v == "slot") o.reuse = container_reuse::slot;
        else if (*v == "none") o.reuse = container_reuse::none;
        else t.fail("reuse", "must be \"none\" (a container per attempt) or \"slot\" (warm containers), got \"" + *v + "\"");
    }
    // The pool last: the hosts' TLS depends on `tls`. No hosts = DOCKER_HOST & co., like the docker CLI.
    read_host_pool(t, o, [&](const std::string& h) { docker_client_options(h, o); },
                   "e.g. hosts = [\"tcp://10.0.0.5:2375\"], or leave it out to use DOCKER_HOST");
    return o;
}

// The keys a task shares with [defaults], on top of what the task has (its [defaults]).
void read_container_keys(const job_table& t, task_spec& spec) {
    docker_task_options d;
    if (const auto* base = spec.extension<docker_task_options>()) d = *base;
    if (auto v = nonempty(t, "image")) d.image = *v;
    if (auto v = t.get_size("memory")) {
        if (*v != 0 && *v < (6u << 20)) t.fail("memory", "Docker needs at least 6MiB (or 0 for no limit)");
        d.container.memory = *v;
    }
    if (auto v = t.get_number("cpus")) {
        if (*v < 0 || *v > 1024) t.fail("cpus", fmt::format("must be between 0 (no limit) and 1024, got {}", *v));
        d.container.cpus = *v;
    }
    if (auto v = t.get_string("network")) {
        if (*v == "none") d.container.network = container_network::none;
        else if (*v == "host") d.container.network = container_network::host;
        else t.fail("network", fmt::format("unknown network '{}': use \"none\" (the default) or \"host\"", clip(*v)));
    }
    if (auto v = t.get_string("pull")) {
        if (*v == "never") d.container.pull = pull_policy::never;
        else if (*v == "missing") d.container.pull = pull_policy::missing;
        else t.fail("pull", fmt::format("unknown pull policy '{}': use \"never\" (the default) or \"missing\"", clip(*v)));
    }
    spec.set_extension(std::move(d));
}

}  // namespace

executor_kind<docker_executor_options> docker_kind() {
    return {
        .read = read_docker,
        .make = [](const docker_executor_options& o) { return std::make_shared<docker_executor>(o); },
        // No hosts and no host source: one daemon from DOCKER_HOST. With a source: the hosts at start.
        .slots =
            [](const docker_executor_options& o) {
                bool sourced = !o.hosts_file.empty() || !o.hosts_command.empty();
                return (sourced ? o.hosts.size() : std::max<std::size_t>(1, o.hosts.size())) * o.slots_per_host;
            },
        .describe =
            [](const docker_executor_options& o, boost::json::object& d) {
                describe_host_pool(o, d);
                d["tls"] = o.tls.enabled;
                d["default_image"] = o.default_image;
                d["connect_timeout"] = seconds(o.connect_timeout);
                d["request_timeout"] = seconds(o.request_timeout);
            },
        .task_keys = {"image", "memory", "cpus", "network", "pull"},
        .read_task = read_container_keys,
    };
}

}  // namespace drover::detail
