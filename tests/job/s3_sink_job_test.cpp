// `[sink] kind = "s3"` in job files: options parsed, mistakes reported as file:line:column.
#include <doctest/doctest.h>

#include <drover/error.hpp>
#include <drover/job_file.hpp>
#include <drover/sinks/s3.hpp>

#include <string>

namespace {

const std::string task_a = "[[tasks]]\nid = \"a\"\ncommand = [\"x\"]\nparams = { date = \"2018-01-01\" }\n";

std::string error_of(std::string_view text) {
    try {
        (void)drover::parse_job(text, "s3.toml");
    } catch (const drover::config_error& e) {
        return e.what();
    }
    return "(no error)";
}

}  // namespace

#define CHECK_HAS(msg, part) CHECK_MESSAGE((msg).find(part) != std::string::npos, "message: " << (msg))

TEST_CASE("job s3 sink: every option is read") {
    auto j = drover::parse_job("name = \"n\"\n[sink]\nkind = \"s3\"\npath = \"s3://news-bucket/crawl/v1\"\n"
                               "endpoint = \"http://127.0.0.1:4568\"\nregion = \"eu-west-1\"\npath_style = true\n"
                               "part_size = \"16MiB\"\nprofile = \"work\"\npartition = \"date={date}\"\n"
                               "max_records = 1000\nmax_bytes = \"64MiB\"\ncompression_level = 3\n"
                               "rotate_interval = \"1m30s\"\nflush_records = 250\n"
                               "ca_file = \"/etc/ssl/private-ca.pem\"\n" +
                                   task_a,
                               "s3.toml");
    REQUIRE(j.sink);
    CHECK(j.sink->kind == "s3");
    const auto& o = j.sink->options_as<drover::s3_sink_options>();
    CHECK(o.url == "s3://news-bucket/crawl/v1");
    CHECK(o.endpoint == "http://127.0.0.1:4568");
    CHECK(o.region == "eu-west-1");
    CHECK(o.path_style);
    CHECK(o.part_size == 16ull << 20);
    CHECK(o.profile == "work");
    CHECK(o.partition == "date={date}");
    CHECK(o.max_records == 1000);
    CHECK(o.max_bytes == 64ull << 20);
    CHECK(o.compression_level == 3);
    CHECK(o.rotate_interval == std::chrono::seconds(90));
    CHECK(o.flush_records == 250);
    CHECK(o.ca_file == "/etc/ssl/private-ca.pem");
    CHECK_FALSE(o.credentials);  // never from the job file
}

TEST_CASE("job s3 sink: mistakes name file, line, column and key") {
    auto sink = [](const std::string& body) { return "name = \"n\"\n[sink]\nkind = \"s3\"\n" + body; };
    auto e = error_of(sink("path = \"http://bucket/x\"\n") + task_a);
    CHECK_HAS(e, "s3.toml:4:8: sink.path:");
    CHECK_HAS(e, "must start with s3://");
    e = error_of(sink("path = \"s3://Bad_Bucket\"\n") + task_a);
    CHECK_HAS(e, "s3.toml:4:8: sink.path:");
    CHECK_HAS(e, "invalid bucket name");
    e = error_of(sink("path = \"s3://bucket\"\npart_size = \"1MiB\"\n") + task_a);
    CHECK_HAS(e, "s3.toml:5:13: sink.part_size:");
    CHECK_HAS(e, "at least 5 MiB");
    e = error_of(sink("path = \"s3://bucket\"\nendpoint = \"127.0.0.1:9000\"\n") + task_a);
    CHECK_HAS(e, "s3.toml:5:12: sink.endpoint:");
    e = error_of(sink("path = \"s3://bucket\"\naws_secret_access_key = \"x\"\n") + task_a);
    CHECK_HAS(e, "s3.toml:5:");
    CHECK_HAS(e, "aws_secret_access_key");
    e = error_of(sink("path = \"s3://bucket\"\nca_file = 1\n") + task_a);
    CHECK_HAS(e, "s3.toml:5:11: sink.ca_file:");
    e = error_of(sink("path = \"s3://bucket\"\npath_style = \"yes\"\n") + task_a);
    CHECK_HAS(e, "s3.toml:5:14: sink.path_style:");
    e = error_of(sink("") + task_a);
    CHECK_HAS(e, "path");
    e = error_of(sink("path = \"s3://bucket\"\npartition = \"{nope}\"\n") + task_a);
    CHECK_HAS(e, "sink.partition");
    CHECK_HAS(e, "no param 'nope'");
    e = error_of("name = \"n\"\n[sink]\nkind = \"gcs\"\npath = \"x\"\n" + task_a);
    CHECK_HAS(e, "known kinds: file, s3");
}
