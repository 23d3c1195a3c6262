#include "services/s3rver.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <stdexcept>

extern char** environ;

namespace drover::test {

namespace {

const fs::path source_dir = fs::path(DROVER_SOURCE_DIR) / "tests/services/s3rver";
const fs::path install_dir = fs::path(DROVER_S3RVER_DIR);

bool have_node() { return run_shell("command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1").exit_code == 0; }

// Copies package.json + lock into the build directory and runs `npm ci` there, once
// (a file lock keeps parallel test processes from installing at the same time). A failure
// is remembered in .npm-ci-failed, so the other test processes of the run (ctest starts one
// per test case) report it at once instead of each waiting for npm's retries; `make test`
// removes the marker, so every `make test` tries again.
std::string ensure_installed() {
    static std::string result = [] () -> std::string {
        if (!have_node()) return "node/npm not found (scripts/install-deps.sh installs Debian's nodejs and npm)";
        std::error_code ec;
        fs::create_directories(install_dir, ec);
        int lock = ::open((install_dir / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (lock < 0) return "cannot create " + (install_dir / ".lock").string();
        ::flock(lock, LOCK_EX);
        std::string why;
        const auto marker = install_dir / ".npm-ci-failed";
        if (fs::exists(marker)) {
            why = "npm ci failed earlier in this test run (remove " + marker.string() + " to try again): " +
                  read_file(marker);
        } else if (!fs::exists(install_dir / "node_modules/@20minutes/s3rver/package.json")) {
            for (const char* f : {"package.json", "package-lock.json", "start.js"})
                fs::copy_file(source_dir / f, install_dir / f, fs::copy_options::overwrite_existing, ec);
            auto r = run_shell("cd '" + install_dir.string() +
                               "' && timeout -s KILL 300 npm ci --no-audit --no-fund --loglevel=error "
                               "--fetch-retries=1 --fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=5000 2>&1");
            if (r.exit_code != 0) {
                why = "npm ci failed in " + install_dir.string() + ": " + r.output;
                write_file(marker, r.output);
            }
        } else {
            fs::copy_file(source_dir / "start.js", install_dir / "start.js", fs::copy_options::overwrite_existing, ec);
        }
        ::flock(lock, LOCK_UN);
        ::close(lock);
        return why;
    }();
    return result;
}

}  // namespace

std::string s3rver_unavailable() { return ensure_installed(); }

namespace {

// ca.pem signs server.pem (SAN IP:127.0.0.1); other-ca.pem signs nothing here.
void make_certs(const fs::path& d) {
    fs::create_directories(d);
    write_file(d / "server.ext", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
    auto r = run_shell(
        "cd '" + d.string() + "' && ( "
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=drover-s3-ca && "
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout other-ca.key -out other-ca.pem -days 2 -subj /CN=other && "
        "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 && "
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 "
        "-extfile server.ext ) 2>&1");
    if (r.exit_code != 0) throw std::runtime_error("openssl failed: " + r.output);
}

}  // namespace

s3rver::s3rver(const options& o) : bucket_(o.bucket), tls_(o.tls) {
    if (auto why = ensure_installed(); !why.empty()) throw std::runtime_error("s3rver unavailable: " + why);
    fs::create_directories(dir_ / "data");
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
    if (tls_) {
        make_certs(dir_ / "tls");
        env_strings.push_back("S3RVER_TLS_KEY=" + (dir_ / "tls/server.key").string());
        env_strings.push_back("S3RVER_TLS_CERT=" + (dir_ / "tls/server.pem").string());
    }
    if (!o.keys.empty()) {
        std::string keys = "S3RVER_KEYS=";
        for (const auto& [id, secret] : o.keys) keys += id + ":" + secret + ",";
        env_strings.push_back(keys);
    }
    if (!o.service_endpoint.empty()) env_strings.push_back("S3RVER_SERVICE_ENDPOINT=" + o.service_endpoint);
    if (o.allow_mismatched_signatures) env_strings.push_back("S3RVER_ALLOW_MISMATCHED_SIGNATURES=1");
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    int in[2], out[2];
    if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, out[1], 2);
    std::string script = (install_dir / "start.js").string();
    std::string data = (dir_ / "data").string();
    // s3rver's continuation tokens use DES, which OpenSSL 3 keeps in its legacy provider.
    std::vector<std::string> args{"node", "--openssl-legacy-provider", script, "0", data, bucket_};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int rc = posix_spawnp(&pid_, "node", &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    ::close(in[0]);
    ::close(out[1]);
    lifeline_ = in[1];  // s3rver exits when this closes (also when the test process dies)
    if (rc != 0) {
        ::close(out[0]);
        ::close(lifeline_);
        throw std::runtime_error("cannot spawn node");
    }
    std::string text;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (text.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
        pollfd p{out[0], POLLIN, 0};
        if (::poll(&p, 1, 200) <= 0) continue;
        char buf[512];
        ssize_t n = ::read(out[0], buf, sizeof buf);
        if (n <= 0) break;
        text.append(buf, static_cast<std::size_t>(n));
    }
    ::close(out[0]);  // s3rver is silent after "ready"
    if (text.rfind("ready ", 0) != 0) {
        stop();
        throw std::runtime_error("s3rver did not start: " + text);
    }
    port_ = std::stoi(text.substr(6));
}

s3rver::~s3rver() { stop(); }

void s3rver::stop() noexcept {
    if (lifeline_ >= 0) ::close(lifeline_);
    lifeline_ = -1;
    if (pid_ > 0) {
        ::kill(pid_, SIGTERM);
        int status = 0;
        for (int i = 0; i < 50 && ::waitpid(pid_, &status, WNOHANG) == 0; ++i) ::usleep(100'000);
        if (::waitpid(pid_, &status, WNOHANG) == 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, &status, 0);
        }
    }
    pid_ = -1;
}

s3_sink_options s3rver::sink_options(const std::string& prefix) const {
    s3_sink_options o;
    o.url = "s3://" + bucket_ + (prefix.empty() ? "" : "/" + prefix);
    o.endpoint = endpoint();
    o.region = "us-east-1";
    o.path_style = true;
    if (tls_) o.ca_file = ca_file().string();
    o.credentials = s3_credentials{"S3RVER", "S3RVER", ""};
    o.fsync = false;
    o.retry_base = std::chrono::milliseconds(20);
    return o;
}

std::string s3rver::aws() const {
    return "env -u AWS_PROFILE AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1 "
           "AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null /usr/bin/aws --endpoint-url " +
           endpoint() + (tls_ ? " --ca-bundle " + ca_file().string() : std::string()) + " s3";
}

}  // namespace drover::test
