// Run lock files: which runs of a state directory are still alive, for reaping what dead runs
// left behind (Docker containers, Slurm jobs).

#include "executors/run_lock.hpp"

#include <drover/error.hpp>

#include <fmt/format.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace drover::detail {

std::string state_label(const std::filesystem::path& state_dir) {
    std::error_code ec;
    auto abs = std::filesystem::weakly_canonical(std::filesystem::absolute(state_dir, ec), ec);
    char hn[256] = {};
    ::gethostname(hn, sizeof hn - 1);
    std::string key = std::string(hn) + ":" + abs.string();
    std::uint64_t h = 14695981039346656037ull;  // FNV-1a
    for (unsigned char c : key) h = (h ^ c) * 1099511628211ull;
    return fmt::format("{:016x}", h);
}

namespace {
bool plain_name(const std::string& s) {
    if (s.empty() || s.size() > 100 || s[0] == '.') return false;
    for (char c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
    return true;
}
std::filesystem::path lock_path(const std::filesystem::path& state_dir, std::string_view kind, const std::string& run_id) {
    return state_dir / kind / (run_id + ".lock");
}
}  // namespace

unique_fd lock_run(const std::filesystem::path& state_dir, std::string_view kind, const std::string& run_id) {
    std::error_code ec;
    std::filesystem::create_directories(state_dir / kind, ec);
    auto p = lock_path(state_dir, kind, run_id);
    unique_fd fd(::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!fd) throw executor_error(fmt::format("{} executor: cannot create {}: {}", kind, p.string(), std::strerror(errno)));
    // Shared: several executors of the kind of one run each hold it; a reaper's exclusive try fails
    // while any of them lives.
    if (::flock(fd.get(), LOCK_SH | LOCK_NB) != 0)
        throw executor_error(fmt::format("{} executor: cannot lock {}: {}", kind, p.string(), std::strerror(errno)));
    return fd;
}

bool run_live(const std::filesystem::path& state_dir, std::string_view kind, const std::string& run_id) {
    if (!plain_name(run_id)) return false;
    unique_fd fd(::open(lock_path(state_dir, kind, run_id).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return false;
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return false;
    return errno == EWOULDBLOCK;
}

void unlock_run(unique_fd& lock, const std::filesystem::path& state_dir, std::string_view kind, const std::string& run_id) noexcept {
    if (!lock) return;
    // Remove the file only when no other executor of this run still holds it.
    if (::flock(lock.get(), LOCK_EX | LOCK_NB) == 0) forget_run(state_dir, kind, run_id);
    lock.reset();
}

void forget_run(const std::filesystem::path& state_dir, std::string_view kind, const std::string& run_id) noexcept {
    if (!plain_name(run_id)) return;
    std::error_code ec;
    std::filesystem::remove(lock_path(state_dir, kind, run_id), ec);
}

}  // namespace drover::detail
