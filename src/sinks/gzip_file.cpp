#include "sinks/gzip_file.hpp"

#include "detail/fs.hpp"

#include <zlib.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <system_error>
#include <unistd.h>

namespace drover::detail {

namespace {
constexpr std::size_t out_buffer_size = 128 * 1024;
// Records are ~1 KiB; gathering them gives deflate the large inputs it is fastest with.
constexpr std::size_t in_buffer_size = 64 * 1024;
constexpr int gzip_window_bits = 15 + 16;  // 32 KiB window, gzip framing
constexpr int mem_level = 8;               // zlib's default
}  // namespace

struct gzip_file::state {
    std::filesystem::path path;
    unique_fd fd;
    z_stream zs{};
    bool zs_ready = false;
    std::unique_ptr<unsigned char[]> out{new unsigned char[out_buffer_size]};
    std::unique_ptr<char[]> in{new char[in_buffer_size]};
    std::size_t in_len = 0;

    void flush_out() {
        std::size_t n = out_buffer_size - zs.avail_out;
        if (n > 0) write_all(fd.get(), out.get(), n, path);
        zs.next_out = out.get();
        zs.avail_out = static_cast<uInt>(out_buffer_size);
    }
};

gzip_file::gzip_file() = default;
gzip_file::~gzip_file() { abort(); }
gzip_file::gzip_file(gzip_file&&) noexcept = default;

gzip_file& gzip_file::operator=(gzip_file&& o) noexcept {
    if (this != &o) {
        abort();
        s_ = std::move(o.s_);
        in_bytes_ = o.in_bytes_;
        out_bytes_ = o.out_bytes_;
    }
    return *this;
}

bool gzip_file::is_open() const noexcept { return s_ && s_->fd; }

const std::filesystem::path& gzip_file::path() const noexcept {
    static const std::filesystem::path none;
    return s_ ? s_->path : none;
}

void gzip_file::open(const std::filesystem::path& p, int level) {
    if (is_open()) throw std::logic_error("gzip_file::open: already open");
    auto s = std::make_unique<state>();
    s->path = p;
    int fd;
    do fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) throw_errno("cannot create", p, errno);
    s->fd.reset(fd);
    int rc = deflateInit2(&s->zs, level, Z_DEFLATED, gzip_window_bits, mem_level, Z_DEFAULT_STRATEGY);
    if (rc != Z_OK) {
        ::unlink(p.c_str());
        throw_errno("cannot start gzip stream for", p, rc == Z_MEM_ERROR ? ENOMEM : EINVAL);
    }
    s->zs_ready = true;
    s->zs.next_out = s->out.get();
    s->zs.avail_out = static_cast<uInt>(out_buffer_size);
    s_ = std::move(s);
    in_bytes_ = out_bytes_ = 0;
}

void gzip_file::deflate_into_file(int flush) {
    auto& zs = s_->zs;
    for (;;) {
        if (zs.avail_out == 0) {
            out_bytes_ += out_buffer_size;
            s_->flush_out();
        }
        int rc = deflate(&zs, flush);
        if (rc == Z_STREAM_END) return;
        if (rc != Z_OK && rc != Z_BUF_ERROR) throw_errno("cannot compress into", s_->path, EIO);
        // Z_NO_FLUSH is done once the input is consumed and deflate left output room.
        if (flush == Z_NO_FLUSH && zs.avail_in == 0 && zs.avail_out != 0) return;
    }
}

void gzip_file::compress(const char* data, std::size_t n) {
    auto& zs = s_->zs;
    // avail_in is 32-bit: feed huge inputs in pieces.
    while (n > 0) {
        std::size_t piece = std::min<std::size_t>(n, UINT_MAX);
        zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
        zs.avail_in = static_cast<uInt>(piece);
        deflate_into_file(Z_NO_FLUSH);
        data += piece;
        n -= piece;
    }
}

void gzip_file::write(std::string_view bytes) {
    if (!is_open()) throw std::logic_error("gzip_file::write: not open");
    if (bytes.empty()) return;
    in_bytes_ += bytes.size();
    state& s = *s_;
    if (s.in_len + bytes.size() > in_buffer_size) {
        compress(s.in.get(), s.in_len);
        s.in_len = 0;
        if (bytes.size() >= in_buffer_size) return compress(bytes.data(), bytes.size());
    }
    std::memcpy(s.in.get() + s.in_len, bytes.data(), bytes.size());
    s.in_len += bytes.size();
}

void gzip_file::finish(bool fsync) {
    if (!is_open()) throw std::logic_error("gzip_file::finish: not open");
    compress(s_->in.get(), s_->in_len);
    s_->in_len = 0;
    s_->zs.next_in = nullptr;
    s_->zs.avail_in = 0;
    deflate_into_file(Z_FINISH);
    out_bytes_ += out_buffer_size - s_->zs.avail_out;
    s_->flush_out();
    if (fsync) fsync_fd(s_->fd.get(), s_->path);
    s_->fd.close(s_->path);
    release();
}

void gzip_file::release() noexcept {
    if (!s_) return;
    if (s_->zs_ready) deflateEnd(&s_->zs);
    s_->zs_ready = false;
    s_->fd.reset();
    s_->out.reset();  // the path stays readable after finish()
    s_->in.reset();
}

void gzip_file::abort() noexcept {
    if (!s_) return;
    bool had_file = static_cast<bool>(s_->fd);
    release();
    if (had_file) ::unlink(s_->path.c_str());
}

}  // namespace drover::detail
