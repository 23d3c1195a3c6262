// The S3 sink end to end against a real s3rver, read back with the real AWS CLI.
#include <drover/error.hpp>
#include <drover/executors/local.hpp>
#include <drover/scheduler.hpp>
#include <drover/sinks/s3.hpp>

#include "services/s3rver.hpp"
#include "sinks/gzip_file.hpp"
#include "support/support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <set>

using namespace drover::test;

namespace {

bool skip_without_s3rver() {
    auto why = s3rver_unavailable();
    if (why.empty() && access("/usr/bin/aws", X_OK) == 0) return false;
    if (why.empty()) why = "/usr/bin/aws missing (apt install awscli)";
    if (services_required()) FAIL("s3rver required: " << why);
    MESSAGE("skipped: " << why);
    return true;
}

drover::task_spec sh(const std::string& id, const std::string& script, std::map<std::string, std::string> params = {}) {
    drover::task_spec t;
    t.id = id;
    t.command = {"sh", "-c", script};
    t.params = std::move(params);
    return t;
}

drover::run_summary run(const fs::path& state, drover::s3_sink_options o, std::vector<drover::task_spec> tasks,
                        std::size_t slots = 4) {
    drover::scheduler s({.state_dir = state});
    s.add_executor(std::make_shared<drover::local_executor>(drover::local_executor_options{.slots = slots}));
    s.set_sink(drover::s3_sink{std::move(o)});  // by value, as documented (moved in)
    for (auto& t : tasks) s.submit(std::move(t));
    return s.run();
}

// Keys under s3://test/<prefix>/ as `aws s3 ls --recursive` prints them.
std::vector<std::string> aws_keys(const s3rver& srv, const std::string& prefix) {
    auto r = run_shell(srv.aws() + " ls --recursive s3://test/" + prefix + "/ 2>&1");
    std::vector<std::string> keys;
    if (r.exit_code != 0) return keys;  // empty listing: aws exits 1
    for (auto& line : split_lines(r.output)) {
        // "2026-01-01 00:00:00       1234 key with spaces"
        std::size_t pos = 0;
        for (int field = 0; field < 3; ++field) {
            pos = line.find_first_not_of(' ', pos);
            pos = line.find(' ', pos);
        }
        keys.push_back(line.substr(line.find_first_not_of(' ', pos)));
    }
    std::sort(keys.begin(), keys.end());
    return keys;
}

// Every record of every object under the prefix, downloaded with `aws s3 cp --recursive`.
std::vector<std::string> aws_records(const s3rver& srv, const std::string& prefix, const fs::path& into) {
    auto r = run_shell(srv.aws() + " cp --recursive --quiet s3://test/" + prefix + "/ " + into.string() + " 2>&1");
    REQUIRE_MESSAGE(r.exit_code == 0, r.output);
    return read_records(into);
}

}  // namespace

namespace doctest {
template <>
struct StringMaker<std::vector<std::string>> {
    static String convert(const std::vector<std::string>& v) {
        std::string out = "[";
        for (const auto& s : v) out += (out.size() > 1 ? ", " : "") + s;
        return (out + "]").c_str();
    }
};
}  // namespace doctest

TEST_CASE("s3 sink: 365 partitions, keys as expected, every record exactly once" * doctest::timeout(300)) {
    if (skip_without_s3rver()) return;
    s3rver srv;
    temp_dir d;
    auto o = srv.sink_options("news");
    o.partition = "date={date}";
    std::vector<drover::task_spec> tasks;
    std::vector<std::string> expected_keys, expected_records;
    for (int day = 0; day < 365; ++day) {
        char date[16];
        std::snprintf(date, sizeof date, "2018-%02d-%02d", day / 28 % 12 + 1, day % 28 + 1);
        std::string id = "crawl-" + std::to_string(day);
        std::string script;
        for (int i = 0; i < 3; ++i) {
            std::string rec = "{\"day\":" + std::to_string(day) + ",\"n\":" + std::to_string(i) + "}";
            script += "echo '" + rec + "'; ";
            expected_records.push_back(rec);
        }
        tasks.push_back(sh(id, script, {{"date", date + std::string("-") + std::to_string(day)}}));
        expected_keys.push_back("news/date=" + std::string(date) + "-" + std::to_string(day) + "/" + id + ".jsonl.gz");
    }
    auto sum = run(d / "state", o, std::move(tasks));
    CHECK(sum.ok());
    CHECK(sum.counts.records == 365 * 3);
    std::sort(expected_keys.begin(), expected_keys.end());
    CHECK(aws_keys(srv, "news") == expected_keys);
    std::sort(expected_records.begin(), expected_records.end());
    CHECK(aws_records(srv, "news", d / "down") == expected_records);
}

TEST_CASE("s3 sink: rotation and re-commit leave exactly the latest chunks" * doctest::timeout(120)) {
    if (skip_without_s3rver()) return;
    s3rver srv;
    temp_dir d;
    auto o = srv.sink_options("rot");
    o.max_records = 2;
    auto first = run(d / "state", o, {sh("t", "for i in 1 2 3 4 5 6 7; do echo \"{\\\"i\\\":$i}\"; done")});
    CHECK(first.ok());
    CHECK(aws_keys(srv, "rot") ==
          std::vector<std::string>{"rot/t.jsonl.gz", "rot/t~1.jsonl.gz", "rot/t~2.jsonl.gz", "rot/t~3.jsonl.gz"});
    // The task runs again and prints fewer records: its extra rotated objects must go.
    auto second = run(d / "state", o, {sh("t", "echo '{\"i\":10}'; echo '{\"i\":11}'; echo '{\"i\":12}'")});
    CHECK(second.ok());
    CHECK(aws_keys(srv, "rot") == std::vector<std::string>{"rot/t.jsonl.gz", "rot/t~1.jsonl.gz"});
    CHECK(aws_records(srv, "rot", d / "down") == std::vector<std::string>{"{\"i\":10}", "{\"i\":11}", "{\"i\":12}"});
    // Same with a fresh state directory (no manifest): stale rotated objects are found by listing.
    auto third = run(d / "state2", o, {sh("t", "echo '{\"i\":20}'")});
    CHECK(third.ok());
    CHECK(aws_keys(srv, "rot") == std::vector<std::string>{"rot/t.jsonl.gz"});
}

TEST_CASE("s3 sink: a 40 MiB rotated chunk goes up as multipart and comes back byte-identical" * doctest::timeout(300)) {
    if (skip_without_s3rver()) return;
    s3rver srv;
    temp_dir d;
    auto o = srv.sink_options("big");
    o.compression_level = 0;  // stored: the chunk's size is the records' size
    o.max_bytes = 40ull << 20;
    o.part_size = 5ull << 20;
    // ~48 MiB of records: one 40 MiB chunk, then the rest.
    std::string printed = (d / "printed.txt").string();
    auto sum = run(d / "state", o,
                   {sh("big", "head -c 36000000 /dev/urandom | base64 -w 1000 | sed 's/.*/{\"d\":\"&\"}/' | tee " + printed)});
    REQUIRE(sum.ok());
    auto keys = aws_keys(srv, "big");
    CHECK(keys == std::vector<std::string>{"big/big.jsonl.gz", "big/big~1.jsonl.gz"});
    auto recs = aws_records(srv, "big", d / "down");
    auto lines = split_lines(read_file(printed));
    CHECK(recs.size() == lines.size());
    // Byte-identical: the 40 MiB object equals the gzip stream our writer makes of the same
    // records (deterministic at level 0: no name, no timestamp).
    drover::detail::gzip_file gz;
    gz.open(d / "expected.gz", 0);
    for (const auto& l : lines) {
        gz.write(l);
        gz.write("\n");
        if (gz.uncompressed_bytes() >= o.max_bytes) break;
    }
    gz.finish(false);
    auto got = read_file(d / "down/big.jsonl.gz");
    CHECK(got.size() > (40ull << 20));
    CHECK(got.size() > 8 * o.part_size);  // 9 parts of 5 MiB
    CHECK(got == read_file(d / "expected.gz"));
    std::sort(lines.begin(), lines.end());
    CHECK(recs == lines);
}

TEST_CASE("s3 sink: wrong secret fails with SignatureDoesNotMatch, keeps records and the next run commits them" *
          doctest::timeout(120)) {
    if (skip_without_s3rver()) return;
    s3rver srv;
    temp_dir d;
    auto bad = srv.sink_options("auth");
    bad.credentials->secret_access_key = "WRONG-SECRET-VALUE";
    auto sum = run(d / "state", bad, {sh("a", "echo '{\"x\":1}'; echo '{\"x\":2}'")});
    CHECK_FALSE(sum.ok());
    REQUIRE(sum.tasks.size() == 1);
    const auto& msg = sum.tasks[0].last.message;
    CHECK(msg.find("SignatureDoesNotMatch") != std::string::npos);
    CHECK(msg.find("127.0.0.1:" + std::to_string(srv.port())) != std::string::npos);
    CHECK(msg.find("WRONG-SECRET-VALUE") == std::string::npos);
    CHECK(sum.tasks[0].attempts == 1);  // no retry on an auth error (task retries = 0)
    CHECK(aws_keys(srv, "auth").empty());
    auto pending = list_files(d / "state/s3-spool/pending");
    CHECK(std::count(pending.begin(), pending.end(), "a/index") == 1);
    CHECK(read_gzip(d / "state/s3-spool/pending/a/0.jsonl.gz") == "{\"x\":1}\n{\"x\":2}\n");

    // The next run with the right secret uploads them before anything else (no task needed).
    auto good = srv.sink_options("auth");
    auto again = run(d / "state", good, {sh("other", "echo '{\"y\":1}'")});
    CHECK(again.ok());
    CHECK(aws_keys(srv, "auth") == std::vector<std::string>{"auth/a.jsonl.gz", "auth/other.jsonl.gz"});
    CHECK(aws_records(srv, "auth", d / "down") ==
          std::vector<std::string>{"{\"x\":1}", "{\"x\":2}", "{\"y\":1}"});
    CHECK_FALSE(fs::exists(d / "state/s3-spool/pending/a"));
}

TEST_CASE("s3 sink: bad configuration is reported before any run") {
    drover::s3_sink_options o;
    o.url = "http://bucket/x";
    CHECK_THROWS_WITH_AS(drover::s3_sink{o}, doctest::Contains("must start with s3://"), drover::config_error);
    o.url = "s3://B_ad/x";
    CHECK_THROWS_WITH_AS(drover::s3_sink{o}, doctest::Contains("invalid bucket name"), drover::config_error);
    o.url = "s3://bucket/x";
    o.part_size = 1 << 20;
    CHECK_THROWS_WITH_AS(drover::s3_sink{o}, doctest::Contains("at least 5 MiB"), drover::config_error);
}

TEST_CASE("s3 reader: lists every page and streams objects gunzipped" * doctest::timeout(120)) {
    if (skip_without_s3rver()) return;
    s3rver srv;
    temp_dir d;
    // 1,100 objects: more than one ListObjectsV2 page (1,000 keys).
    std::filesystem::create_directories(d / "up/p");
    for (int i = 0; i < 1100; ++i) write_file(d / ("up/p/k" + std::to_string(i) + "~1.txt"), "x");
    REQUIRE(run_shell(srv.aws() + " cp --recursive --quiet " + (d / "up").string() + " s3://test/r/").exit_code == 0);
    REQUIRE(run_shell("printf '{\"a\":1}\\n{\"a\":2}\\n' | gzip > " + (d / "one.gz").string() + " && printf '{\"a\":3}' | gzip >> " +
                      (d / "one.gz").string()).exit_code == 0);
    REQUIRE(run_shell(srv.aws() + " cp --quiet " + (d / "one.gz").string() + " s3://test/r/one.jsonl.gz").exit_code == 0);

    drover::s3_reader reader(srv.sink_options("r"));
    auto all = reader.list();
    CHECK(all.size() == 1101);
    auto some = reader.list("p/k10");
    CHECK(some.size() == 111);  // k10, k100..k109, k1000..k1099
    std::vector<std::string> lines;
    reader.read_lines("r/one.jsonl.gz", [&](std::string_view l) { lines.emplace_back(l); });
    CHECK(lines == std::vector<std::string>{"{\"a\":1}", "{\"a\":2}", "{\"a\":3}"});
    CHECK_THROWS_WITH_AS(reader.read_lines("r/p/k1~1.txt", [](std::string_view) {}), doctest::Contains("gzip data"),
                         drover::sink_error);
    CHECK_THROWS_WITH_AS(reader.read_lines("r/missing", [](std::string_view) {}), doctest::Contains("NoSuchKey"),
                         drover::sink_error);
}

TEST_CASE("s3 sink: https with the endpoint's CA commits and reads back, another CA fails naming the endpoint" *
          doctest::timeout(180)) {
    if (skip_without_s3rver()) return;
    s3rver srv("test", /*tls=*/true);
    REQUIRE(srv.endpoint().starts_with("https://127.0.0.1:"));
    temp_dir d;
    auto wrong = srv.sink_options("tls");
    wrong.ca_file = srv.other_ca_file().string();
    wrong.max_attempts = 2;
    auto sum = run(d / "state", wrong, {sh("a", "echo '{\"x\":1}'")});
    CHECK_FALSE(sum.ok());
    REQUIRE(sum.tasks.size() == 1);
    const auto& msg = sum.tasks[0].last.message;
    CHECK_MESSAGE(msg.find("127.0.0.1:" + std::to_string(srv.port())) != std::string::npos, msg);
    CHECK_MESSAGE(msg.find("certificate") != std::string::npos, msg);
    CHECK(aws_keys(srv, "tls").empty());
    CHECK(read_gzip(d / "state/s3-spool/pending/a/0.jsonl.gz") == "{\"x\":1}\n");

    // The right CA: the pending upload goes first, then the new task.
    auto again = run(d / "state", srv.sink_options("tls"), {sh("b", "echo '{\"y\":1}'")});
    CHECK(again.ok());
    CHECK(aws_keys(srv, "tls") == std::vector<std::string>{"tls/a.jsonl.gz", "tls/b.jsonl.gz"});

    // Without ca_file, AWS_CA_BUNDLE names the CA (as for the AWS CLI).
    auto from_env = srv.sink_options("tls");
    from_env.ca_file.clear();
    const char* old = std::getenv("AWS_CA_BUNDLE");
    std::string saved = old ? old : "";
    ::setenv("AWS_CA_BUNDLE", srv.ca_file().c_str(), 1);
    auto third = run(d / "state", from_env, {sh("c", "echo '{\"z\":1}'")});
    if (old) ::setenv("AWS_CA_BUNDLE", saved.c_str(), 1);
    else ::unsetenv("AWS_CA_BUNDLE");
    CHECK(third.ok());

    // The reader over https.
    drover::s3_reader reader(srv.sink_options("tls"));
    CHECK(reader.list().size() == 3);
    std::vector<std::string> lines;
    reader.read_lines("tls/b.jsonl.gz", [&](std::string_view l) { lines.emplace_back(l); });
    CHECK(lines == std::vector<std::string>{"{\"y\":1}"});
}
