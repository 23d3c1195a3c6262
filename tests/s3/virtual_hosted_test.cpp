// Virtual-hosted-style addressing (bucket.s3.<domain>/key) against a real s3rver, not only
// through the signer. The bucket's host name must resolve to 127.0.0.1: this test process
// moves into a private mount namespace and binds its own /etc/hosts there (root only), in
// which test.s3.drover.test is 127.0.0.1 and the bare s3.drover.test is 127.0.0.2, where
// nothing listens — so only a virtual-hosted request can reach s3rver. (.test is a reserved
// TLD: nothing is looked up outside this file.)
//
// s3rver 4.0.4 checks a virtual-hosted SigV4 request against a canonical URI with the bucket
// in it ("/test/key"); S3 signs the path as sent ("/key", the AWS docs' worked example that
// sigv4_test.cpp checks). The AWS CLI (botocore) is refused the same way below, so here
// s3rver runs with allowMismatchedSignatures: the key id must still be one it knows.
#include <drover/executors/local.hpp>
#include <drover/scheduler.hpp>
#include <drover/sinks/s3.hpp>

#include "services/s3rver.hpp"
#include "support/support.hpp"

#include <doctest/doctest.h>

#include <cerrno>
#include <cstring>
#include <netdb.h>
#include <sched.h>
#include <sys/mount.h>

using namespace drover::test;

namespace {

// Empty when /etc/hosts now maps the test names, else why not.
std::string private_hosts_file(const fs::path& hosts) {
    if (::unshare(CLONE_NEWNS) != 0) return std::string("unshare(CLONE_NEWNS): ") + std::strerror(errno);
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
        return std::string("making mounts private: ") + std::strerror(errno);
    if (::mount(hosts.c_str(), "/etc/hosts", nullptr, MS_BIND, nullptr) != 0)
        return std::string("bind-mounting /etc/hosts: ") + std::strerror(errno);
    return {};
}

drover::run_summary run_one(const fs::path& state, const drover::s3_sink_options& o) {
    drover::scheduler s({.state_dir = state});
    s.add_executor(std::make_shared<drover::local_executor>(drover::local_executor_options{.slots = 1}));
    s.set_sink(drover::s3_sink{o});
    drover::task_spec t;
    t.id = "t1";
    t.command = {"sh", "-c", "echo '{\"n\": 1}'"};
    s.submit(std::move(t));
    return s.run();
}

}  // namespace

TEST_CASE("virtual-hosted: the sink reaches bucket.s3.<domain> on s3rver" * doctest::timeout(120)) {
    if (auto why = s3rver_unavailable(); !why.empty()) {
        if (services_required()) FAIL("s3rver required: " << why);
        MESSAGE("skipped: " << why);
        return;
    }
    temp_dir d;
    write_file(d / "hosts", "127.0.0.1 localhost\n::1 localhost\n127.0.0.1 test.s3.drover.test\n127.0.0.2 s3.drover.test\n");
    if (auto why = private_hosts_file(d / "hosts"); !why.empty()) {
        if (services_required()) FAIL("a private /etc/hosts is required: " << why);
        MESSAGE("skipped: " << why);
        return;
    }
    struct unbind {
        ~unbind() { ::umount2("/etc/hosts", MNT_DETACH); }
    } restore;

    s3rver srv{s3rver::options{"test", false, {}, "drover.test", true}};
    auto o = srv.sink_options("vh");
    o.endpoint = "http://s3.drover.test:" + std::to_string(srv.port());
    o.path_style = false;
    auto sum = run_one(d / "state", o);
    INFO(sum.halt_reason);
    CHECK(sum.ok());
    auto ls = run_shell(srv.aws() + " ls --recursive s3://test/vh/ 2>&1");
    CHECK(ls.output.find("vh/t1.jsonl.gz") != std::string::npos);

    // The reader too; and the same endpoint path-style goes to s3.drover.test (127.0.0.2),
    // where nothing listens.
    CHECK(drover::s3_reader(o).list().size() == 1);
    o.path_style = true;
    o.max_attempts = 1;
    CHECK_THROWS_WITH(drover::s3_reader(o).list(), doctest::Contains("s3.drover.test"));

    // A strict s3rver refuses botocore's virtual-hosted request just as it refuses ours.
    s3rver strict{s3rver::options{"test", false, {}, "drover.test", false}};
    write_file(d / "aws-config", "[default]\ns3 =\n  addressing_style = virtual\n");
    auto cli = run_shell("env -u AWS_PROFILE AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1 "
                         "AWS_CONFIG_FILE=" + (d / "aws-config").string() + " AWS_SHARED_CREDENTIALS_FILE=/dev/null "
                         "/usr/bin/aws --endpoint-url http://s3.drover.test:" + std::to_string(strict.port()) +
                         " s3api list-objects-v2 --bucket test 2>&1");
    INFO(cli.output);
    CHECK(cli.exit_code != 0);
    CHECK(cli.output.find("SignatureDoesNotMatch") != std::string::npos);
}
