// storage_sink's bookkeeping over a storage that keeps objects in memory (the protocol
// without a disk or a network): replacement, strays found by listing, hostile manifests,
// spool indexes and listings, failed puts taken back and kept for the next run, and where
// completions run.

#include <drover/error.hpp>
#include <drover/storage_sink.hpp>

#include "support/support.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <map>
#include <mutex>
#include <thread>

using namespace drover;
using namespace drover::test;

namespace {

// name -> content; fails the put of `fail_name` (after putting the objects before it).
struct memory_storage final : storage {
    fs::path spool;
    std::mutex m;
    std::map<std::string, std::string> objects;
    std::vector<std::string> extra_listing;  // what list() adds, as a hostile server might
    std::string fail_name;
    bool fail_unavailable = false;
    int puts = 0;

    explicit memory_storage(fs::path s) : spool(std::move(s)) {}
    std::string name() const override { return "memory"; }
    std::string describe() const override { return "memory"; }
    fs::path start(const sink_context&) override { return spool; }
    void put(const std::vector<staged_object>& batch) override {
        std::lock_guard lock(m);
        ++puts;
        for (const auto& o : batch) {
            if (!fail_name.empty() && o.name == fail_name) {
                if (fail_unavailable) throw sink_unavailable("memory: refused " + o.name);
                throw std::runtime_error("memory: cannot put " + o.name);
            }
            objects[o.name] = read_gzip(o.file);
        }
    }
    void remove(const std::vector<std::string>& names) override {
        std::lock_guard lock(m);
        for (const auto& n : names) objects.erase(n);
    }
    std::vector<std::string> list(std::string_view prefix) override {
        std::lock_guard lock(m);
        std::vector<std::string> out;
        for (const auto& [n, c] : objects)
            if (n.starts_with(prefix)) out.push_back(n);
        out.insert(out.end(), extra_listing.begin(), extra_listing.end());
        return out;
    }
    std::string location(std::string_view n) const override { return "mem:" + std::string(n); }
    std::vector<std::string> names() {
        std::lock_guard lock(m);
        std::vector<std::string> out;
        for (const auto& [n, c] : objects) out.push_back(n);
        return out;
    }
};

const std::map<std::string, std::string> no_params;

std::string fmt_names(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& n : v) s += n + " ";
    return s;
}

void put(sink_writer& w, int i) {
    std::string line = "{\"i\":" + std::to_string(i) + "}";
    boost::json::value v = boost::json::parse(line);
    w.write(record{line, v.as_object()});
}

void write_n(sink_writer& w, int n) {
    for (int i = 0; i < n; ++i) put(w, i);
}

storage_sink_options rotating(std::uint64_t n) {
    storage_sink_options o;
    o.max_records = n;
    o.fsync = false;
    return o;
}

struct fixture {
    temp_dir dir;
    std::shared_ptr<memory_storage> mem = std::make_shared<memory_storage>(dir / "spool");
    storage_sink sink{mem, rotating(2)};
    std::unique_ptr<sink_writer> open(const std::string& task, int attempt = 1) {
        return sink.open(sink_attempt{"run1", task, attempt, no_params});
    }
};

}  // namespace

TEST_CASE("storage sink: a re-commit replaces the task's objects, and the manifest lists exactly them") {
    fixture f;
    f.sink.start({});
    auto w = f.open("t");
    write_n(*w, 5);
    auto out = w->commit();
    CHECK(f.mem->names() == std::vector<std::string>{"t.jsonl.gz", "t~1.jsonl.gz", "t~2.jsonl.gz"});
    CHECK(out.records == 5);
    CHECK(out.locations == std::vector<std::string>{"mem:t.jsonl.gz", "mem:t~1.jsonl.gz", "mem:t~2.jsonl.gz"});
    w = f.open("t", 2);
    write_n(*w, 1);
    w->commit();
    CHECK(f.mem->names() == std::vector<std::string>{"t.jsonl.gz"});
    CHECK(read_file(f.dir / "spool/manifests/t") == "t.jsonl.gz\n");
    CHECK(list_files(f.dir / "spool/staging").empty());
    f.sink.stop();
}

TEST_CASE("storage sink: rotated chunks no manifest knew are found by listing, and hostile listings remove nothing else") {
    fixture f;
    f.sink.start({});
    f.mem->objects["t~7.jsonl.gz"] = "stray";         // a lost state directory's
    f.mem->objects["t~1.jsonl.gz.bak"] = "someone's";  // not a chunk name
    f.mem->objects["tt~1.jsonl.gz"] = "another task";
    f.mem->extra_listing = {"../t~3.jsonl.gz", "t~x.jsonl.gz", "other/t~1.jsonl.gz", "t~", ""};
    auto w = f.open("t");
    write_n(*w, 1);
    w->commit();
    auto names = f.mem->names();
    const std::vector<std::string> want{"t.jsonl.gz", "tt~1.jsonl.gz", "t~1.jsonl.gz.bak"};  // byte order
    CHECK_MESSAGE(names == want, fmt_names(names));
    f.sink.stop();
}

TEST_CASE("storage sink: a manifest line that leaves the root fails the commit and removes nothing") {
    for (const char* bad : {"../../etc/passwd", "/abs/t.jsonl.gz", "a//t.jsonl.gz", ".drover/x", "a/./t.jsonl.gz"}) {
        CAPTURE(bad);
        fixture f;
        f.sink.start({});
        write_file(f.dir / "spool/manifests/t", std::string(bad) + "\n");
        f.mem->objects["keep.jsonl.gz"] = "x";
        // open() reads the manifest too (segments to take back): the error names it.
        CHECK_THROWS_WITH_AS(f.open("t"), doctest::Contains("corrupt manifest"), sink_error);
        CHECK(f.mem->names() == std::vector<std::string>{"keep.jsonl.gz"});
        f.sink.stop();
    }
}

TEST_CASE("storage sink: a failed put takes back what it added, keeps the records, and the next start publishes them") {
    fixture f;
    f.sink.start({});
    f.mem->fail_name = "t~1.jsonl.gz";
    auto w = f.open("t");
    write_n(*w, 3);
    try {
        w->commit();
        FAIL("the commit succeeded");
    } catch (const sink_unavailable&) {
        FAIL("an ordinary failure became sink_unavailable");
    } catch (const sink_error& e) {
        std::string msg = e.what();
        CHECK(msg.find("memory sink: task t: memory: cannot put t~1.jsonl.gz") != std::string::npos);
        CHECK(msg.find("records kept in") != std::string::npos);
    }
    w->abort();
    CHECK(f.mem->names().empty());  // t.jsonl.gz went up, then was taken back
    CHECK(list_files(f.dir / "spool/pending/t").size() == 3);
    f.sink.stop();

    f.mem->fail_name.clear();
    std::vector<std::string> recovered;
    f.sink.start({.recovered = [&](const std::string& task, const committed_output& out) {
        recovered.push_back(task);
        CHECK(out.records == 3);
    }});
    CHECK(recovered == std::vector<std::string>{"t"});
    CHECK(f.mem->names() == std::vector<std::string>{"t.jsonl.gz", "t~1.jsonl.gz"});
    CHECK(f.mem->objects["t~1.jsonl.gz"] == "{\"i\":2}\n");
    CHECK(list_files(f.dir / "spool/pending").empty());
    f.sink.stop();
}

TEST_CASE("storage sink: sink_unavailable from the storage stays sink_unavailable") {
    fixture f;
    f.sink.start({});
    f.mem->fail_name = "t.jsonl.gz";
    f.mem->fail_unavailable = true;
    auto w = f.open("t");
    write_n(*w, 1);
    CHECK_THROWS_WITH_AS(w->commit(), doctest::Contains("memory: refused t.jsonl.gz"), sink_unavailable);
    f.sink.stop();
}

TEST_CASE("storage sink: damaged spool indexes stop start() with the path, and publish nothing") {
    for (const char* line : {"t.jsonl.gz\t0.jsonl.gz\t1\t10\t\t0\textra", "t.jsonl.gz\t0.jsonl.gz\t1", "../t.jsonl.gz\t0.jsonl.gz\t1\t10\t\t0",
                             "t.jsonl.gz\t../x\t1\t10\t\t0", "t.jsonl.gz\t0.jsonl.gz\tx\t10\t\t0",
                             "t.jsonl.gz\t0.jsonl.gz\t1\t99999999999999999999999\t\t0", "t.jsonl.gz\t.hidden\t1\t10\t\t0",
                             "t.jsonl.gz\t0.jsonl.gz\t1\t10\t/abs\t0"}) {
        CAPTURE(line);
        fixture f;
        write_file(f.dir / "spool/pending/t/index", std::string(line) + "\n");
        CHECK_THROWS_WITH_AS(f.sink.start({}), doctest::Contains("corrupt spool index"), sink_error);
        CHECK(f.mem->names().empty());
    }
    fixture f;
    write_file(f.dir / "spool/pending/not a task/index", "");
    CHECK_THROWS_WITH_AS(f.sink.start({}), doctest::Contains("not a task id"), sink_error);
}

TEST_CASE("storage sink: async_commit publishes on the sink's threads and completes on the caller's executor") {
    fixture f;
    f.sink.start({});
    auto w = f.open("t");
    write_n(*w, 2);
    boost::asio::io_context ioc;
    std::thread::id completed_on;
    committed_output out;
    std::exception_ptr error;
    w->async_commit(boost::asio::bind_executor(ioc, [&](std::exception_ptr e, committed_output o) {
        completed_on = std::this_thread::get_id();
        error = e;
        out = std::move(o);
    }));
    ioc.run();  // returns only once the handler ran: the sink keeps the io_context's work
    CHECK_FALSE(error);
    CHECK(completed_on == std::this_thread::get_id());
    CHECK(out.records == 2);
    CHECK(f.mem->names() == std::vector<std::string>{"t.jsonl.gz"});
    CHECK_THROWS_WITH_AS(w->commit(), doctest::Contains("after commit"), sink_error);
    f.sink.stop();
}

TEST_CASE("storage sink: bad options are config errors naming the storage") {
    temp_dir d;
    auto mem = std::make_shared<memory_storage>(d / "spool");
    auto o = rotating(0);
    o.compression_level = 11;
    CHECK_THROWS_WITH_AS(storage_sink(mem, o), doctest::Contains("memory sink: compression_level"), config_error);
    o = rotating(0);
    o.publish_threads = 0;
    CHECK_THROWS_AS(storage_sink(mem, o), config_error);
    o = rotating(0);
    o.partition = "../{date}";
    CHECK_THROWS_AS(storage_sink(mem, o), config_error);
    CHECK_THROWS_AS(storage_sink(std::shared_ptr<storage>(), rotating(0)), config_error);
    storage_sink s(mem, rotating(0));
    CHECK_THROWS_WITH_AS(s.open(sink_attempt{"r", "t", 1, no_params}), doctest::Contains("before start"), sink_error);
    s.start({});
    CHECK_THROWS_AS(s.start({}), sink_error);
    CHECK_THROWS_WITH_AS(s.open(sink_attempt{"r", "bad/id", 1, no_params}), doctest::Contains("invalid task id"), sink_error);
    s.stop();
}
