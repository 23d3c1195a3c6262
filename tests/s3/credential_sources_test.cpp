// Each credential source against the loopback fakes of the services it talks to
// (tests/services/fake_aws.*) or a real process: the good path, then hostile answers —
// malformed JSON/XML, 500s, slow endpoints, oversized bodies, expired credentials, error
// documents, a process that fails. No error ever carries a secret.
#include "s3/container_credentials.hpp"
#include "s3/credential_chain.hpp"
#include "s3/credential_process.hpp"
#include "s3/imds.hpp"
#include "s3/sts.hpp"

#include "services/fake_aws.hpp"
#include "support/support.hpp"

#include <doctest/doctest.h>

using namespace drover::s3;
using drover::test::fake_aws;
using drover::test::key_pair;
using drover::test::temp_dir;
using drover::test::write_file;
using fault = fake_aws::fault;
using namespace std::chrono_literals;

namespace {

const key_pair issued{"ASIAISSUED0001", "ISSUED-SECRET-0001-do-not-print"};
const key_pair source{"AKIASOURCE0001", "SOURCE-SECRET-0001-do-not-print"};

// The message of what `f` throws; checks it is a credential_error carrying no secret.
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const credential_error& e) {
        std::string m = e.what();
        for (const char* secret : {"ISSUED-SECRET", "SOURCE-SECRET", "PROCESS-SECRET", "web-token-value"})
            CHECK_MESSAGE(m.find(secret) == std::string::npos, m);
        return m;
    }
    FAIL("expected credential_error");
    return {};
}

std::string script(const temp_dir& d, const std::string& name, const std::string& body) {
    auto p = d / name;
    write_file(p, "#!/bin/sh\n" + body);
    std::filesystem::permissions(p, std::filesystem::perms::owner_all);
    return p.string();
}

}  // namespace

TEST_CASE("credential_process: command words are split like a POSIX shell") {
    CHECK(split_command("/bin/tool --a 'b c' \"d \\\"e\\\"\" f\\ g") ==
          std::vector<std::string>{"/bin/tool", "--a", "b c", "d \"e\"", "f g"});
    CHECK_THROWS_AS(split_command("tool 'open"), credential_error);
}

TEST_CASE("credential_process: Version 1 output with a session token and an expiration") {
    temp_dir d;
    auto cmd = script(d, "creds.sh",
                      "echo '{\"Version\": 1, \"AccessKeyId\": \"AKIAPROCESS\", \"SecretAccessKey\": \"PROCESS-SECRET\","
                      " \"SessionToken\": \"tok\", \"Expiration\": \"2030-01-02T03:04:05Z\"}'\n");
    auto c = run_credential_process("'" + cmd + "' --profile x", "dev");
    CHECK(c.creds.access_key_id == "AKIAPROCESS");
    CHECK(c.creds.secret_access_key == "PROCESS-SECRET");
    CHECK(c.creds.session_token == "tok");
    REQUIRE(c.expiration);
    CHECK(std::chrono::system_clock::to_time_t(*c.expiration) == 1893553445);
}

TEST_CASE("credential_process: failures name the program and its stderr, never the output") {
    temp_dir d;
    auto fails = script(d, "fails.sh", "echo 'token expired, run sso login' >&2\nexit 3\n");
    auto m = error_of([&] { run_credential_process(fails + " --secret-arg PROCESS-SECRET", "dev"); });
    CHECK(m.find("credential_process of profile 'dev'") != std::string::npos);
    CHECK(m.find("exited with status 3: token expired, run sso login") != std::string::npos);

    auto bad_json = script(d, "bad.sh", "echo '{\"Version\": 1, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"PROCESS-SECRET\"'\n");
    CHECK(error_of([&] { run_credential_process(bad_json, "dev"); }).find("not valid JSON") != std::string::npos);
    auto v2 = script(d, "v2.sh", "echo '{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": \"PROCESS-SECRET\"}'\n");
    CHECK(error_of([&] { run_credential_process(v2, "dev"); }).find("unsupported \"Version\"") != std::string::npos);
    auto no_secret = script(d, "nosecret.sh", "echo '{\"Version\": 1, \"AccessKeyId\": \"A\"}'\n");
    CHECK(error_of([&] { run_credential_process(no_secret, "dev"); }).find("no SecretAccessKey") != std::string::npos);
    auto huge = script(d, "huge.sh", "head -c 200000 /dev/zero | tr '\\0' 'x'\n");
    CHECK(error_of([&] { run_credential_process(huge, "dev"); }).find("more than 64 KiB") != std::string::npos);
    auto slow = script(d, "slow.sh", "sleep 30\n");
    auto t0 = std::chrono::steady_clock::now();
    CHECK(error_of([&] { run_credential_process(slow, "dev", 300ms); }).find("did not finish") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - t0 < 5s);
    CHECK(error_of([&] { run_credential_process((d / "missing").string(), "dev"); }).find("cannot start") !=
          std::string::npos);
}

TEST_CASE("imds: IMDSv2 session token, role, credentials") {
    fake_aws aws({issued});
    auto c = fetch_imds_credentials({aws.endpoint(), 1000ms, 1});
    CHECK(c.creds.access_key_id == issued.id);
    CHECK(c.creds.secret_access_key == issued.secret);
    CHECK(c.creds.session_token == "token-for-" + issued.id);
    CHECK(c.expiration);
    CHECK(aws.count("imds-token") == 1);
    CHECK(aws.count("imds-role") == 1);
    CHECK(aws.count("imds") == 1);
    // A service that refuses the token PUT (405) is asked IMDSv1-style.
    aws.imds_token_status(405);
    aws.allow_imds_v1(true);
    CHECK(fetch_imds_credentials({aws.endpoint(), 1000ms, 1}).creds.access_key_id == issued.id);
}

TEST_CASE("imds: hostile answers are clear errors") {
    fake_aws aws({issued});
    imds_options o{aws.endpoint(), 1000ms, 1};
    aws.inject("imds", fault::malformed, 1);
    CHECK(error_of([&] { fetch_imds_credentials(o); }).find("not valid JSON") != std::string::npos);
    aws.inject("imds", fault::status_500, 1);
    CHECK(error_of([&] { fetch_imds_credentials(o); }).find("HTTP 500") != std::string::npos);
    aws.inject("imds", fault::oversized, 1);
    CHECK(error_of([&] { fetch_imds_credentials(o); }).find("exceeds") != std::string::npos);
    aws.inject("imds", fault::error_document, 1);
    CHECK(error_of([&] { fetch_imds_credentials(o); }).find("AssumeRoleUnauthorizedAccess: EC2 cannot assume the role") !=
          std::string::npos);
    aws.inject("imds", fault::slow, 1);
    auto t0 = std::chrono::steady_clock::now();
    CHECK(error_of([&] { fetch_imds_credentials(o); }).find("timed out after 1s") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - t0 < 2500ms);
    // Expired credentials are refused when the chain starts with them.
    aws.inject("imds", fault::expired, 1);
    credential_plan plan;
    plan.k = credential_plan::kind::imds;
    plan.method = "iam-role";
    plan.url = aws.endpoint();
    CHECK(error_of([&] { make_credential_provider(plan, {}); }).find("have already expired") != std::string::npos);
    // Nothing listening: "not found", quickly.
    plan.url = "http://127.0.0.1:" + std::to_string(drover::test::free_loopback_port());
    plan.not_found = "no keys anywhere";
    CHECK(error_of([&] { make_credential_provider(plan, {}); }).find("S3 credentials not found: no keys anywhere, and EC2") !=
          std::string::npos);
}

TEST_CASE("container credentials: authorization token, token file, and which hosts plain http may reach") {
    fake_aws aws({issued});
    aws.container_token("Bearer c-token");
    auto c = fetch_container_credentials({aws.container_url(), "Bearer c-token", ""});
    CHECK(c.creds.access_key_id == issued.id);
    temp_dir d;
    write_file(d / "token", "Bearer c-token\n");
    CHECK(fetch_container_credentials({aws.container_url(), "wrong", (d / "token").string()}).creds.access_key_id ==
          issued.id);  // the file wins, read at each fetch
    CHECK(error_of([&] { fetch_container_credentials({aws.container_url(), "Bearer wrong", ""}); })
              .find("HTTP 403 AccessDenied: bad authorization token") != std::string::npos);
    CHECK(error_of([&] { fetch_container_credentials({aws.container_url(), "a\r\nX-Evil: 1", ""}); })
              .find("line break") != std::string::npos);

    CHECK_NOTHROW(check_container_url("http://127.0.0.1:80/x"));
    CHECK_NOTHROW(check_container_url("http://127.8.9.10/x"));
    CHECK_NOTHROW(check_container_url("http://[::1]:8080/x"));
    CHECK_NOTHROW(check_container_url("http://localhost/x"));
    CHECK_NOTHROW(check_container_url("http://169.254.170.2/v2/credentials/x"));
    CHECK_NOTHROW(check_container_url("http://169.254.170.23/v1/credentials"));
    CHECK_NOTHROW(check_container_url("http://[fd00:ec2::23]/v1/credentials"));
    CHECK_NOTHROW(check_container_url("https://creds.example.com/x"));
    for (const char* bad : {"http://creds.example.com/x", "http://10.0.0.1/x", "http://169.254.169.254/x",
                            "http://localhost.example.com/x"})
        CHECK_MESSAGE(error_of([&] { check_container_url(bad); }).find("is not allowed") != std::string::npos, bad);
}

TEST_CASE("container credentials: 500s are retried, then reported, malformed and oversized answers are errors") {
    fake_aws aws({issued});
    aws.inject("container", fault::status_500, 2);
    CHECK(fetch_container_credentials({aws.container_url(), "", ""}).creds.access_key_id == issued.id);
    CHECK(aws.count("container") == 3);
    aws.inject("container", fault::status_500);
    CHECK(error_of([&] { fetch_container_credentials({aws.container_url(), "", ""}); })
              .find("HTTP 500 InternalError: the fake failed (gave up after 3 tries)") != std::string::npos);
    aws.inject("container", fault::malformed, 1);
    CHECK(error_of([&] { fetch_container_credentials({aws.container_url(), "", ""}); }).find("not valid JSON") !=
          std::string::npos);
    aws.inject("container", fault::oversized, 1);
    CHECK(error_of([&] { fetch_container_credentials({aws.container_url(), "", "", 2000ms, 1}); }).find("exceeds") !=
          std::string::npos);
}

TEST_CASE("sts: AssumeRole is signed with the source credentials and sends the role's settings") {
    fake_aws aws({issued});
    aws.source_key(source);
    sts_target t{aws.endpoint(), "eu-west-1"};
    auto c = assume_role(t, {source.id, source.secret, ""}, {"arn:aws:iam::1:role/app", "nightly", "ext-7", 1800});
    CHECK(c.creds.access_key_id == issued.id);
    CHECK(c.creds.session_token == "token-for-" + issued.id);
    auto form = aws.last_form("AssumeRole");
    CHECK(form["RoleArn"] == "arn:aws:iam::1:role/app");
    CHECK(form["RoleSessionName"] == "nightly");
    CHECK(form["ExternalId"] == "ext-7");
    CHECK(form["DurationSeconds"] == "1800");
    CHECK(form["Version"] == "2011-06-15");
    // Default session name, no optional fields.
    assume_role(t, {source.id, source.secret, ""}, {"arn:aws:iam::1:role/app", "", "", std::nullopt});
    form = aws.last_form("AssumeRole");
    CHECK(form["RoleSessionName"].rfind("drover-", 0) == 0);
    CHECK_FALSE(form.count("ExternalId"));
    // The wrong source secret: STS's code and message, not the secret.
    auto m = error_of([&] { assume_role(t, {source.id, "SOURCE-SECRET-wrong", ""}, {"arn:aws:iam::1:role/app"}); });
    CHECK(m.find("STS AssumeRole of arn:aws:iam::1:role/app at http://127.0.0.1:") != std::string::npos);
    CHECK(m.find("HTTP 403 SignatureDoesNotMatch: The request signature we calculated") != std::string::npos);
    CHECK(m.find("(request id fake-request-1)") != std::string::npos);
    CHECK(sts_url({"", "ap-south-1"}) == "https://sts.ap-south-1.amazonaws.com");
    CHECK(sts_url({}) == "https://sts.us-east-1.amazonaws.com");
}

TEST_CASE("sts: error answers, malformed XML, 500s and slow endpoints") {
    fake_aws aws({issued});
    aws.source_key(source);
    sts_target t{aws.endpoint(), "us-east-1", "", 1000ms};
    credentials src{source.id, source.secret, ""};
    role_request r{"arn:aws:iam::1:role/app"};
    aws.inject("sts", fault::error_document, 1);
    CHECK(error_of([&] { assume_role(t, src, r); })
              .find("HTTP 403 AccessDenied: User is not authorized to perform: sts:AssumeRole") != std::string::npos);
    aws.inject("sts", fault::malformed, 1);
    CHECK(error_of([&] { assume_role(t, src, r); }).find("malformed AssumeRole XML") != std::string::npos);
    aws.inject("sts", fault::status_500, 2);
    CHECK(assume_role(t, src, r).creds.access_key_id == issued.id);  // retried
    aws.inject("sts", fault::status_500);
    CHECK(error_of([&] { assume_role(t, src, r); }).find("HTTP 500 InternalFailure: the fake failed (request id fake-request-1) (gave up after 3 attempts)") !=
          std::string::npos);
    // Transport failures are retried like 500s (three tries in all).
    aws.inject("sts", fault::oversized, 3);
    CHECK(error_of([&] { assume_role(t, src, r); }).find("exceeds 262144 bytes") != std::string::npos);
    aws.inject("sts", fault::slow, 3);
    CHECK(error_of([&] { assume_role(t, src, r); }).find("timed out after 1s") != std::string::npos);
}

TEST_CASE("sts: AssumeRoleWithWebIdentity is unsigned and sends the token file's token") {
    fake_aws aws({issued});
    aws.web_identity_token("web-token-value");
    sts_target t{aws.endpoint(), "us-east-1"};
    auto c = assume_role_with_web_identity(t, {"arn:aws:iam::1:role/eks", "pod"}, "web-token-value");
    CHECK(c.creds.access_key_id == issued.id);
    CHECK(aws.last_form("AssumeRoleWithWebIdentity")["RoleSessionName"] == "pod");
    CHECK(error_of([&] { assume_role_with_web_identity(t, {"arn:aws:iam::1:role/eks"}, "web-token-value-stale"); })
              .find("InvalidIdentityToken") != std::string::npos);

    // Through the chain: the token file is read at every fetch.
    temp_dir d;
    write_file(d / "token", "web-token-value\n");
    credential_plan plan;
    plan.k = credential_plan::kind::web_identity;
    plan.method = "assume-role-with-web-identity";
    plan.role_arn = "arn:aws:iam::1:role/eks";
    plan.token_file = (d / "token").string();
    plan.sts_endpoint = aws.endpoint();
    CHECK(make_credential_provider(plan, {"us-east-1"})->current().access_key_id == issued.id);
    plan.token_file = (d / "missing").string();
    CHECK(error_of([&] { make_credential_provider(plan, {"us-east-1"}); }).find("does not exist") != std::string::npos);
}
