#include "detail/fs.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>
#include <vector>

namespace drover::detail {

namespace stdfs = std::filesystem;

namespace {

int open_retry(const char* path, int flags, mode_t mode = 0) {
    int fd;
    do fd = ::open(path, flags | O_CLOEXEC, mode);
    while (fd < 0 && errno == EINTR);
    return fd;
}

// A directory's parent, treating "a/b/" like "a/b".
stdfs::path parent_of(const stdfs::path& p) {
    return p.has_filename() ? p.parent_path() : p.parent_path().parent_path();
}

}  // namespace

void throw_errno(std::string_view op, const stdfs::path& p, int err) {
    std::string what(op);
    what += ' ';
    what += p.string();
    throw std::system_error(err, std::generic_category(), what);
}

void unique_fd::reset(int fd) noexcept {
    if (fd_ >= 0) ::close(fd_);  // Linux closes the fd even when close() reports EINTR
    fd_ = fd;
}

void unique_fd::close(const stdfs::path& p) {
    int fd = release();
    if (fd >= 0 && ::close(fd) != 0 && errno != EINTR) throw_errno("cannot close", p, errno);
}

void write_all(int fd, const void* data, std::size_t n, const stdfs::path& p) {
    auto* at = static_cast<const char*>(data);
    while (n > 0) {
        ssize_t w = ::write(fd, at, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            throw_errno("cannot write", p, errno);
        }
        at += w;
        n -= static_cast<std::size_t>(w);
    }
}

void fsync_fd(int fd, const stdfs::path& p) {
    while (::fsync(fd) != 0) {
        if (errno != EINTR) throw_errno("cannot fsync", p, errno);
    }
}

void fsync_path(const stdfs::path& p) {
    unique_fd fd(open_retry(p.c_str(), O_RDONLY));
    if (!fd) throw_errno("cannot open", p, errno);
    fsync_fd(fd.get(), p);
}

void fsync_dir(const stdfs::path& dir) {
    unique_fd fd(open_retry(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY));
    if (!fd) throw_errno("cannot open directory", dir, errno);
    fsync_fd(fd.get(), dir);
}

bool create_directories(const stdfs::path& dir, bool fsync) {
    // Walk up to the first existing ancestor, then create downwards.
    std::vector<stdfs::path> missing;
    for (stdfs::path p = dir; !p.empty(); p = parent_of(p)) {
        struct stat st;
        if (::stat(p.c_str(), &st) == 0) {
            if (!S_ISDIR(st.st_mode)) throw_errno("cannot create directory", p, ENOTDIR);
            break;
        }
        if (errno != ENOENT) throw_errno("cannot create directory", p, errno);
        missing.push_back(p);
        if (p == p.root_path()) break;
    }
    bool created = false;
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
        if (::mkdir(it->c_str(), 0777) == 0) {
            created = true;
        } else if (errno != EEXIST) {  // EEXIST: a concurrent creator won; fine
            throw_errno("cannot create directory", *it, errno);
        }
        // Even if someone else created it, make its entry durable before we rely on it.
        if (fsync) fsync_dir(parent_of(*it));
    }
    return created;
}

bool is_atomic_write_temp(std::string_view filename) noexcept {
    return filename.starts_with(".") && filename.find(".tmp-") != std::string_view::npos;
}

void atomic_write_file(const stdfs::path& p, std::string_view content, bool fsync) {
    // Unique per process and call, so concurrent writers of different files (or of the
    // same file) never share a temporary.
    static std::atomic<unsigned long> counter{0};
    stdfs::path tmp = p.parent_path() / ("." + p.filename().string() + ".tmp-" + std::to_string(::getpid()) +
                                         "-" + std::to_string(counter.fetch_add(1)));
    try {
        unique_fd fd(open_retry(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644));
        if (!fd) throw_errno("cannot create", tmp, errno);
        write_all(fd.get(), content.data(), content.size(), tmp);
        if (fsync) fsync_fd(fd.get(), tmp);
        fd.close(tmp);
        rename_path(tmp, p);
    } catch (...) {
        ::unlink(tmp.c_str());
        throw;
    }
    if (fsync) fsync_dir(p.parent_path());
}

void rename_path(const stdfs::path& from, const stdfs::path& to) {
    if (::rename(from.c_str(), to.c_str()) != 0) throw_errno("cannot rename " + from.string() + " to", to, errno);
}

bool remove_file(const stdfs::path& p) {
    if (::unlink(p.c_str()) == 0) return true;
    if (errno == ENOENT) return false;
    throw_errno("cannot remove", p, errno);
}

std::optional<std::string> read_file_if_exists(const stdfs::path& p) {
    unique_fd fd(open_retry(p.c_str(), O_RDONLY));
    if (!fd) {
        if (errno == ENOENT) return std::nullopt;
        throw_errno("cannot open", p, errno);
    }
    std::string out;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw_errno("cannot read", p, errno);
        }
        if (n == 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

bool remove_all(const stdfs::path& p) noexcept {
    std::error_code ec;
    stdfs::remove_all(p, ec);
    return !ec;
}

std::optional<std::string> lock_with_pid(int fd, const stdfs::path& p) {
    int rc;
    do rc = ::flock(fd, LOCK_EX | LOCK_NB);
    while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        if (errno != EWOULDBLOCK) throw_errno("cannot lock", p, errno);
        char buf[32] = {};
        ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
        std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
        while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
        return pid.empty() ? "unknown" : pid;
    }
    std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0) throw_errno("cannot write", p, errno);
    if (::pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) throw_errno("cannot write", p, errno);
    return std::nullopt;
}

}  // namespace drover::detail
