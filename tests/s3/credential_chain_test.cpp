// The order of the credential chain (s3/credentials.hpp), botocore's: which source a given
// environment and pair of files select. Resolving is pure, so these tests run nothing and
// send nothing; the sources themselves are tested in credential_sources_test.cpp and
// against s3rver (with botocore's choice compared) in credential_sink_test.cpp.
#include "s3/credentials.hpp"

#include <drover/error.hpp>

#include "support/support.hpp"

#include <doctest/doctest.h>

#include <map>

using namespace drover::s3;
using drover::test::temp_dir;
using drover::test::write_file;
using kind = credential_plan::kind;

namespace {

struct setup {
    temp_dir d;
    std::map<std::string, std::string> env{{"AWS_EC2_METADATA_DISABLED", "true"}};
    void files(const std::string& credentials, const std::string& config) {
        write_file(d / "credentials", credentials);
        write_file(d / "config", config);
        env["AWS_SHARED_CREDENTIALS_FILE"] = (d / "credentials").string();
        env["AWS_CONFIG_FILE"] = (d / "config").string();
    }
    resolved_config resolve(const std::string& profile = "") {
        auto m = env;
        return resolve_config(profile, [m](const std::string& k) -> std::optional<std::string> {
            auto it = m.find(k);
            if (it == m.end()) return std::nullopt;
            return it->second;
        }, d / "home");
    }
};

const std::string every_source_config =
    "[default]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = base\n"
    "credential_process = /bin/false\naws_access_key_id = CONFKEY\naws_secret_access_key = CONFSECRET\n"
    "[profile base]\naws_access_key_id = BASEKEY\naws_secret_access_key = BASESECRET\n";

}  // namespace

TEST_CASE("credential chain: environment, then assume-role, then web identity, as botocore orders them") {
    setup s;
    s.files("[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = FILESECRET\n", every_source_config);
    s.env["AWS_WEB_IDENTITY_TOKEN_FILE"] = "/tmp/token";
    s.env["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/web";
    s.env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/v2/credentials/x";
    s.env["AWS_ACCESS_KEY_ID"] = "ENVKEY";
    s.env["AWS_SECRET_ACCESS_KEY"] = "ENVSECRET";
    CHECK(s.resolve().plan.method == "env");

    s.env.erase("AWS_ACCESS_KEY_ID");
    auto r = s.resolve();
    CHECK(r.plan.k == kind::assume_role);
    CHECK(r.plan.method == "assume-role");
    CHECK(r.plan.role_arn == "arn:aws:iam::123456789012:role/r");
    REQUIRE(r.plan.source);
    CHECK(r.plan.source->keys.access_key_id == "BASEKEY");
    CHECK(r.source == "assume-role (profile default)");

    s.files("[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = FILESECRET\n",
            "[default]\ncredential_process = /bin/false\n");
    r = s.resolve();
    CHECK(r.plan.k == kind::web_identity);
    CHECK(r.plan.method == "assume-role-with-web-identity");
    CHECK(r.plan.token_file == "/tmp/token");
    CHECK(r.plan.role_arn == "arn:aws:iam::123456789012:role/web");
}

TEST_CASE("credential chain: credentials file, then credential_process, then config file keys") {
    setup s;
    s.env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/v2/credentials/x";
    s.files("[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = FILESECRET\n",
            "[default]\ncredential_process = \"/opt/my tool\" --json\naws_access_key_id = CONFKEY\naws_secret_access_key = S\n");
    auto r = s.resolve();
    CHECK(r.plan.method == "shared-credentials-file");
    CHECK(r.creds.access_key_id == "FILEKEY");
    CHECK(r.source == "profile default");

    s.files("", "[default]\ncredential_process = \"/opt/my tool\" --json\naws_access_key_id = CONFKEY\naws_secret_access_key = S\n");
    r = s.resolve();
    CHECK(r.plan.k == kind::process);
    CHECK(r.plan.method == "custom-process");
    CHECK(r.plan.command == "\"/opt/my tool\" --json");
    CHECK(r.creds.empty());

    s.files("", "[default]\naws_access_key_id = CONFKEY\naws_secret_access_key = S\n");
    r = s.resolve();
    CHECK(r.plan.method == "config-file");
    CHECK(r.creds.access_key_id == "CONFKEY");
}

TEST_CASE("credential chain: container credentials, then the instance metadata service") {
    setup s;
    s.files("", "[default]\nregion = eu-west-1\n");
    s.env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://127.0.0.1:9/full";
    s.env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "tok";
    auto r = s.resolve();
    CHECK(r.plan.k == kind::container);
    CHECK(r.plan.method == "container-role");
    CHECK(r.plan.url == "http://127.0.0.1:9/full");
    CHECK(r.plan.auth_token == "tok");
    // RELATIVE_URI wins over FULL_URI and always means 169.254.170.2.
    s.env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/v2/credentials/abc";
    s.env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = "/var/run/token";
    r = s.resolve();
    CHECK(r.plan.url == "http://169.254.170.2/v2/credentials/abc");
    CHECK(r.plan.auth_token_file == "/var/run/token");

    s.env.erase("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    s.env.erase("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    s.env["AWS_EC2_METADATA_DISABLED"] = "false";
    s.env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = "http://127.0.0.1:9";
    s.env["AWS_METADATA_SERVICE_TIMEOUT"] = "2";
    s.env["AWS_METADATA_SERVICE_NUM_ATTEMPTS"] = "3";
    r = s.resolve();
    CHECK(r.plan.k == kind::imds);
    CHECK(r.plan.method == "iam-role");
    CHECK(r.plan.url == "http://127.0.0.1:9");
    CHECK(r.plan.timeout == std::chrono::seconds(2));
    CHECK(r.plan.attempts == 3);
    CHECK(r.region == "eu-west-1");
    s.env["AWS_METADATA_SERVICE_TIMEOUT"] = "soon";
    CHECK_THROWS_WITH_AS(s.resolve(), doctest::Contains("AWS_METADATA_SERVICE_TIMEOUT"), drover::config_error);
}

TEST_CASE("credential chain: an explicit profile skips the environment's keys and web identity") {
    setup s;
    s.files("[work]\naws_access_key_id = WORKKEY\naws_secret_access_key = WORKSECRET\n", "");
    s.env["AWS_ACCESS_KEY_ID"] = "ENVKEY";
    s.env["AWS_SECRET_ACCESS_KEY"] = "ENVSECRET";
    s.env["AWS_WEB_IDENTITY_TOKEN_FILE"] = "/tmp/token";
    s.env["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/web";
    auto r = s.resolve("work");
    CHECK(r.plan.method == "shared-credentials-file");
    CHECK(r.creds.access_key_id == "WORKKEY");
}

TEST_CASE("credential chain: assume-role settings, source profiles and their errors") {
    setup s;
    s.files("[base]\naws_access_key_id = BASEKEY\naws_secret_access_key = BASESECRET\n",
            "[profile app]\nrole_arn = arn:aws:iam::1:role/app\nsource_profile = base\nrole_session_name = nightly\n"
            "external_id = ext-7\nduration_seconds = 1800\n"
            "[profile chained]\nrole_arn = arn:aws:iam::1:role/second\nsource_profile = app\n"
            "[profile proc]\nrole_arn = arn:aws:iam::1:role/p\nsource_profile = tool\n"
            "[profile tool]\ncredential_process = /usr/bin/get-creds\n"
            "[profile self]\nrole_arn = arn:aws:iam::1:role/s\nsource_profile = self\naws_access_key_id = SELFKEY\naws_secret_access_key = S\n"
            "[profile loop1]\nrole_arn = arn:aws:iam::1:role/l1\nsource_profile = loop2\n"
            "[profile loop2]\nrole_arn = arn:aws:iam::1:role/l2\nsource_profile = loop1\n"
            "[profile nosource]\nrole_arn = arn:aws:iam::1:role/n\n"
            "[profile missing]\nrole_arn = arn:aws:iam::1:role/m\nsource_profile = nowhere\n"
            "[profile empty]\nregion = us-east-1\n"
            "[profile emptysource]\nrole_arn = arn:aws:iam::1:role/e\nsource_profile = empty\n"
            "[profile baddur]\nrole_arn = arn:aws:iam::1:role/d\nsource_profile = base\nduration_seconds = 99999999\n"
            "[profile sts]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = base\nendpoint_url = http://127.0.0.1:7\n");
    auto r = s.resolve("app");
    CHECK(r.plan.session_name == "nightly");
    CHECK(r.plan.external_id == "ext-7");
    CHECK(r.plan.duration_seconds == 1800);
    CHECK(r.plan.sts_endpoint.empty());

    r = s.resolve("chained");
    REQUIRE(r.plan.source);
    CHECK(r.plan.source->k == kind::assume_role);
    CHECK(r.plan.source->role_arn == "arn:aws:iam::1:role/app");
    CHECK(r.plan.source->source->keys.access_key_id == "BASEKEY");

    r = s.resolve("proc");
    CHECK(r.plan.source->k == kind::process);

    r = s.resolve("self");  // a profile may be its own source: its static keys
    CHECK(r.plan.k == kind::assume_role);
    CHECK(r.plan.source->keys.access_key_id == "SELFKEY");

    CHECK_THROWS_WITH_AS(s.resolve("loop1"), doctest::Contains("leads back to itself"), drover::config_error);
    CHECK_THROWS_WITH_AS(s.resolve("nosource"), doctest::Contains("role_arn needs a source_profile"), drover::config_error);
    CHECK_THROWS_WITH_AS(s.resolve("missing"), doctest::Contains("'nowhere' referenced in profile 'missing' does not exist"),
                         drover::config_error);
    CHECK_THROWS_WITH_AS(s.resolve("emptysource"), doctest::Contains("has no credentials"), drover::config_error);
    CHECK_THROWS_WITH_AS(s.resolve("baddur"), doctest::Contains("duration_seconds"), drover::config_error);

    // STS endpoint: AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, the profile's endpoint_url.
    CHECK(s.resolve("sts").plan.sts_endpoint == "http://127.0.0.1:7");
    s.env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:8";
    CHECK(s.resolve("sts").plan.sts_endpoint == "http://127.0.0.1:8");
    s.env["AWS_ENDPOINT_URL_STS"] = "http://127.0.0.1:9";
    CHECK(s.resolve("sts").plan.sts_endpoint == "http://127.0.0.1:9");
}

TEST_CASE("credential chain: web identity from a profile, and a token file without a role is an error") {
    setup s;
    s.files("", "[profile eks]\nweb_identity_token_file = /var/run/token\nrole_arn = arn:aws:iam::1:role/eks\n"
                "role_session_name = pod-1\n[profile half]\nweb_identity_token_file = /var/run/token\n");
    auto r = s.resolve("eks");
    CHECK(r.plan.k == kind::web_identity);  // not assume-role: role_arn comes with a token file
    CHECK(r.plan.session_name == "pod-1");
    CHECK(r.plan.profile == "eks");
    CHECK_THROWS_WITH_AS(s.resolve("half"), doctest::Contains("no role ARN"), drover::config_error);
    s.env["AWS_WEB_IDENTITY_TOKEN_FILE"] = "/var/run/other";
    s.env["AWS_ROLE_ARN"] = "arn:aws:iam::1:role/env";
    s.env["AWS_ROLE_SESSION_NAME"] = "envsession";
    r = s.resolve();
    CHECK(r.plan.token_file == "/var/run/other");
    CHECK(r.plan.session_name == "envsession");
}
