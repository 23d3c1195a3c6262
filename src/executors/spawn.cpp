#include "executors/spawn.hpp"

#include "executors/program_path.hpp"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>

extern char** environ;

namespace drover::detail {
namespace {

struct fd_pair {
    int r = -1, w = -1;
    ~fd_pair() { close_all(); }
    void close_all() {
        if (r >= 0) ::close(r);
        if (w >= 0) ::close(w);
        r = w = -1;
    }
};

void make_pipe(fd_pair& p) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
    p.r = fds[0];
    p.w = fds[1];
}

// Inherited environment with the task's overrides applied (later entries would be
// ambiguous for getenv, so overridden names are dropped from the inherited part).
std::vector<std::string> build_env(const std::map<std::string, std::string>& overrides) {
    std::vector<std::string> env;
    for (char** e = environ; e && *e; ++e) {
        std::string_view kv(*e);
        auto eq = kv.find('=');
        std::string name(kv.substr(0, eq));
        if (!overrides.contains(name)) env.emplace_back(kv);
    }
    for (auto& [k, v] : overrides) env.push_back(k + "=" + v);
    return env;
}

struct spawn_attrs {
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t actions;
    spawn_attrs() {
        posix_spawnattr_init(&attr);
        posix_spawn_file_actions_init(&actions);
    }
    ~spawn_attrs() {
        posix_spawnattr_destroy(&attr);
        posix_spawn_file_actions_destroy(&actions);
    }
};

}  // namespace

spawned_child spawn_child(const spawn_request& req) {
    if (req.argv.empty()) throw std::system_error(EINVAL, std::generic_category(), "empty command");
    fd_pair in, out, err;
    if (req.stdin_pipe) make_pipe(in);
    if (!req.output_to_stderr) {
        make_pipe(out);
        make_pipe(err);
    }

    spawn_attrs sa;
    // Own process group, so a timeout can kill the whole tree; default signal
    // dispositions and an empty mask, whatever the embedding program set up.
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setflags(&sa.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    posix_spawnattr_setpgroup(&sa.attr, 0);
    posix_spawnattr_setsigdefault(&sa.attr, &all);
    posix_spawnattr_setsigmask(&sa.attr, &none);
    if (req.stdin_pipe)
        posix_spawn_file_actions_adddup2(&sa.actions, in.r, 0);
    else
        posix_spawn_file_actions_addopen(&sa.actions, 0, "/dev/null", O_RDONLY, 0);
    if (req.output_to_stderr) {
        posix_spawn_file_actions_adddup2(&sa.actions, 2, 1);
    } else {
        posix_spawn_file_actions_adddup2(&sa.actions, out.w, 1);
        posix_spawn_file_actions_adddup2(&sa.actions, err.w, 2);
    }
    if (!req.workdir.empty()) posix_spawn_file_actions_addchdir_np(&sa.actions, req.workdir.c_str());
    // Nothing else of ours reaches the task: sockets opened without CLOEXEC (Asio's listening
    // and accepted sockets, for one) would keep a port or a connection open in an orphan.
    posix_spawn_file_actions_addclosefrom_np(&sa.actions, 3);

    std::vector<char*> argv;
    for (auto& a : req.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<std::string> env_storage;
    char** envp = environ;
    std::vector<char*> env;
    if (!req.env.empty()) {
        env_storage = build_env(req.env);
        for (auto& e : env_storage) env.push_back(e.data());
        env.push_back(nullptr);
        envp = env.data();
    }

    pid_t pid = -1;
    int rc = ENOENT;
    // The PATH search once per program, not in every child (program_path.hpp); when the
    // remembered path fails, posix_spawnp searches again (and reports what it finds).
    if (auto path = program_path(req.argv[0])) {
        rc = ::posix_spawn(&pid, path->c_str(), &sa.actions, &sa.attr, argv.data(), envp);
        if (rc != 0) forget_program_path(req.argv[0]);
    }
    if (rc != 0) rc = ::posix_spawnp(&pid, argv[0], &sa.actions, &sa.attr, argv.data(), envp);
    if (rc != 0) {
        std::string what = "cannot start '" + req.argv[0] + "'";
        if (!req.workdir.empty() && rc == ENOENT) what += " (or workdir '" + req.workdir + "' is missing)";
        throw std::system_error(rc, std::generic_category(), what);
    }
    if (in.r >= 0) ::close(in.r);
    in.r = -1;
    if (out.w >= 0) ::close(out.w);
    out.w = -1;
    if (err.w >= 0) ::close(err.w);
    err.w = -1;

    int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (pidfd < 0) {
        int e = errno;
        signal_group(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        throw std::system_error(e, std::generic_category(), "pidfd_open");
    }
    spawned_child c{pid, in.w, out.r, err.r, pidfd};
    in.w = out.r = err.r = -1;
    return c;
}

void signal_group(pid_t pgid, int sig) noexcept {
    if (pgid > 0) ::kill(-pgid, sig);
}

}  // namespace drover::detail
