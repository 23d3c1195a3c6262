#pragma once
// Splits a byte stream into lines for the record stream of every executor.
// Lines longer than the limit are not buffered: the splitter reports their length and
// first bytes once the line ends, so a hostile task cannot make drover hold gigabytes.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace drover::detail {

class line_splitter {
public:
    static constexpr std::size_t head_bytes = 4096;

    explicit line_splitter(std::size_t max_line) : max_(max_line) {}

    /// on_line(std::string_view) for every complete line (without "\n" or a trailing "\r");
    /// on_oversized(std::uint64_t length, std::string_view head) for lines over the limit.
    template <class OnLine, class OnOversized>
    void feed(std::string_view data, OnLine&& on_line, OnOversized&& on_oversized) {
        while (!data.empty()) {
            const void* nl = std::memchr(data.data(), '\n', data.size());
            std::size_t n = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - data.data()) : data.size();
            append(data.substr(0, n));
            if (!nl) return;
            end_line(on_line, on_oversized);
            data.remove_prefix(n + 1);
        }
    }

    /// Flushes a last line that had no terminating newline.
    template <class OnLine, class OnOversized>
    void finish(OnLine&& on_line, OnOversized&& on_oversized) {
        if (!partial_.empty() || oversized_ > 0) end_line(on_line, on_oversized);
    }

private:
    // An oversized line keeps its first head_bytes bytes, however the stream was cut: the
    // head of a line that went over the limit in one piece and of one that did so slowly
    // are the same.
    void append(std::string_view piece) {
        if (oversized_ == 0 && partial_.size() + piece.size() <= max_) {
            partial_.append(piece);
            return;
        }
        if (oversized_ == 0) {
            oversized_ = partial_.size();
            partial_.resize(std::min(partial_.size(), head_bytes));
        }
        oversized_ += piece.size();
        if (partial_.size() < head_bytes) partial_.append(piece.substr(0, head_bytes - partial_.size()));
    }

    template <class OnLine, class OnOversized>
    void end_line(OnLine& on_line, OnOversized& on_oversized) {
        if (oversized_ > 0) {
            on_oversized(oversized_, std::string_view(partial_));
        } else {
            std::string_view line(partial_);
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            on_line(line);
        }
        partial_.clear();
        oversized_ = 0;
    }

    std::size_t max_;
    std::string partial_;
    std::uint64_t oversized_ = 0;
};

}  // namespace drover::detail
