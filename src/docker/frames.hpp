#pragma once
// Docker's multiplexed stream format (container logs and attach without a TTY): every frame
// is an 8-byte header {stream, 0, 0, 0, size as big-endian uint32} followed by `size` bytes
// of payload. Payloads are handed on as they arrive, so a huge frame is never buffered.

#include <cstdint>
#include <string>
#include <string_view>

namespace drover::docker {

enum class stream_kind : std::uint8_t { stdin_ = 0, stdout_ = 1, stderr_ = 2, system = 3 };

class frame_decoder {
public:
    /// Feeds bytes as they come off the wire; calls on_payload(stream_kind, std::string_view)
    /// for every piece of payload (one frame may arrive in many pieces, several frames in one).
    /// Returns false (and error() says why) on a malformed header; the decoder then ignores
    /// everything after it.
    template <class OnPayload>
    bool feed(std::string_view data, OnPayload&& on_payload) {
        if (!error_.empty()) return false;
        while (!data.empty()) {
            if (remaining_ == 0) {
                std::size_t take = std::min<std::size_t>(8 - header_len_, data.size());
                header_.append(data.substr(0, take));
                header_len_ += take;
                data.remove_prefix(take);
                if (header_len_ < 8) return true;
                if (!parse_header()) return false;
                continue;
            }
            std::size_t take = remaining_ < data.size() ? static_cast<std::size_t>(remaining_) : data.size();
            on_payload(stream_, data.substr(0, take));
            remaining_ -= take;
            data.remove_prefix(take);
        }
        return true;
    }

    /// At the end of the stream: false when it stopped inside a header or a payload.
    bool finish();

    const std::string& error() const noexcept { return error_; }
    std::uint64_t frames() const noexcept { return frames_; }

private:
    bool parse_header();

    std::string header_;
    std::size_t header_len_ = 0;
    std::uint64_t remaining_ = 0;  // payload bytes still to come in the current frame
    stream_kind stream_ = stream_kind::stdout_;
    std::uint64_t frames_ = 0;
    std::string error_;
};

}  // namespace drover::docker
