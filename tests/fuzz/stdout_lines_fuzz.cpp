// A task's stdout, as every executor and the attempt read it: bytes cut into lines by
// detail::line_splitter (arriving in arbitrary pieces, with a line limit), then each line
// validated as the attempt does (blank lines skipped, JSON with the scheduler's depth limit,
// objects only). The splitter must give the same lines as a plain split of the whole input,
// however the bytes are chunked.
//
// Input: byte 0 picks the line limit, byte 1 seeds the chunk sizes, the rest is stdout.
// (Task control lines, {"$drover": {...}}, get their own target when they exist.)
#include "fuzz/fuzz.hpp"

#include "detail/line_splitter.hpp"

#include <boost/json/parser.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cstdint>
#include <string>

namespace drover::fuzz {

namespace {

struct event {
    bool oversized = false;
    std::uint64_t length = 0;
    std::string text;  // the line, or the head of an oversized one
    bool operator==(const event&) const = default;
};

// What the splitter promises, computed the obvious way from the whole input.
std::vector<event> reference(std::string_view out, std::size_t max_line) {
    std::vector<event> ev;
    auto lines = split(out, '\n');
    if (lines.back().empty()) lines.pop_back();  // the text after the last newline, if any
    for (auto line : lines) {
        if (line.size() > max_line) {
            ev.push_back({true, line.size(), std::string(line.substr(0, detail::line_splitter::head_bytes))});
        } else {
            if (line.ends_with('\r')) line.remove_suffix(1);
            ev.push_back({false, line.size(), std::string(line)});
        }
    }
    return ev;
}

// The attempt's check of one line (scheduler/attempt.cpp, on_stdout_line): true for a record.
bool is_record(boost::json::parser& p, std::string_view line) {
    if (line.find_first_not_of(" \t") == std::string_view::npos) return false;
    boost::system::error_code ec;
    p.reset();
    p.write(line.data(), line.size(), ec);
    if (ec) return false;
    boost::json::value v = p.release();
    return v.is_object();
}

}  // namespace

void stdout_lines(std::string_view in) {
    unsigned limit_byte = take_byte(in);
    std::uint32_t rng = take_byte(in) * 2654435761u + 1;
    std::size_t max_line = limit_byte < 200 ? limit_byte + 1 : std::size_t{16} << 20;

    std::vector<event> got;
    auto on_line = [&](std::string_view l) { got.push_back({false, l.size(), std::string(l)}); };
    auto on_oversized = [&](std::uint64_t n, std::string_view head) { got.push_back({true, n, std::string(head)}); };
    detail::line_splitter s(max_line);
    for (std::string_view rest = in; !rest.empty();) {
        rng = rng * 1103515245u + 12345u;
        std::size_t n = std::min<std::size_t>(rest.size(), 1 + (rng >> 16) % 97);
        s.feed(rest.substr(0, n), on_line, on_oversized);
        rest.remove_prefix(n);
    }
    s.finish(on_line, on_oversized);
    DROVER_FUZZ_CHECK(got == reference(in, max_line), "chunked split differs from the whole split");

    boost::json::parse_options po;
    po.max_depth = 64;  // as the scheduler's record parser (dispatcher.cpp)
    boost::json::parser p(boost::json::storage_ptr(), po);
    for (const auto& e : got) {
        DROVER_FUZZ_CHECK(e.text.find('\n') == std::string::npos, e.text);
        DROVER_FUZZ_CHECK(e.oversized ? e.length > max_line : e.length <= max_line, e.text);
        if (!e.oversized) (void)is_record(p, e.text);
    }
}

}  // namespace drover::fuzz
