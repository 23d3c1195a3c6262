#include "s3/multipart.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <deque>
#include <stdexcept>
#include <set>

using namespace drover::s3;
using kind = multipart_fsm::command::kind;

namespace {

constexpr std::uint64_t MiB = 1ull << 20;

// Runs the machine like a driver would; `fail_at` = index of the operation (in issue
// order) that fails for good, -1 = none. Parts complete in reverse order of issue.
struct script_result {
    std::vector<std::string> ops;  // "create", "part 3", "complete", "abort"
    kind end;
    std::string text;
    std::string complete_body;
    unsigned max_in_flight = 0;
    std::vector<multipart_fsm::part> parts;
};

script_result drive(std::uint64_t total, std::uint64_t part_size, unsigned parallel, int fail_at,
                    bool empty_etag_at_part2 = false) {
    multipart_fsm m(total, part_size, parallel);
    script_result r;
    std::deque<multipart_fsm::command> pending;  // issued, not yet reported
    int issued = 0;
    for (int guard = 0; guard < 100000; ++guard) {
        auto c = m.next();
        r.max_in_flight = std::max(r.max_in_flight, m.in_flight());
        if (c.k == kind::succeeded || c.k == kind::failed) {
            r.end = c.k;
            r.text = c.text;
            return r;
        }
        if (c.k != kind::wait) {
            c.text = std::to_string(issued++);
            switch (c.k) {
            case kind::create: r.ops.push_back("create"); break;
            case kind::upload_part:
                r.ops.push_back("part " + std::to_string(c.p.number));
                r.parts.push_back(c.p);
                break;
            case kind::complete:
                r.ops.push_back("complete");
                r.complete_body = c.body;
                break;
            case kind::abort: r.ops.push_back("abort"); break;
            default: break;
            }
            pending.push_back(c);
            if (c.k == kind::upload_part) continue;  // let the machine issue more parts
        }
        REQUIRE_FALSE(pending.empty());
        auto op = pending.back();  // report the latest first
        pending.pop_back();
        bool fail = std::stoi(op.text) == fail_at;
        if (fail) {
            m.on_error(op.k, op.p.number, "injected failure of op " + op.text);
            continue;
        }
        switch (op.k) {
        case kind::create: m.on_created("upload-1"); break;
        case kind::upload_part:
            m.on_part_done(op.p.number, empty_etag_at_part2 && op.p.number == 2 ? "" : "\"etag" + std::to_string(op.p.number) + "\"");
            break;
        case kind::complete: m.on_completed("\"final-3\""); break;
        case kind::abort: m.on_aborted(); break;
        default: break;
        }
    }
    FAIL("machine did not finish");
    return r;
}

}  // namespace

TEST_CASE("multipart: parts cover the object, all but the last of part_size, at most `parallel` at once") {
    auto r = drive(17 * MiB + 3, 5 * MiB, 2, -1);
    CHECK(r.end == kind::succeeded);
    CHECK(r.text == "\"final-3\"");
    REQUIRE(r.parts.size() == 4);
    std::uint64_t off = 0;
    for (std::size_t i = 0; i < r.parts.size(); ++i) {
        CHECK(r.parts[i].number == static_cast<int>(i + 1));
        CHECK(r.parts[i].offset == off);
        off += r.parts[i].size;
        if (i + 1 < r.parts.size()) CHECK(r.parts[i].size == 5 * MiB);
    }
    CHECK(off == 17 * MiB + 3);
    CHECK(r.max_in_flight == 2);
    CHECK(r.ops.front() == "create");
    CHECK(r.ops.back() == "complete");
    // Complete lists every part in order even though they finished out of order.
    CHECK(r.complete_body.find("<PartNumber>1</PartNumber><ETag>\"etag1\"</ETag></Part><Part><PartNumber>2</PartNumber>"
                               "<ETag>\"etag2\"</ETag>") != std::string::npos);
    CHECK(r.complete_body.find("<PartNumber>4</PartNumber><ETag>\"etag4\"</ETag>") != std::string::npos);
}

TEST_CASE("multipart: a failure at every step ends failed, aborts a created upload, never completes after") {
    auto clean = drive(23 * MiB, 5 * MiB, 3, -1);
    REQUIRE(clean.end == kind::succeeded);
    int steps = static_cast<int>(clean.ops.size());
    for (int at = 0; at < steps; ++at) {
        CAPTURE(at);
        auto r = drive(23 * MiB, 5 * MiB, 3, at);
        CHECK(r.end == kind::failed);
        CHECK(r.text.find("injected failure of op " + std::to_string(at)) == 0);
        bool created = at > 0;
        CHECK((std::count(r.ops.begin(), r.ops.end(), "abort") == 1) == created);
        if (created) CHECK(r.ops.back() == "abort");
        // Once a part failed, nothing but the abort follows the outstanding parts.
        auto first_fail = r.ops.begin() + at;
        CHECK(std::count(first_fail, r.ops.end(), "complete") == (r.ops[at] == "complete" ? 1 : 0));
    }
}

TEST_CASE("multipart: failing abort is reported along with the first error") {
    auto clean = drive(6 * MiB, 5 * MiB, 1, -1);
    // ops: create, part 1, part 2, complete -> fail complete (3), then abort (4) fails.
    REQUIRE(clean.ops.size() == 4);
    multipart_fsm m(6 * MiB, 5 * MiB, 1);
    CHECK(m.next().k == kind::create);
    m.on_created("u");
    CHECK(m.next().p.number == 1);
    CHECK(m.next().k == kind::wait);
    m.on_part_done(1, "a");
    CHECK(m.next().p.number == 2);
    m.on_part_done(2, "b");
    CHECK(m.next().k == kind::complete);
    m.on_error(kind::complete, 0, "InternalError: try again");
    auto a = m.next();
    CHECK(a.k == kind::abort);
    CHECK(a.upload_id == "u");
    m.on_error(kind::abort, 0, "503");
    auto f = m.next();
    CHECK(f.k == kind::failed);
    CHECK(f.text == "InternalError: try again (and AbortMultipartUpload failed: 503)");
}

TEST_CASE("multipart: a part without ETag fails the upload") {
    auto r = drive(11 * MiB, 5 * MiB, 1, -1, true);
    CHECK(r.end == kind::failed);
    CHECK(r.text == "UploadPart 2 returned no ETag");
    CHECK(r.ops.back() == "abort");
    CHECK(std::count(r.ops.begin(), r.ops.end(), "complete") == 0);
}

TEST_CASE("multipart: part size is at least 5 MiB and grows to stay within 10000 parts") {
    CHECK(choose_part_size(100 * MiB, 1 * MiB) == 5 * MiB);
    CHECK(choose_part_size(100 * MiB, 8 * MiB) == 8 * MiB);
    auto big = choose_part_size(100000 * MiB, 8 * MiB);
    CHECK(big == 10 * MiB);
    CHECK((100000 * MiB + big - 1) / big <= max_parts);
    CHECK_THROWS(multipart_fsm(10 * MiB, 1 * MiB, 1));
    CHECK_THROWS(multipart_fsm(0, 5 * MiB, 1));
}

TEST_CASE("multipart: unexpected reports are logic errors, not silent corruption") {
    multipart_fsm m(6 * MiB, 5 * MiB, 2);
    CHECK_THROWS_AS(m.on_part_done(1, "x"), std::logic_error);
    m.next();
    m.on_created("u");
    auto p1 = m.next();
    CHECK_THROWS_AS(m.on_part_done(2, "x"), std::logic_error);  // not issued yet
    m.on_part_done(p1.p.number, "x");
    CHECK_THROWS_AS(m.on_completed("e"), std::logic_error);
}
