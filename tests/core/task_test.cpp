#include <doctest/doctest.h>

#include <drover/outcome.hpp>
#include <drover/task.hpp>

#include "detail/line_splitter.hpp"
#include "scheduler/backoff.hpp"

#include <string>
#include <vector>

using namespace std::chrono_literals;

TEST_CASE("task: valid ids") {
    CHECK(drover::valid_task_id("day-2018-01-01"));
    CHECK(drover::valid_task_id("a.b_c=d"));
    CHECK_FALSE(drover::valid_task_id(""));
    CHECK_FALSE(drover::valid_task_id("a/b"));
    CHECK_FALSE(drover::valid_task_id(".."));
    CHECK_FALSE(drover::valid_task_id("-rf"));
    CHECK_FALSE(drover::valid_task_id("a b"));
    CHECK_FALSE(drover::valid_task_id("caf\xc3\xa9"));
    CHECK_FALSE(drover::valid_task_id(std::string(201, 'a')));
}

TEST_CASE("task: state and failure names") {
    CHECK(drover::to_string(drover::task_state::retry_wait) == "retry_wait");
    CHECK(drover::to_string(drover::failure_class::executor_lost) == "executor_lost");
}

TEST_CASE("backoff: exponential, capped, jittered within bounds") {
    drover::backoff_policy p{.initial = 100ms, .max = 1000ms, .multiplier = 2.0, .jitter = 0.0};
    CHECK(drover::detail::backoff_delay(p, 1, 0.7) == 100ms);
    CHECK(drover::detail::backoff_delay(p, 2, 0.7) == 200ms);
    CHECK(drover::detail::backoff_delay(p, 4, 0.7) == 800ms);
    CHECK(drover::detail::backoff_delay(p, 5, 0.7) == 1000ms);
    CHECK(drover::detail::backoff_delay(p, 60, 0.7) == 1000ms);
    p.jitter = 0.5;
    CHECK(drover::detail::backoff_delay(p, 2, 0.0) == 100ms);
    CHECK(drover::detail::backoff_delay(p, 2, 1.0) == 200ms);
    CHECK(drover::detail::backoff_delay(p, 2, 0.5) == 150ms);
}

namespace {
struct collected {
    std::vector<std::string> lines;
    std::vector<std::pair<std::uint64_t, std::string>> oversized;
};
collected split(std::vector<std::string> chunks, std::size_t max) {
    collected c;
    drover::detail::line_splitter s(max);
    auto on_line = [&](std::string_view l) { c.lines.emplace_back(l); };
    auto on_big = [&](std::uint64_t n, std::string_view head) { c.oversized.emplace_back(n, std::string(head)); };
    for (auto& ch : chunks) s.feed(ch, on_line, on_big);
    s.finish(on_line, on_big);
    return c;
}
}  // namespace

TEST_CASE("line_splitter: lines across chunks, CRLF, last line without newline") {
    auto c = split({"a\nb", "c\r\n", "\n", "tail"}, 100);
    REQUIRE(c.lines.size() == 4);
    CHECK(c.lines[0] == "a");
    CHECK(c.lines[1] == "bc");
    CHECK(c.lines[2].empty());
    CHECK(c.lines[3] == "tail");
    CHECK(c.oversized.empty());
}

TEST_CASE("line_splitter: oversized lines are reported, not buffered, and the stream recovers") {
    std::string big(5000, 'x');
    auto c = split({"ok\n", big.substr(0, 2000), big.substr(2000), "\nnext\n"}, 1000);
    REQUIRE(c.lines.size() == 2);
    CHECK(c.lines[0] == "ok");
    CHECK(c.lines[1] == "next");
    REQUIRE(c.oversized.size() == 1);
    CHECK(c.oversized[0].first == 5000);
    CHECK(c.oversized[0].second.size() <= drover::detail::line_splitter::head_bytes);
    CHECK(c.oversized[0].second.substr(0, 10) == "xxxxxxxxxx");
}

// Found by tests/fuzz (stdout_lines): with a limit under head_bytes, the head of an oversized
// line used to end wherever the read that crossed the limit ended.
TEST_CASE("line_splitter: an oversized line's head does not depend on how the stream was cut") {
    std::string line = R"({"date":"2018-01-06","seq":1})";  // 29 bytes, limit 17
    auto whole = split({line + "\n"}, 17);
    auto cut = split({line.substr(0, 10), line.substr(10, 10), line.substr(20) + "\n"}, 17);
    REQUIRE(whole.oversized.size() == 1);
    CHECK(whole.oversized[0] == std::pair<std::uint64_t, std::string>{29, line});
    CHECK(cut.oversized == whole.oversized);
    // Longer than head_bytes: the head is exactly the first head_bytes bytes, cut or not.
    std::string big(3 * drover::detail::line_splitter::head_bytes, 'y');
    big[drover::detail::line_splitter::head_bytes - 1] = 'z';
    auto slow = split({big.substr(0, 5), big.substr(5, 4000), big.substr(4005) + "\n"}, 17);
    REQUIRE(slow.oversized.size() == 1);
    CHECK(slow.oversized[0].first == big.size());
    CHECK(slow.oversized[0].second == big.substr(0, drover::detail::line_splitter::head_bytes));
}
