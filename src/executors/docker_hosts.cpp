#include "executors/docker_hosts.hpp"

#include <drover/error.hpp>

#include "detail/safe_url.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <unistd.h>

namespace drover {

docker_executor_options docker_options_from_env(docker_executor_options o) {
    if (!o.hosts.empty() || !o.hosts_file.empty() || !o.hosts_command.empty()) return o;
    const char* host = std::getenv("DOCKER_HOST");
    o.hosts.push_back(host && *host ? host : "unix:///var/run/docker.sock");
    const char* verify = std::getenv("DOCKER_TLS_VERIFY");
    if (verify && *verify) {
        o.tls.enabled = true;
        o.tls.verify = true;
        std::string dir;
        if (const char* p = std::getenv("DOCKER_CERT_PATH"); p && *p) dir = p;
        else if (const char* h = std::getenv("HOME"); h && *h) dir = std::string(h) + "/.docker";
        else dir = ".docker";
        o.tls.ca_file = dir + "/ca.pem";
        o.tls.cert_file = dir + "/cert.pem";
        o.tls.key_file = dir + "/key.pem";
    }
    return o;
}

namespace detail {

http::client_options docker_client_options(const std::string& host, const docker_executor_options& opts) {
    if (!(host.starts_with("unix://") || host.starts_with("tcp://") || host.starts_with("http://") ||
          host.starts_with("https://")))
        throw config_error(fmt::format("docker host '{}': expected unix:///path, tcp://host:port, http://host:port or "
                                       "https://host:port", url_for_message(host)));
    http::client_options c;
    std::string url = host;
    if (host.starts_with("tcp://")) {  // Docker's default ports: 2375, 2376 with TLS
        std::string authority = host.substr(6, host.find('/', 6) == std::string::npos ? std::string::npos
                                                                                     : host.find('/', 6) - 6);
        bool has_port = authority.starts_with("[") ? authority.find("]:") != std::string::npos
                                                   : authority.find(':') != std::string::npos;
        if (!has_port && !authority.empty()) url = "tcp://" + authority + (opts.tls.enabled ? ":2376" : ":2375");
    }
    try {
        c.target = http::parse_endpoint(url);
    } catch (const config_error& e) {
        throw config_error(fmt::format("docker host '{}': {}", url_for_message(host), e.what()));
    }
    if (c.target.kind == http::transport::tcp && host.starts_with("tcp://") && opts.tls.enabled)
        c.target.kind = http::transport::tls;
    c.tls.ca_file = opts.tls.ca_file;
    c.tls.cert_file = opts.tls.cert_file;
    c.tls.key_file = opts.tls.key_file;
    c.tls.verify = opts.tls.verify;
    c.connect_timeout = opts.connect_timeout;
    c.request_timeout = opts.request_timeout;
    c.max_idle_connections = opts.slots_per_host * 2 + 2;
    c.user_agent = "drover-docker";
    return c;
}

}  // namespace detail
}  // namespace drover
