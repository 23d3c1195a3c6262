// Checkpoint segments of the file sink, through the sink interface: a publish at a checkpoint
// keeps the task's earlier segments and replaces everything else, and open() at segment s
// takes back segments s and above (published after the journal's last checkpoint).
#include <drover/sinks/file.hpp>

#include "support/support.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <map>

using namespace drover;
using namespace drover::test;

namespace {

const std::map<std::string, std::string> no_params;

std::unique_ptr<sink_writer> open_at(file_sink& s, int attempt, std::uint32_t first_segment) {
    return s.open(sink_attempt{"run1", "t", attempt, no_params, first_segment});
}

void put(sink_writer& w, const std::string& line) {
    boost::json::value v = boost::json::parse(line);
    w.write(record{line, v.as_object()});
}

committed_output checkpoint(sink_writer& w) {
    boost::asio::io_context ioc;
    std::exception_ptr error;
    committed_output out;
    w.async_checkpoint(boost::asio::bind_executor(ioc, [&](std::exception_ptr e, committed_output o) {
        error = e;
        out = std::move(o);
    }));
    ioc.run();
    if (error) std::rethrow_exception(error);
    return out;
}

file_sink make(const fs::path& root, std::uint64_t max_records = 0) {
    file_sink_options o;
    o.root = root;
    o.fsync = false;
    o.max_records = max_records;
    o.flush_records = 1;
    file_sink s(o);
    s.start({});
    return s;
}

}  // namespace

TEST_CASE("checkpoint segments: publishes keep earlier segments, and the first replaces a plain output") {
    temp_dir d;
    auto s = make(d / "out", 2);
    auto w = open_at(s, 1, 0);
    put(*w, R"({"old":1})");
    w->commit();
    CHECK(list_files(d / "out") == std::vector<std::string>{"t.jsonl.gz"});

    w = open_at(s, 2, 0);
    REQUIRE(w->checkpoints());
    CHECK(w->checkpoints()->flush_records == 1);
    for (int i = 1; i <= 3; ++i) put(*w, "{\"a\":" + std::to_string(i) + "}");
    auto out = checkpoint(*w);
    CHECK(out.records == 3);
    CHECK(list_files(d / "out") == std::vector<std::string>{"t@0.jsonl.gz", "t@0~1.jsonl.gz"});
    put(*w, R"({"b":1})");
    out = checkpoint(*w);
    CHECK(out.records == 1);
    CHECK(out.locations.size() == 3);  // every published name of the task
    put(*w, R"({"c":1})");
    out = w->commit();
    CHECK(out.records == 1);
    CHECK(out.locations.size() == 4);
    CHECK(list_files(d / "out") ==
          std::vector<std::string>{"t@0.jsonl.gz", "t@0~1.jsonl.gz", "t@1.jsonl.gz", "t@2.jsonl.gz"});
    CHECK(read_records(d / "out") ==
          std::vector<std::string>{R"({"a":1})", R"({"a":2})", R"({"a":3})", R"({"b":1})", R"({"c":1})"});
}

TEST_CASE("checkpoint segments: open at segment s takes back segments from s on, keeps those before") {
    temp_dir d;
    auto s = make(d / "out");
    auto w = open_at(s, 1, 0);
    put(*w, R"({"p":1})");
    checkpoint(*w);  // segment 0: journaled, say
    put(*w, R"({"p":2})");
    checkpoint(*w);  // segment 1: published, then drover died before journaling it
    put(*w, R"({"p":3})");
    w->abort();
    CHECK(list_files(d / "out") == std::vector<std::string>{"t@0.jsonl.gz", "t@1.jsonl.gz"});

    w = open_at(s, 2, 1);  // resumes after segment 0
    CHECK(list_files(d / "out") == std::vector<std::string>{"t@0.jsonl.gz"});
    put(*w, R"({"p":2})");
    put(*w, R"({"p":3})");
    w->commit();  // a resumed attempt ends with a segment too
    CHECK(list_files(d / "out") == std::vector<std::string>{"t@0.jsonl.gz", "t@1.jsonl.gz"});
    CHECK(read_records(d / "out") == std::vector<std::string>{R"({"p":1})", R"({"p":2})", R"({"p":3})"});

    // A fresh start (segment 0) takes back every segment; a plain commit then stands alone.
    w = open_at(s, 3, 0);
    CHECK(list_files(d / "out").empty());
    put(*w, R"({"q":1})");
    w->commit();
    CHECK(list_files(d / "out") == std::vector<std::string>{"t.jsonl.gz"});
}
