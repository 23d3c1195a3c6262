// The one hex encoder (detail/hex.hpp): digests, bad bytes kept in JSON, escapes, hash suffixes.
#include <doctest/doctest.h>

#include "detail/hex.hpp"

#include <cstdint>
#include <string>

using namespace drover::detail;

TEST_CASE("hex: every byte as two digits, in either case") {
    std::string all;
    for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
    std::string lower = hex_encode(all), upper = hex_encode(all, hex_case::upper);
    REQUIRE(lower.size() == 512);
    for (int b = 0; b < 256; ++b) {
        CAPTURE(b);
        CHECK(std::stoi(lower.substr(2 * b, 2), nullptr, 16) == b);
        CHECK(std::stoi(upper.substr(2 * b, 2), nullptr, 16) == b);
    }
    CHECK(lower.find_first_not_of("0123456789abcdef") == std::string::npos);
    CHECK(upper.find_first_not_of("0123456789ABCDEF") == std::string::npos);
    CHECK(hex_encode(std::string("\x00\x7f\xff", 3)) == "007fff");
    CHECK(hex_encode("").empty());
}

TEST_CASE("hex: a number as a fixed count of digits, most significant first") {
    std::string s;
    append_hex(s, 0xAF, 4);
    CHECK(s == "00af");
    append_hex(s, 0xCBF29CE484222325ull, 16, hex_case::upper);
    CHECK(s == "00afCBF29CE484222325");
    std::string low;
    append_hex(low, 0x1234, 2);  // only the lowest digits
    CHECK(low == "34");
    std::string max;
    append_hex(max, UINT64_MAX, 16);
    CHECK(max == "ffffffffffffffff");
}
