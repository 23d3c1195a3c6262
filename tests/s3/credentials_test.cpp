#include "s3/credentials.hpp"

#include <drover/error.hpp>

#include "support/support.hpp"

#include <doctest/doctest.h>

#include <map>

using namespace drover::s3;
using drover::test::temp_dir;
using drover::test::write_file;

namespace {

env_lookup env_of(std::map<std::string, std::string> m) {
    return [m](const std::string& k) -> std::optional<std::string> {
        auto it = m.find(k);
        if (it == m.end()) return std::nullopt;
        return it->second;
    };
}

void write_aws_files(const temp_dir& home) {
    std::filesystem::create_directories(home / ".aws");
    write_file(home / ".aws/credentials", "# comment\n[default]\naws_access_key_id = DEFKEY\naws_secret_access_key=DEFSECRET\n\n"
                                          "[work]\naws_access_key_id  =  WORKKEY  \naws_secret_access_key = WORKSECRET\n"
                                          "aws_session_token = WORKTOKEN\n");
    write_file(home / ".aws/config", "[default]\nregion = eu-west-1\n[profile work]\nregion = ap-south-1\n"
                                     "endpoint_url = http://127.0.0.1:9000\ns3 =\n  addressing_style = path\n");
}

}  // namespace

TEST_CASE("credentials: environment first") {
    temp_dir home;
    write_aws_files(home);
    auto r = resolve_config("", env_of({{"AWS_ACCESS_KEY_ID", "ENVKEY"}, {"AWS_SECRET_ACCESS_KEY", "ENVSECRET"},
                                        {"AWS_SESSION_TOKEN", "ENVTOKEN"}, {"AWS_REGION", "us-west-2"},
                                        {"AWS_ENDPOINT_URL", "http://127.0.0.1:1"}}),
                            home.path());
    CHECK(r.creds.access_key_id == "ENVKEY");
    CHECK(r.creds.secret_access_key == "ENVSECRET");
    CHECK(r.creds.session_token == "ENVTOKEN");
    CHECK(r.region == "us-west-2");
    CHECK(r.endpoint == "http://127.0.0.1:1");
    CHECK(r.source == "environment");
}

TEST_CASE("credentials: default profile from ~/.aws, region from config") {
    temp_dir home;
    write_aws_files(home);
    auto r = resolve_config("", env_of({{"AWS_DEFAULT_REGION", ""}}), home.path());
    CHECK(r.creds.access_key_id == "DEFKEY");
    CHECK(r.creds.secret_access_key == "DEFSECRET");
    CHECK(r.creds.session_token.empty());
    CHECK(r.region == "eu-west-1");
    CHECK(r.endpoint.empty());
}

TEST_CASE("credentials: AWS_PROFILE and an explicit profile select [profile name] sections") {
    temp_dir home;
    write_aws_files(home);
    auto r = resolve_config("", env_of({{"AWS_PROFILE", "work"}}), home.path());
    CHECK(r.creds.access_key_id == "WORKKEY");
    CHECK(r.creds.session_token == "WORKTOKEN");
    CHECK(r.region == "ap-south-1");
    CHECK(r.endpoint == "http://127.0.0.1:9000");
    // An explicit profile wins over keys in the environment.
    auto e = resolve_config("work", env_of({{"AWS_ACCESS_KEY_ID", "ENVKEY"}, {"AWS_SECRET_ACCESS_KEY", "S"}}),
                            home.path());
    CHECK(e.creds.access_key_id == "WORKKEY");
    CHECK(e.source == "profile work");
    // AWS_REGION still overrides the profile's region.
    auto g = resolve_config("work", env_of({{"AWS_REGION", "us-east-2"}}), home.path());
    CHECK(g.region == "us-east-2");
}

TEST_CASE("credentials: file locations from AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE") {
    temp_dir d;
    write_file(d / "c", "[default]\naws_access_key_id=K\naws_secret_access_key=S\n");
    write_file(d / "cfg", "[default]\nregion=sa-east-1\n");
    auto r = resolve_config("", env_of({{"AWS_SHARED_CREDENTIALS_FILE", (d / "c").string()},
                                        {"AWS_CONFIG_FILE", (d / "cfg").string()}}),
                            d / "nohome");
    CHECK(r.creds.access_key_id == "K");
    CHECK(r.region == "sa-east-1");
}

TEST_CASE("credentials: missing credentials name the profile and files, not secrets") {
    temp_dir home;
    write_aws_files(home);
    CHECK_THROWS_WITH_AS(resolve_config("nope", env_of({}), home.path()),
                         doctest::Contains("profile 'nope' has no aws_access_key_id"), drover::config_error);
    temp_dir empty;
    CHECK_THROWS_WITH_AS(resolve_config("", env_of({{"AWS_ACCESS_KEY_ID", "only-the-id"}, {"AWS_EC2_METADATA_DISABLED", "TRUE"}}),
                                        empty.path()),
                         doctest::Contains("disabled by AWS_EC2_METADATA_DISABLED"), drover::config_error);
    // Without that, the instance metadata service is the last resort (resolving sends nothing).
    auto r = resolve_config("", env_of({{"AWS_ACCESS_KEY_ID", "only-the-id"}}), empty.path());
    CHECK(r.plan.k == credential_plan::kind::imds);
    CHECK(r.plan.url == "http://169.254.169.254");
    CHECK(r.plan.not_found.find("no AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the environment") != std::string::npos);
}

TEST_CASE("credentials: malformed files give file:line errors without values") {
    temp_dir home;
    std::filesystem::create_directories(home / ".aws");
    write_file(home / ".aws/credentials", "[default]\naws_access_key_id = K\nthis line is wrong SECRETVALUE\n");
    try {
        resolve_config("", env_of({}), home.path());
        FAIL("expected config_error");
    } catch (const drover::config_error& e) {
        std::string m = e.what();
        CHECK(m.find("credentials:3: expected 'key = value'") != std::string::npos);
        CHECK(m.find("SECRETVALUE") == std::string::npos);
    }
    write_file(home / ".aws/credentials", "[default\n");
    CHECK_THROWS_WITH_AS(resolve_config("", env_of({}), home.path()), doctest::Contains(":1: section header"),
                         drover::config_error);
    write_file(home / ".aws/credentials", "key = v\n");
    CHECK_THROWS_WITH_AS(resolve_config("", env_of({}), home.path()), doctest::Contains("outside of any [section]"),
                         drover::config_error);
}
