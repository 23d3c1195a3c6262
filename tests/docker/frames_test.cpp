// Docker's multiplexed log frames, without sockets: split anywhere, hostile headers, truncation.
#include <doctest/doctest.h>

#include "docker/frames.hpp"

#include <string>
#include <utility>
#include <vector>

using drover::docker::frame_decoder;
using drover::docker::stream_kind;

namespace {

std::string frame(int stream, std::string_view payload) {
    std::string h(8, '\0');
    h[0] = static_cast<char>(stream);
    auto n = static_cast<std::uint32_t>(payload.size());
    h[4] = static_cast<char>(n >> 24);
    h[5] = static_cast<char>(n >> 16);
    h[6] = static_cast<char>(n >> 8);
    h[7] = static_cast<char>(n);
    return h + std::string(payload);
}

struct collected {
    std::string out, err;
};

// Feeds `wire` in pieces of `step` bytes.
std::pair<collected, bool> decode(const std::string& wire, std::size_t step, frame_decoder& d) {
    collected c;
    bool ok = true;
    for (std::size_t i = 0; i < wire.size() && ok; i += step)
        ok = d.feed(std::string_view(wire).substr(i, step), [&](stream_kind k, std::string_view p) {
            (k == stream_kind::stdout_ ? c.out : c.err).append(p);
        });
    return {c, ok};
}

}  // namespace

TEST_CASE("frames: stdout and stderr separated, whatever the split") {
    std::string wire = frame(1, "{\"a\":1}\n{\"b\"") + frame(2, "warn\n") + frame(1, ":2}\n") + frame(1, "") +
                       frame(2, std::string(70000, 'e'));
    for (std::size_t step : {1u, 2u, 7u, 8u, 9u, 4096u, 1u << 20}) {
        frame_decoder d;
        auto [c, ok] = decode(wire, step, d);
        CHECK(ok);
        CHECK(d.finish());
        CHECK(c.out == "{\"a\":1}\n{\"b\":2}\n");
        CHECK(c.err == "warn\n" + std::string(70000, 'e'));
        CHECK(d.frames() == 5);
    }
}

TEST_CASE("frames: a bad stream byte or non-zero padding is an error naming the bytes") {
    for (std::string bad : {std::string("\x07\0\0\0\0\0\0\x01x", 9), std::string("\x01\0\x01\0\0\0\0\x01x", 9),
                            std::string("HTTP/1.1 200 OK\r\n")}) {
        frame_decoder d;
        std::string got;
        bool ok = d.feed(frame(1, "fine\n") + bad, [&](stream_kind, std::string_view p) { got.append(p); });
        CHECK_FALSE(ok);
        CHECK(got == "fine\n");  // what came before the bad header is kept
        CHECK(d.error().find("bad log frame header") != std::string::npos);
        CHECK(d.error().find("frame 2") != std::string::npos);
        CHECK_FALSE(d.feed(frame(1, "more"), [&](stream_kind, std::string_view p) { got.append(p); }));
        CHECK(got == "fine\n");
        CHECK_FALSE(d.finish());
    }
}

TEST_CASE("frames: a stream cut inside a header or a payload is reported at finish") {
    frame_decoder a;
    CHECK(a.feed(frame(1, "abc").substr(0, 5), [](stream_kind, std::string_view) {}));
    CHECK_FALSE(a.finish());
    CHECK(a.error() == "log stream ended inside a frame header (5 of 8 bytes)");

    frame_decoder b;
    std::string got;
    CHECK(b.feed(frame(1, "abcdef").substr(0, 10), [&](stream_kind, std::string_view p) { got.append(p); }));
    CHECK(got == "ab");
    CHECK_FALSE(b.finish());
    CHECK(b.error() == "log stream ended 4 bytes short of the end of frame 1");

    frame_decoder empty;
    CHECK(empty.finish());
}

TEST_CASE("frames: a huge declared size is streamed, not buffered") {
    frame_decoder d;
    std::string h = frame(1, "");
    h[4] = '\xff'; h[5] = '\xff'; h[6] = '\xff'; h[7] = '\xff';  // 4 GiB - 1 announced
    std::size_t seen = 0;
    CHECK(d.feed(h + std::string(1000, 'x'), [&](stream_kind, std::string_view p) { seen += p.size(); }));
    CHECK(seen == 1000);
    CHECK_FALSE(d.finish());
}
