// The HTTP client's response reader (http/read.hpp) over beast::test::stream: status line,
// headers, Content-Length, chunked and close-delimited bodies, buffered or streamed, with
// limits. Any bytes give a read_outcome (never an exception or a crash); a buffered body
// never exceeds its limit; the head callback runs once, exactly when the head was read.
//
// Input: byte 0 holds flags (bit 0 HEAD request, bit 1 streamed body, bits 2-3 stop the
// stream after that many pieces), byte 1 the header limit, byte 2 the body limit, byte 3
// the size of the writes the server makes; the rest is what the server sends, then it closes.
#include "fuzz/fuzz.hpp"

#include "http/read.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/_experimental/test/stream.hpp>

#include <exception>

namespace drover::fuzz {

void http_read(std::string_view in) {
    namespace asio = boost::asio;
    namespace beast = boost::beast;
    unsigned flags = take_byte(in);
    http::detail::read_limits lim;
    lim.head_request = flags & 1;
    lim.header_limit = 64 + take_byte(in) * 64;
    lim.body_limit = take_byte(in) * 16;
    std::size_t split = 1 + take_byte(in);
    bool streamed = flags & 2;
    unsigned stop_after = (flags >> 2) & 3;

    asio::io_context io;
    beast::test::stream client(io), server(io);
    client.connect(server);
    for (std::size_t i = 0; i < in.size(); i += split) client.append(in.substr(i, split));
    server.close();

    beast::flat_buffer buf;
    http::response res;
    int heads = 0;
    unsigned pieces = 0;
    std::size_t streamed_bytes = 0;
    // Named, so they outlive the coroutine that takes them by reference.
    http::head_callback on_head = [&](const http::response&) { ++heads; };
    http::body_callback on_body;
    if (streamed)
        on_body = [&](std::string_view piece) {
            DROVER_FUZZ_CHECK(!piece.empty(), "an empty body piece");
            streamed_bytes += piece.size();
            return stop_after == 0 || ++pieces < stop_after;
        };
    std::optional<http::detail::read_outcome> out;
    asio::co_spawn(io, http::detail::read_response(client, buf, lim, res, on_head, on_body),
                   [&](std::exception_ptr e, http::detail::read_outcome o) {
                       if (e) std::rethrow_exception(e);
                       out = o;
                   });
    io.run();

    DROVER_FUZZ_CHECK(out.has_value(), "read_response did not complete");
    DROVER_FUZZ_CHECK(heads == (out->in_body ? 1 : 0), "head callback count");
    DROVER_FUZZ_CHECK(out->ec || out->stopped || out->in_body, "success without a head");
    DROVER_FUZZ_CHECK(!out->stopped || streamed, "stopped without a body callback");
    if (streamed) DROVER_FUZZ_CHECK(res.body.empty(), "a streamed body was buffered");
    else DROVER_FUZZ_CHECK(res.body.size() <= lim.body_limit, "buffered body over its limit");
    if (lim.head_request && !out->ec) DROVER_FUZZ_CHECK(res.body.empty() && streamed_bytes == 0, "a body after HEAD");
    if (out->in_body) DROVER_FUZZ_CHECK(res.status <= 999, std::to_string(res.status));
    if (out->keep_alive) DROVER_FUZZ_CHECK(!out->ec && !out->stopped, "keep-alive after an error");
}

}  // namespace drover::fuzz
