// The HTTP client over real sockets (TCP and Unix), against a scripted server of the test's
// own: keep-alive reuse, a server that drops idle connections, timeouts, cancellation,
// refused connections and bad requests. TLS is covered against openssl s_server below and
// against real dockerd in the Docker executor's tests.
#include "http/client.hpp"

#include "support/support.hpp"

#include <drover/error.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>

namespace asio = boost::asio;
namespace http = drover::http;
using drover::test::temp_dir;

namespace {

struct reply {
    std::string bytes;               ///< written as is
    bool close = false;              ///< close the connection after writing
    std::chrono::milliseconds delay{0};
};

// Accepts connections one at a time on a thread; for every request calls `script` with the
// connection number (0-based) and the request text (headers and body).
template <class Protocol>
class script_server {
public:
    using script_fn = std::function<reply(int conn, const std::string& request)>;

    script_server(typename Protocol::endpoint ep, script_fn script)
        : acceptor_(io_, ep), script_(std::move(script)), thread_([this] { serve(); }) {}
    ~script_server() {
        stop_ = true;
        // A blocking accept() is not woken by close() from another thread: connect to wake it.
        boost::system::error_code ignored;
        asio::io_context io;
        typename Protocol::socket wake(io);
        wake.connect(acceptor_.local_endpoint(), ignored);
        thread_.join();
        acceptor_.close(ignored);
    }
    typename Protocol::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }
    int connections() const { return connections_; }

private:
    void serve() {
        while (!stop_) {
            typename Protocol::socket sock(io_);
            boost::system::error_code ec;
            acceptor_.accept(sock, ec);
            if (ec) return;
            int n = connections_++;
            asio::streambuf buf;
            while (!stop_) {
                std::size_t len = asio::read_until(sock, buf, "\r\n\r\n", ec);
                if (ec) break;
                std::string req(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + len);
                buf.consume(len);
                if (auto cl = req.find("Content-Length: "); cl != std::string::npos) {
                    std::size_t want = std::stoul(req.substr(cl + 16));
                    if (buf.size() < want) asio::read(sock, buf, asio::transfer_exactly(want - buf.size()), ec);
                    req.append(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + want);
                    buf.consume(want);
                }
                reply r = script_(n, req);
                if (r.delay.count()) std::this_thread::sleep_for(r.delay);
                asio::write(sock, asio::buffer(r.bytes), ec);
                if (ec || r.close) break;
            }
        }
    }

    asio::io_context io_;
    typename Protocol::acceptor acceptor_;
    script_fn script_;
    std::atomic<bool> stop_{false};
    std::atomic<int> connections_{0};
    std::thread thread_;
};

using tcp_server = script_server<asio::ip::tcp>;
using unix_server = script_server<asio::local::stream_protocol>;

reply ok(std::string body) {
    return {"HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body};
}

http::result request(asio::io_context& io, http::client& c, http::request req) {
    http::result out;
    c.async_request(std::move(req), [&](http::result r) { out = std::move(r); });
    io.restart();
    io.run();
    return out;
}

http::endpoint tcp_endpoint(const tcp_server& s) {
    return http::parse_endpoint("tcp://127.0.0.1:" + std::to_string(s.local_endpoint().port()));
}

}  // namespace

TEST_CASE("http endpoint: accepted forms") {
    auto u = http::parse_endpoint("unix:///var/run/docker.sock");
    CHECK(u.kind == http::transport::unix_socket);
    CHECK(u.socket_path == "/var/run/docker.sock");
    CHECK(u.to_string() == "unix:///var/run/docker.sock");
    auto t = http::parse_endpoint("tcp://127.0.0.1:2375");
    CHECK(t.kind == http::transport::tcp);
    CHECK(t.host == "127.0.0.1");
    CHECK(t.port == 2375);
    CHECK(t.host_header() == "127.0.0.1:2375");
    auto s = http::parse_endpoint("https://s3.example.com");
    CHECK(s.kind == http::transport::tls);
    CHECK(s.port == 443);
    CHECK(s.to_string() == "https://s3.example.com:443");
    auto h = http::parse_endpoint("http://localhost:9000/");
    CHECK(h.port == 9000);
    auto v6 = http::parse_endpoint("tcp://[::1]:2376");
    CHECK(v6.host == "::1");
    CHECK(v6.host_header() == "[::1]:2376");
}

TEST_CASE("http endpoint: malformed addresses are clear configuration errors") {
    for (const char* bad : {"", "127.0.0.1:2375", "ftp://h:1", "tcp://h", "tcp://:2375", "tcp://h:0", "tcp://h:65536",
                            "tcp://h:12ab", "tcp://h:", "unix://relative.sock", "unix://", "http://h/path",
                            "http://user:pw@h:1", "tcp://[::1:2375", "tcp://[::1]x", "tcp://ho st:1", "tcp://[zz]:1"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(http::parse_endpoint(bad), drover::config_error);
        try {
            http::parse_endpoint(bad);
        } catch (const drover::config_error& e) {
            CHECK(std::string(e.what()).find("invalid endpoint") != std::string::npos);
        }
    }
}

TEST_CASE("http endpoint: hostile addresses are refused, naming neither user info nor path") {
    for (const char* bad : {"tcp://h\xc3\xb6st:1", "tcp://h%41:1", "tcp://h!:1", "tcp://[v1.x]:1", "http://h/?q",
                            "http://h/#f", "http://h:1/x%zz", "tcp://h:+1", "tcp://h:-1", "tcp://h:1\n", "tcp://\x01:1",
                            "https://bob:s3cret@h/tok", "tcp//h:1", "http:h:1"}) {
        CAPTURE(bad);
        try {
            http::parse_endpoint(bad);
            FAIL("accepted");
        } catch (const drover::config_error& e) {
            std::string m = e.what();
            CHECK(m.starts_with("invalid endpoint "));
            CHECK(m.find("s3cret") == std::string::npos);
            CHECK(m.find("tok") == std::string::npos);
        }
    }
    // Schemes are case-insensitive (RFC 3986); a unix:// path is a file name, taken as it is.
    CHECK(http::parse_endpoint("HTTPS://h").kind == http::transport::tls);
    CHECK(http::parse_endpoint("unix:///run/my docker%20.sock").socket_path == "/run/my docker%20.sock");
    CHECK(http::parse_endpoint("tcp://192.168.0.1:1").host == "192.168.0.1");
}

TEST_CASE("http url: endpoint and request target, percent-encoding kept, fragment dropped") {
    auto u = http::parse_http_url("https://example.test:8443/a%20b/c?x=%2F&y#frag");
    CHECK(u.ep.kind == http::transport::tls);
    CHECK(u.ep.host == "example.test");
    CHECK(u.ep.port == 8443);
    CHECK(u.target == "/a%20b/c?x=%2F&y");
    CHECK(http::parse_http_url("http://h?x=1").target == "/?x=1");
    CHECK(http::parse_http_url("http://[::1]").target == "/");
    CHECK(http::parse_http_url("http://[::1]").ep.host == "::1");
    for (const char* bad : {"tcp://h:1/x", "unix:///s", "h/x", "http://h/a b", "http://h/caf\xc3\xa9", "http://h/%zz",
                            "http://u:pw@h/", "http://h:0/"}) {
        CAPTURE(bad);
        CHECK_THROWS_WITH_AS(http::parse_http_url(bad, "webhook"), doctest::Contains("webhook "), drover::config_error);
    }
    CHECK_THROWS_WITH_AS(http::parse_http_url("ftp://h/x"), "invalid endpoint ftp://h/...: must be an http:// or https:// URL",
                         drover::config_error);
}

TEST_CASE("http client: keep-alive reuses one connection, headers and body are sent") {
    std::mutex m;
    std::vector<std::string> seen;
    tcp_server server({asio::ip::make_address("127.0.0.1"), 0}, [&](int, const std::string& req) {
        std::lock_guard lock(m);
        seen.push_back(req);
        return ok("n=" + std::to_string(seen.size()));
    });
    asio::io_context io;
    http::client c(io.get_executor(), {.target = tcp_endpoint(server), .user_agent = "drover-test"});
    auto a = request(io, c, {.target = "/a", .headers = {{"X-Token", "t1"}}});
    REQUIRE_MESSAGE(a, a.error);
    CHECK(a.res.status == 200);
    CHECK(a.res.body == "n=1");
    auto b = request(io, c, {.method = boost::beast::http::verb::put, .target = "/b?x=1", .body = "payload"});
    REQUIRE_MESSAGE(b, b.error);
    CHECK(b.res.body == "n=2");
    CHECK(server.connections() == 1);
    std::lock_guard lock(m);
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].starts_with("GET /a HTTP/1.1\r\n"));
    CHECK(seen[0].find("X-Token: t1\r\n") != std::string::npos);
    CHECK(seen[0].find("User-Agent: drover-test\r\n") != std::string::npos);
    CHECK(seen[0].find("Host: 127.0.0.1:") != std::string::npos);
    CHECK(seen[1].starts_with("PUT /b?x=1 HTTP/1.1\r\n"));
    CHECK(seen[1].find("Content-Length: 7\r\n") != std::string::npos);
    CHECK(seen[1].ends_with("\r\n\r\npayload"));
}

TEST_CASE("http client: a kept-alive connection the server dropped is replaced transparently") {
    // The first connection answers once and is closed without "Connection: close".
    tcp_server server({asio::ip::make_address("127.0.0.1"), 0}, [&](int conn, const std::string&) {
        reply r = ok("conn " + std::to_string(conn));
        r.close = true;
        return r;
    });
    asio::io_context io;
    http::client c(io.get_executor(), {.target = tcp_endpoint(server)});
    auto a = request(io, c, {.target = "/"});
    REQUIRE_MESSAGE(a, a.error);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto b = request(io, c, {.target = "/"});
    REQUIRE_MESSAGE(b, b.error);
    CHECK(b.res.body == "conn 1");
    CHECK(server.connections() == 2);
}

TEST_CASE("http client: Unix socket endpoints, and streamed chunked bodies") {
    temp_dir dir;
    auto path = (dir / "s.sock").string();
    unix_server server(asio::local::stream_protocol::endpoint(path), [](int, const std::string&) {
        return reply{"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nline\r\n2\r\n\n2\r\n0\r\n\r\n"};
    });
    asio::io_context io;
    http::client c(io.get_executor(), {.target = http::parse_endpoint("unix://" + path)});
    std::string streamed;
    unsigned head_status = 0;
    http::result out;
    c.async_stream(
        {.target = "/logs"}, [&](const http::response& h) { head_status = h.status; },
        [&](std::string_view piece) {
            streamed += piece;
            return true;
        },
        [&](http::result r) { out = std::move(r); });
    io.run();
    REQUIRE_MESSAGE(out, out.error);
    CHECK(head_status == 200);
    CHECK(streamed == "line\n2");
    CHECK(out.res.body.empty());
}

TEST_CASE("http client: a server that does not answer times out, naming the endpoint") {
    tcp_server server({asio::ip::make_address("127.0.0.1"), 0}, [](int, const std::string&) {
        return reply{.bytes = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", .delay = std::chrono::milliseconds(1500)};
    });
    asio::io_context io;
    http::client c(io.get_executor(), {.target = tcp_endpoint(server)});
    auto r = request(io, c, {.target = "/slow", .timeout = std::chrono::milliseconds(200)});
    CHECK(!r);
    CHECK(r.error == tcp_endpoint(server).to_string() + ": read response: timed out after 200ms");
}

TEST_CASE("http client: cancellation through the token's slot aborts the request") {
    tcp_server server({asio::ip::make_address("127.0.0.1"), 0}, [](int, const std::string&) {
        return reply{.bytes = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", .delay = std::chrono::milliseconds(1500)};
    });
    asio::io_context io;
    http::client c(io.get_executor(), {.target = tcp_endpoint(server)});
    asio::cancellation_signal sig;
    http::result out;
    bool done = false;
    c.async_request({.target = "/"}, asio::bind_cancellation_slot(sig.slot(), [&](http::result r) {
                        out = std::move(r);
                        done = true;
                    }));
    asio::steady_timer t(io, std::chrono::milliseconds(100));
    t.async_wait([&](auto) { sig.emit(asio::cancellation_type::terminal); });
    auto t0 = std::chrono::steady_clock::now();
    io.run();
    CHECK(done);
    CHECK(out.ec == asio::error::operation_aborted);
    CHECK(out.error.find(": cancelled") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1400));
}

TEST_CASE("http client: refused connections and dead sockets name the endpoint") {
    asio::io_context io;
    std::uint16_t port;
    {
        asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
        port = a.local_endpoint().port();
    }
    http::client c(io.get_executor(), {.target = http::parse_endpoint("tcp://127.0.0.1:" + std::to_string(port))});
    auto r = request(io, c, {.target = "/_ping"});
    CHECK(!r);
    CHECK(r.error == "tcp://127.0.0.1:" + std::to_string(port) + ": connect: Connection refused");

    http::client u(io.get_executor(), {.target = http::parse_endpoint("unix:///nonexistent/drover.sock")});
    auto q = request(io, u, {.target = "/_ping"});
    CHECK(!q);
    CHECK(q.error == "unix:///nonexistent/drover.sock: connect: No such file or directory");
}

TEST_CASE("http client: header injection and bad targets are refused before sending") {
    int requests = 0;
    tcp_server server({asio::ip::make_address("127.0.0.1"), 0}, [&](int, const std::string&) {
        ++requests;
        return ok("");
    });
    asio::io_context io;
    http::client c(io.get_executor(), {.target = tcp_endpoint(server)});
    auto a = request(io, c, {.target = "/", .headers = {{"X-A", "v\r\nX-Injected: 1"}}});
    CHECK(!a);
    CHECK(a.error.find("invalid header \"X-A\"") != std::string::npos);
    auto b = request(io, c, {.target = "/a b"});
    CHECK(!b);
    auto d = request(io, c, {.target = "http://elsewhere/"});
    CHECK(!d);
    CHECK(requests == 0);
}

TEST_CASE("http client: a response with huge headers is an error naming the limit") {
    tcp_server server({asio::ip::make_address("127.0.0.1"), 0}, [](int, const std::string&) {
        return reply{"HTTP/1.1 200 OK\r\nX-Big: " + std::string(100000, 'a') + "\r\nContent-Length: 0\r\n\r\n"};
    });
    asio::io_context io;
    http::client c(io.get_executor(), {.target = tcp_endpoint(server), .header_limit = 8192});
    auto r = request(io, c, {.target = "/"});
    CHECK(!r);
    CHECK(r.error.find("response headers exceed 8192 bytes") != std::string::npos);
}
