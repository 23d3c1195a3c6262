#include <drover/error.hpp>
#include <drover/sinks/file.hpp>

#include "sinks/gzip_file.hpp"
#include "support/support.hpp"

#include <boost/json.hpp>
#include <doctest/doctest.h>

#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <map>
#include <set>
#include <system_error>
#include <thread>

using namespace drover;
using namespace drover::test;

namespace {

const std::map<std::string, std::string> no_params;

std::unique_ptr<sink_writer> open_writer(file_sink& s, std::string_view task, int attempt = 1,
                                         const std::map<std::string, std::string>& params = no_params,
                                         std::string_view run = "run1") {
    return s.open(sink_attempt{run, task, attempt, params});
}

void put(sink_writer& w, const std::string& line) {
    boost::json::value v = boost::json::parse(line);
    w.write(record{line, v.as_object()});
}

std::string rec(int i, std::string_view extra = "") {
    return "{\"i\":" + std::to_string(i) + (extra.empty() ? "" : ",") + std::string(extra) + "}";
}

std::string joined(const std::vector<std::string>& lines) {
    std::string s;
    for (const auto& l : lines) s += l + "\n";
    return s;
}

/// Options without designated initializers (g++ warns about the members they skip).
file_sink_options opts(const fs::path& root, std::string partition = "", bool fsync = false) {
    file_sink_options o;
    o.root = root;
    o.partition = std::move(partition);
    o.fsync = fsync;
    return o;
}

file_sink_options with_limits(file_sink_options o, std::uint64_t records, std::uint64_t bytes) {
    o.max_records = records;
    o.max_bytes = bytes;
    return o;
}

fs::path staging_of(const fs::path& root) { return root / ".drover" / "staging"; }
bool dir_empty(const fs::path& p) { return fs::is_empty(p); }

std::string shell_quote(const fs::path& p) { return "'" + p.string() + "'"; }

/// Drops CAP_DAC_OVERRIDE for this thread while alive, so permission bits bind root too.
struct no_dac_override {
    __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
    __user_cap_data_struct saved[2]{};
    bool active = false;
    no_dac_override() {
        if (::geteuid() != 0 || syscall(SYS_capget, &hdr, saved) != 0) return;
        __user_cap_data_struct less[2] = {saved[0], saved[1]};
        less[0].effective &= ~((1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH));
        active = syscall(SYS_capset, &hdr, less) == 0;
    }
    ~no_dac_override() {
        if (active) syscall(SYS_capset, &hdr, saved);
    }
};

// True when creating an entry in `dir` fails, i.e. the permission bits are enforced.
bool unwritable(const fs::path& dir) {
    fs::path probe = dir / "probe";
    if (::mkdir(probe.c_str(), 0700) == 0) {
        ::rmdir(probe.c_str());
        return false;
    }
    return true;
}

}  // namespace

TEST_CASE("file_sink: one task writes one gzip file with its records in order") {
    temp_dir tmp;
    file_sink s(opts(tmp / "out"));
    s.start({.run_id = "run1"});
    auto w = open_writer(s, "t1");
    std::vector<std::string> lines = {rec(1), rec(2, "\"s\":\"héllo\""), rec(3)};
    for (const auto& l : lines) put(*w, l);
    auto out = w->commit();

    CHECK(list_files(tmp / "out") == std::vector<std::string>{"t1.jsonl.gz"});
    CHECK(read_gzip(tmp / "out" / "t1.jsonl.gz") == joined(lines));
    CHECK(out.records == 3);
    REQUIRE(out.locations.size() == 1);
    CHECK(fs::path(out.locations[0]).is_absolute());
    CHECK(fs::equivalent(out.locations[0], tmp / "out" / "t1.jsonl.gz"));
    CHECK(out.bytes == fs::file_size(tmp / "out" / "t1.jsonl.gz"));
    CHECK(dir_empty(staging_of(tmp / "out")));
    CHECK(s.describe() == (tmp / "out").string());
    s.stop();
}

TEST_CASE("file_sink: partitions by task params, nested and sanitised") {
    temp_dir tmp;
    file_sink s(opts(tmp / "out", "year={y}/month={m}"));
    s.start({.run_id = "run1"});
    std::map<std::string, std::string> p1{{"y", "2024"}, {"m", "01"}};
    std::map<std::string, std::string> p2{{"y", "../../etc"}, {"m", "a/b c"}};
    auto w1 = open_writer(s, "t1", 1, p1);
    put(*w1, rec(1));
    w1->commit();
    auto w2 = open_writer(s, "t2", 1, p2);
    put(*w2, rec(2));
    w2->commit();
    CHECK(list_files(tmp / "out") ==
          std::vector<std::string>{"year=%2E.%2F..%2Fetc/month=a%2Fb%20c/t2.jsonl.gz", "year=2024/month=01/t1.jsonl.gz"});
    CHECK(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator()) == 1);  // only "out"

    std::map<std::string, std::string> missing{{"y", "2024"}};
    CHECK_THROWS_WITH_AS(open_writer(s, "t3", 1, missing), doctest::Contains("{m}"), sink_error);
    s.stop();
}

TEST_CASE("file_sink: partitions by record field, hostile values stay inside the root") {
    temp_dir tmp;
    file_sink s(opts(tmp / "out", "{record.lang}"));
    s.start({.run_id = "run1"});
    auto w = open_writer(s, "t1");
    std::vector<std::pair<std::string, std::string>> cases = {
        {"\"lang\":\"en\"", "en"},
        {"", "__missing__"},
        {"\"lang\":null", "__missing__"},
        {"\"lang\":42", "42"},
        {"\"lang\":true", "true"},
        {"\"lang\":\"../../etc\"", "%2E.%2F..%2Fetc"},
        {"\"lang\":\"a/b\"", "a%2Fb"},
        {"\"lang\":\"\"", "__empty__"},
        {"\"lang\":\".\"", "%2E"},
        {"\"lang\":\"..\"", "%2E%2E"},
        {"\"lang\":\".drover\"", "%2Edrover"},
        {"\"lang\":\"日本\"", "%E6%97%A5%E6%9C%AC"},
        {"\"lang\":\"a b%\\u0000\"", "a%20b%25%00"},
        {"\"lang\":{\"x\":1}", "%7B%22x%22%3A1%7D"},
    };
    std::map<std::string, std::vector<std::string>> expected;
    int i = 0;
    for (const auto& [field, dir] : cases) {
        std::string line = rec(i++, field);
        put(*w, line);
        expected[dir + "/t1.jsonl.gz"].push_back(line);
    }
    std::string long_value(300, 'x');
    put(*w, rec(i, "\"lang\":\"" + long_value + "\""));
    w->commit();

    auto files = list_files(tmp / "out");
    std::set<std::string> names(files.begin(), files.end());
    for (const auto& [file, lines] : expected) {
        REQUIRE_MESSAGE(names.count(file) == 1, file);
        CHECK(read_gzip(tmp / "out" / file) == joined(lines));
        names.erase(file);
    }
    REQUIRE(names.size() == 1);  // the long value: cut and hashed, one component
    std::string dir = fs::path(*names.begin()).parent_path().string();
    CHECK(dir.size() == 180 + 1 + 16);
    CHECK(dir.starts_with(std::string(180, 'x') + "~"));
    CHECK(std::distance(fs::directory_iterator(tmp.path()), fs::directory_iterator()) == 1);
    s.stop();
}

TEST_CASE("file_sink: bad configuration is rejected at construction") {
    for (const char* tpl : {"/abs/{date}", "../{date}", "a/../b", "./x", ".drover/{date}", "x/.hidden", "{record.}",
                            "a\nb"}) {
        CAPTURE(tpl);
        CHECK_THROWS_AS(file_sink(opts("out", tpl)), config_error);
    }
    auto bad_level = opts("out");
    bad_level.compression_level = 10;
    CHECK_THROWS_AS(file_sink{bad_level}, config_error);
    CHECK_THROWS_AS(file_sink(opts("")), config_error);
    CHECK_NOTHROW(file_sink(opts("out", "a.b/{record.x}.{y}/")));

    temp_dir tmp;  // redundant slashes are harmless and normalised away
    file_sink s(opts(tmp / "out", "a//d={date}/"));
    s.start({.run_id = "r"});
    std::map<std::string, std::string> p{{"date", "1"}};
    auto w = open_writer(s, "t", 1, p);
    put(*w, rec(1));
    w->commit();
    CHECK(list_files(tmp / "out") == std::vector<std::string>{"a/d=1/t.jsonl.gz"});
}

TEST_CASE("file_sink: rotation by record count gives exact names and counts") {
    temp_dir tmp;
    file_sink s(with_limits(opts(tmp / "out"), 2, 0));
    s.start({.run_id = "run1"});
    auto w = open_writer(s, "t");
    std::vector<std::string> lines;
    for (int i = 0; i < 5; ++i) put(*w, lines.emplace_back(rec(i)));
    auto out = w->commit();
    CHECK(list_files(tmp / "out") == std::vector<std::string>{"t.jsonl.gz", "t~1.jsonl.gz", "t~2.jsonl.gz"});
    CHECK(read_gzip(tmp / "out" / "t.jsonl.gz") == joined({lines[0], lines[1]}));
    CHECK(read_gzip(tmp / "out" / "t~1.jsonl.gz") == joined({lines[2], lines[3]}));
    CHECK(read_gzip(tmp / "out" / "t~2.jsonl.gz") == joined({lines[4]}));
    CHECK(out.records == 5);
    REQUIRE(out.locations.size() == 3);  // in chunk order
    CHECK(fs::path(out.locations[0]).filename() == "t.jsonl.gz");
    CHECK(fs::path(out.locations[2]).filename() == "t~2.jsonl.gz");

    // Exactly at the limit: no empty trailing chunk.
    auto w2 = open_writer(s, "u");
    for (int i = 0; i < 4; ++i) put(*w2, rec(i));
    w2->commit();
    CHECK(list_files(tmp / "out").size() == 5);
}

TEST_CASE("file_sink: rotated chunks of task a never collide with task a-1") {
    temp_dir tmp;
    file_sink s(with_limits(opts(tmp / "out"), 1, 0));
    s.start({.run_id = "run1"});
    auto a = open_writer(s, "a");
    put(*a, rec(1));
    put(*a, rec(2));
    a->commit();
    auto a1 = open_writer(s, "a-1");
    put(*a1, rec(3));
    a1->commit();
    CHECK(list_files(tmp / "out") == std::vector<std::string>{"a-1.jsonl.gz", "a.jsonl.gz", "a~1.jsonl.gz"});
    CHECK(read_gzip(tmp / "out" / "a~1.jsonl.gz") == joined({rec(2)}));
    CHECK(read_gzip(tmp / "out" / "a-1.jsonl.gz") == joined({rec(3)}));
    // Re-committing "a" with one chunk removes only its own stale chunk.
    auto again = open_writer(s, "a", 2);
    put(*again, rec(1));
    again->commit();
    CHECK(list_files(tmp / "out") == std::vector<std::string>{"a-1.jsonl.gz", "a.jsonl.gz"});
}

TEST_CASE("file_sink: rotation by uncompressed bytes, per partition") {
    temp_dir tmp;
    // Every line is 10 bytes with its newline; a chunk closes once it holds >= 25 bytes.
    file_sink s(with_limits(opts(tmp / "out", "l={record.l}"), 0, 25));
    s.start({.run_id = "run1"});
    auto w = open_writer(s, "t");
    std::map<std::string, std::vector<std::string>> per;
    for (int i = 0; i < 7; ++i) {
        for (const char* l : {"a", "b"}) {
            std::string line = "{\"l\":\"" + std::string(l) + "\"}";  // 9 bytes
            REQUIRE(line.size() == 9);
            put(*w, line);
            per[l].push_back(line);
        }
    }
    w->commit();
    CHECK(list_files(tmp / "out") ==
          std::vector<std::string>{"l=a/t.jsonl.gz", "l=a/t~1.jsonl.gz", "l=a/t~2.jsonl.gz", "l=b/t.jsonl.gz",
                                   "l=b/t~1.jsonl.gz", "l=b/t~2.jsonl.gz"});
    for (const char* l : {"a", "b"}) {
        fs::path d = tmp / "out" / (std::string("l=") + l);
        CHECK(split_lines(read_gzip(d / "t.jsonl.gz")).size() == 3);
        CHECK(split_lines(read_gzip(d / "t~1.jsonl.gz")).size() == 3);
        CHECK(split_lines(read_gzip(d / "t~2.jsonl.gz")).size() == 1);
    }
}

TEST_CASE("file_sink: nothing is visible before commit, abort leaves nothing") {
    temp_dir tmp;
    fs::path root = tmp / "out";
    file_sink s(opts(root, "{record.k}"));
    s.start({.run_id = "run1"});

    auto w = open_writer(s, "t");
    for (int i = 0; i < 10; ++i) put(*w, rec(i, "\"k\":\"p" + std::to_string(i % 3) + "\""));
    CHECK(list_files(root).empty());
    CHECK(fs::exists(staging_of(root) / "run1-t-1"));
    w->abort();
    CHECK(list_files(root).empty());
    CHECK(dir_empty(staging_of(root)));
    CHECK_THROWS_AS(put(*w, rec(1)), sink_error);  // no use after abort

    {  // a writer dropped without commit or abort aborts
        auto w2 = open_writer(s, "t", 2);
        put(*w2, rec(1, "\"k\":\"x\""));
        CHECK(!dir_empty(staging_of(root)));
    }
    CHECK(list_files(root).empty());
    CHECK(dir_empty(staging_of(root)));
    CHECK(!fs::exists(root / ".drover" / "manifests" / "t"));
}

TEST_CASE("file_sink: attempt 2 after an aborted attempt 1 publishes each record once") {
    temp_dir tmp;
    file_sink s(with_limits(opts(tmp / "out", "d={date}", true), 3, 0));
    s.start({.run_id = "run1"});
    std::map<std::string, std::string> p{{"date", "2024-05-06"}};
    auto a1 = open_writer(s, "t", 1, p);
    for (int i = 0; i < 5; ++i) put(*a1, rec(i));
    a1->abort();

    auto a2 = open_writer(s, "t", 2, p);
    std::vector<std::string> lines;
    for (int i = 0; i < 5; ++i) put(*a2, lines.emplace_back(rec(i)));
    a2->commit();
    std::string all;
    for (const auto& f : list_files(tmp / "out")) all += read_gzip(tmp / "out" / f);
    CHECK(list_files(tmp / "out") == std::vector<std::string>{"d=2024-05-06/t.jsonl.gz", "d=2024-05-06/t~1.jsonl.gz"});
    CHECK(read_gzip(tmp / "out" / "d=2024-05-06/t.jsonl.gz") + read_gzip(tmp / "out" / "d=2024-05-06/t~1.jsonl.gz") ==
          joined(lines));
}

TEST_CASE("file_sink: a re-commit with fewer chunks removes the stale ones") {
    temp_dir tmp;
    fs::path root = tmp / "out";
    file_sink s(with_limits(opts(root, "{record.k}", true), 2, 0));
    s.start({.run_id = "run1"});
    {
        auto w = open_writer(s, "t");
        for (int i = 0; i < 5; ++i) put(*w, rec(i, "\"k\":\"a\""));
        put(*w, rec(9, "\"k\":\"b\""));
        w->commit();
    }
    CHECK(list_files(root) ==
          std::vector<std::string>{"a/t.jsonl.gz", "a/t~1.jsonl.gz", "a/t~2.jsonl.gz", "b/t.jsonl.gz"});
    // Another task's files in the same partition are never touched.
    auto other = open_writer(s, "u");
    put(*other, rec(100, "\"k\":\"a\""));
    other->commit();

    s.stop();
    s.start({.run_id = "run2"});  // a later run re-runs t, which now prints less
    auto w = open_writer(s, "t", 1, no_params, "run2");
    std::vector<std::string> lines = {rec(0, "\"k\":\"a\""), rec(1, "\"k\":\"a\""), rec(2, "\"k\":\"a\"")};
    for (const auto& l : lines) put(*w, l);
    w->commit();
    CHECK(list_files(root) == std::vector<std::string>{"a/t.jsonl.gz", "a/t~1.jsonl.gz", "a/u.jsonl.gz"});
    CHECK(read_gzip(root / "a/t.jsonl.gz") + read_gzip(root / "a/t~1.jsonl.gz") == joined(lines));
    CHECK(read_file(root / ".drover/manifests/t") == "a/t.jsonl.gz\na/t~1.jsonl.gz\n");

    // Zero records now: the task's output is empty, so its files go and the manifest empties.
    auto z = open_writer(s, "t", 2, no_params, "run2");
    auto out = z->commit();
    CHECK(out.records == 0);
    CHECK(out.locations.empty());
    CHECK(list_files(root) == std::vector<std::string>{"a/u.jsonl.gz"});
    CHECK(read_file(root / ".drover/manifests/t").empty());
}

TEST_CASE("file_sink: tasks without records create no files") {
    temp_dir tmp;
    fs::path root = tmp / "out";
    file_sink s(opts(root, "d={d}", true));
    s.start({.run_id = "run1"});
    std::map<std::string, std::string> p{{"d", "x"}};
    for (int i = 0; i < 200; ++i) {
        auto w = open_writer(s, "t" + std::to_string(i), 1, p);
        auto out = w->commit();
        CHECK(out.records == 0);
        CHECK(out.bytes == 0);
    }
    CHECK(list_files(root).empty());
    CHECK(std::distance(fs::directory_iterator(root), fs::directory_iterator()) == 1);  // only .drover
    CHECK(dir_empty(staging_of(root)));
    CHECK(dir_empty(root / ".drover/manifests"));
}

TEST_CASE("file_sink: one run per root at a time") {
    temp_dir tmp;
    file_sink a(opts(tmp / "out", "", true));
    file_sink b(opts(tmp / "out", "", true));
    a.start({.run_id = "run1"});
    CHECK(read_file(tmp / "out/.drover/lock") == std::to_string(::getpid()) + "\n");
    try {
        b.start({.run_id = "run2"});
        FAIL("second start() on a locked root succeeded");
    } catch (const sink_error& e) {
        std::string msg = e.what();
        CHECK(msg == "output directory " + (tmp / "out").string() + " is in use by another drover run (pid " +
                         std::to_string(::getpid()) + ")");
    }
    CHECK_THROWS_AS(open_writer(b, "t"), sink_error);  // not started
    file_sink moved = std::move(a);                  // the lock moves along
    CHECK_THROWS_AS(b.start({.run_id = "run2"}), sink_error);
    moved.stop();
    CHECK_NOTHROW(b.start({.run_id = "run2"}));
    b.stop();
}

TEST_CASE("file_sink: start() removes staging left by a crashed run") {
    temp_dir tmp;
    fs::path root = tmp / "out";
    write_file(root / ".drover/staging/old-t-1/0.jsonl.gz", "partial");
    write_file(root / ".drover/staging/old-u-3/7.jsonl.gz", "partial");
    write_file(root / ".drover/manifests/t", "t.jsonl.gz\n");
    write_file(root / ".drover/manifests/.t.tmp-123-0", "half");
    file_sink s(opts(root));
    s.start({.run_id = "run2"});
    CHECK(dir_empty(staging_of(root)));
    CHECK(fs::exists(root / ".drover/manifests/t"));
    CHECK(!fs::exists(root / ".drover/manifests/.t.tmp-123-0"));
    s.stop();
}

TEST_CASE("file_sink: output is plain gzip for zcat and Python") {
    temp_dir tmp;
    fs::path root = tmp / "out";
    auto o = with_limits(opts(root, "{record.lang}", true), 3, 0);
    o.compression_level = 9;
    file_sink s(o);
    s.start({.run_id = "run1"});
    auto w = open_writer(s, "t");
    std::vector<std::string> lines;
    for (int i = 0; i < 7; ++i)
        put(*w, lines.emplace_back(rec(i, "\"lang\":\"日本 語\",\"text\":\"ünïcödé \\\"quoted\\\"\"")));
    w->commit();
    auto files = list_files(root);
    REQUIRE(files.size() == 3);
    std::string order[] = {"t.jsonl.gz", "t~1.jsonl.gz", "t~2.jsonl.gz"};
    std::string dir = root / "%E6%97%A5%E6%9C%AC%20%E8%AA%9E";

    std::string via_zcat;
    for (const auto& f : order) {
        auto r = run_shell("zcat " + shell_quote(dir + "/" + f));
        CHECK(r.exit_code == 0);
        via_zcat += r.output;
    }
    CHECK(via_zcat == joined(lines));

    if (!fs::exists("/usr/bin/python3")) {
        if (services_required()) FAIL("/usr/bin/python3 is missing");
        MESSAGE("skipping the Python gzip check: /usr/bin/python3 is missing");
        return;
    }
    std::string via_python;
    for (const auto& f : order) {
        auto r = run_shell("/usr/bin/python3 -c 'import gzip,sys; sys.stdout.buffer.write(gzip.open(sys.argv[1]).read())' " +
                           shell_quote(dir + "/" + f));
        CHECK(r.exit_code == 0);
        via_python += r.output;
    }
    CHECK(via_python == joined(lines));
}

TEST_CASE("file_sink: more partitions than open chunks keeps every record once, deterministically") {
    auto run = [](const fs::path& root) {
        file_sink s(opts(root, "p={record.p}"));
        s.start({.run_id = "run1"});
        auto w = open_writer(s, "t");
        for (int i = 0; i < 2000; ++i) put(*w, rec(i, "\"p\":" + std::to_string(i % 200)));
        auto out = w->commit();
        s.stop();
        return out;
    };
    temp_dir tmp;
    auto out = run(tmp / "a");
    CHECK(out.records == 2000);
    auto files = list_files(tmp / "a");
    CHECK(out.locations.size() == files.size());
    // Round-robin over 200 partitions with 64 open chunks: every record finds its chunk
    // evicted, so each partition has chunks t, t-1, ..., t-9 of one record each.
    CHECK(files.size() == 2000);
    std::multiset<int> seen;
    for (int p = 0; p < 200; ++p) {
        fs::path dir = tmp / "a" / ("p=" + std::to_string(p));
        std::string content;
        for (int k = 0; k < 10; ++k)
            content += read_gzip(dir / (k == 0 ? std::string("t.jsonl.gz") : "t~" + std::to_string(k) + ".jsonl.gz"));
        std::vector<std::string> expect;
        for (int i = p; i < 2000; i += 200) expect.push_back(rec(i, "\"p\":" + std::to_string(p)));
        CHECK(content == joined(expect));
        for (int i = p; i < 2000; i += 200) seen.insert(i);
    }
    CHECK(seen.size() == 2000);
    CHECK(std::set<int>(seen.begin(), seen.end()).size() == 2000);

    run(tmp / "b");
    auto files_b = list_files(tmp / "b");
    REQUIRE(files_b == files);
    for (std::size_t i = 0; i < files.size(); i += 97)
        CHECK(read_file(tmp / "a" / files[i]) == read_file(tmp / "b" / files[i]));
}

TEST_CASE("file_sink: a read-only root fails with a sink_error naming the path") {
    temp_dir tmp;
    fs::path root = tmp / "ro";
    fs::create_directories(root);
    fs::permissions(root, fs::perms::owner_read | fs::perms::owner_exec);
    no_dac_override guard;
    if (!unwritable(root)) {
        fs::permissions(root, fs::perms::owner_all);
        MESSAGE("skipping: permission bits are not enforced for this user");
        return;
    }
    file_sink s(opts(root, "", true));
    try {
        s.start({.run_id = "run1"});
        FAIL("start() on a read-only root succeeded");
    } catch (const sink_error& e) {
        std::string msg = e.what();
        CHECK(msg.find(root.string()) != std::string::npos);
        CHECK(msg.find("Permission denied") != std::string::npos);
    }
    fs::permissions(root, fs::perms::owner_all);
}

TEST_CASE("file_sink: a failing commit publishes nothing and can be aborted") {
    temp_dir tmp;
    fs::path root = tmp / "out";
    file_sink s(opts(root, "d={d}", true));
    s.start({.run_id = "run1"});
    std::map<std::string, std::string> p{{"d", "x"}};
    auto w = open_writer(s, "t", 1, p);
    put(*w, rec(1));
    fs::permissions(root, fs::perms::owner_read | fs::perms::owner_exec);  // no new partition dirs
    {
        no_dac_override guard;
        if (!unwritable(root)) {
            fs::permissions(root, fs::perms::owner_all);
            MESSAGE("skipping: permission bits are not enforced for this user");
            return;
        }
        CHECK_THROWS_WITH_AS(w->commit(), doctest::Contains((root / "d=x").c_str()), sink_error);
    }
    fs::permissions(root, fs::perms::owner_all);
    CHECK_THROWS_AS(w->commit(), sink_error);  // failed writers only abort
    w->abort();
    CHECK(list_files(root).empty());
    CHECK(dir_empty(staging_of(root)));
    s.stop();
}

TEST_CASE("file_sink: concurrent writers of different tasks share partitions") {
    temp_dir tmp;
    file_sink s(opts(tmp / "out", "{record.k}", true));
    s.start({.run_id = "run1"});
    std::vector<std::thread> threads;
    std::vector<std::string> errors(4);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            try {
                auto w = open_writer(s, "t" + std::to_string(t));
                for (int i = 0; i < 300; ++i) put(*w, rec(i, "\"k\":\"k" + std::to_string(i % 5) + "\""));
                w->commit();
            } catch (const std::exception& e) {
                errors[t] = e.what();
            }
        });
    }
    for (auto& th : threads) th.join();
    for (const auto& e : errors) CHECK(e.empty());
    auto files = list_files(tmp / "out");
    CHECK(files.size() == 20);
    std::size_t lines = 0;
    for (const auto& f : files) lines += split_lines(read_gzip(tmp / "out" / f)).size();
    CHECK(lines == 1200);
}

TEST_CASE("file_sink: gzip writer reports a full disk with the path") {
    temp_dir tmp;
    fs::path full = tmp / "full.gz";  // a symlink, so abort() unlinks the link, not /dev/full
    fs::create_symlink("/dev/full", full);
    detail::gzip_file g;
    g.open(full, 0);  // level 0: output grows with input, forcing writes
    std::string block(64 * 1024, 'x');
    try {
        for (int i = 0; i < 8; ++i) g.write(block);
        g.finish(false);
        FAIL("writing to /dev/full succeeded");
    } catch (const std::system_error& e) {
        std::string msg = e.what();
        CHECK(msg.find(full.string()) != std::string::npos);
        CHECK(msg.find("No space left on device") != std::string::npos);
    }
    g.abort();
    CHECK(fs::exists("/dev/full"));
}
