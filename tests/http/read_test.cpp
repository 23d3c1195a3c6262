// The response parser of the HTTP client, fed hostile bytes through beast::test::stream.
#include "http/read.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/http/error.hpp>

#include <doctest/doctest.h>

namespace asio = boost::asio;
namespace beast = boost::beast;
using drover::http::response;
using drover::http::detail::read_limits;
using drover::http::detail::read_outcome;

namespace {

struct parsed {
    read_outcome out;
    response res;
    std::vector<std::string> pieces;
};

// Feeds `bytes` (in `split`-sized writes, to exercise partial reads) and then closes.
parsed parse(std::string bytes, read_limits lim = {}, bool stream = false, std::size_t split = 7,
             std::size_t stop_after = 0) {
    asio::io_context io;
    beast::test::stream client(io), server(io);
    client.connect(server);
    for (std::size_t i = 0; i < bytes.size(); i += split) client.append(std::string_view(bytes).substr(i, split));
    server.close();
    parsed p;
    beast::flat_buffer buf;
    drover::http::body_callback on_body;
    if (stream)
        on_body = [&](std::string_view piece) {
            p.pieces.emplace_back(piece);
            return stop_after == 0 || p.pieces.size() < stop_after;
        };
    drover::http::head_callback on_head;  // none; alive until io.run() returns either way
    asio::co_spawn(io, drover::http::detail::read_response(client, buf, lim, p.res, on_head, on_body),
                   [&](std::exception_ptr e, read_outcome o) {
                       REQUIRE(!e);
                       p.out = o;
                   });
    io.run();
    return p;
}

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += x;
    return s;
}

}  // namespace

TEST_CASE("http read: a response with Content-Length") {
    auto p = parse("HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello");
    CHECK(!p.out.ec);
    CHECK(p.res.status == 201);
    CHECK(p.res.reason == "Created");
    CHECK(p.res.body == "hello");
    CHECK(p.res.header("x-a") == "b");
    CHECK(p.res.header("content-length") == "5");
    CHECK(!p.res.header("missing"));
    CHECK(p.out.keep_alive);
}

TEST_CASE("http read: a chunked body is de-chunked, buffered or streamed") {
    std::string bytes = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n5;ext=1\r\ndefgh\r\n0\r\n\r\n";
    auto whole = parse(bytes);
    CHECK(!whole.out.ec);
    CHECK(whole.res.body == "abcdefgh");
    auto streamed = parse(bytes, {}, true);
    CHECK(!streamed.out.ec);
    CHECK(streamed.res.body.empty());
    CHECK(join(streamed.pieces) == "abcdefgh");
}

TEST_CASE("http read: a truncated chunked body is an error in the body, not a short success") {
    auto p = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nonly-eight");
    CHECK(p.out.ec == beast::http::error::partial_message);
    CHECK(p.out.in_body);
    CHECK(p.res.status == 200);
}

TEST_CASE("http read: a truncated Content-Length body is an error") {
    auto p = parse("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort");
    CHECK(p.out.ec == beast::http::error::partial_message);
    CHECK(p.out.in_body);
}

TEST_CASE("http read: a bad chunk size is an error") {
    auto p = parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n");
    CHECK(p.out.ec == beast::http::error::bad_chunk);
}

TEST_CASE("http read: huge headers hit the header limit") {
    std::string bytes = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(200 * 1024, 'a') + "\r\n\r\n";
    auto p = parse(bytes, {.header_limit = 64 * 1024}, false, 4096);
    CHECK(p.out.ec == beast::http::error::header_limit);
    CHECK(!p.out.in_body);
}

TEST_CASE("http read: a buffered body over the limit is an error, a streamed one is not") {
    std::string bytes = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'x');
    auto limited = parse(bytes, {.body_limit = 100}, false, 512);
    CHECK(limited.out.ec == beast::http::error::body_limit);
    auto streamed = parse(bytes, {.body_limit = 100}, true, 512);
    CHECK(!streamed.out.ec);
    CHECK(join(streamed.pieces).size() == 1000);
}

TEST_CASE("http read: malformed status lines and headers are errors") {
    for (std::string bad : std::vector<std::string>{"HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/9 200 OK\r\n\r\n", "SSH-2.0-OpenSSH_9.2\r\n\r\n",
                            "HTTP/1.1 200 OK\r\nBad Header\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                            "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
                            std::string("HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n", 27)}) {
        CAPTURE(bad);
        auto p = parse(bad);
        CHECK(p.out.ec);
        CHECK(p.res.status == 0);
    }
}

TEST_CASE("http read: a connection closed before any byte is end_of_stream with nothing received") {
    auto p = parse("");
    CHECK(p.out.ec == beast::http::error::end_of_stream);
    CHECK(!p.out.got_bytes);
    auto q = parse("HTTP/1.1 20");
    CHECK(q.out.ec);
    CHECK(q.out.got_bytes);
}

TEST_CASE("http read: the body callback can stop the stream") {
    std::string bytes = "HTTP/1.1 200 OK\r\nContent-Length: 300000\r\n\r\n" + std::string(300000, 'z');
    auto p = parse(bytes, {}, true, 70000, 1);
    CHECK(!p.out.ec);
    CHECK(p.out.stopped);
    CHECK(!p.out.keep_alive);
    REQUIRE(p.pieces.size() == 1);
    CHECK(p.pieces[0].size() < 300000);
}

TEST_CASE("http read: HEAD responses and 204 have no body") {
    auto head = parse("HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n", {.head_request = true});
    CHECK(!head.out.ec);
    CHECK(head.res.body.empty());
    auto none = parse("HTTP/1.1 204 No Content\r\n\r\n");
    CHECK(!none.out.ec);
    CHECK(none.res.status == 204);
}

TEST_CASE("http read: Connection: close is not kept alive") {
    auto p = parse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    CHECK(!p.out.ec);
    CHECK(!p.out.keep_alive);
}

namespace {

// A callback that knows whether any copy of it is alive when it is called.
struct lifetime {
    int alive = 0;
    int calls = 0;
    int calls_while_dead = 0;
};

struct counted_callback {
    lifetime* l;
    explicit counted_callback(lifetime* x) : l(x) { ++l->alive; }
    counted_callback(const counted_callback& o) : l(o.l) { ++l->alive; }
    ~counted_callback() { --l->alive; }
    void note() const {
        ++l->calls;
        if (l->alive <= 0) ++l->calls_while_dead;
    }
    void operator()(const response&) const { note(); }
    bool operator()(std::string_view) const {
        note();
        return true;
    }
};

}  // namespace

TEST_CASE("http read: callbacks and limits given as temporaries live as long as the coroutine") {
    asio::io_context io;
    beast::test::stream client(io), server(io);
    client.connect(server);
    client.append("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    server.close();
    beast::flat_buffer buf;
    response res;
    lifetime head, body;
    read_outcome out;
    // Every argument but the stream, the buffer and the response is a temporary that dies
    // at the end of this statement, long before io.run() resumes the coroutine.
    asio::co_spawn(io,
                   drover::http::detail::read_response(client, buf, read_limits{.body_limit = 1000}, res,
                                                       drover::http::head_callback(counted_callback(&head)),
                                                       drover::http::body_callback(counted_callback(&body))),
                   [&](std::exception_ptr e, read_outcome o) {
                       REQUIRE(!e);
                       out = o;
                   });
    io.run();
    CHECK(!out.ec);
    CHECK(head.calls == 1);
    CHECK(body.calls >= 1);
    CHECK(head.calls_while_dead == 0);
    CHECK(body.calls_while_dead == 0);
    CHECK(head.alive == 0);  // and nothing leaks
    CHECK(body.alive == 0);
}
