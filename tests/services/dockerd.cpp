#include "services/dockerd.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

extern char** environ;

namespace drover::test {

namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

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

std::string tail_of(const fs::path& log) {
    std::string text;
    try {
        text = read_file(log);
    } catch (...) {
        return "(no log)";
    }
    return text.size() > 3000 ? text.substr(text.size() - 3000) : text;
}

pid_t read_pid(const fs::path& p) {
    std::ifstream in(p);
    long v = 0;
    return (in >> v) ? static_cast<pid_t>(v) : -1;
}

std::string quote(const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// Runs "$@" (dockerd) and stops it with SIGTERM at EOF on fd 3; exits with its status.
constexpr const char* supervisor = R"(
"$@" 3<&- &
p=$!
{ read -r _; kill -TERM $p; } <&3 >/dev/null 2>&1 &
w=$!
exec 3<&-
wait $p; rc=$?
kill $w 2>/dev/null
exit $rc)";

// Names from GET /containers/json: every "/name" string in the Names arrays.
std::vector<std::string> names_in(const std::string& json) {
    std::vector<std::string> out;
    for (std::size_t at = 0; (at = json.find("\"Names\":[", at)) != std::string::npos;) {
        at += 9;
        auto end = json.find(']', at);
        for (std::size_t q = json.find('"', at); q != std::string::npos && q < end; q = json.find('"', q)) {
            auto q2 = json.find('"', q + 1);
            std::string n = json.substr(q + 1, q2 - q - 1);
            out.push_back(n.starts_with("/") ? n.substr(1) : n);
            q = q2 + 1;
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

std::string dockerd_missing() {
    std::string missing;
    for (const char* p : {"dockerd", "containerd", "runc", "openssl", "curl", "docker"})
        if (!in_path(p) && access((std::string("/usr/sbin/") + p).c_str(), X_OK) != 0) missing += std::string(" ") + p;
    if (access("/bin/busybox", X_OK) != 0) missing += " busybox-static";
    if (geteuid() != 0) missing += " (root)";
    return missing;
}

bool dockerd_available() { return dockerd_missing().empty(); }

dockerd_fleet::dockerd_fleet(dockerd_fleet_options o) {
    if (!dockerd_available()) throw std::runtime_error("dockerd_fleet: missing:" + dockerd_missing());
    std::size_t n = o.plain + (o.tls ? 1 : 0);
    daemons_.resize(n);
    try {
        if (o.tls) make_certs();
        for (std::size_t i = 0; i < n; ++i) {
            auto& d = daemons_[i];
            d.root = dir_ / ("d" + std::to_string(i));
            d.tls = o.tls && i == o.plain;
            d.port = drover::test::free_loopback_port();
            fs::create_directories(d.root);
            write_file(d.root / "daemon.json", "{}\n");
            spawn(i);
        }
        for (std::size_t i = 0; i < n; ++i) {
            std::string why;
            if (!wait_ready(i, why)) throw std::runtime_error("dockerd_fleet: daemon " + std::to_string(i) + ": " + why);
        }
        std::string cmd = "PATH=/usr/bin:/usr/sbin:/bin:$PATH " + quote(std::string(DROVER_SOURCE_DIR) + "/scripts/make-image.sh") +
                          " -t " + test_image;
        for (std::size_t i = 0; i < n; ++i) cmd += " -H " + quote(unix_host(i));
        auto r = run_shell(cmd + " 2>&1");
        if (r.exit_code != 0) throw std::runtime_error("dockerd_fleet: make-image.sh failed: " + r.output);
    } catch (...) {
        for (std::size_t i = 0; i < daemons_.size(); ++i) stop(i, false);
        kill_leftovers();
        unmount_all();
        throw;
    }
}

dockerd_fleet::~dockerd_fleet() {
    for (std::size_t i = 0; i < daemons_.size(); ++i) stop(i, false);
    kill_leftovers();
    unmount_all();
}

void dockerd_fleet::make_certs() {
    // EC keys: quick to make. The server certificate names 127.0.0.1 (SAN), as TESTING.md says.
    std::string script = R"SH(set -e
mk() { # dir
  mkdir -p "$1"; cd "$1"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca-key.pem -out ca.pem \
      -days 3 -subj "/CN=drover test CA $(basename "$1")" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server-key.pem -out server.csr \
      -subj /CN=127.0.0.1 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out server-cert.pem -days 3 \
      -extfile server.ext 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout key.pem -out client.csr \
      -subj /CN=drover-client 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' > client.ext
  openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -out cert.pem -days 3 \
      -extfile client.ext 2>/dev/null
  chmod 0644 *.pem
}
)SH";
    script += "mk " + quote(cert_dir().string()) + "\nmk " + quote(wrong_cert_dir().string()) + "\n";
    auto r = run_shell("sh -c " + quote(script) + " 2>&1");
    if (r.exit_code != 0) throw std::runtime_error("dockerd_fleet: openssl failed: " + r.output);
}

void dockerd_fleet::spawn(std::size_t i) {
    auto& d = daemons_.at(i);
    auto log = d.root / "dockerd.log";
    std::vector<std::string> args = {
        "/bin/sh", "-c", supervisor, "dockerd-supervisor",
        "dockerd",
        "--config-file", (d.root / "daemon.json").string(),
        "--bridge=none", "--iptables=false", "--ip-masq=false",
        "--data-root", (d.root / "data").string(),
        "--exec-root", (d.root / "exec").string(),
        "--pidfile", (d.root / "dockerd.pid").string(),
        "-H", "unix://" + (d.root / "docker.sock").string(),
        "-H", "tcp://127.0.0.1:" + std::to_string(d.port),
        "--shutdown-timeout", "2",
        "--log-level", "warn",
    };
    if (d.tls) {
        auto c = cert_dir();
        args.insert(args.end(), {"--tlsverify", "--tlscacert", (c / "ca.pem").string(), "--tlscert",
                                 (c / "server-cert.pem").string(), "--tlskey", (c / "server-key.pem").string()});
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    int life[2];
    if (pipe2(life, O_CLOEXEC) != 0) throw std::runtime_error(std::string("dockerd_fleet: pipe2: ") + strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, life[0], 3);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, dflt;
    sigemptyset(&none);
    sigfillset(&dflt);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &dflt);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    // dockerd and its containerd are found in /usr/sbin and /usr/bin whatever PATH says.
    std::string path = std::string("PATH=/usr/sbin:/usr/bin:/sbin:/bin:") + (std::getenv("PATH") ? std::getenv("PATH") : "");
    std::vector<char*> envp;
    for (char** e = environ; *e; ++e)
        if (std::strncmp(*e, "PATH=", 5) != 0 && std::strncmp(*e, "DOCKER_", 7) != 0) envp.push_back(*e);
    envp.push_back(path.data());
    envp.push_back(nullptr);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(life[0]);
    if (rc != 0) {
        close(life[1]);
        throw std::runtime_error(std::string("dockerd_fleet: posix_spawn: ") + strerror(rc));
    }
    d.pid = pid;
    d.lifeline = life[1];
}

bool dockerd_fleet::wait_ready(std::size_t i, std::string& why) {
    auto& d = daemons_.at(i);
    auto sock = (d.root / "docker.sock").string();
    for (auto end = clock::now() + 60s; clock::now() < end; std::this_thread::sleep_for(100ms)) {
        int st;
        if (waitpid(d.pid, &st, WNOHANG) == d.pid) {
            d.pid = -1;
            if (d.lifeline >= 0) close(std::exchange(d.lifeline, -1));
            why = "dockerd exited early: " + tail_of(d.root / "dockerd.log");
            return false;
        }
        auto r = run_shell("curl -s -m 2 --unix-socket " + quote(sock) + " http://localhost/_ping 2>/dev/null");
        if (r.exit_code == 0 && r.output == "OK") return true;
    }
    why = "no answer to /_ping within 60 s: " + tail_of(d.root / "dockerd.log");
    return false;
}

void dockerd_fleet::stop(std::size_t i, bool hard) {
    auto& d = daemons_.at(i);
    if (d.pid <= 0) return;
    pid_t dockerd = read_pid(d.root / "dockerd.pid");
    if (hard && dockerd > 0) ::kill(dockerd, SIGKILL);
    if (!hard && dockerd > 0) ::kill(dockerd, SIGCONT);  // a paused daemon must see the SIGTERM
    if (d.lifeline >= 0) close(std::exchange(d.lifeline, -1));  // the supervisor sends SIGTERM
    bool gone = false;
    for (auto end = clock::now() + 20s; clock::now() < end; std::this_thread::sleep_for(50ms))
        if (waitpid(d.pid, nullptr, WNOHANG) == d.pid) {
            gone = true;
            break;
        }
    if (!gone) {
        if (dockerd > 0) ::kill(dockerd, SIGKILL);
        ::kill(d.pid, SIGKILL);
        waitpid(d.pid, nullptr, 0);
    }
    d.pid = -1;
    // A SIGKILLed dockerd takes its containerd along (parent-death signal); make sure.
    pid_t containerd = read_pid(d.root / "exec" / "containerd" / "containerd.pid");
    if (containerd > 0 && hard) {
        for (auto end = clock::now() + 5s; clock::now() < end && process_alive(containerd);)
            std::this_thread::sleep_for(50ms);
        if (process_alive(containerd)) {
            auto c = read_proc("/proc/" + std::to_string(containerd) + "/cmdline");
            if (c.find(d.root.string()) != std::string::npos) ::kill(containerd, SIGKILL);
        }
    }
}

void dockerd_fleet::kill(std::size_t i) { stop(i, true); }

void dockerd_fleet::pause(std::size_t i) {
    pid_t p = read_pid(daemons_.at(i).root / "dockerd.pid");
    if (p <= 0 || ::kill(p, SIGSTOP) != 0) throw std::runtime_error("dockerd_fleet: cannot pause daemon " + std::to_string(i));
}

void dockerd_fleet::resume(std::size_t i) {
    pid_t p = read_pid(daemons_.at(i).root / "dockerd.pid");
    if (p > 0) ::kill(p, SIGCONT);
}

void dockerd_fleet::start(std::size_t i) {
    if (daemons_.at(i).pid > 0) return;
    std::error_code ec;
    // A killed daemon leaves pid files behind; its containerd may linger as a zombie whose
    // pid still "exists", which would make the new dockerd wait for it.
    fs::remove(daemons_[i].root / "docker.sock", ec);
    fs::remove(daemons_[i].root / "dockerd.pid", ec);
    fs::remove(daemons_[i].root / "exec" / "containerd" / "containerd.pid", ec);
    spawn(i);
    std::string why;
    if (!wait_ready(i, why)) throw std::runtime_error("dockerd_fleet: restart of daemon " + std::to_string(i) + ": " + why);
}

// containerd shims outlive a killed daemon; they name our exec-root on their command line.
void dockerd_fleet::kill_leftovers() {
    std::string mine = dir_.path().string();
    for (auto& e : fs::directory_iterator("/proc")) {
        auto name = e.path().filename().string();
        if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
        auto c = read_proc(e.path() / "cmdline");
        std::replace(c.begin(), c.end(), '\0', ' ');
        if (c.find(mine + "/") != std::string::npos) ::kill(static_cast<pid_t>(std::stol(name)), SIGKILL);
    }
}

// dockerd leaves overlay and netns mounts under its roots when it dies; the scratch
// directory cannot be removed until they are gone.
void dockerd_fleet::unmount_all() {
    std::string mine = dir_.path().string() + "/";
    std::vector<std::string> points;
    std::ifstream in("/proc/self/mountinfo");
    for (std::string line; std::getline(in, line);) {
        std::istringstream ls(line);
        std::string id, parent, devno, root, point;
        ls >> id >> parent >> devno >> root >> point;
        if (point.starts_with(mine)) points.push_back(point);
    }
    std::sort(points.begin(), points.end(), [](auto& a, auto& b) { return a.size() > b.size(); });
    for (auto& p : points) ::umount2(p.c_str(), MNT_DETACH);
}

std::string dockerd_fleet::tcp_host(std::size_t i) const { return "tcp://127.0.0.1:" + std::to_string(port(i)); }

std::string dockerd_fleet::unix_host(std::size_t i) const {
    return "unix://" + (daemons_.at(i).root / "docker.sock").string();
}

std::size_t dockerd_fleet::tls_index() const {
    for (std::size_t i = 0; i < daemons_.size(); ++i)
        if (daemons_[i].tls) return i;
    throw std::runtime_error("dockerd_fleet: no TLS daemon in this fleet");
}

std::string dockerd_fleet::get(std::size_t i, const std::string& path) const {
    auto r = run_shell("curl -s -m 10 --unix-socket " + quote((daemons_.at(i).root / "docker.sock").string()) +
                       " " + quote("http://localhost" + path));
    if (r.exit_code != 0) throw std::runtime_error("dockerd_fleet: GET " + path + " on daemon " + std::to_string(i) + " failed");
    return r.output;
}

std::vector<std::string> dockerd_fleet::containers_of_run(std::size_t i, const std::string& run_id) const {
    // {"label":["drover.run=<id>"]}, URL-encoded.
    return names_in(get(i, "/v1.41/containers/json?all=1&filters=%7B%22label%22%3A%5B%22drover.run%3D" + run_id +
                               "%22%5D%7D"));
}

std::vector<std::string> dockerd_fleet::all_containers(std::size_t i) const {
    return names_in(get(i, "/v1.41/containers/json?all=1"));
}

docker_executor_options docker_options_for(const dockerd_fleet& fleet, std::vector<std::size_t> which) {
    using namespace std::chrono_literals;
    if (which.empty())
        for (std::size_t i = 0; i < fleet.size(); ++i)
            if (!fleet.is_tls(i)) which.push_back(i);
    docker_executor_options o;
    for (auto i : which) {
        if (!fleet.is_tls(i)) {
            o.hosts.push_back(fleet.tcp_host(i));
        } else {
            o.hosts.push_back("https://127.0.0.1:" + std::to_string(fleet.port(i)));
            o.tls.ca_file = (fleet.cert_dir() / "ca.pem").string();
            o.tls.cert_file = (fleet.cert_dir() / "cert.pem").string();
            o.tls.key_file = (fleet.cert_dir() / "key.pem").string();
        }
    }
    o.default_image = test_image;
    o.connect_timeout = 3s;
    o.request_timeout = 20s;
    o.ping_interval = 500ms;
    o.reprobe_initial = 200ms;
    o.reprobe_max = 1s;
    o.down_timeout = 20s;
    return o;
}

}  // namespace drover::test
