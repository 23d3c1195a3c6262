#include "executors/group_watchdog.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <spawn.h>
#include <sstream>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace drover::detail {

namespace {

// Field 22 of /proc/PID/stat counted after the command name, which may hold spaces and ')'.
constexpr const char* watchdog_program = R"AWK($1 == "+" { g[$2] = $3; next }
$1 == "-" { delete g[$2]; next }
END {
  for (p in g) {
    f = "/proc/" p "/stat"; line = ""
    if ((getline line < f) > 0) {
      close(f)
      sub(/^.*\) /, "", line); split(line, a, " ")
      if (a[20] != g[p]) continue
    }
    system("kill -KILL -" p " 2>/dev/null")
  }
})AWK";

std::string boot_id() {
    static const std::string id = [] {
        std::ifstream f("/proc/sys/kernel/random/boot_id");
        std::string s;
        std::getline(f, s);
        return s;
    }();
    return id;
}

// TICKS of `pid`, or "" when it is gone.
std::string start_ticks(pid_t pid) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(f, line)) return {};
    auto close = line.rfind(')');
    if (close == std::string::npos) return {};
    std::istringstream rest(line.substr(close + 1));
    std::string field;
    for (int i = 3; i <= 22 && rest >> field; ++i) {
    }
    return field;
}

// Whether some live process other than the leader is in group `pgid`.
bool group_has_members(pid_t pgid) { return ::kill(-pgid, 0) == 0; }

}  // namespace

std::string process_started(pid_t pid) {
    auto ticks = start_ticks(pid);
    if (ticks.empty()) return {};
    return boot_id() + ":" + ticks;
}

bool kill_leftover_group(const process_ref& ref) {
    if (ref.pgid <= 1) return false;
    auto colon = ref.started.rfind(':');
    if (colon == std::string::npos || ref.started.substr(0, colon) != boot_id()) return false;  // another boot
    auto pgid = static_cast<pid_t>(ref.pgid);
    auto now = start_ticks(pgid);
    if (!now.empty() && now != ref.started.substr(colon + 1)) return false;  // the id belongs to a later process
    if (now.empty() && !group_has_members(pgid)) return false;               // nothing left
    return ::kill(-pgid, SIGKILL) == 0;
}

group_watchdog::~group_watchdog() { stop(); }

std::optional<std::string> group_watchdog::start() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return std::string("socketpair: ") + std::strerror(errno);
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t actions;
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&actions);
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawn_file_actions_adddup2(&actions, sv[1], 0);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    const char* argv[] = {"awk", watchdog_program, nullptr};
    pid_t pid = -1;
    int rc = ::posix_spawnp(&pid, "awk", &actions, &attr, const_cast<char**>(argv), environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    ::close(sv[1]);
    if (rc != 0) {
        ::close(sv[0]);
        return std::string("cannot start awk: ") + std::strerror(rc);
    }
    fd_ = sv[0];
    pid_ = pid;
    return std::nullopt;
}

void group_watchdog::send_locked(const std::string& text) {
    for (std::size_t at = 0; fd_ >= 0 && at < text.size();) {
        auto n = ::send(fd_, text.data() + at, text.size() - at, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {  // the watchdog is gone: nothing to tell any more
            ::close(fd_);
            fd_ = -1;
            return;
        }
        at += static_cast<std::size_t>(n);
    }
}

bool group_watchdog::running() const {
    std::lock_guard lock(mutex_);
    return fd_ >= 0;
}

void group_watchdog::add(pid_t pgid, const std::string& started) {
    auto colon = started.rfind(':');
    if (colon == std::string::npos) return;
    std::lock_guard lock(mutex_);
    waiting_ += "+ " + std::to_string(pgid) + " " + started.substr(colon + 1) + "\n";
    send_locked(waiting_);
    waiting_.clear();
}

void group_watchdog::remove(pid_t pgid, bool killed) {
    std::lock_guard lock(mutex_);
    waiting_ += "- " + std::to_string(pgid) + "\n";
    // A long wait without a new task sends them anyway, a few kilobytes at a time.
    if (!killed || waiting_.size() >= 4096) {
        send_locked(waiting_);
        waiting_.clear();
    }
}

void group_watchdog::stop() noexcept {
    std::lock_guard lock(mutex_);
    // Groups that ended must not be killed at the end of input: their ids may belong to
    // others by then.
    if (!waiting_.empty()) send_locked(waiting_);
    waiting_.clear();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    if (pid_ > 0) {
        while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
        }
    }
    pid_ = -1;
}

}  // namespace drover::detail
