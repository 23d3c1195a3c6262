#pragma once
// Where an HTTP client connects: a Unix socket, plain TCP or TLS over TCP.

#include <cstdint>
#include <string>
#include <string_view>

namespace drover::http {

enum class transport { unix_socket, tcp, tls };

struct endpoint {
    transport kind = transport::tcp;
    std::string host;           ///< tcp and tls
    std::uint16_t port = 0;     ///< tcp and tls
    std::string socket_path;    ///< unix_socket

    /// The Host header: "host:port", or "localhost" for a Unix socket.
    std::string host_header() const;
    /// For messages: "unix:///run/docker.sock", "tcp://127.0.0.1:2375", "https://h:2376".
    std::string to_string() const;
};

/// Parses "unix:///path", "tcp://host:port", "http://host[:port]" and "https://host[:port]"
/// (IPv6 hosts in brackets; a trailing '/' is allowed, nothing else after the authority).
/// "tcp" is plain TCP; callers that want TLS on a tcp:// address (Docker's convention) set
/// kind = transport::tls themselves. The unix:// path is a file name taken as it is; the
/// others are RFC 3986 URIs (Boost.URL), with host names of letters, digits, '-', '.' and '_'.
/// Throws config_error; messages name only the scheme and host (url_for_message).
endpoint parse_endpoint(std::string_view url);

/// An http:// or https:// URL split into where to connect and the request target.
struct http_url {
    endpoint ep;
    std::string target;  ///< path and query as written (percent-encoded), "/" when empty; no fragment
};

/// Parses an absolute http:// or https:// URL (RFC 3986, Boost.URL): no user info, a host as
/// parse_endpoint accepts it, any path and query. Throws config_error: "<what> <scheme://host>: why".
http_url parse_http_url(std::string_view url, std::string_view what = "invalid endpoint");

}  // namespace drover::http
