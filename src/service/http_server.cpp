#include "service/http_server.hpp"

#include <drover/error.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <charconv>
#include <fcntl.h>
#include <map>
#include <set>

namespace drover::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;

std::string_view http_request::header(std::string_view name) const {
    for (auto& [k, v] : headers)
        if (beast::iequals(k, name)) return v;
    return {};
}

std::pair<asio::ip::address, std::uint16_t> parse_listen(std::string_view listen) {
    auto bad = [&](const std::string& why) -> config_error {
        return config_error("listen address '" + std::string(listen) + "': " + why);
    };
    std::string_view host, port;
    if (!listen.empty() && listen.front() == '[') {
        auto close = listen.find(']');
        if (close == std::string_view::npos || close + 1 >= listen.size() || listen[close + 1] != ':')
            throw bad("expected [IPv6 address]:port");
        host = listen.substr(1, close - 1);
        port = listen.substr(close + 2);
    } else {
        auto colon = listen.rfind(':');
        if (colon == std::string_view::npos) throw bad("expected host:port");
        host = listen.substr(0, colon);
        port = listen.substr(colon + 1);
    }
    unsigned p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || p > 65535)
        throw bad("the port must be a number from 0 to 65535");
    if (host == "localhost") host = "127.0.0.1";
    boost::system::error_code aec;
    auto addr = asio::ip::make_address(std::string(host), aec);
    if (aec) throw bad("not an IP address (or localhost)");
    return {addr, static_cast<std::uint16_t>(p)};
}

namespace {

struct session_base {
    virtual ~session_base() = default;
    virtual void close() = 0;
};

http_answer json_error(unsigned status, const std::string& message) {
    return {status, "application/json", R"({"error":")" + message + "\"}\n", {}};
}

}  // namespace

struct http_server::impl : std::enable_shared_from_this<impl> {
    impl(asio::any_io_executor ex, http_server_options o, handler h) : acceptor(ex), opts(o), handle(std::move(h)) {}
    tcp::acceptor acceptor;
    http_server_options opts;
    handler handle;
    std::optional<ssl::context> tls;
    std::uint16_t port = 0;
    bool stopped = false;
    std::set<std::shared_ptr<session_base>> sessions;

    // Token buckets by client address (on the server's thread only).
    struct bucket {
        double tokens;
        clock::time_point at;
    };
    std::map<asio::ip::address, bucket> buckets;

    /// False when `from` is over the rate limit; takes one token otherwise.
    bool allow(const asio::ip::address& from) {
        if (opts.rate_limit <= 0) return true;
        auto now = clock::now();
        double burst = std::max(1.0, 2 * opts.rate_limit);
        if (buckets.size() > 10'000)  // forget clients quiet for a minute
            for (auto it = buckets.begin(); it != buckets.end();)
                it = now - it->second.at > std::chrono::minutes(1) ? buckets.erase(it) : std::next(it);
        auto [it, fresh] = buckets.try_emplace(from, bucket{burst, now});
        auto& b = it->second;
        b.tokens = std::min(burst, b.tokens + std::chrono::duration<double>(now - b.at).count() * opts.rate_limit);
        b.at = now;
        if (b.tokens < 1) return false;
        b.tokens -= 1;
        return true;
    }

    void accept();
};

namespace {

template <class Stream>
class session : public session_base, public std::enable_shared_from_this<session<Stream>> {
public:
    session(Stream s, std::shared_ptr<http_server::impl> srv)
        : stream_(std::move(s)), timer_(stream_.get_executor()), srv_(std::move(srv)) {
        boost::system::error_code ec;
        peer_ = tcp_layer().socket().remote_endpoint(ec).address();
    }

    void start() {
        if constexpr (std::is_same_v<Stream, beast::ssl_stream<beast::tcp_stream>>) {
            tcp_layer().expires_after(srv_->opts.read_timeout);
            stream_.async_handshake(ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
                if (ec) return self->end();  // not TLS, or a certificate the client refused
                self->read();
            });
        } else {
            read();
        }
    }
    void close() override {
        timer_.cancel();
        boost::system::error_code ec;
        tcp_layer().socket().shutdown(tcp::socket::shutdown_both, ec);
        tcp_layer().close();
    }
    // Refuses the connection: too many are open.
    void refuse() {
        auto a = json_error(503, "too many connections");
        respond(a, false);
    }

private:
    beast::tcp_stream& tcp_layer() { return beast::get_lowest_layer(stream_); }

    void read() {
        parser_.emplace();
        parser_->header_limit(srv_->opts.max_header_bytes);
        parser_->body_limit(srv_->opts.max_body_bytes);
        tcp_layer().expires_after(srv_->opts.read_timeout);
        bhttp::async_read(stream_, buffer_, *parser_, [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
            self->on_read(ec);
        });
    }

    void on_read(beast::error_code ec) {
        if (ec == bhttp::error::body_limit) {
            auto a = json_error(413, "the request body is larger than " + std::to_string(srv_->opts.max_body_bytes) + " bytes");
            return respond(a, false);
        }
        if (ec == bhttp::error::header_limit) return respond(json_error(431, "the request headers are too large"), false);
        if (ec) {
            // Closed, timed out, or not HTTP: a bad request gets an answer when it can.
            if (ec != bhttp::error::end_of_stream && ec != beast::error::timeout && ec != asio::error::operation_aborted &&
                ec != asio::error::connection_reset && ec != asio::error::eof && ec != ssl::error::stream_truncated)
                return respond(json_error(400, "malformed HTTP request"), false);
            return finish();
        }
        auto msg = parser_->release();
        if (!srv_->allow(peer_)) {
            auto a = json_error(429, "too many requests from this address");
            a.headers.emplace_back("Retry-After", "1");
            return respond(a, msg.keep_alive());
        }
        http_request req;
        req.method = std::string(msg.method_string());
        req.target = std::string(msg.target());
        for (auto& f : msg) req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
        req.body = std::move(msg.body());
        http_answer a;
        try {
            a = srv_->handle(req);
        } catch (const std::exception&) {
            a = json_error(500, "internal error");
        }
        if (a.next_event && a.status == 200) return start_events(std::move(a));
        if (a.later) return answer_later(std::move(a.later), msg.keep_alive());
        respond(a, msg.keep_alive());
    }

    void answer_later(std::function<void(std::function<void(http_answer)>)> work, bool keep_alive) {
        auto ex = stream_.get_executor();
        auto done = [self = this->shared_from_this(), ex, keep_alive](http_answer b) {
            asio::post(ex, [self, b = std::move(b), keep_alive] {
                if (self->srv_->stopped) return self->end();
                self->respond(b, keep_alive);
            });
        };
        try {
            work(std::move(done));
        } catch (const std::exception&) {
            respond(json_error(500, "internal error"), false);
        }
    }

    void start_events(http_answer a) {
        next_event_ = std::move(a.next_event);
        interval_ = a.event_interval;
        out_ = "HTTP/1.1 200 OK\r\nServer: drover\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
               "X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n";
        try {
            out_ += next_event_();
        } catch (const std::exception&) {
            return end();
        }
        write_events();
    }

    // Nothing new for this long: a comment goes out, so proxies keep the stream and a client
    // that went away is noticed.
    static constexpr std::chrono::seconds keep_alive_every{15};

    void write_events() {
        last_write_ = std::chrono::steady_clock::now();
        tcp_layer().expires_after(srv_->opts.read_timeout);  // a client that does not read is dropped
        asio::async_write(stream_, asio::buffer(out_), [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec || self->srv_->stopped) return self->end();
            self->next_events();
        });
    }

    void next_events() {
        timer_.expires_after(interval_);
        timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
            if (ec || self->srv_->stopped) return self->end();
            try {
                self->out_ = self->next_event_();
            } catch (const std::exception&) {
                return self->end();  // what the stream followed is gone (a removed job)
            }
            if (self->out_.empty()) {
                if (std::chrono::steady_clock::now() - self->last_write_ < keep_alive_every) return self->next_events();
                self->out_ = ": keep-alive\n\n";
            }
            self->write_events();
        });
    }

    void respond(const http_answer& a, bool keep_alive) {
        auto res = std::make_shared<bhttp::response<bhttp::string_body>>(static_cast<bhttp::status>(a.status), 11);
        res->set(bhttp::field::server, "drover");
        res->set(bhttp::field::content_type, a.content_type);
        res->set(bhttp::field::cache_control, "no-store");
        res->set("X-Content-Type-Options", "nosniff");
        if (srv_->tls) res->set("Strict-Transport-Security", "max-age=31536000");
        for (auto& [k, v] : a.headers) res->set(k, v);
        res->body() = a.body;
        res->keep_alive(keep_alive);
        res->prepare_payload();
        tcp_layer().expires_after(srv_->opts.read_timeout);
        bhttp::async_write(stream_, *res, [self = this->shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
            if (!ec && keep_alive && !self->srv_->stopped) return self->read();
            self->end();
        });
    }

    void end() {
        close();
        finish();
    }
    void finish() { srv_->sessions.erase(this->shared_from_this()); }

    Stream stream_;
    asio::steady_timer timer_;
    std::shared_ptr<http_server::impl> srv_;
    asio::ip::address peer_;
    std::function<std::string()> next_event_;
    std::chrono::milliseconds interval_{1000};
    std::chrono::steady_clock::time_point last_write_{};
    std::string out_;
    beast::flat_buffer buffer_;
    std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
};

template <class Stream>
void admit(http_server::impl& srv, std::shared_ptr<session<Stream>> s) {
    srv.sessions.insert(s);
    if (srv.sessions.size() > srv.opts.max_connections)
        s->refuse();
    else
        s->start();
}

}  // namespace

void http_server::impl::accept() {
    acceptor.async_accept([self = shared_from_this()](boost::system::error_code ec, tcp::socket s) {
        if (self->stopped) return;
        if (!ec) {
            ::fcntl(s.native_handle(), F_SETFD, FD_CLOEXEC);  // not inherited by the tasks runs spawn
            if (self->tls)
                admit(*self, std::make_shared<session<beast::ssl_stream<beast::tcp_stream>>>(
                                 beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(s)), *self->tls), self));
            else
                admit(*self, std::make_shared<session<beast::tcp_stream>>(beast::tcp_stream(std::move(s)), self));
        }
        self->accept();
    });
}

http_server::http_server(asio::any_io_executor ex, std::string_view listen, http_server_options o, handler h)
    : impl_(std::make_shared<impl>(ex, o, std::move(h))) {
    if (o.tls_cert_file.empty() != o.tls_key_file.empty())
        throw config_error("TLS needs both a certificate and its key");
    if (!o.tls_cert_file.empty()) {
        auto& c = impl_->tls.emplace(ssl::context::tls_server);
        c.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                      ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
        boost::system::error_code ec;
        c.use_certificate_chain_file(o.tls_cert_file, ec);
        if (ec) throw config_error("TLS certificate " + o.tls_cert_file + ": " + ec.message());
        c.use_private_key_file(o.tls_key_file, ssl::context::pem, ec);
        if (ec) throw config_error("TLS key " + o.tls_key_file + ": " + ec.message());
    }
    auto [addr, port] = parse_listen(listen);
    tcp::endpoint ep(addr, port);
    boost::system::error_code ec;
    impl_->acceptor.open(ep.protocol(), ec);
    if (!ec) ::fcntl(impl_->acceptor.native_handle(), F_SETFD, FD_CLOEXEC);
    if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) impl_->acceptor.bind(ep, ec);
    if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) throw config_error("cannot listen on " + std::string(listen) + ": " + ec.message());
    impl_->port = impl_->acceptor.local_endpoint().port();
}

http_server::~http_server() { stop(); }

std::uint16_t http_server::port() const noexcept { return impl_->port; }

void http_server::start() { impl_->accept(); }

void http_server::stop() {
    if (impl_->stopped) return;
    impl_->stopped = true;
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
    auto sessions = std::move(impl_->sessions);
    for (auto& s : sessions) s->close();
}

}  // namespace drover::detail
