// Temporary credentials are refreshed in the middle of a multipart upload: the instance
// metadata fake hands out credentials that enter botocore's 15-minute advisory window one
// second after they are issued, and our fake S3 answers each UploadPart after 600 ms, so
// the parts of one upload are signed by successive keys. (s3rver checks that refreshed keys
// sign correctly, in credential_sink_test.cpp; it cannot be slowed down.)
#include "s3/credential_chain.hpp"
#include "s3/uploader.hpp"
#include "services/fake_aws.hpp"
#include "services/fake_s3.hpp"
#include "support/support.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <doctest/doctest.h>

#include <random>
#include <set>

using namespace drover::test;
using namespace std::chrono_literals;
namespace asio = boost::asio;

TEST_CASE("refresh: the parts of one multipart upload are signed with refreshed credentials" * doctest::timeout(60)) {
    std::vector<key_pair> keys;
    for (int i = 1; i <= 9; ++i) keys.push_back({"ASIAROTATE000" + std::to_string(i), "rotating-secret-" + std::to_string(i)});
    fake_aws aws(keys);
    aws.lifetime(15min + 1s);
    fake_s3 s3;
    s3.delay("UploadPart", 600ms);
    temp_dir d;  // (the data first: the credentials age from their first fetch)
    std::string data(26u << 20, '\0');
    std::mt19937_64 rng(7);
    for (auto& c : data) c = static_cast<char>(rng());
    write_file(d / "f", data);

    drover::s3::credential_plan plan;
    plan.k = drover::s3::credential_plan::kind::imds;
    plan.method = "iam-role";
    plan.url = aws.endpoint();
    drover::s3::api_options o;
    o.endpoint = s3.endpoint();
    o.region = "us-east-1";
    o.path_style = true;
    o.provider = drover::s3::make_credential_provider(plan, {"us-east-1"});

    asio::io_context ioc;
    drover::s3::api api(ioc.get_executor(), o);
    auto f = asio::co_spawn(ioc, drover::s3::upload_file(api, "b", "k", d / "f", {5u << 20, 1, false}), asio::use_future);
    ioc.run();
    CHECK(f.get().find("-6\"") != std::string::npos);  // 6 parts
    CHECK(s3.object("k") == data);

    auto parts = s3.access_keys("UploadPart");
    REQUIRE(parts.size() == 6);
    std::set<std::string> distinct(parts.begin(), parts.end());
    CHECK(distinct.size() >= 2);
    auto issued = aws.issued();
    for (const auto& k : parts) CHECK(std::find(issued.begin(), issued.end(), k) != issued.end());
    // Which key signs the first request depends on how long reading the file took (on a busy
    // machine, more than the first key's second): the upload's last request is signed by a
    // key issued after the one that signed its first.
    auto issued_at = [&](const std::string& k) { return std::find(issued.begin(), issued.end(), k) - issued.begin(); };
    auto create = issued_at(s3.access_keys("CreateMultipartUpload").at(0));
    auto complete = issued_at(s3.access_keys("CompleteMultipartUpload").at(0));
    CHECK(create < std::ssize(issued));
    CHECK(complete < std::ssize(issued));
    CHECK(complete > create);
    CHECK(aws.count("imds") >= 3);
    CHECK(o.provider->refreshes() >= 2);
}

TEST_CASE("refresh: credentials that cannot be refreshed in time fail a multipart upload as a credential error" *
          doctest::timeout(60)) {
    fake_s3 s3;
    s3.delay("UploadPart", 600ms);
    auto now = std::chrono::system_clock::now();
    auto first = drover::s3::timed_credentials{{"ASIAFIRST", "first-secret", "tok"}, now + 10min + 1s};
    drover::s3::api_options o;
    o.endpoint = s3.endpoint();
    o.region = "us-east-1";
    o.path_style = true;
    o.provider = std::make_shared<drover::s3::credential_provider>(
        "iam-role", first, []() -> drover::s3::timed_credentials { throw drover::s3::credential_error("the service is gone"); });

    temp_dir d;
    write_file(d / "f", std::string(16u << 20, 'x'));
    asio::io_context ioc;
    drover::s3::api api(ioc.get_executor(), o);
    auto f = asio::co_spawn(ioc, drover::s3::upload_file(api, "b", "k", d / "f", {5u << 20, 1, false}), asio::use_future);
    ioc.run();
    CHECK_THROWS_WITH_AS(f.get(), doctest::Contains("before they expire failed: the service is gone"),
                         drover::s3::credential_error);
    CHECK_FALSE(s3.object("k"));
}
