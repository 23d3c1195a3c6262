// The HTTP client: connection set-up (Unix, TCP, TLS), a keep-alive pool, deadlines and
// cancellation, around detail::read_response (http/read.hpp) which parses what comes back.

#include "http/client.hpp"
#include "http/read.hpp"

#include <drover/error.hpp>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <deque>
#include <variant>

namespace drover::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;
using clock = std::chrono::steady_clock;

std::optional<std::string_view> response::header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
        if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
            }))
            return std::string_view(v);
    }
    return std::nullopt;
}

namespace {

constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

using tcp_stream = beast::tcp_stream;
using unix_stream = beast::basic_stream<asio::local::stream_protocol>;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

struct connection {
    std::variant<std::unique_ptr<tcp_stream>, std::unique_ptr<unix_stream>, std::unique_ptr<tls_stream>> stream;
    beast::flat_buffer buffer;

    void deadline(std::optional<clock::time_point> at) {
        std::visit(
            [&](auto& s) {
                auto& low = beast::get_lowest_layer(*s);
                if (at)
                    low.expires_at(*at);
                else
                    low.expires_never();
            },
            stream);
    }
};

std::string describe_duration(std::chrono::milliseconds d) {
    if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
    return std::to_string(d.count()) + "ms";
}

bool header_text_ok(std::string_view s) {
    return std::none_of(s.begin(), s.end(), [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

// A reused keep-alive connection the server has closed in the meantime: safe to retry once
// on a new connection, because the server did not answer (or read) anything.
bool stale_connection(const error_code& ec) {
    return ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
           ec == asio::error::broken_pipe || ec == asio::ssl::error::stream_truncated;
}

std::string ssl_detail(const error_code& ec, SSL* ssl) {
    std::string msg = ec.message();
    if (ssl) {
        long v = SSL_get_verify_result(ssl);
        if (v != X509_V_OK) msg += " (" + std::string(X509_verify_cert_error_string(v)) + ")";
    }
    return msg;
}

std::string ssl_error_text(const std::string& what, const std::string& file) {
    unsigned long e = ERR_get_error();
    char buf[256] = "unknown error";
    if (e) ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return what + " " + file + ": " + buf;
}

}  // namespace

struct client::impl : std::enable_shared_from_this<impl> {
    asio::any_io_executor ex;
    client_options opts;
    std::optional<asio::ssl::context> ssl;
    std::deque<std::unique_ptr<connection>> idle;

    impl(asio::any_io_executor e, client_options o) : ex(std::move(e)), opts(std::move(o)) {
        if (opts.target.kind == transport::tls) make_ssl_context();
    }

    std::string where() const { return opts.target.to_string(); }

    void make_ssl_context() {
        const auto& t = opts.tls;
        std::string prefix = where() + ": ";
        ssl.emplace(asio::ssl::context::tls_client);
        ssl->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
        auto* ctx = ssl->native_handle();
        ERR_clear_error();
        if (!t.ca_file.empty()) {
            if (SSL_CTX_load_verify_locations(ctx, t.ca_file.c_str(), nullptr) != 1)
                throw config_error(prefix + ssl_error_text("cannot load CA file", t.ca_file));
        } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
            throw config_error(prefix + ssl_error_text("cannot load the system CA paths", ""));
        }
        if (!t.cert_file.empty()) {
            if (SSL_CTX_use_certificate_chain_file(ctx, t.cert_file.c_str()) != 1)
                throw config_error(prefix + ssl_error_text("cannot load client certificate", t.cert_file));
            std::string key = t.key_file.empty() ? t.cert_file : t.key_file;
            if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1)
                throw config_error(prefix + ssl_error_text("cannot load client key", key));
            if (SSL_CTX_check_private_key(ctx) != 1)
                throw config_error(prefix + ssl_error_text("client key does not match certificate", t.cert_file));
        } else if (!t.key_file.empty()) {
            throw config_error(prefix + "a client key without a client certificate");
        }
        ssl->set_verify_mode(t.verify ? asio::ssl::verify_peer : asio::ssl::verify_none);
    }

    std::unique_ptr<connection> take_idle() {
        if (idle.empty()) return nullptr;
        auto c = std::move(idle.back());
        idle.pop_back();
        return c;
    }

    void put_idle(std::unique_ptr<connection> c) {
        if (opts.max_idle_connections == 0) return;  // (pop_front on an empty deque is undefined)
        if (idle.size() >= opts.max_idle_connections) idle.pop_front();
        idle.push_back(std::move(c));
    }

    result failure(error_code ec, std::string stage, std::optional<std::chrono::milliseconds> limit,
                   std::string detail = {}) const {
        result r;
        r.ec = ec;
        std::string msg = detail.empty() ? ec.message() : std::move(detail);
        if (ec == beast::error::timeout)
            msg = "timed out" + (limit ? " after " + describe_duration(*limit) : std::string());
        else if (ec == asio::error::operation_aborted)
            msg = "cancelled";
        else if (ec == bhttp::error::end_of_stream || ec == asio::error::eof)
            msg = "connection closed by the server";
        r.error = where() + ": " + stage + ": " + msg;
        return r;
    }

    asio::awaitable<std::pair<std::unique_ptr<connection>, result>> connect(std::optional<clock::time_point> deadline) {
        auto conn = std::make_unique<connection>();
        auto limit = opts.connect_timeout;
        auto at = clock::now() + limit;
        if (deadline && *deadline < at) at = *deadline;
        const endpoint& t = opts.target;
        if (t.kind == transport::unix_socket) {
            auto s = std::make_unique<unix_stream>(ex);
            s->expires_at(at);
            auto [ec] = co_await s->async_connect(asio::local::stream_protocol::endpoint(t.socket_path), tuple_awaitable);
            if (ec) co_return std::pair{nullptr, failure(ec, "connect", limit)};
            conn->stream = std::move(s);
            co_return std::pair{std::move(conn), result{}};
        }
        asio::ip::tcp::resolver resolver(ex);
        auto [rec, endpoints] = co_await resolver.async_resolve(t.host, std::to_string(t.port),
                                                                 asio::ip::tcp::resolver::numeric_service,
                                                                 tuple_awaitable);
        if (rec) co_return std::pair{nullptr, failure(rec, "resolve " + t.host, std::nullopt)};
        if (t.kind == transport::tcp) {
            auto s = std::make_unique<tcp_stream>(ex);
            s->expires_at(at);
            auto [ec, ep] = co_await s->async_connect(endpoints, tuple_awaitable);
            if (ec) co_return std::pair{nullptr, failure(ec, "connect", limit)};
            s->socket().set_option(asio::ip::tcp::no_delay(true));
            conn->stream = std::move(s);
            co_return std::pair{std::move(conn), result{}};
        }
        auto s = std::make_unique<tls_stream>(ex, *ssl);
        auto& low = beast::get_lowest_layer(*s);
        low.expires_at(at);
        auto [ec, ep] = co_await low.async_connect(endpoints, tuple_awaitable);
        if (ec) co_return std::pair{nullptr, failure(ec, "connect", limit)};
        low.socket().set_option(asio::ip::tcp::no_delay(true));
        std::string name = opts.tls.server_name.empty() ? t.host : opts.tls.server_name;
        error_code addr_ec;
        asio::ip::make_address(name, addr_ec);
        if (addr_ec && !SSL_set_tlsext_host_name(s->native_handle(), name.c_str()))
            co_return std::pair{nullptr, failure(asio::error::invalid_argument, "TLS", std::nullopt, "bad server name")};
        if (opts.tls.verify) {
            // OpenSSL's own name check, so a mismatch reads "hostname mismatch" / "IP address mismatch".
            X509_VERIFY_PARAM* param = SSL_get0_param(s->native_handle());
            int set = addr_ec ? X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size())
                              : X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
            if (set != 1)
                co_return std::pair{nullptr, failure(asio::error::invalid_argument, "TLS", std::nullopt,
                                                     "cannot verify server name " + name)};
        }
        auto [hec] = co_await s->async_handshake(asio::ssl::stream_base::client, tuple_awaitable);
        if (hec) co_return std::pair{nullptr, failure(hec, "TLS handshake", limit, ssl_detail(hec, s->native_handle()))};
        conn->stream = std::move(s);
        co_return std::pair{std::move(conn), result{}};
    }

    asio::awaitable<result> perform(request req, head_callback on_head, body_callback on_body) {
        co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
        co_await asio::this_coro::throw_if_cancelled(false);
        auto self = shared_from_this();   // the client may go away while this runs

        std::optional<std::chrono::milliseconds> limit;
        auto timeout = req.timeout.value_or(opts.request_timeout);
        std::optional<clock::time_point> deadline;
        if (timeout.count() > 0) {
            limit = timeout;
            deadline = clock::now() + timeout;
        }

        if (req.target.empty() || req.target.front() != '/' || !header_text_ok(req.target) ||
            req.target.find(' ') != std::string::npos)
            co_return failure(asio::error::invalid_argument, "request", std::nullopt,
                              "invalid request target \"" + req.target + "\"");
        bhttp::request<bhttp::string_body> msg{req.method, req.target, 11};
        msg.set(bhttp::field::host, opts.target.host_header());
        msg.set(bhttp::field::user_agent, opts.user_agent);
        for (const auto& [k, v] : req.headers) {
            if (k.empty() || !header_text_ok(k) || !header_text_ok(v) || k.find(':') != std::string::npos)
                co_return failure(asio::error::invalid_argument, "request", std::nullopt,
                                  "invalid header \"" + k + "\"");
            msg.insert(k, v);
        }
        msg.body() = std::move(req.body);
        if (!msg.body().empty() || req.method == bhttp::verb::post || req.method == bhttp::verb::put)
            msg.prepare_payload();
        msg.keep_alive(true);

        detail::read_limits lim{opts.header_limit, opts.body_limit, req.method == bhttp::verb::head};
        for (int round = 0;; ++round) {
            std::unique_ptr<connection> conn = round == 0 ? take_idle() : nullptr;
            bool reused = conn != nullptr;
            if (!conn) {
                auto [c, err] = co_await connect(deadline);
                if (!c) co_return err;
                conn = std::move(c);
            }
            conn->deadline(deadline);
            auto [wec, wn] = co_await std::visit(
                [&](auto& s) { return bhttp::async_write(*s, msg, tuple_awaitable); }, conn->stream);
            if (wec) {
                if (reused && stale_connection(wec)) continue;
                co_return failure(wec, "send request", limit);
            }
            result r;
            detail::read_outcome o = co_await std::visit(
                [&](auto& s) { return detail::read_response(*s, conn->buffer, lim, r.res, on_head, on_body); },
                conn->stream);
            if (o.ec) {
                if (reused && !o.got_bytes && stale_connection(o.ec)) continue;
                std::string stage = o.in_body ? "read response body" : "read response";
                if (o.ec == bhttp::error::header_limit)
                    co_return failure(o.ec, stage, std::nullopt,
                                      "response headers exceed " + std::to_string(opts.header_limit) + " bytes");
                if (o.ec == bhttp::error::body_limit)
                    co_return failure(o.ec, stage, std::nullopt,
                                      "response body exceeds " + std::to_string(opts.body_limit) + " bytes");
                SSL* ssl = nullptr;
                if (auto* t = std::get_if<std::unique_ptr<tls_stream>>(&conn->stream)) ssl = (*t)->native_handle();
                co_return failure(o.ec, stage, limit, ssl ? ssl_detail(o.ec, ssl) : std::string());
            }
            if (o.keep_alive && !o.stopped && conn->buffer.size() == 0) {
                conn->deadline(std::nullopt);
                put_idle(std::move(conn));
            }
            co_return r;
        }
    }
};

client::client(asio::any_io_executor ex, client_options opts)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(opts))) {}

client::~client() { close_idle(); }

const endpoint& client::target() const noexcept { return impl_->opts.target; }
const client_options& client::options() const noexcept { return impl_->opts; }

void client::close_idle() noexcept {
    if (impl_) impl_->idle.clear();
}

void client::request_impl(request req, head_callback on_head, body_callback on_body, handler h) {
    auto slot = asio::get_associated_cancellation_slot(h);
    auto hex = asio::get_associated_executor(h, impl_->ex);
    auto done = [h = std::move(h), where = impl_->where()](std::exception_ptr e, result r) mutable {
        if (e) {
            r = result{};
            r.ec = make_error_code(boost::system::errc::io_error);
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& x) {
                r.error = where + ": " + x.what();
            } catch (...) {
                r.error = where + ": unknown error";
            }
        }
        std::move(h)(std::move(r));
    };
    asio::co_spawn(impl_->ex, impl_->perform(std::move(req), std::move(on_head), std::move(on_body)),
                   asio::bind_cancellation_slot(slot, asio::bind_executor(hex, std::move(done))));
}

}  // namespace drover::http
