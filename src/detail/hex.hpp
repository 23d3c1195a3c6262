#pragma once
// Hexadecimal digits, the one encoder every part uses: digests (SigV4, ETags), bad bytes kept
// in JSON, `\xNN` escapes and hash suffixes. Percent-encoding is Boost.URL's (boost::urls::encode).

#include <cstdint>
#include <string>
#include <string_view>

namespace drover::detail {

enum class hex_case { lower, upper };

/// Appends the `digits` lowest hex digits of `v`, most significant first: (0xAF, 4) -> "00af".
inline void append_hex(std::string& out, std::uint64_t v, int digits, hex_case c = hex_case::lower) {
    const char* d = c == hex_case::lower ? "0123456789abcdef" : "0123456789ABCDEF";
    for (int i = digits - 1; i >= 0; --i) out.push_back(d[(v >> (4 * i)) & 0xF]);
}

/// Two hex digits per byte: "\xc0\xaf" -> "c0af".
inline std::string hex_encode(std::string_view bytes, hex_case c = hex_case::lower) {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (unsigned char b : bytes) append_hex(out, b, 2, c);
    return out;
}

}  // namespace drover::detail
