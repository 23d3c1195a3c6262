// The HTTP client's TLS against a real TLS server (openssl s_server -www) with certificates
// made by the openssl CLI: mutual TLS works; a wrong CA, a missing client certificate and a
// wrong host name fail with clear errors naming the endpoint.
#include "http/client.hpp"

#include "support/support.hpp"

#include <drover/error.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <doctest/doctest.h>

#include <csignal>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace asio = boost::asio;
namespace http = drover::http;
using drover::test::run_shell;
using drover::test::temp_dir;

namespace {

bool have_openssl() { return run_shell("command -v openssl >/dev/null 2>&1").exit_code == 0; }

// ca.pem, server.{pem,key} (SAN IP:127.0.0.1), client.{pem,key}; other-ca.pem is unrelated.
void make_certs(const std::filesystem::path& d) {
    std::string q = "cd '" + d.string() + "' && ";
    auto sh = [&](const std::string& cmd) {
        auto r = run_shell(q + cmd + " >/dev/null 2>&1");
        REQUIRE_MESSAGE(r.exit_code == 0, cmd);
    };
    sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=drover-test-ca");
    sh("openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.pem -days 2 -subj /CN=other-ca");
    sh("openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1");
    drover::test::write_file(d / "server.ext", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
    sh("openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 "
       "-extfile server.ext");
    sh("openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=drover-client");
    drover::test::write_file(d / "client.ext", "extendedKeyUsage=clientAuth\n");
    sh("openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 "
       "-extfile client.ext");
}

// openssl s_server requiring a client certificate signed by ca.pem.
class tls_server {
public:
    tls_server(const std::filesystem::path& d, std::uint16_t port) {
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            ::setpgid(0, 0);
            std::string accept = "127.0.0.1:" + std::to_string(port);
            std::string cert = (d / "server.pem").string(), key = (d / "server.key").string(),
                        ca = (d / "ca.pem").string();
            ::freopen("/dev/null", "w", stdout);
            ::freopen("/dev/null", "w", stderr);
            ::execlp("openssl", "openssl", "s_server", "-accept", accept.c_str(), "-cert", cert.c_str(), "-key",
                     key.c_str(), "-CAfile", ca.c_str(), "-Verify", "1", "-www", "-quiet", nullptr);
            ::_exit(127);
        }
        // Ready once it accepts connections.
        for (int i = 0; i < 100; ++i) {
            asio::io_context io;
            asio::ip::tcp::socket s(io);
            boost::system::error_code ec;
            s.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
            if (!ec) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        FAIL("openssl s_server did not start");
    }
    ~tls_server() {
        ::kill(-pid_, SIGKILL);
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
    }

private:
    pid_t pid_ = -1;
};

http::result get(const http::client_options& o) {
    asio::io_context io;
    http::client c(io.get_executor(), o);
    http::result out;
    c.async_request({.target = "/", .timeout = std::chrono::seconds(10)}, [&](http::result r) { out = std::move(r); });
    io.run();
    return out;
}

}  // namespace

TEST_CASE("http tls: mutual TLS against openssl s_server, wrong CA, no client cert, wrong name fail clearly") {
    if (!have_openssl()) {
        if (drover::test::services_required()) FAIL("openssl CLI missing (Debian package openssl)");
        MESSAGE("skipped: no openssl CLI");
        return;
    }
    temp_dir dir;
    make_certs(dir.path());
    auto port = drover::test::free_loopback_port();
    tls_server server(dir.path(), port);
    auto ep = http::parse_endpoint("https://127.0.0.1:" + std::to_string(port));
    std::string where = ep.to_string();
    http::tls_options good{.ca_file = (dir / "ca.pem").string(),
                           .cert_file = (dir / "client.pem").string(),
                           .key_file = (dir / "client.key").string()};

    auto r = get({.target = ep, .tls = good});
    REQUIRE_MESSAGE(r, r.error);
    CHECK(r.res.status == 200);
    CHECK(r.res.body.find("s_server") != std::string::npos);

    auto wrong_ca = good;
    wrong_ca.ca_file = (dir / "other-ca.pem").string();
    auto a = get({.target = ep, .tls = wrong_ca});
    CHECK(!a);
    CHECK(a.error.starts_with(where + ": TLS handshake: certificate verify failed"));
    CAPTURE(a.error);
    CHECK((a.error.find("unable to get local issuer certificate") != std::string::npos ||
           a.error.find("self-signed certificate in certificate chain") != std::string::npos));

    auto no_cert = good;
    no_cert.cert_file.clear();
    no_cert.key_file.clear();
    auto b = get({.target = ep, .tls = no_cert});
    CHECK(!b);
    CHECK(b.error.starts_with(where + ": "));
    CHECK(b.error.find("certificate required") != std::string::npos);

    auto wrong_name = good;
    wrong_name.server_name = "docker.example.com";
    auto c = get({.target = ep, .tls = wrong_name});
    CHECK(!c);
    CHECK(c.error.starts_with(where + ": TLS handshake: certificate verify failed"));

    // Plain TCP to a TLS port: the server answers with something that is not HTTP.
    auto plain = get({.target = http::parse_endpoint("tcp://127.0.0.1:" + std::to_string(port))});
    CHECK(!plain);
    CHECK(plain.error.starts_with("tcp://127.0.0.1:" + std::to_string(port) + ": read response: "));
}

TEST_CASE("http tls: unreadable certificate files are configuration errors naming the file") {
    temp_dir dir;
    drover::test::write_file(dir / "junk.pem", "not a certificate\n");
    asio::io_context io;
    auto ep = http::parse_endpoint("https://127.0.0.1:1");
    CHECK_THROWS_WITH_AS(http::client(io.get_executor(), {.target = ep, .tls = {.ca_file = (dir / "none.pem").string()}}),
                         doctest::Contains("cannot load CA file"), drover::config_error);
    CHECK_THROWS_WITH_AS(
        http::client(io.get_executor(), {.target = ep, .tls = {.cert_file = (dir / "junk.pem").string()}}),
        doctest::Contains("junk.pem"), drover::config_error);
    CHECK_THROWS_AS(http::client(io.get_executor(), {.target = ep, .tls = {.key_file = "k.pem"}}),
                    drover::config_error);
}
