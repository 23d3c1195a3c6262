#pragma once
// An HTTP/1.1 client on Beast for drover's own use (Docker Engine API, S3): Unix socket,
// TCP or TLS with client certificates; keep-alive connection pool; per-request timeouts;
// buffered or streamed response bodies; cancellation through the completion token.
//
// Internal: not installed, may include Beast. All operations of one client, and their
// handlers, run on the executor given to the constructor (use a strand when other threads
// are involved). Several requests may be outstanding at once: each uses its own connection.

#include "http/endpoint.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace drover::http {

using milliseconds = std::chrono::milliseconds;
using header_list = std::vector<std::pair<std::string, std::string>>;

struct tls_options {
    std::string ca_file;        ///< PEM CA bundle; empty = the system's default paths
    std::string cert_file;      ///< PEM client certificate (mutual TLS); empty = none
    std::string key_file;       ///< PEM private key for cert_file
    bool verify = true;         ///< verify the server's certificate and host name
    std::string server_name;    ///< SNI and name to verify; empty = endpoint host
};

struct client_options {
    endpoint target;
    tls_options tls;                           ///< used when target.kind == transport::tls
    milliseconds connect_timeout{10'000};      ///< TCP connect plus TLS handshake
    milliseconds request_timeout{60'000};      ///< default per request; 0 = no limit
    std::size_t max_idle_connections = 8;      ///< kept for reuse
    std::uint32_t header_limit = 64 * 1024;    ///< larger response headers are an error
    std::uint64_t body_limit = 64ull << 20;    ///< buffered bodies only; streamed are unlimited
    std::string user_agent = "drover";
};

struct request {
    boost::beast::http::verb method = boost::beast::http::verb::get;
    std::string target;                       ///< origin form: "/v1.41/_ping?x=1"
    header_list headers;                      ///< Host, User-Agent and Content-Length are added
    std::string body;
    std::optional<milliseconds> timeout;      ///< overrides request_timeout; 0 = no limit
};

struct response {
    unsigned status = 0;
    std::string reason;
    header_list headers;
    std::string body;                         ///< empty for streamed requests

    /// The first header with this name (case-insensitive).
    std::optional<std::string_view> header(std::string_view name) const;
};

/// The outcome of one request. Any HTTP status counts as success here: callers decide
/// what a 404 or 500 means. On failure `error` says where and why, naming the endpoint:
/// "https://127.0.0.1:2376: TLS handshake: certificate verify failed".
struct result {
    boost::system::error_code ec;
    std::string error;
    response res;

    explicit operator bool() const noexcept { return !ec; }
};

/// Streamed responses: `on_head` once the status line and headers are read, then
/// `on_body` for every piece of the (de-chunked) body. Return false from on_body to stop;
/// the request then completes successfully and the connection is closed.
using head_callback = std::function<void(const response&)>;
using body_callback = std::function<bool(std::string_view)>;

class client {
public:
    using handler = boost::asio::any_completion_handler<void(result)>;

    client(boost::asio::any_io_executor ex, client_options opts);
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    const endpoint& target() const noexcept;
    const client_options& options() const noexcept;

    /// Sends `req` and reads the whole response. Signature: void(result).
    /// Emitting the token's cancellation slot aborts the request (ec = operation_aborted).
    template <class Token>
    auto async_request(request req, Token&& token) {
        return boost::asio::async_initiate<Token, void(result)>(
            [this](auto h, request req) { request_impl(std::move(req), {}, {}, handler(std::move(h))); }, token,
            std::move(req));
    }

    /// Sends `req` and streams the response body to the callbacks. Signature: void(result);
    /// result.res holds the status and headers, not the body.
    template <class Token>
    auto async_stream(request req, head_callback on_head, body_callback on_body, Token&& token) {
        return boost::asio::async_initiate<Token, void(result)>(
            [this](auto h, request req, head_callback hd, body_callback bd) {
                request_impl(std::move(req), std::move(hd), std::move(bd), handler(std::move(h)));
            },
            token, std::move(req), std::move(on_head), std::move(on_body));
    }

    /// Closes idle connections. Outstanding requests go on.
    void close_idle() noexcept;

private:
    void request_impl(request req, head_callback on_head, body_callback on_body, handler h);
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace drover::http
