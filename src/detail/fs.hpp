#pragma once
// Small POSIX file helpers shared across drover.
//
// Failures throw std::system_error carrying errno, whose what() reads
// "<operation> <path>: <strerror>", so callers can rethrow it as their own error type
// (the file sink turns it into sink_error) without losing the path or the cause.

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace drover::detail {

/// Throws std::system_error(err) with what() "<op> <path>: <strerror(err)>".
[[noreturn]] void throw_errno(std::string_view op, const std::filesystem::path& p, int err);

/// Owns a file descriptor; closes it (ignoring errors) on destruction.
class unique_fd {
public:
    unique_fd() = default;
    explicit unique_fd(int fd) noexcept : fd_(fd) {}
    ~unique_fd() { reset(); }
    unique_fd(unique_fd&& o) noexcept : fd_(o.release()) {}
    unique_fd& operator=(unique_fd&& o) noexcept {
        if (this != &o) reset(o.release());
        return *this;
    }
    int get() const noexcept { return fd_; }
    explicit operator bool() const noexcept { return fd_ >= 0; }
    int release() noexcept {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }
    void reset(int fd = -1) noexcept;
    /// Closes and reports the error close() returns (NFS and friends report write-back
    /// failures only there).
    void close(const std::filesystem::path& p);

private:
    int fd_ = -1;
};

/// Writes all `n` bytes, retrying short writes and EINTR.
void write_all(int fd, const void* data, std::size_t n, const std::filesystem::path& p);
void fsync_fd(int fd, const std::filesystem::path& p);
/// Opens `p` read-only (file or directory) and fsyncs it.
void fsync_path(const std::filesystem::path& p);
/// fsyncs a directory, making entries created, renamed or removed in it durable.
void fsync_dir(const std::filesystem::path& dir);

/// Creates `dir` and missing parents (tolerating concurrent creators). With `fsync`,
/// the parent of every directory created here is fsynced so the new entries survive a
/// crash. Returns true if this call created at least one directory.
bool create_directories(const std::filesystem::path& dir, bool fsync);

/// Replaces `p` atomically with `content`: writes a temporary sibling, fsyncs it
/// (when `fsync`), renames it over `p`, then fsyncs the directory (when `fsync`).
/// Readers see the old or the new content, never a mix.
void atomic_write_file(const std::filesystem::path& p, std::string_view content, bool fsync);

/// True for the temporary names atomic_write_file uses (to clean up after a crash).
bool is_atomic_write_temp(std::string_view filename) noexcept;

/// rename(2) with a path-carrying error.
void rename_path(const std::filesystem::path& from, const std::filesystem::path& to);

/// unlink(2); returns false when the file did not exist.
bool remove_file(const std::filesystem::path& p);

/// The whole file, or nullopt when it does not exist.
std::optional<std::string> read_file_if_exists(const std::filesystem::path& p);

/// Removes `p` recursively; never throws. Returns false if something could not be removed.
bool remove_all(const std::filesystem::path& p) noexcept;

/// Takes an exclusive, non-blocking flock on `fd` and writes our pid into the file. Returns
/// nullopt when locked, or the pid another process wrote there ("unknown" if none) when that
/// process holds the lock. Throws std::system_error for other failures.
std::optional<std::string> lock_with_pid(int fd, const std::filesystem::path& p);

}  // namespace drover::detail
