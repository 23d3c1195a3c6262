#include "job/docker_keys.hpp"

#include "executors/docker_hosts.hpp"
#include "job/toml_reader.hpp"

namespace drover::detail {

namespace {

class docker_reader : reader {
public:
    using reader::reader;

    void executor(const toml::table& t, const std::string& path, docker_executor_options& o) const {
        check_keys(t, path, {"kind", "hosts", "slots", "tls", "tls_ca", "tls_cert", "tls_key", "tls_verify",
                             "default_image", "connect_timeout", "request_timeout", "ping_interval", "down_timeout",
                             "max_line_bytes", "reap"});
        if (const auto* v = t.get("slots")) o.slots_per_host = static_cast<std::size_t>(int_of(*v, path + ".slots", 1, 1024));
        if (const auto* v = t.get("tls")) o.tls.enabled = bool_of(*v, path + ".tls");
        if (const auto* v = t.get("tls_ca")) o.tls.ca_file = nonempty(*v, path + ".tls_ca");
        if (const auto* v = t.get("tls_cert")) o.tls.cert_file = nonempty(*v, path + ".tls_cert");
        if (const auto* v = t.get("tls_key")) o.tls.key_file = nonempty(*v, path + ".tls_key");
        if (const auto* v = t.get("tls_verify")) o.tls.verify = bool_of(*v, path + ".tls_verify");
        if (!o.tls.cert_file.empty() != !o.tls.key_file.empty()) {
            const auto* v = t.get(o.tls.cert_file.empty() ? "tls_key" : "tls_cert");
            fail(*v, path + (o.tls.cert_file.empty() ? ".tls_key" : ".tls_cert"),
                 "tls_cert and tls_key go together: give both or neither");
        }
        if (const auto* v = t.get("default_image")) o.default_image = nonempty(*v, path + ".default_image");
        if (const auto* v = t.get("connect_timeout")) o.connect_timeout = positive(*v, path + ".connect_timeout");
        if (const auto* v = t.get("request_timeout")) o.request_timeout = positive(*v, path + ".request_timeout");
        if (const auto* v = t.get("ping_interval")) o.ping_interval = positive(*v, path + ".ping_interval");
        if (const auto* v = t.get("down_timeout")) o.down_timeout = positive(*v, path + ".down_timeout");
        if (const auto* v = t.get("max_line_bytes")) o.max_line_bytes = line_limit(*v, path);
        if (const auto* v = t.get("reap")) o.reap = bool_of(*v, path + ".reap");
        // hosts last: their TLS depends on `tls`. No hosts = DOCKER_HOST & co., like the docker CLI.
        if (const auto* hosts = t.get("hosts")) {
            const auto* arr = hosts->as_array();
            if (!arr) expected(*hosts, path + ".hosts", "an array of strings");
            if (arr->empty()) fail(*hosts, path + ".hosts", "must name at least one host (or leave it out to use DOCKER_HOST)");
            for (std::size_t i = 0; i < arr->size(); ++i) {
                std::string key = fmt::format("{}.hosts[{}]", path, i);
                std::string h = string_of((*arr)[i], key);
                try {
                    docker_client_options(h, o);
                } catch (const config_error& e) {
                    fail((*arr)[i], key, e.what());
                }
                o.hosts.push_back(std::move(h));
            }
        }
    }

    bool container(std::string_view k, const toml::node& v, const std::string& key, task_spec& t) const {
        if (k == "image") {
            t.image = nonempty(v, key);
        } else if (k == "memory") {
            t.container.memory = size_of(v, key);
            if (t.container.memory != 0 && t.container.memory < (6u << 20))
                fail(v, key, "Docker needs at least 6MiB (or 0 for no limit)");
        } else if (k == "cpus") {
            t.container.cpus = number_of(v, key);
            if (t.container.cpus < 0 || t.container.cpus > 1024)
                fail(v, key, fmt::format("must be between 0 (no limit) and 1024, got {}", t.container.cpus));
        } else if (k == "network") {
            auto s = string_of(v, key);
            if (s == "none") t.container.network = container_network::none;
            else if (s == "host") t.container.network = container_network::host;
            else fail(v, key, fmt::format("unknown network '{}': use \"none\" (the default) or \"host\"", clip(s)));
        } else if (k == "pull") {
            auto s = string_of(v, key);
            if (s == "never") t.container.pull = pull_policy::never;
            else if (s == "missing") t.container.pull = pull_policy::missing;
            else fail(v, key, fmt::format("unknown pull policy '{}': use \"never\" (the default) or \"missing\"", clip(s)));
        } else {
            return false;
        }
        return true;
    }

private:
    std::string nonempty(const toml::node& v, const std::string& key) const {
        auto s = string_of(v, key);
        if (s.empty()) fail(v, key, "must not be empty");
        return s;
    }
    duration positive(const toml::node& v, const std::string& key) const {
        auto d = duration_of(v, key);
        if (d.count() <= 0) fail(v, key, "must be more than 0s");
        return d;
    }
};

}  // namespace

void parse_docker_executor(const std::string& file, const toml::table& t, const std::string& path,
                           docker_executor_options& o) {
    docker_reader(file).executor(t, path, o);
}

bool apply_container_setting(const std::string& file, std::string_view k, const toml::node& v, const std::string& key,
                             task_spec& t) {
    return docker_reader(file).container(k, v, key, t);
}

}  // namespace drover::detail
