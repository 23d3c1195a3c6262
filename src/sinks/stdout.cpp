#include "sinks/stdout.hpp"

#include <drover/error.hpp>

#include <cerrno>
#include <cstring>
#include <string>

namespace drover::detail {

namespace {

// Records are staged in memory up to this size, then in an unnamed temporary file.
constexpr std::size_t memory_bytes = 1 << 20;

class stream_writer final : public sink_writer {
public:
    stream_writer(std::FILE* out, std::shared_ptr<std::mutex> lock) : out_(out), lock_(std::move(lock)) {}
    ~stream_writer() override { abort(); }

    void write(const record& r) override {
        buffer_.append(r.json);
        buffer_ += '\n';
        ++records_;
        if (buffer_.size() >= memory_bytes) spill();
    }

    committed_output commit() override {
        committed_output c;
        c.records = records_;
        std::lock_guard g(*lock_);
        if (spill_) {
            if (std::fflush(spill_) != 0 || std::fseek(spill_, 0, SEEK_SET) != 0) fail("reading back staged records");
            char chunk[1 << 16];
            std::size_t n;
            while ((n = std::fread(chunk, 1, sizeof chunk, spill_)) > 0) put(chunk, n, c);
            if (std::ferror(spill_)) fail("reading back staged records");
        }
        put(buffer_.data(), buffer_.size(), c);
        if (std::fflush(out_) != 0) fail("writing records to stdout");
        c.locations.push_back("stdout");
        abort();
        return c;
    }

    void abort() noexcept override {
        if (spill_) std::fclose(spill_);
        spill_ = nullptr;
        buffer_.clear();
        records_ = 0;
    }

private:
    [[noreturn]] static void fail(const char* what) {
        throw sink_error(std::string(what) + ": " + std::strerror(errno));
    }
    void spill() {
        if (!spill_ && !(spill_ = std::tmpfile())) fail("staging records in a temporary file");
        if (std::fwrite(buffer_.data(), 1, buffer_.size(), spill_) != buffer_.size()) fail("staging records");
        buffer_.clear();
    }
    void put(const char* p, std::size_t n, committed_output& c) {
        if (n && std::fwrite(p, 1, n, out_) != n) fail("writing records to stdout");
        c.bytes += n;
    }

    std::FILE* out_;
    std::shared_ptr<std::mutex> lock_;
    std::string buffer_;
    std::FILE* spill_ = nullptr;
    std::uint64_t records_ = 0;
};

}  // namespace

stream_sink::stream_sink(std::FILE* out) : out_(out), lock_(std::make_shared<std::mutex>()) {}

std::string stream_sink::describe() const { return out_ == stdout ? "stdout" : "a stream"; }
void stream_sink::start(const sink_context&) {}
void stream_sink::stop() noexcept { std::fflush(out_); }

std::unique_ptr<sink_writer> stream_sink::open(const sink_attempt&) {
    return std::make_unique<stream_writer>(out_, lock_);
}

}  // namespace drover::detail
