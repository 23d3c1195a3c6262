#include "service/http_server.hpp"

#include <drover/error.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <charconv>
#include <fcntl.h>
#include <set>

namespace drover::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

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

class session;

}  // namespace

struct http_server::impl : std::enable_shared_from_this<impl> {
    impl(asio::any_io_executor ex, http_server_options o, handler h) : acceptor(ex), opts(o), handle(std::move(h)) {}
    tcp::acceptor acceptor;
    http_server_options opts;
    handler handle;
    std::uint16_t port = 0;
    bool stopped = false;
    std::set<std::shared_ptr<session>> sessions;

    void accept();
};

namespace {

class session : public std::enable_shared_from_this<session> {
public:
    session(tcp::socket s, std::shared_ptr<http_server::impl> srv)
        : stream_(std::move(s)), timer_(stream_.get_executor()), srv_(std::move(srv)) {}

    void start() { read(); }
    void close() {
        timer_.cancel();
        boost::system::error_code ec;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        stream_.close();
    }
    // Refuses the connection: too many are open.
    void refuse() {
        http_answer a{503, "application/json", R"({"error":"too many connections"})" "\n", {}};
        respond(bhttp::status::service_unavailable, a, false);
    }

private:
    void read() {
        parser_.emplace();
        parser_->header_limit(srv_->opts.max_header_bytes);
        parser_->body_limit(srv_->opts.max_body_bytes);
        stream_.expires_after(srv_->opts.read_timeout);
        bhttp::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
            self->on_read(ec);
        });
    }

    void on_read(beast::error_code ec) {
        if (ec == bhttp::error::body_limit) {
            http_answer a{413, "application/json",
                          R"({"error":"the request body is larger than )" + std::to_string(srv_->opts.max_body_bytes) +
                              R"( bytes"})" "\n",
                          {}};
            return respond(bhttp::status::payload_too_large, a, false);
        }
        if (ec == bhttp::error::header_limit) {
            http_answer a{431, "application/json", R"({"error":"the request headers are too large"})" "\n", {}};
            return respond(bhttp::status::request_header_fields_too_large, a, false);
        }
        if (ec) {
            // Closed, timed out, or not HTTP: a bad request gets an answer when it can.
            if (ec != bhttp::error::end_of_stream && ec != beast::error::timeout && ec != asio::error::operation_aborted &&
                ec != asio::error::connection_reset && ec != asio::error::eof) {
                http_answer a{400, "application/json", R"({"error":"malformed HTTP request"})" "\n", {}};
                return respond(bhttp::status::bad_request, a, false);
            }
            return finish();
        }
        auto msg = parser_->release();
        http_request req;
        req.method = std::string(msg.method_string());
        req.target = std::string(msg.target());
        for (auto& f : msg) req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
        req.body = std::move(msg.body());
        http_answer a;
        try {
            a = srv_->handle(req);
        } catch (const std::exception&) {
            a = {500, "application/json", R"({"error":"internal error"})" "\n", {}};
        }
        if (a.next_event && a.status == 200) return start_events(std::move(a));
        respond(static_cast<bhttp::status>(a.status), a, msg.keep_alive());
    }

    void start_events(http_answer a) {
        next_event_ = std::move(a.next_event);
        interval_ = a.event_interval;
        out_ = "HTTP/1.1 200 OK\r\nServer: drover\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
               "X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n" +
               next_event_();
        write_events();
    }

    void write_events() {
        stream_.expires_after(srv_->opts.read_timeout);  // a client that does not read is dropped
        asio::async_write(stream_, asio::buffer(out_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
            if (ec || self->srv_->stopped) return self->end();
            self->timer_.expires_after(self->interval_);
            self->timer_.async_wait([self](beast::error_code ec) {
                if (ec || self->srv_->stopped) return self->end();
                self->out_ = self->next_event_();
                if (self->out_.empty()) self->out_ = ": keep-alive\n\n";
                self->write_events();
            });
        });
    }

    void end() {
        close();
        finish();
    }

    void respond(bhttp::status status, const http_answer& a, bool keep_alive) {
        auto res = std::make_shared<bhttp::response<bhttp::string_body>>(status, 11);
        res->set(bhttp::field::server, "drover");
        res->set(bhttp::field::content_type, a.content_type);
        res->set(bhttp::field::cache_control, "no-store");
        res->set("X-Content-Type-Options", "nosniff");
        for (auto& [k, v] : a.headers) res->set(k, v);
        res->body() = a.body;
        res->keep_alive(keep_alive);
        res->prepare_payload();
        stream_.expires_after(srv_->opts.read_timeout);
        bhttp::async_write(stream_, *res, [self = shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
            if (!ec && keep_alive && !self->srv_->stopped) return self->read();
            self->close();
            self->finish();
        });
    }

    void finish() { srv_->sessions.erase(shared_from_this()); }

    beast::tcp_stream stream_;
    asio::steady_timer timer_;
    std::function<std::string()> next_event_;
    std::chrono::milliseconds interval_{1000};
    std::string out_;
    beast::flat_buffer buffer_;
    std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
    std::shared_ptr<http_server::impl> srv_;
};

}  // namespace

void http_server::impl::accept() {
    acceptor.async_accept([self = shared_from_this()](boost::system::error_code ec, tcp::socket s) {
        if (self->stopped) return;
        if (!ec) {
            ::fcntl(s.native_handle(), F_SETFD, FD_CLOEXEC);  // not inherited by the tasks runs spawn
            auto sess = std::make_shared<session>(std::move(s), self);
            self->sessions.insert(sess);
            if (self->sessions.size() > self->opts.max_connections)
                sess->refuse();
            else
                sess->start();
        }
        self->accept();
    });
}

http_server::http_server(asio::any_io_executor ex, std::string_view listen, http_server_options o, handler h)
    : impl_(std::make_shared<impl>(ex, o, std::move(h))) {
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
