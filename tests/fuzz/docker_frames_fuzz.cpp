// Docker's multiplexed log stream (docker/frames.*): the decoder must give the same payload
// per stream, the same frame count and the same verdict however the bytes are cut into
// reads, and agree with a plain decode of the whole stream.
//
// Input: byte 0 seeds the read sizes; the rest is the log stream.
#include "fuzz/fuzz.hpp"

#include "docker/frames.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>

namespace drover::fuzz {

namespace {

struct decoded {
    std::array<std::string, 4> streams;
    bool ok = true;
    bool finished = true;
    std::uint64_t frames = 0;
    bool operator==(const decoded&) const = default;
};

decoded with_reads(std::string_view wire, unsigned seed) {
    decoded d;
    docker::frame_decoder dec;
    std::uint32_t rng = seed * 2654435761u + 1;
    auto sink = [&](docker::stream_kind k, std::string_view p) {
        DROVER_FUZZ_CHECK(!p.empty(), "an empty payload piece");
        d.streams[static_cast<std::size_t>(k)].append(p);
    };
    while (!wire.empty() && d.ok) {
        rng = rng * 1103515245u + 12345u;
        std::size_t n = seed == 0 ? wire.size() : std::min<std::size_t>(wire.size(), 1 + (rng >> 16) % 23);
        d.ok = dec.feed(wire.substr(0, n), sink);
        wire.remove_prefix(n);
    }
    d.finished = dec.finish();
    d.frames = dec.frames();
    DROVER_FUZZ_CHECK(d.finished == dec.error().empty(), dec.error());
    return d;
}

// The format, read the obvious way.
decoded plain(std::string_view wire) {
    decoded d;
    while (!wire.empty()) {
        if (wire.size() < 8) return d.finished = false, d;
        auto b = [&](std::size_t i) { return static_cast<unsigned char>(wire[i]); };
        if (b(0) > 3 || b(1) || b(2) || b(3)) return d.ok = d.finished = false, d;
        std::uint64_t n = (std::uint64_t{b(4)} << 24) | (b(5) << 16) | (b(6) << 8) | b(7);
        ++d.frames;
        d.streams[b(0)].append(wire.substr(8, n));
        if (wire.size() - 8 < n) return d.finished = false, d;
        wire.remove_prefix(8 + n);
    }
    return d;
}

}  // namespace

void docker_frames(std::string_view in) {
    unsigned seed = take_byte(in);
    auto whole = with_reads(in, 0);
    DROVER_FUZZ_CHECK(with_reads(in, seed) == whole, "decoding depends on how the stream is cut");
    DROVER_FUZZ_CHECK(plain(in) == whole, "decoder disagrees with a plain decode");
}

}  // namespace drover::fuzz
