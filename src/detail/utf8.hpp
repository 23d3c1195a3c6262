#pragma once
// UTF-8 as drover writes it: strict validation (RFC 3629: no overlong forms, no UTF-16
// surrogates, nothing past U+10FFFF), and the forms untrusted bytes take on the way out:
//
// - JSON files (bad-records.jsonl, dead-letter.jsonl, summary.json, alert payloads, status):
//   to_json_text() repairs any invalid sequence to U+FFFD, so every reader (Python's json,
//   jq, browsers) accepts the file; where the exact bytes matter (a bad record) the caller
//   keeps them hex-encoded instead (put_text_or_hex).
// - Terminals and log lines: terminal_safe() shows control characters and invalid bytes as
//   visible escapes (`\x1b`), so a task's stderr or a job file cannot move the cursor,
//   retitle the window or hide text.

#include <boost/json/fwd.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace drover::detail {

/// Length of the valid UTF-8 sequence starting at text[pos] (1..4), or 0 when the bytes
/// there are not one. For an invalid sequence, `bad` receives the length of its maximal
/// subpart (at least 1): what Unicode recommends replacing by one U+FFFD.
std::size_t utf8_sequence(std::string_view text, std::size_t pos, std::size_t* bad = nullptr) noexcept;

/// True when `text` is strictly valid UTF-8.
bool valid_utf8(std::string_view text) noexcept;

/// `text` with each maximal invalid subpart replaced by U+FFFD ("\xEF\xBF\xBD").
std::string repair_utf8(std::string_view text);

/// boost::json::serialize, then any invalid UTF-8 (which the serializer copies raw from
/// strings) repaired to U+FFFD: always valid UTF-8 JSON.
std::string to_json_text(const boost::json::value& v);

/// o[text_key] = bytes when they are valid UTF-8, else o[hex_key] = hex_encode(bytes).
void put_text_or_hex(boost::json::object& o, std::string_view text_key, std::string_view hex_key,
                     std::string_view bytes);

/// `text` safe to print: C0 controls (except tab, and newline when `keep_newlines`), DEL,
/// C1 controls (U+0080..U+009F) and invalid bytes become `\xNN`; a backslash stays as is.
std::string terminal_safe(std::string_view text, bool keep_newlines = false);

}  // namespace drover::detail
