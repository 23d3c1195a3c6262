// Strict UTF-8 and the text forms drover writes (issue 18, defects 5 and 11).
#include <doctest/doctest.h>

#include "detail/hex.hpp"
#include "detail/utf8.hpp"

#include <boost/json.hpp>

using namespace drover::detail;

TEST_CASE("utf8: strict validation rejects overlongs, surrogates and code points past U+10FFFF") {
    for (std::string ok : std::vector<std::string>{"", "abc", "caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf",
                           "\xee\x80\x80", "\xef\xbf\xbd", std::string("a\0b", 3)}) {
        CAPTURE(ok);
        CHECK(valid_utf8(ok));
    }
    for (std::string bad : std::vector<std::string>{"\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xe0\x9f\xbf", "\xf0\x80\x80\xaf", "\xf0\x8f\xbf\xbf",
                            "\xed\xa0\x80", "\xed\xbf\xbf", "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xff", "\x80",
                            "\xe2\x82", "\xf0\x9f\x98", "a\xc3", "\xc3\x28"}) {
        CAPTURE(bad);
        CHECK_FALSE(valid_utf8(bad));
    }
}

TEST_CASE("utf8: repair replaces each maximal invalid subpart with one U+FFFD") {
    const std::string r = "\xef\xbf\xbd";
    CHECK(repair_utf8("ok") == "ok");
    CHECK(repair_utf8("\xff\xfe") == r + r);
    CHECK(repair_utf8("x\xc0\xafy") == "x" + r + r + "y");
    CHECK(repair_utf8("\xed\xa0\x80") == r + r + r);     // ED then A0 (not 80..9F): 3 subparts
    CHECK(repair_utf8("\xe2\x82" "a") == r + "a");        // a truncated sequence: one
    CHECK(repair_utf8("\xf0\x9f\x98") == r);
    CHECK(repair_utf8("\xf4\x90\x80\x80") == r + r + r + r);
    CHECK(valid_utf8(repair_utf8("\x80\x81\xc3\xa9\xff")));
}

TEST_CASE("utf8: JSON text is always valid UTF-8, and text or hex keeps exact bytes") {
    boost::json::object o;
    o["a"] = "\xff";
    o["b\xc0"] = "ok";
    auto text = to_json_text(o);
    CHECK(valid_utf8(text));
    CHECK_NOTHROW(boost::json::parse(text));
    boost::json::object t;
    put_text_or_hex(t, "text", "hex", "caf\xc3\xa9");
    put_text_or_hex(t, "t2", "h2", "\xed\xa0\x80");
    CHECK(t.at("text").as_string() == "caf\xc3\xa9");
    CHECK(t.at("h2").as_string() == "eda080");
    CHECK_FALSE(t.contains("t2"));
    CHECK(hex_encode(std::string("\x00\x7f\xff", 3)) == "007fff");
}

TEST_CASE("utf8: terminal_safe shows control characters and invalid bytes as escapes") {
    CHECK(terminal_safe("plain text, tab\tok") == "plain text, tab\tok");
    CHECK(terminal_safe("\x1b[31mred\x07") == "\\x1b[31mred\\x07");
    CHECK(terminal_safe("a\nb") == "a\\x0ab");
    CHECK(terminal_safe("a\nb", true) == "a\nb");
    CHECK(terminal_safe("a\rb\x7f") == "a\\x0db\\x7f");
    CHECK(terminal_safe("\xc2\x9b" "31m") == "\\xc2\\x9b31m");  // C1 CSI
    CHECK(terminal_safe("caf\xc3\xa9 \xe2\x82\xac") == "caf\xc3\xa9 \xe2\x82\xac");
    CHECK(terminal_safe("\xff\xc0\xaf") == "\\xff\\xc0\\xaf");
    CHECK(terminal_safe(std::string("nul\0", 4)) == "nul\\x00");
}
