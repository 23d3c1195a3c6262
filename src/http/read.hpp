#pragma once
// Reads one HTTP response from any Beast-compatible stream: the part of the client that
// parses what a server sends. Kept apart from the connection handling so tests can feed it
// truncated, oversized and malformed responses through beast::test::stream, without sockets.

#include "http/client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>

#include <array>
#include <cstdint>

namespace drover::http::detail {

struct read_limits {
    std::uint32_t header_limit = 64 * 1024;
    std::uint64_t body_limit = 64ull << 20;   ///< buffered bodies only
    bool head_request = false;                ///< a response to HEAD has no body
};

struct read_outcome {
    boost::system::error_code ec;
    bool in_body = false;      ///< the status line and headers were read
    bool got_bytes = false;    ///< the server sent anything at all
    bool stopped = false;      ///< the body callback asked to stop
    bool keep_alive = false;   ///< the connection may carry another request
};

/// Reads a response into `res` (status, reason, headers; the body too unless `on_body`
/// is set, in which case the body goes to the callbacks). Errors are returned, not thrown.
///
/// A coroutine: it runs after the call returns, so everything it keeps is taken by value
/// (the limits and callbacks live in its frame); only `stream`, `buf` and `res` are
/// references, which the caller must keep alive until it completes.
template <class Stream>
boost::asio::awaitable<read_outcome> read_response(Stream& stream, boost::beast::flat_buffer& buf, read_limits lim,
                                                   response& res, head_callback on_head, body_callback on_body) {
    namespace bhttp = boost::beast::http;
    constexpr auto tuple_awaitable = boost::asio::as_tuple(boost::asio::use_awaitable);

    read_outcome out;
    bhttp::response_parser<bhttp::buffer_body> p;
    p.header_limit(lim.header_limit);
    p.body_limit(boost::none);   // enforced below, for buffered bodies only
    if (lim.head_request) p.skip(true);

    std::size_t before = buf.size();
    auto [ec, n] = co_await bhttp::async_read_header(stream, buf, p, tuple_awaitable);
    out.got_bytes = n > 0 || buf.size() > before || before > 0;
    if (ec) {
        out.ec = ec;
        co_return out;
    }
    out.in_body = true;
    const auto& head = p.get();
    res.status = head.result_int();
    res.reason = std::string(head.reason());
    res.headers.clear();
    for (const auto& f : head) res.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    if (on_head) on_head(res);

    std::array<char, 64 * 1024> chunk;
    while (!p.is_done()) {
        p.get().body().data = chunk.data();
        p.get().body().size = chunk.size();
        auto [ec2, n2] = co_await bhttp::async_read(stream, buf, p, tuple_awaitable);
        if (ec2 == bhttp::error::need_buffer) ec2 = {};
        std::size_t got = chunk.size() - p.get().body().size;
        if (got > 0) {
            std::string_view piece(chunk.data(), got);
            if (on_body) {
                if (!on_body(piece)) {
                    out.stopped = true;
                    co_return out;
                }
            } else {
                if (res.body.size() + got > lim.body_limit) {
                    out.ec = bhttp::error::body_limit;
                    co_return out;
                }
                res.body.append(piece);
            }
        }
        if (ec2) {
            out.ec = ec2;
            co_return out;
        }
    }
    out.keep_alive = p.keep_alive();
    co_return out;
}

}  // namespace drover::http::detail
