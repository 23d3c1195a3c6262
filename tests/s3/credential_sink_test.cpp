// The S3 sink against a real s3rver (which verifies SigV4) with credentials from each
// source of the chain: the environment, the credentials and config files, credential_process,
// an assume-role profile, web identity, container credentials and the EC2 instance metadata
// service — the last four served on loopback by tests/services/fake_aws.*, handing out keys
// that s3rver knows. For each, botocore (Debian's python3-botocore) resolves the same
// environment and files against the same fakes: drover must pick the same source and key id.
// Secrets never appear in errors, the journal or the run's files.
#include <drover/error.hpp>
#include <drover/executors/local.hpp>
#include <drover/scheduler.hpp>
#include <drover/sinks/s3.hpp>

#include "s3/url.hpp"
#include "services/fake_aws.hpp"
#include "services/s3rver.hpp"
#include "support/support.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <optional>

extern char** environ;

using namespace drover::test;
using namespace std::chrono_literals;

namespace {

const key_pair env_key{"AKIAENVSTATIC001", "env-secret-value-0001"};
const key_pair file_key{"AKIAFILESTATIC01", "file-secret-value-0001"};
const key_pair conf_key{"AKIACONFSTATIC01", "conf-secret-value-0001"};
const key_pair proc_key{"AKIAPROCESS00001", "process-secret-value-01"};
const key_pair source_key{"AKIASOURCE000001", "source-secret-value-001"};
const key_pair issued_key{"ASIAISSUED000001", "issued-secret-value-001"};
const std::string container_token = "container-auth-token-value";
const std::string web_token = "web-identity-token-value";

const std::vector<std::string>& all_secrets() {
    static const std::vector<std::string> v{env_key.secret, file_key.secret, conf_key.secret, proc_key.secret,
                                            source_key.secret, issued_key.secret, container_token, web_token};
    return v;
}

// The process environment for one test: every AWS_* variable removed, restored at the end.
class scoped_env {
public:
    scoped_env() {
        std::vector<std::string> names;
        for (char** e = environ; *e; ++e) {
            std::string_view kv(*e);
            if (kv.rfind("AWS_", 0) == 0) names.emplace_back(kv.substr(0, kv.find('=')));
        }
        for (const auto& n : names) unset(n);
        set("HOME", "/nonexistent");
        set("AWS_EC2_METADATA_DISABLED", "true");
    }
    ~scoped_env() {
        for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
            if (it->second) ::setenv(it->first.c_str(), it->second->c_str(), 1);
            else ::unsetenv(it->first.c_str());
        }
    }
    void set(const std::string& n, const std::string& v) {
        save(n);
        ::setenv(n.c_str(), v.c_str(), 1);
    }
    void unset(const std::string& n) {
        save(n);
        ::unsetenv(n.c_str());
    }

private:
    void save(const std::string& n) {
        const char* v = std::getenv(n.c_str());
        saved_.emplace_back(n, v ? std::optional<std::string>(v) : std::nullopt);
    }
    std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

bool skip_without_services() {
    std::string why = s3rver_unavailable();
    if (why.empty() && run_shell("/usr/bin/python3 -c 'import botocore.session' 2>&1").exit_code != 0)
        why = "python3-botocore missing (apt install python3-botocore)";
    if (why.empty()) return false;
    if (services_required()) FAIL("s3rver and botocore required: " << why);
    MESSAGE("skipped: " << why);
    return true;
}

struct chain_fixture {
    temp_dir d;
    scoped_env env;
    fake_aws aws{{issued_key}};
    s3rver srv{s3rver::options{"test", false,
                               {{env_key.id, env_key.secret}, {file_key.id, file_key.secret}, {conf_key.id, conf_key.secret},
                                {proc_key.id, proc_key.secret}, {source_key.id, source_key.secret},
                                {issued_key.id, issued_key.secret}},
                               {}, false}};

    chain_fixture() {
        env.set("AWS_SHARED_CREDENTIALS_FILE", (d / "credentials").string());
        env.set("AWS_CONFIG_FILE", (d / "config").string());
        env.set("AWS_DEFAULT_REGION", "us-east-1");
        aws.source_key(source_key);
        aws.container_token(container_token);
        aws.web_identity_token(web_token);
        write_file(d / "credentials", "");
        write_file(d / "config", "");
    }

    drover::s3_sink_options sink_options(const std::string& prefix) const {
        auto o = srv.sink_options(prefix);
        o.credentials.reset();  // from the chain
        return o;
    }

    // The source and key id drover's chain picks, then botocore's, then a run through the sink.
    void check(const std::string& method, const std::string& key_id, const std::string& prefix) {
        auto opts = sink_options(prefix);
        auto api = drover::s3::make_api_options(opts);
        CHECK(api.provider->method() == method);
        CHECK(api.provider->current().access_key_id == key_id);

        auto b = run_shell("/usr/bin/python3 " DROVER_SOURCE_DIR "/tests/s3/botocore_credentials.py 2>&1");
        INFO("botocore: " << b.output);
        CHECK(b.exit_code == 0);
        CHECK(b.output == method + " " + key_id + "\n");

        drover::scheduler s({.state_dir = d / ("state-" + prefix)});
        s.add_executor(std::make_shared<drover::local_executor>(drover::local_executor_options{.slots = 2}));
        s.set_sink(drover::s3_sink{opts});
        for (int i = 0; i < 3; ++i) {
            drover::task_spec t;
            t.id = "t" + std::to_string(i);
            t.command = {"sh", "-c", "echo '{\"n\": " + std::to_string(i) + "}'"};
            s.submit(std::move(t));
        }
        auto sum = s.run();
        CHECK(sum.ok());
        auto ls = run_shell(srv.aws() + " ls --recursive s3://test/" + prefix + "/ 2>&1");
        CHECK(ls.output.find(prefix + "/t2.jsonl.gz") != std::string::npos);
        no_secrets_in(d / ("state-" + prefix));
    }

    // Neither the run's files (journal, logs, summary) nor any text may hold a secret.
    static void no_secrets_in(const fs::path& dir) {
        for (const auto& s : all_secrets()) {
            auto g = run_shell("grep -r -a -l -F -e '" + s + "' '" + dir.string() + "' 2>/dev/null");
            CHECK_MESSAGE(g.output.empty(), "secret found in " << g.output);
        }
    }
};

void no_secrets(const std::string& text) {
    for (const auto& s : all_secrets()) CHECK_MESSAGE(text.find(s) == std::string::npos, text);
}

}  // namespace

TEST_CASE("credential sink: keys from the environment and from both files" * doctest::timeout(120)) {
    if (skip_without_services()) return;
    chain_fixture f;
    write_file(f.d / "credentials", "[default]\naws_access_key_id = " + file_key.id + "\naws_secret_access_key = " +
                                        file_key.secret + "\n");
    write_file(f.d / "config", "[profile conf]\naws_access_key_id = " + conf_key.id + "\naws_secret_access_key = " +
                                   conf_key.secret + "\n");
    f.env.set("AWS_ACCESS_KEY_ID", env_key.id);
    f.env.set("AWS_SECRET_ACCESS_KEY", env_key.secret);
    f.check("env", env_key.id, "env");
    f.env.unset("AWS_ACCESS_KEY_ID");
    f.env.unset("AWS_SECRET_ACCESS_KEY");
    f.check("shared-credentials-file", file_key.id, "file");
    f.env.set("AWS_PROFILE", "conf");
    f.check("config-file", conf_key.id, "conf");
}

TEST_CASE("credential sink: credential_process" * doctest::timeout(120)) {
    if (skip_without_services()) return;
    chain_fixture f;
    write_file(f.d / "creds.sh", "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"" + proc_key.id +
                                     "\", \"SecretAccessKey\": \"" + proc_key.secret + "\"}'\n");
    fs::permissions(f.d / "creds.sh", fs::perms::owner_all);
    write_file(f.d / "config", "[default]\ncredential_process = sh '" + (f.d / "creds.sh").string() + "'\n");
    f.check("custom-process", proc_key.id, "process");
}

TEST_CASE("credential sink: an assume-role profile through STS AssumeRole" * doctest::timeout(120)) {
    if (skip_without_services()) return;
    chain_fixture f;
    write_file(f.d / "config", "[profile app]\nrole_arn = arn:aws:iam::123456789012:role/app\nsource_profile = base\n"
                               "role_session_name = nightly\nexternal_id = ext-7\nduration_seconds = 1800\n"
                               "[profile base]\naws_access_key_id = " + source_key.id + "\naws_secret_access_key = " +
                                   source_key.secret + "\n");
    f.env.set("AWS_PROFILE", "app");
    f.env.set("AWS_ENDPOINT_URL_STS", f.aws.endpoint());
    f.check("assume-role", issued_key.id, "role");
    auto form = f.aws.last_form("AssumeRole");
    CHECK(form["RoleSessionName"] == "nightly");
    CHECK(form["ExternalId"] == "ext-7");
    CHECK(form["DurationSeconds"] == "1800");
}

TEST_CASE("credential sink: web identity through STS AssumeRoleWithWebIdentity" * doctest::timeout(120)) {
    if (skip_without_services()) return;
    chain_fixture f;
    write_file(f.d / "token", web_token);  // as EKS writes it: no newline (botocore sends the file as it is)
    f.env.set("AWS_WEB_IDENTITY_TOKEN_FILE", (f.d / "token").string());
    f.env.set("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/eks");
    f.env.set("AWS_ROLE_SESSION_NAME", "pod-7");
    f.env.set("AWS_ENDPOINT_URL_STS", f.aws.endpoint());
    f.check("assume-role-with-web-identity", issued_key.id, "web");
    CHECK(f.aws.last_form("AssumeRoleWithWebIdentity")["RoleSessionName"] == "pod-7");
}

TEST_CASE("credential sink: container credentials with an authorization token" * doctest::timeout(120)) {
    if (skip_without_services()) return;
    chain_fixture f;
    f.env.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", f.aws.container_url());
    f.env.set("AWS_CONTAINER_AUTHORIZATION_TOKEN", container_token);
    f.check("container-role", issued_key.id, "container");
}

TEST_CASE("credential sink: the EC2 instance metadata service with IMDSv2 tokens" * doctest::timeout(120)) {
    if (skip_without_services()) return;
    chain_fixture f;
    f.env.set("AWS_EC2_METADATA_DISABLED", "false");
    f.env.set("AWS_EC2_METADATA_SERVICE_ENDPOINT", f.aws.endpoint() + "/");
    f.check("iam-role", issued_key.id, "imds");
    CHECK(f.aws.count("imds-token") >= 2);  // drover and botocore both asked for a session token
}

TEST_CASE("credential sink: temporary credentials are refreshed during a long run" * doctest::timeout(120)) {
    if (skip_without_services()) return;
    std::vector<key_pair> rotating;
    for (int i = 1; i <= 6; ++i) rotating.push_back({"ASIAROTATING0000" + std::to_string(i), "rotating-secret-" + std::to_string(i)});
    scoped_env env;
    temp_dir d;
    std::vector<std::pair<std::string, std::string>> pairs;
    for (const auto& k : rotating) pairs.emplace_back(k.id, k.secret);
    s3rver srv{s3rver::options{"test", false, pairs, {}, false}};
    fake_aws aws(rotating);
    aws.lifetime(15min + 1s);  // inside botocore's advisory window a second after each issue
    env.set("AWS_CONTAINER_CREDENTIALS_FULL_URI", aws.container_url());
    auto o = srv.sink_options("long");
    o.credentials.reset();
    drover::scheduler s({.state_dir = d / "state"});
    s.add_executor(std::make_shared<drover::local_executor>(drover::local_executor_options{.slots = 1}));
    s.set_sink(drover::s3_sink{o});
    for (int i = 0; i < 4; ++i) {
        drover::task_spec t;
        t.id = "t" + std::to_string(i);
        t.command = {"sh", "-c", "sleep 1.2; echo '{\"n\": " + std::to_string(i) + "}'"};
        s.submit(std::move(t));
    }
    auto sum = s.run();
    CHECK(sum.ok());
    CHECK(aws.issued().size() >= 3);  // every commit found its credentials in the window
    auto ls = run_shell(srv.aws() + " ls --recursive s3://test/long/ 2>&1");
    for (int i = 0; i < 4; ++i) CHECK(ls.output.find("long/t" + std::to_string(i) + ".jsonl.gz") != std::string::npos);
}

TEST_CASE("credential sink: a failing source stops the run with the server's message and no secret" * doctest::timeout(120)) {
    if (skip_without_services()) return;
    chain_fixture f;
    write_file(f.d / "config", "[profile app]\nrole_arn = arn:aws:iam::123456789012:role/app\nsource_profile = base\n"
                               "[profile base]\naws_access_key_id = " + source_key.id + "\naws_secret_access_key = " +
                                   source_key.secret + "\n");
    f.env.set("AWS_PROFILE", "app");
    f.env.set("AWS_ENDPOINT_URL_STS", f.aws.endpoint());
    f.aws.inject("sts", fake_aws::fault::error_document);
    std::string message;
    drover::scheduler s({.state_dir = f.d / "state"});
    s.add_executor(std::make_shared<drover::local_executor>(drover::local_executor_options{.slots = 1}));
    s.set_sink(drover::s3_sink{f.sink_options("fail")});
    drover::task_spec t;
    t.id = "t1";
    t.command = {"sh", "-c", "echo '{\"n\": 1}'"};
    s.submit(std::move(t));
    try {
        auto sum = s.run();
        message = sum.halt_reason;
        CHECK_FALSE(sum.ok());
    } catch (const drover::error& e) {
        message = e.what();
    }
    INFO(message);
    CHECK(message.find("STS AssumeRole of arn:aws:iam::123456789012:role/app") != std::string::npos);
    CHECK(message.find("AccessDenied: User is not authorized to perform: sts:AssumeRole") != std::string::npos);
    no_secrets(message);
    chain_fixture::no_secrets_in(f.d / "state");

    // credential_process failing with stderr: the same, and its output is not quoted.
    write_file(f.d / "bad.sh", "#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"" + proc_key.id +
                                   "\", \"SecretAccessKey\": \"" + proc_key.secret + "\"'\necho 'expired session' >&2\nexit 2\n");
    write_file(f.d / "config", "[default]\ncredential_process = sh " + (f.d / "bad.sh").string() + "\n");
    f.env.unset("AWS_PROFILE");
    try {
        drover::s3::make_api_options(f.sink_options("fail"));
        FAIL("expected an error");
    } catch (const drover::config_error& e) {
        message = e.what();
    }
    CHECK(message.find("exited with status 2: expired session") != std::string::npos);
    no_secrets(message);
}
