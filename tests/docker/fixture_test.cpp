// The dockerd fixture itself: daemons answer on their Unix socket, plain TCP and TLS
// (checked with curl, independently of drover's HTTP client), and hold the test image.
#include <doctest/doctest.h>

#include "services/dockerd.hpp"

using namespace drover::test;

TEST_CASE("dockerd fixture: Unix, TCP and TLS daemons answer and hold the test image" * doctest::timeout(180)) {
    if (!dockerd_available()) {
        if (services_required()) FAIL("dockerd fixture needs:" << dockerd_missing());
        MESSAGE("skipped: missing" << dockerd_missing());
        return;
    }
    dockerd_fleet fleet({.plain = 1, .tls = true});
    REQUIRE(fleet.size() == 2);
    CHECK(fleet.get(0, "/_ping") == "OK");
    CHECK(fleet.get(1, "/_ping") == "OK");
    auto tcp = run_shell("curl -s -m 5 http://127.0.0.1:" + std::to_string(fleet.port(0)) + "/v1.41/_ping");
    CHECK(tcp.output == "OK");
    auto c = fleet.cert_dir().string();
    auto tls = run_shell("curl -s -m 5 --cacert " + c + "/ca.pem --cert " + c + "/cert.pem --key " + c +
                         "/key.pem https://127.0.0.1:" + std::to_string(fleet.port(1)) + "/v1.41/_ping");
    CHECK(tls.output == "OK");
    auto no_cert = run_shell("curl -s -m 5 --cacert " + c + "/ca.pem https://127.0.0.1:" +
                             std::to_string(fleet.port(1)) + "/v1.41/_ping");
    CHECK(no_cert.exit_code != 0);
    auto images = fleet.get(0, "/v1.41/images/json");
    CHECK(images.find(test_image) != std::string::npos);
    CHECK(fleet.get(1, "/v1.41/images/json").find(test_image) != std::string::npos);
    CHECK(fleet.all_containers(0).empty());
    fleet.kill(0);
    CHECK_FALSE(fleet.running(0));
    fleet.start(0);
    CHECK(fleet.get(0, "/_ping") == "OK");
}
