#pragma once
// A streaming gzip file writer on zlib. Input is gathered (64 KiB) and output buffered
// (128 KiB), so writing many small records costs deflate work, not calls and syscalls. Deterministic: the gzip header carries
// no name and no timestamp, so equal input gives equal bytes.
//
// Errors throw std::system_error (see detail/fs.hpp) naming the path.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>

namespace drover::detail {

class gzip_file {
public:
    gzip_file();
    ~gzip_file();  // aborts if still open
    gzip_file(gzip_file&&) noexcept;
    gzip_file& operator=(gzip_file&&) noexcept;

    /// Creates (truncates) `p` and starts a gzip stream at `level` (0..9).
    void open(const std::filesystem::path& p, int level);
    /// Compresses `bytes`; writes to the file whenever the output buffer fills.
    void write(std::string_view bytes);
    /// Ends the stream, writes the rest, optionally fsyncs, and closes the file.
    void finish(bool fsync);
    /// Closes and unlinks the file; never throws.
    void abort() noexcept;

    bool is_open() const noexcept;
    const std::filesystem::path& path() const noexcept;
    std::uint64_t uncompressed_bytes() const noexcept { return in_bytes_; }
    std::uint64_t compressed_bytes() const noexcept { return out_bytes_; }

private:
    struct state;  // keeps zlib out of every header
    void compress(const char* data, std::size_t n);
    void deflate_into_file(int flush);
    void release() noexcept;

    std::unique_ptr<state> s_;
    std::uint64_t in_bytes_ = 0;
    std::uint64_t out_bytes_ = 0;
};

}  // namespace drover::detail
