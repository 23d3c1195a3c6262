#pragma once
// Real OpenSSH servers on 127.0.0.1 for the SSH executor's tests: each instance is a
// foreground sshd (under a supervising sh, a child of the test process) with its own host key
// and port; one user key pair logs into all of them as the current user.

#include <drover/executors/ssh.hpp>

#include "support/support.hpp"

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

namespace drover::test {

/// True when /usr/sbin/sshd, ssh and ssh-keygen exist.
bool sshd_available();

/// Creates an ed25519 key pair without passphrase at `path` / `path`.pub; throws on failure.
void generate_ssh_key(const fs::path& path);

class sshd_fleet {
public:
    /// Starts `n` sshd instances; throws std::runtime_error (with sshd's log) when one does
    /// not accept connections within ~5 s.
    explicit sshd_fleet(std::size_t n);
    ~sshd_fleet();
    sshd_fleet(const sshd_fleet&) = delete;
    sshd_fleet& operator=(const sshd_fleet&) = delete;

    std::size_t size() const { return servers_.size(); }
    int port(std::size_t i) const { return servers_.at(i).port; }
    /// "user@127.0.0.1:PORT" for each instance.
    std::vector<std::string> hosts() const;
    std::string host(std::size_t i) const;
    /// -o options every client needs: our known_hosts, only our key, quiet.
    std::vector<std::string> ssh_options() const;
    std::string identity() const { return (dir_ / "userkey").string(); }
    /// Keeps the user's ~/.ssh/config out of the tests.
    std::string config_file() const { return "/dev/null"; }
    fs::path known_hosts() const { return dir_ / "known_hosts"; }
    const fs::path& dir() const { return dir_.path(); }
    /// An `ssh ... user@127.0.0.1` prefix for instance i, for checks from the shell.
    std::string ssh_command(std::size_t i) const;

    /// Takes instance i down like a crashed host: kills the sessions it serves (sshd forks
    /// one process tree per connection, which would outlive the listener), then the listener.
    void stop(std::size_t i);
    /// Brings instance i back on the same port.
    void start(std::size_t i);
    bool running(std::size_t i) const { return servers_.at(i).pid > 0; }

private:
    struct server {
        int port = 0;
        pid_t pid = -1;      // the supervising sh; sshd is its child
        int lifeline = -1;   // write end of the pipe whose EOF makes the supervisor kill sshd
    };
    bool spawn(std::size_t i, std::string& why);
    temp_dir dir_;
    std::string user_;
    std::vector<server> servers_;
};

/// Executor options for all of the fleet's hosts, with timeouts short enough for tests.
ssh_executor_options options_for(const sshd_fleet& fleet);

}  // namespace drover::test

// In a test: skip without sshd, fail instead in CI (DROVER_REQUIRE_SERVICES=1).
#define SSHD_OR_SKIP()                                                                       \
    do {                                                                                     \
        if (!sshd_available()) {                                                             \
            if (services_required()) FAIL("sshd, ssh or ssh-keygen missing (needs openssh-server)"); \
            MESSAGE("skipped: /usr/sbin/sshd, ssh or ssh-keygen not installed");            \
            return;                                                                          \
        }                                                                                    \
    } while (0)

