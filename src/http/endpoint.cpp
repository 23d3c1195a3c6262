#include "http/endpoint.hpp"

#include <drover/error.hpp>

#include "detail/safe_url.hpp"

#include <boost/url/grammar/ci_string.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <charconv>

namespace drover::http {

namespace urls = boost::urls;

namespace {

// Names only the scheme and host: an endpoint from a job file or the environment may
// carry a password (user:password@) or a token in its path.
[[noreturn]] void bad(std::string_view what, std::string_view url, const std::string& why) {
    throw config_error(std::string(what) + " " + drover::detail::url_for_message(url) + ": " + why);
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

namespace {

// Where tcp://, http:// and https:// URLs connect; `u` is an RFC 3986 URI (Boost.URL).
endpoint network_endpoint(std::string_view what, std::string_view url, const urls::url_view& u) {
    endpoint ep;
    std::uint16_t default_port = 0;
    auto scheme_is = [&](std::string_view s) { return urls::grammar::ci_is_equal(u.scheme(), s); };
    if (scheme_is("tcp")) {
        ep.kind = transport::tcp;
    } else if (scheme_is("http")) {
        ep.kind = transport::tcp;
        default_port = 80;
    } else if (scheme_is("https")) {
        ep.kind = transport::tls;
        default_port = 443;
    } else {
        bad(what, url, "unknown scheme (use unix, tcp, http or https)");
    }
    if (!u.has_authority()) bad(what, url, "expected scheme://host");
    if (u.has_userinfo()) bad(what, url, "user info (user:password@) in the URL is not supported");
    auto address = u.encoded_host_address();
    std::string_view host(address.data(), address.size());
    switch (u.host_type()) {
    case urls::host_type::ipv4:
    case urls::host_type::ipv6: break;
    case urls::host_type::name:
        for (char c : host)
            if (!host_char(c)) bad(what, url, "invalid character in host name");
        break;
    default: bad(what, url, "unsupported host (a name, an IPv4 address or an [IPv6] address)");
    }
    if (host.empty()) bad(what, url, "missing host");
    if (!u.has_port()) {
        if (default_port == 0) bad(what, url, "missing :port");
        ep.port = default_port;
    } else {
        std::string_view port = u.port();
        if (port.empty()) bad(what, url, "empty port");
        unsigned value = 0;
        auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc() || p != port.data() + port.size() || value == 0 || value > 65535)
            bad(what, url, "invalid port (1..65535)");
        ep.port = static_cast<std::uint16_t>(value);
    }
    ep.host = std::string(host);
    return ep;
}

urls::url_view parse_uri(std::string_view what, std::string_view url) {
    if (url.find("://") == std::string_view::npos)
        bad(what, url, "expected scheme://, e.g. tcp://127.0.0.1:2375 or unix:///run/docker.sock");
    auto r = urls::parse_uri(url);
    if (!r) bad(what, url, "not a valid URL (RFC 3986: no spaces, control or non-ASCII characters; host[:port])");
    return *r;
}

}  // namespace

endpoint parse_endpoint(std::string_view url) {
    constexpr std::string_view what = "invalid endpoint";
    // unix:///path is Docker's convention, not an RFC 3986 URI: the path is a file name as it is.
    if (url.starts_with("unix://")) {
        std::string_view path = url.substr(7);
        if (path.empty() || path.front() != '/') bad(what, url, "a Unix socket needs an absolute path (unix:///path)");
        if (path.find('\0') != std::string_view::npos) bad(what, url, "NUL byte in socket path");
        endpoint ep;
        ep.kind = transport::unix_socket;
        ep.socket_path = std::string(path);
        return ep;
    }
    auto u = parse_uri(what, url);
    auto ep = network_endpoint(what, url, u);
    // Tolerate a trailing "/" (as in "http://host:9000/"), nothing more: paths belong to requests.
    if (!(u.encoded_path().empty() || u.encoded_path() == "/") || u.has_query() || u.has_fragment())
        bad(what, url, "an endpoint has no path, query or fragment");
    return ep;
}

http_url parse_http_url(std::string_view url, std::string_view what) {
    auto sep = url.find("://");
    std::string_view scheme = url.substr(0, sep == std::string_view::npos ? 0 : sep);
    if (!(urls::grammar::ci_is_equal(scheme, "http") || urls::grammar::ci_is_equal(scheme, "https")))
        bad(what, url, "must be an http:// or https:// URL");
    auto u = parse_uri(what, url);
    auto target = u.encoded_target();
    http_url out{network_endpoint(what, url, u), std::string(target.data(), target.size())};
    if (out.target.empty() || out.target.front() != '/') out.target.insert(out.target.begin(), '/');
    return out;
}

}  // namespace drover::http
