// runs/<id>/ files are strict UTF-8 JSON (issue 18, defect 5): a bad record keeps its text
// only when it is valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF),
// else its exact bytes in "hex"; free text elsewhere never carries invalid bytes.
#include <doctest/doctest.h>

#include "scheduler/run_files.hpp"
#include "support/support.hpp"

#include <boost/json.hpp>

using namespace drover;
using namespace drover::test;

namespace {

// An independent strict decoder (RFC 3629), for checking what run_files wrote.
bool strictly_utf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
        unsigned c = b(i);
        std::size_t n;
        std::uint32_t cp, min;
        if (c < 0x80) { ++i; continue; }
        else if ((c & 0xe0) == 0xc0) { n = 2; cp = c & 0x1f; min = 0x80; }
        else if ((c & 0xf0) == 0xe0) { n = 3; cp = c & 0x0f; min = 0x800; }
        else if ((c & 0xf8) == 0xf0) { n = 4; cp = c & 0x07; min = 0x10000; }
        else return false;
        if (i + n > s.size()) return false;
        for (std::size_t k = 1; k < n; ++k) {
            if ((b(i + k) & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (b(i + k) & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += n;
    }
    return true;
}

struct case_t {
    const char* what;
    std::string bytes;
    bool text;
};

}  // namespace

TEST_CASE("run files: bad records keep text only when it is strictly UTF-8") {
    temp_dir d;
    detail::run_files f(d.path(), "r1");
    std::vector<case_t> cases{
        {"ascii", "plain", true},
        {"2-byte", "caf\xc3\xa9", true},
        {"3-byte", "\xe2\x82\xac", true},
        {"4-byte", "\xf0\x9f\x98\x80", true},
        {"U+10FFFF", "\xf4\x8f\xbf\xbf", true},
        {"U+FFFD", "\xef\xbf\xbd", true},
        {"overlong '/'", "\xc0\xaf", false},
        {"overlong 3-byte", "\xe0\x80\xaf", false},
        {"overlong 4-byte", "\xf0\x80\x80\xaf", false},
        {"C1 lead", "\xc1\xbf", false},
        {"surrogate D800", "\xed\xa0\x80", false},
        {"surrogate DFFF", "\xed\xbf\xbf", false},
        {"past U+10FFFF", "\xf4\x90\x80\x80", false},
        {"F5 lead", "\xf5\x80\x80\x80", false},
        {"lone continuation", "\x80", false},
        {"truncated", "\xe2\x82", false},
        {"FF", "\xff", false},
    };
    for (std::size_t i = 0; i < cases.size(); ++i)
        f.bad_record("t", 1, i + 1, "not valid JSON", cases[i].bytes, cases[i].bytes.size());
    auto text = read_file(d / "runs" / "r1" / "bad-records.jsonl");
    CHECK(strictly_utf8(text));
    auto lines = split_lines(text);
    REQUIRE(lines.size() == cases.size());
    for (std::size_t i = 0; i < cases.size(); ++i) {
        CAPTURE(cases[i].what);
        auto j = boost::json::parse(lines[i]).as_object();
        CHECK(j.contains("text") == cases[i].text);
        CHECK(j.contains("hex") == !cases[i].text);
        if (cases[i].text) CHECK(j.at("text").as_string() == cases[i].bytes);
    }
    CHECK(boost::json::parse(lines[6]).at("hex").as_string() == "c0af");
}

TEST_CASE("run files: dead letters and the summary never carry invalid UTF-8") {
    temp_dir d;
    detail::run_files f(d.path(), "r1");
    task_result r;
    r.id = "t";
    r.state = task_state::dead;
    r.attempts = 1;
    r.last.failure = failure_class::exit_code;
    r.last.message = "exit code 1 \xed\xa0\x80";
    r.last.stderr_tail = {"ok", "\xff\xfe", "x\xc0\xafy", "\xf4\x90\x80\x80"};
    f.dead_letter(r);
    auto dl = read_file(d / "runs" / "r1" / "dead-letter.jsonl");
    CHECK(strictly_utf8(dl));
    auto j = boost::json::parse(dl).as_object();
    auto& tail = j.at("stderr_tail").as_array();
    REQUIRE(tail.size() == 4);
    CHECK(tail[0].as_string() == "ok");
    CHECK(tail[1].as_string() == "\xef\xbf\xbd\xef\xbf\xbd");

    run_summary s;
    s.run_id = "r1";
    s.output = "/out/\xff";
    s.tasks.push_back(r);
    s.counts.dead = 1;
    s.counts.total = 1;
    f.write_summary(s);
    auto sum = read_file(d / "runs" / "r1" / "summary.json");
    CHECK(strictly_utf8(sum));
    CHECK(strictly_utf8(to_json(s)));
    CHECK_NOTHROW(boost::json::parse(sum));
}
