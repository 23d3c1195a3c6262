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
/// (IPv6 hosts in brackets). "tcp" is plain TCP; callers that want TLS on a tcp:// address
/// (Docker's convention) set kind = transport::tls themselves. Throws config_error.
endpoint parse_endpoint(std::string_view url);

}  // namespace drover::http
