#pragma once
// The HTTP/1.1 server of `drover serve` (Beast), plain or TLS: keep-alive, a limit on header
// and body sizes, a read timeout, a cap on open connections and a rate limit per client. What a request means is the
// handler's business (service/api.hpp): this file only moves bytes.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace drover::detail {

struct http_request {
    std::string method;   ///< "GET", "POST", ...
    std::string target;   ///< origin form, as sent: "/api/v1/jobs?x=1"
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    /// The first header with this name (case-insensitive); empty when absent.
    std::string_view header(std::string_view name) const;
};

struct http_answer {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  ///< besides Content-Type/Length
    /// Server-Sent Events: when set, a 200 text/event-stream goes out instead, and this is
    /// called (on the server's thread) for the next events at once and then every
    /// `event_interval` until the client goes; an empty string sends nothing (a keep-alive
    /// comment after 15 s of nothing), an exception ends the stream.
    /// One write at a time per client: a slow client gets fewer events, never a queue.
    std::function<std::string()> next_event{};
    std::chrono::milliseconds event_interval{1000};
    /// Work too slow for the server's thread (a trigger reads and checks the job file): when
    /// set, the server calls it with a function that takes the answer, callable once from any
    /// thread; this connection waits for that answer while the others are served. When the
    /// server stops first, the answer is dropped.
    std::function<void(std::function<void(http_answer)>)> later{};
};

struct http_server_options {
    std::size_t max_body_bytes = 1 << 20;
    std::uint32_t max_header_bytes = 16 * 1024;
    std::chrono::milliseconds read_timeout{30'000};
    std::size_t max_connections = 256;
    /// HTTPS: a PEM certificate chain and its private key (both or neither). TLS 1.2 at least.
    std::string tls_cert_file{};
    std::string tls_key_file{};
    /// Requests per second allowed to one client address (a token bucket holding as many as
    /// two seconds' worth); more get 429 with Retry-After. 0 = no limit.
    double rate_limit = 0;
};

/// "127.0.0.1:8080", "[::1]:8080", "localhost:8080" (= 127.0.0.1). Throws config_error.
std::pair<boost::asio::ip::address, std::uint16_t> parse_listen(std::string_view listen);

class http_server {
public:
    using handler = std::function<http_answer(const http_request&)>;

    /// Binds and listens at once (throws config_error when it cannot, or for a certificate or
    /// key it cannot use); serves once start()ed.
    /// The handler runs on `ex`'s thread.
    http_server(boost::asio::any_io_executor ex, std::string_view listen, http_server_options o, handler h);
    ~http_server();

    std::uint16_t port() const noexcept;
    void start();
    /// Stops accepting and closes every connection. On the executor's thread, or with it stopped.
    void stop();

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

}  // namespace drover::detail
