// Fault injection on our own fake S3: every step of a multipart upload fails (503, SlowDown,
// connection reset, 500, 200-with-error on Complete) and the upload still ends with exactly
// one correct object and no open upload; permanent failures abort.
#include <drover/error.hpp>
#include <drover/executors/local.hpp>
#include <drover/scheduler.hpp>
#include <drover/sinks/s3.hpp>

#include "s3/uploader.hpp"
#include "services/fake_s3.hpp"
#include "support/support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <doctest/doctest.h>

#include <random>

using namespace drover::test;
using fault = fake_s3::fault;
namespace asio = boost::asio;

namespace {

constexpr std::uint64_t MiB = 1ull << 20;

drover::s3::api_options api_opts(const fake_s3& srv) {
    drover::s3::api_options o;
    o.endpoint = srv.endpoint();
    o.region = "us-east-1";
    o.path_style = true;
    o.creds = {"AKID", "SECRET", ""};
    o.retry.base = std::chrono::milliseconds(5);
    o.retry.max_attempts = 5;
    o.request_timeout = std::chrono::milliseconds(20'000);
    return o;
}

std::string random_bytes(std::size_t n) {
    std::mt19937_64 rng(42);
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
}

// Uploads `data` as key "k"; rethrows the upload's error.
std::string upload(const fake_s3& /*srv*/, const std::string& data, const temp_dir& d, drover::s3::api_options o,
                   std::uint64_t part_size = 5 * MiB) {
    write_file(d / "f", data);
    asio::io_context ioc;
    drover::s3::api api(ioc.get_executor(), std::move(o));
    auto f = asio::co_spawn(ioc, drover::s3::upload_file(api, "b", "k", d / "f", {part_size, 3, false}), asio::use_future);
    ioc.run();
    return f.get();
}

}  // namespace

TEST_CASE("faults: every multipart step survives 503, SlowDown, reset and 500 twice" * doctest::timeout(120)) {
    temp_dir d;
    auto data = random_bytes(17 * MiB + 123);
    for (const char* op : {"CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"}) {
        for (fault f : {fault::status_503, fault::slow_down, fault::reset, fault::internal_500}) {
            CAPTURE(op);
            CAPTURE(static_cast<int>(f));
            fake_s3 srv;
            srv.inject(op, f, 2);
            std::string etag = upload(srv, data, d, api_opts(srv));
            CHECK(etag.find("-4\"") != std::string::npos);  // 4 parts
            CHECK(srv.object("k") == data);
            CHECK(srv.keys() == std::vector<std::string>{"k"});
            CHECK(srv.open_uploads() == 0);
            CHECK(srv.count("CreateMultipartUpload") == (std::string(op) == "CreateMultipartUpload" ? 3 : 1));
            CHECK(srv.count("UploadPart") == (std::string(op) == "UploadPart" ? 6 : 4));
            CHECK(srv.rule_violations() == 0);
        }
    }
}

TEST_CASE("faults: a 200 answer to Complete carrying an <Error> is retried") {
    temp_dir d;
    fake_s3 srv;
    srv.inject("CompleteMultipartUpload", fault::error_in_200, 1);
    auto data = random_bytes(11 * MiB);
    upload(srv, data, d, api_opts(srv));
    CHECK(srv.count("CompleteMultipartUpload") == 2);
    CHECK(srv.object("k") == data);
    CHECK(srv.open_uploads() == 0);
}

TEST_CASE("faults: PutObject retries, then fails with the server's message after max attempts") {
    temp_dir d;
    fake_s3 srv;
    srv.inject("PutObject", fault::slow_down, 3);
    upload(srv, "small", d, api_opts(srv));
    CHECK(srv.object("k") == "small");
    CHECK(srv.count("PutObject") == 4);
    fake_s3 down;
    down.inject("PutObject", fault::status_503, 10);
    CHECK_THROWS_WITH(upload(down, "small", d, api_opts(down)),
                      doctest::Contains("HTTP 503 ServiceUnavailable: Please reduce your request rate. (request id FAKE) "
                                        "(gave up after 5 attempts)"));
    CHECK_FALSE(down.object("k"));
}

TEST_CASE("faults: a part that keeps failing aborts the upload and nothing is published") {
    temp_dir d;
    fake_s3 srv;
    srv.inject("UploadPart", fault::reset, 50);
    CHECK_THROWS_WITH(upload(srv, random_bytes(12 * MiB), d, api_opts(srv)), doctest::Contains("UploadPart"));
    CHECK(srv.keys().empty());
    CHECK(srv.open_uploads() == 0);
    CHECK(srv.count("AbortMultipartUpload") == 1);
}

TEST_CASE("faults: RequestTimeTooSkewed is corrected from the server's Date") {
    temp_dir d;
    fake_s3 srv;
    srv.inject("", fault::skewed, 1);  // the server's clock is an hour ahead from now on
    write_file(d / "f", "x");
    asio::io_context ioc;
    drover::s3::api api(ioc.get_executor(), api_opts(srv));
    auto f = asio::co_spawn(ioc, drover::s3::upload_file(api, "b", "k", d / "f", {}), asio::use_future);
    ioc.run();
    f.get();
    CHECK(srv.object("k") == "x");
    CHECK(srv.count("PutObject") == 2);
    CHECK(api.clock_skew() >= 3590);
    CHECK(api.clock_skew() <= 3610);
}

TEST_CASE("faults: the sink under faults publishes every record once, rotated chunks and all" * doctest::timeout(120)) {
    temp_dir d;
    fake_s3 srv;
    srv.inject("PutObject", fault::reset, 3);
    srv.inject("PutObject", fault::slow_down, 2);
    srv.inject("DeleteObject", fault::status_503, 1);
    drover::s3_sink_options o;
    o.url = "s3://bucket/out";
    o.endpoint = srv.endpoint();
    o.path_style = true;
    o.credentials = drover::s3_credentials{"AKID", "SECRET", ""};
    o.max_records = 3;
    o.retry_base = std::chrono::milliseconds(5);
    o.fsync = false;
    for (int round = 0; round < 2; ++round) {
        drover::scheduler s({.state_dir = d / "state"});
        s.add_executor(std::make_shared<drover::local_executor>(drover::local_executor_options{.slots = 2}));
        s.set_sink(std::make_shared<drover::s3_sink>(o));
        int n = round == 0 ? 10 : 4;  // the second run prints fewer records: fewer chunks
        s.submit({.id = "t", .command = {"sh", "-c", "i=0; while [ $i -lt " + std::to_string(n) +
                                                        " ]; do echo \"{\\\"i\\\":$i}\"; i=$((i+1)); done"}});
        auto sum = s.run();
        REQUIRE_MESSAGE(sum.ok(), sum.tasks[0].last.message);
    }
    CHECK(srv.keys() == std::vector<std::string>{"out/t.jsonl.gz", "out/t~1.jsonl.gz"});
    CHECK(srv.rule_violations() == 0);
    // Four records in all, each once.
    write_file(d / "a.gz", *srv.object("out/t.jsonl.gz"));
    write_file(d / "b.gz", *srv.object("out/t~1.jsonl.gz"));
    CHECK(read_gzip(d / "a.gz") + read_gzip(d / "b.gz") == "{\"i\":0}\n{\"i\":1}\n{\"i\":2}\n{\"i\":3}\n");
}

TEST_CASE("faults: credentials never appear in errors") {
    temp_dir d;
    fake_s3 srv;
    srv.inject("PutObject", fault::status_503, 10);
    auto o = api_opts(srv);
    o.creds = {"AKIDVISIBLE", "TOPSECRETVALUE", "SESSIONTOKENVALUE"};
    try {
        upload(srv, "x", d, o);
        FAIL("expected an error");
    } catch (const std::exception& e) {
        std::string m = e.what();
        CHECK(m.find("TOPSECRETVALUE") == std::string::npos);
        CHECK(m.find("SESSIONTOKENVALUE") == std::string::npos);
        CHECK(m.find(srv.endpoint().substr(7)) != std::string::npos);  // names the host
    }
}
