#include "http/endpoint.hpp"

#include <drover/error.hpp>

#include "detail/safe_url.hpp"

#include <cctype>
#include <charconv>

namespace drover::http {

namespace {

// Names only the scheme and host: an endpoint from a job file or the environment may
// carry a password (user:password@) or a token in its path.
[[noreturn]] void bad(std::string_view url, const std::string& why) {
    throw config_error("invalid endpoint " + detail::url_for_message(url) + ": " + why);
}

bool host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_';
}

}  // namespace

std::string endpoint::host_header() const {
    if (kind == transport::unix_socket) return "localhost";
    bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string endpoint::to_string() const {
    switch (kind) {
    case transport::unix_socket: return "unix://" + socket_path;
    case transport::tcp: return "tcp://" + host_header();
    case transport::tls: return "https://" + host_header();
    }
    return {};
}

endpoint parse_endpoint(std::string_view url) {
    endpoint ep;
    auto sep = url.find("://");
    if (sep == std::string_view::npos) bad(url, "expected scheme://, e.g. tcp://127.0.0.1:2375 or unix:///run/docker.sock");
    std::string_view scheme = url.substr(0, sep);
    std::string_view rest = url.substr(sep + 3);
    std::uint16_t default_port = 0;
    if (scheme == "unix") {
        if (rest.empty() || rest.front() != '/') bad(url, "a Unix socket needs an absolute path (unix:///path)");
        if (rest.find('\0') != std::string_view::npos) bad(url, "NUL byte in socket path");
        ep.kind = transport::unix_socket;
        ep.socket_path = std::string(rest);
        return ep;
    } else if (scheme == "tcp") {
        ep.kind = transport::tcp;
    } else if (scheme == "http") {
        ep.kind = transport::tcp;
        default_port = 80;
    } else if (scheme == "https") {
        ep.kind = transport::tls;
        default_port = 443;
    } else {
        bad(url, "unknown scheme (use unix, tcp, http or https)");
    }
    // Tolerate a trailing "/" (as in "http://host:9000/"), nothing more: paths belong to requests.
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    if (rest.find('/') != std::string_view::npos) bad(url, "an endpoint has no path");
    if (rest.find('@') != std::string_view::npos) bad(url, "user info (user:password@) in the URL is not supported");
    std::string_view host, port;
    if (!rest.empty() && rest.front() == '[') {
        auto close = rest.find(']');
        if (close == std::string_view::npos) bad(url, "unterminated [IPv6] host");
        host = rest.substr(1, close - 1);
        rest.remove_prefix(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') bad(url, "expected :port after ]");
            port = rest.substr(1);
            if (port.empty()) bad(url, "empty port");
        }
        for (char c : host)
            if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) bad(url, "invalid IPv6 address");
    } else {
        auto colon = rest.rfind(':');
        host = rest.substr(0, colon);
        if (colon != std::string_view::npos) {
            port = rest.substr(colon + 1);
            if (port.empty()) bad(url, "empty port");
        }
        for (char c : host)
            if (!host_char(c)) bad(url, "invalid character in host name");
    }
    if (host.empty()) bad(url, "missing host");
    if (port.empty()) {
        if (default_port == 0) bad(url, "missing :port");
        ep.port = default_port;
    } else {
        unsigned value = 0;
        auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc() || p != port.data() + port.size() || value == 0 || value > 65535)
            bad(url, "invalid port (1..65535)");
        ep.port = static_cast<std::uint16_t>(value);
    }
    ep.host = std::string(host);
    return ep;
}

}  // namespace drover::http
