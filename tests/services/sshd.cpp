#include "services/sshd.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>

extern char** environ;

namespace drover::test {

namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

constexpr const char* sshd_path = "/usr/sbin/sshd";

bool in_path(const std::string& prog) {
    const char* path = std::getenv("PATH");
    std::string p = path ? path : "/usr/bin:/bin";
    for (std::size_t start = 0; start <= p.size();) {
        auto colon = p.find(':', start);
        if (colon == std::string::npos) colon = p.size();
        std::string d = p.substr(start, colon - start);
        if (!d.empty() && access((d + "/" + prog).c_str(), X_OK) == 0) return true;
        start = colon + 1;
    }
    return false;
}

std::string current_user() {
    if (const passwd* pw = getpwuid(geteuid())) return pw->pw_name;
    throw std::runtime_error("sshd_fleet: no passwd entry for uid " + std::to_string(geteuid()));
}

/// Connects to 127.0.0.1:port and reads the server's version line; true for an SSH server.
bool speaks_ssh(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = false;
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        pollfd p{fd, POLLIN, 0};
        char buf[64] = {};
        if (poll(&p, 1, 1000) == 1) ok = read(fd, buf, 4) == 4 && std::string(buf, 4) == "SSH-";
    }
    close(fd);
    return ok;
}

/// Parent pid of every process (zombies included), from /proc/<pid>/stat.
std::map<pid_t, pid_t> parent_map() {
    std::map<pid_t, pid_t> out;
    for (auto& e : fs::directory_iterator("/proc")) {
        auto name = e.path().filename().string();
        if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
        auto line = read_proc(e.path() / "stat");
        if (line.empty()) continue;  // exited meanwhile
        auto close = line.rfind(')');           // the command name may contain anything
        if (close == std::string::npos) continue;
        char state = 0;
        pid_t ppid = 0;
        if (sscanf(line.c_str() + close + 1, " %c %d", &state, &ppid) == 2)
            out[static_cast<pid_t>(std::stol(name))] = ppid;
    }
    return out;
}

std::set<pid_t> descendants(pid_t root) {
    auto parents = parent_map();
    std::set<pid_t> found{root};
    for (bool grew = true; grew;) {
        grew = false;
        for (auto [pid, ppid] : parents)
            if (found.count(ppid) && found.insert(pid).second) grew = true;
    }
    found.erase(root);
    return found;
}

std::string tail_of(const fs::path& log) {
    std::string text;
    try {
        text = read_file(log);
    } catch (...) {
        return "(no log)";
    }
    return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
}

// Runs "$@" (sshd) and kills it at EOF on fd 3; exits with sshd's status.
constexpr const char* supervisor = R"(
"$@" 3<&- &
p=$!
{ read -r _; kill -TERM $p; } <&3 >/dev/null 2>&1 &
w=$!
exec 3<&-
wait $p; rc=$?
kill $w 2>/dev/null
exit $rc)";

}  // namespace

bool sshd_available() {
    return access(sshd_path, X_OK) == 0 && in_path("ssh") && in_path("ssh-keygen");
}

void generate_ssh_key(const fs::path& path) {
    std::error_code ec;
    fs::remove(path, ec);
    fs::remove(path.string() + ".pub", ec);
    auto r = run_shell("ssh-keygen -q -t ed25519 -N '' -C drover-test -f '" + path.string() +
                       "' </dev/null 2>&1");
    if (r.exit_code != 0)
        throw std::runtime_error("ssh-keygen failed for " + path.string() + ": " + r.output);
}

sshd_fleet::sshd_fleet(std::size_t n) : user_(current_user()), servers_(n) {
    if (!sshd_available()) throw std::runtime_error("sshd_fleet: sshd, ssh or ssh-keygen is missing");
    // sshd refuses to start without its privilege-separation directory.
    std::error_code ec;
    fs::create_directories("/run/sshd", ec);

    generate_ssh_key(dir_ / "userkey");
    fs::copy_file(dir_ / "userkey.pub", dir_ / "authorized_keys");
    try {
        std::string known;
        for (std::size_t i = 0; i < n; ++i) {
            auto hostkey = dir_ / ("hostkey" + std::to_string(i));
            generate_ssh_key(hostkey);
            std::string why;
            bool up = false;
            for (int tries = 0; tries < 5 && !up; ++tries) {
                servers_[i].port = drover::test::free_loopback_port();
                up = spawn(i, why);
            }
            if (!up) throw std::runtime_error("sshd_fleet: sshd " + std::to_string(i) + " did not start: " + why);
            // known_hosts wants "[host]:port" for non-22 ports, then the public key line.
            known += "[127.0.0.1]:" + std::to_string(servers_[i].port) + " " +
                     split_lines(read_file(hostkey.string() + ".pub")).at(0) + "\n";
        }
        write_file(known_hosts(), known);
    } catch (...) {
        for (std::size_t i = 0; i < n; ++i) stop(i);
        throw;
    }
}

sshd_fleet::~sshd_fleet() {
    for (std::size_t i = 0; i < servers_.size(); ++i) stop(i);
}

bool sshd_fleet::spawn(std::size_t i, std::string& why) {
    auto& s = servers_[i];
    auto tag = std::to_string(i);
    auto log = dir_ / ("sshd" + tag + ".log");
    std::vector<std::string> args = {
        sshd_path, "-D", "-e", "-f", "/dev/null",  // no system sshd_config (UsePAM, Include, ...)
        "-p", std::to_string(s.port),
        "-h", (dir_ / ("hostkey" + tag)).string(),
        "-o", "ListenAddress=127.0.0.1",
        "-o", "AuthorizedKeysFile=" + (dir_ / "authorized_keys").string(),
        "-o", "PidFile=" + (dir_ / ("sshd" + tag + ".pid")).string(),
        "-o", "StrictModes=no",
        "-o", "PasswordAuthentication=no",
        "-o", "KbdInteractiveAuthentication=no",
        "-o", "UsePAM=no",
        "-o", "PermitRootLogin=prohibit-password",
        "-o", "LogLevel=ERROR",
        // Debian's bash sources ~/.bashrc for commands run by sshd unless SHLVL says it is
        // nested; this machine's root .bashrc (pyenv init) costs ~150 ms of CPU per session.
        "-o", "SetEnv=SHLVL=1",
        // Tests open many concurrent sessions over multiplexed connections.
        "-o", "MaxSessions=64",
        "-o", "MaxStartups=100",
    };
    // sshd runs under a small sh that kills it when the lifeline pipe closes, i.e. when this
    // process dies without stopping the fleet (a crashed test must not leave sshd behind).
    args.insert(args.begin(), {"/bin/sh", "-c", supervisor, "sshd-supervisor"});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    int life[2];
    if (pipe2(life, O_CLOEXEC) != 0) {
        why = std::string("pipe2: ") + strerror(errno);
        return false;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, life[0], 3);  // dup2 clears FD_CLOEXEC
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, dflt;
    sigemptyset(&none);
    sigfillset(&dflt);  // whatever the test process ignores, sshd should not
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &dflt);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(life[0]);
    if (rc != 0) {
        close(life[1]);
        why = std::string("posix_spawn: ") + strerror(rc);
        return false;
    }
    s.lifeline = life[1];

    for (auto end = clock::now() + 5s; clock::now() < end; std::this_thread::sleep_for(20ms)) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            close(std::exchange(s.lifeline, -1));
            why = "sshd on port " + std::to_string(s.port) + " exited early: " + tail_of(log);
            return false;
        }
        if (speaks_ssh(s.port)) {
            s.pid = pid;
            return true;
        }
    }
    s.pid = pid;
    stop(i);
    why = "sshd on port " + std::to_string(s.port) + " accepted no connection within 5 s: " + tail_of(log);
    return false;
}

void sshd_fleet::stop(std::size_t i) {
    auto& s = servers_.at(i);
    if (s.pid <= 0) return;
    // Freeze the supervisor and then every process below it (the listener, the per-connection
    // sshd processes and their sessions), round by round until no new ones appear, so nothing
    // can fork away or be reparented while we kill the tree.
    kill(s.pid, SIGSTOP);
    std::set<pid_t> frozen;
    for (int round = 0; round < 100; ++round) {
        std::set<pid_t> fresh;
        for (pid_t p : descendants(s.pid))
            if (frozen.insert(p).second) fresh.insert(p);
        if (fresh.empty()) break;
        for (pid_t p : fresh) kill(p, SIGSTOP);
        std::this_thread::sleep_for(5ms);
    }
    for (pid_t p : frozen) kill(p, SIGKILL);
    kill(s.pid, SIGKILL);
    waitpid(s.pid, nullptr, 0);
    s.pid = -1;
    if (s.lifeline >= 0) close(std::exchange(s.lifeline, -1));
}

void sshd_fleet::start(std::size_t i) {
    if (servers_.at(i).pid > 0) return;
    std::string why;
    // Same port as before; it is ours unless someone grabbed it meanwhile, so retry a bit.
    for (int tries = 0; tries < 10; ++tries) {
        if (spawn(i, why)) return;
        std::this_thread::sleep_for(200ms);
    }
    throw std::runtime_error("sshd_fleet: cannot restart sshd " + std::to_string(i) + ": " + why);
}

std::string sshd_fleet::host(std::size_t i) const {
    return user_ + "@127.0.0.1:" + std::to_string(port(i));
}

std::vector<std::string> sshd_fleet::hosts() const {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < size(); ++i) out.push_back(host(i));
    return out;
}

std::vector<std::string> sshd_fleet::ssh_options() const {
    return {"UserKnownHostsFile=" + known_hosts().string(), "IdentitiesOnly=yes", "LogLevel=ERROR"};
}

std::string sshd_fleet::ssh_command(std::size_t i) const {
    std::string cmd = "ssh -F " + config_file() + " -i " + identity() + " -o BatchMode=yes";
    for (auto& o : ssh_options()) cmd += " -o " + o;
    return cmd + " -p " + std::to_string(port(i)) + " " + user_ + "@127.0.0.1";
}

ssh_executor_options options_for(const sshd_fleet& fleet) {
    using namespace std::chrono_literals;
    ssh_executor_options o;
    o.hosts = fleet.hosts();
    o.identity = fleet.identity();
    o.ssh_options = fleet.ssh_options();
    o.config_file = fleet.config_file();
    o.connect_timeout = 3s;
    o.kill_grace = 500ms;
    o.reprobe_initial = 200ms;
    o.reprobe_max = 1s;
    o.down_timeout = 10s;
    return o;
}

}  // namespace drover::test
