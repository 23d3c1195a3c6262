#include "docker/frames.hpp"

#include <fmt/format.h>

namespace drover::docker {

bool frame_decoder::parse_header() {
    auto b = [&](std::size_t i) { return static_cast<unsigned char>(header_[i]); };
    unsigned kind = b(0);
    if (kind > 3 || b(1) != 0 || b(2) != 0 || b(3) != 0) {
        error_ = fmt::format("bad log frame header {:02x} {:02x} {:02x} {:02x} (frame {}): expected stream 0-3 "
                             "and three zero bytes",
                             b(0), b(1), b(2), b(3), frames_ + 1);
        return false;
    }
    stream_ = static_cast<stream_kind>(kind);
    remaining_ = (std::uint64_t{b(4)} << 24) | (std::uint64_t{b(5)} << 16) | (std::uint64_t{b(6)} << 8) | b(7);
    header_.clear();
    header_len_ = 0;
    ++frames_;
    return true;
}

bool frame_decoder::finish() {
    if (!error_.empty()) return false;
    if (header_len_ > 0) {
        error_ = fmt::format("log stream ended inside a frame header ({} of 8 bytes)", header_len_);
        return false;
    }
    if (remaining_ > 0) {
        error_ = fmt::format("log stream ended {} bytes short of the end of frame {}", remaining_, frames_);
        return false;
    }
    return true;
}

}  // namespace drover::docker
