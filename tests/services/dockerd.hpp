#pragma once
// Real Docker daemons on this machine for the Docker executor's tests (TESTING.md recipe):
// each has its own data-root, exec-root, pidfile and Unix socket, listens on a free loopback
// TCP port, runs without the default bridge (--bridge=none --iptables=false --ip-masq=false)
// and holds a registry-free test image (busybox-static, from scripts/make-image.sh).
// A daemon can also be started with --tlsverify and certificates made here with openssl.
// Every daemon runs under a supervising sh whose lifeline pipe ends with the test process.

#include <drover/executors/docker.hpp>

#include "support/support.hpp"

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

namespace drover::test {

/// True when dockerd, containerd, runc, openssl and busybox-static are installed and we are root.
bool dockerd_available();
/// What dockerd_available() found missing, for skip messages.
std::string dockerd_missing();

/// The image every fleet daemon holds: busybox applets in /bin.
inline constexpr const char* test_image = "drover-test:latest";

struct dockerd_fleet_options {
    std::size_t plain = 2;   ///< daemons on tcp://127.0.0.1:PORT and unix://.../docker.sock
    bool tls = false;        ///< one more daemon on a --tlsverify TCP port (and a Unix socket)
};

class dockerd_fleet {
public:
    /// Starts the daemons (in parallel) and imports the test image into each; throws
    /// std::runtime_error with the daemon's log when one does not answer /_ping within 60 s.
    explicit dockerd_fleet(dockerd_fleet_options o = {});
    ~dockerd_fleet();
    dockerd_fleet(const dockerd_fleet&) = delete;
    dockerd_fleet& operator=(const dockerd_fleet&) = delete;

    std::size_t size() const { return daemons_.size(); }
    /// "tcp://127.0.0.1:PORT" (plain daemons) or the TLS daemon's tcp:// address.
    std::string tcp_host(std::size_t i) const;
    /// "unix:///.../docker.sock".
    std::string unix_host(std::size_t i) const;
    int port(std::size_t i) const { return daemons_.at(i).port; }
    bool is_tls(std::size_t i) const { return daemons_.at(i).tls; }
    /// Index of the TLS daemon; throws when there is none.
    std::size_t tls_index() const;
    const fs::path& dir() const { return dir_.path(); }

    /// Certificates (PEM) for the TLS daemon: the right CA and a client pair it signed,
    /// and a second, unrelated CA with a client pair of its own.
    fs::path cert_dir() const { return dir_ / "certs"; }          ///< ca.pem cert.pem key.pem
    fs::path wrong_cert_dir() const { return dir_ / "wrongcerts"; } ///< another CA's ca.pem cert.pem key.pem

    /// `curl` against daemon i's Unix socket: the response body of GET `path` (e.g. "/v1.41/_ping").
    std::string get(std::size_t i, const std::string& path) const;
    /// Names of every container (running or not) on daemon i carrying label drover.run=`run_id`.
    std::vector<std::string> containers_of_run(std::size_t i, const std::string& run_id) const;
    /// Names of every container on daemon i.
    std::vector<std::string> all_containers(std::size_t i) const;

    /// SIGKILLs daemon i (and its containerd), like a crashed node.
    void kill(std::size_t i);
    /// SIGSTOPs / SIGCONTs daemon i: a daemon that hangs, and one that recovers.
    void pause(std::size_t i);
    void resume(std::size_t i);
    /// Starts daemon i again on the same port and data root; waits for /_ping.
    void start(std::size_t i);
    bool running(std::size_t i) const { return daemons_.at(i).pid > 0; }

private:
    struct daemon {
        fs::path root;
        int port = 0;
        bool tls = false;
        pid_t pid = -1;      // the supervising sh; dockerd is its child
        int lifeline = -1;
    };
    void make_certs();
    void spawn(std::size_t i);
    bool wait_ready(std::size_t i, std::string& why);
    void stop(std::size_t i, bool hard);
    void kill_leftovers();
    void unmount_all();
    temp_dir dir_;
    std::vector<daemon> daemons_;
};

/// Executor options for the given daemons (by index; all plain ones when empty), with
/// timeouts and re-probe delays short enough for tests. TLS daemons get the right certs.
docker_executor_options docker_options_for(const dockerd_fleet& fleet, std::vector<std::size_t> which = {});

}  // namespace drover::test

// In a test: skip without dockerd & co., fail instead in CI (DROVER_REQUIRE_SERVICES=1).
#define DOCKERD_OR_SKIP()                                                              \
    do {                                                                               \
        if (!dockerd_available()) {                                                    \
            if (services_required()) FAIL("dockerd tests need:" << dockerd_missing()); \
            MESSAGE("skipped: missing" << dockerd_missing());                          \
            return;                                                                    \
        }                                                                              \
    } while (0)

