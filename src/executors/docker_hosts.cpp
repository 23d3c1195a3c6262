#include "executors/docker_hosts.hpp"

#include <drover/error.hpp>

#include "detail/safe_url.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
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

std::string docker_state_label(const std::filesystem::path& state_dir) {
    std::error_code ec;
    auto abs = std::filesystem::weakly_canonical(std::filesystem::absolute(state_dir, ec), ec);
    char hn[256] = {};
    ::gethostname(hn, sizeof hn - 1);
    std::string key = std::string(hn) + ":" + abs.string();
    std::uint64_t h = 14695981039346656037ull;  // FNV-1a
    for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
    return fmt::format("{:016x}", h);
}

namespace {
bool plain_name(const std::string& s) {
    if (s.empty() || s.size() > 100 || s[0] == '.') return false;
    for (char c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
    return true;
}
std::filesystem::path lock_path(const std::filesystem::path& state_dir, const std::string& run_id) {
    return state_dir / "docker" / (run_id + ".lock");
}
}  // namespace

unique_fd lock_docker_run(const std::filesystem::path& state_dir, const std::string& run_id) {
    std::error_code ec;
    std::filesystem::create_directories(state_dir / "docker", ec);
    auto p = lock_path(state_dir, run_id);
    unique_fd fd(::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!fd) throw executor_error(fmt::format("docker executor: cannot create {}: {}", p.string(), std::strerror(errno)));
    // Shared: several docker executors of one run each hold it; a reaper's exclusive try fails
    // while any of them lives.
    if (::flock(fd.get(), LOCK_SH | LOCK_NB) != 0)
        throw executor_error(fmt::format("docker executor: cannot lock {}: {}", p.string(), std::strerror(errno)));
    return fd;
}

bool docker_run_live(const std::filesystem::path& state_dir, const std::string& run_id) {
    if (!plain_name(run_id)) return false;
    unique_fd fd(::open(lock_path(state_dir, run_id).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return false;
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return false;
    return errno == EWOULDBLOCK;
}

void unlock_docker_run(unique_fd& lock, const std::filesystem::path& state_dir, const std::string& run_id) noexcept {
    if (!lock) return;
    // Remove the file only when no other executor of this run still holds it.
    if (::flock(lock.get(), LOCK_EX | LOCK_NB) == 0) forget_docker_run(state_dir, run_id);
    lock.reset();
}

void forget_docker_run(const std::filesystem::path& state_dir, const std::string& run_id) noexcept {
    if (!plain_name(run_id)) return;
    std::error_code ec;
    std::filesystem::remove(lock_path(state_dir, run_id), ec);
}

}  // namespace detail
}  // namespace drover
