#include "detail/utf8.hpp"

#include "detail/hex.hpp"

#include <boost/json.hpp>

namespace drover::detail {

namespace {

void append_hex_escape(std::string& out, unsigned char c) {
    out += "\\x";
    append_hex(out, c, 2);
}

}  // namespace

// Well-formed sequences (Unicode 15, table 3-7):
//   00..7F | C2..DF 80..BF | E0 A0..BF 80..BF | E1..EC 80..BF 80..BF | ED 80..9F 80..BF
//   | EE..EF 80..BF 80..BF | F0 90..BF 80..BF 80..BF | F1..F3 80..BF x3 | F4 80..8F 80..BF x2
std::size_t utf8_sequence(std::string_view text, std::size_t pos, std::size_t* bad) noexcept {
    auto at = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    unsigned char c = at(pos);
    if (c < 0x80) return 1;
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xbf;  // range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0) lo = 0xa0;   // overlong
        if (c == 0xed) hi = 0x9f;   // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0) lo = 0x90;   // overlong
        if (c == 0xf4) hi = 0x8f;   // past U+10FFFF
    }
    std::size_t ok = 1;  // bytes of a well-formed prefix seen so far
    if (n != 0) {
        for (std::size_t k = 1; k < n; ++k) {
            if (pos + k >= text.size()) break;
            unsigned char b = at(pos + k);
            if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xbf)) break;
            ++ok;
        }
        if (ok == n) return n;
    }
    if (bad) *bad = ok;
    return 0;
}

bool valid_utf8(std::string_view text) noexcept {
    for (std::size_t i = 0; i < text.size();) {
        // ASCII runs are the common case.
        if (static_cast<unsigned char>(text[i]) < 0x80) {
            ++i;
            continue;
        }
        std::size_t n = utf8_sequence(text, i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

std::string repair_utf8(std::string_view text) {
    if (valid_utf8(text)) return std::string(text);
    std::string out;
    out.reserve(text.size() + 16);
    for (std::size_t i = 0; i < text.size();) {
        std::size_t bad = 0;
        std::size_t n = utf8_sequence(text, i, &bad);
        if (n) {
            out.append(text.substr(i, n));
            i += n;
        } else {
            out += "\xef\xbf\xbd";
            i += bad;
        }
    }
    return out;
}

std::string to_json_text(const boost::json::value& v) {
    // Invalid bytes can only come from strings (structure is ASCII), and U+FFFD is a legal
    // string character, so repairing the whole text keeps it valid JSON.
    return repair_utf8(boost::json::serialize(v));
}

void put_text_or_hex(boost::json::object& o, std::string_view text_key, std::string_view hex_key,
                     std::string_view bytes) {
    if (valid_utf8(bytes))
        o[text_key] = bytes;
    else
        o[hex_key] = hex_encode(bytes);
}

std::string terminal_safe(std::string_view text, bool keep_newlines) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && !(c == '\n' && keep_newlines)) || c == 0x7f)
                append_hex_escape(out, c);
            else
                out.push_back(static_cast<char>(c));
            ++i;
            continue;
        }
        std::size_t bad = 0;
        std::size_t n = utf8_sequence(text, i, &bad);
        if (n == 2 && c == 0xc2 && static_cast<unsigned char>(text[i + 1]) < 0xa0) {
            // C1 control (U+0080..U+009F): some terminals act on it (U+009B is CSI).
            append_hex_escape(out, c);
            append_hex_escape(out, static_cast<unsigned char>(text[i + 1]));
            i += 2;
        } else if (n) {
            out.append(text.substr(i, n));
            i += n;
        } else {
            for (std::size_t k = 0; k < bad; ++k) append_hex_escape(out, static_cast<unsigned char>(text[i + k]));
            i += bad;
        }
    }
    return out;
}

}  // namespace drover::detail
