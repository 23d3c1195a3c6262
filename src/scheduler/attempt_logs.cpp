#include "scheduler/attempt_logs.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <unistd.h>

namespace drover::detail {

namespace {
constexpr std::uint64_t max_tail = 1u << 20;
}

head_tail split_cap(std::uint64_t cap) noexcept {
    if (cap == 0) return {std::numeric_limits<std::uint64_t>::max(), 0};
    std::uint64_t tail = std::min(cap / 2, max_tail);
    return {cap - tail, tail};
}

stderr_log::stderr_log(const run_files& files, std::string_view task_id, int attempt, std::uint64_t cap)
    : files_(files), task_id_(task_id), attempt_(attempt), split_(split_cap(cap)) {}

stderr_log::~stderr_log() { close(); }

void stderr_log::put(std::string_view bytes) noexcept {
    if (unwritable_) return;
    if (fd_ < 0) {
        fd_ = ::open(files_.stderr_log(task_id_, attempt_).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd_ < 0) {
            unwritable_ = true;
            return;
        }
    }
    while (!bytes.empty()) {
        ssize_t n = ::write(fd_, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {  // a full disk must not fail the task; the outcome's tail still has the end
            unwritable_ = true;
            return;
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

void stderr_log::write(std::string_view bytes) noexcept {
    if (closed_ || bytes.empty()) return;
    if (head_written_ < split_.head) {
        auto n = static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), split_.head - head_written_));
        put(bytes.substr(0, n));
        head_written_ += n;
        bytes.remove_prefix(n);
    }
    if (!bytes.empty()) {
        try {
            keep_tail(bytes);
        } catch (...) {  // no memory for the tail: count it as dropped
            dropped_ += bytes.size();
        }
    }
}

void stderr_log::keep_tail(std::string_view b) {
    auto cap = static_cast<std::size_t>(split_.tail);
    if (cap == 0) {
        dropped_ += b.size();
        return;
    }
    if (b.size() >= cap) {
        dropped_ += ring_.size() + (b.size() - cap);
        ring_.assign(b.substr(b.size() - cap));
        ring_pos_ = 0;
        return;
    }
    if (ring_.size() < cap) {  // still filling up
        std::size_t n = std::min(cap - ring_.size(), b.size());
        ring_.append(b.substr(0, n));
        b.remove_prefix(n);
        ring_pos_ = 0;
    }
    dropped_ += b.size();  // each byte from here on replaces the oldest one
    while (!b.empty()) {
        std::size_t n = std::min(b.size(), cap - ring_pos_);
        std::memcpy(ring_.data() + ring_pos_, b.data(), n);
        ring_pos_ = (ring_pos_ + n) % cap;
        b.remove_prefix(n);
    }
}

void stderr_log::close() noexcept {
    if (closed_) return;
    closed_ = true;
    if (dropped_ > 0) put("\n[drover: " + std::to_string(dropped_) + " bytes of stderr not kept]\n");
    if (!ring_.empty()) {
        put(std::string_view(ring_).substr(ring_pos_));
        put(std::string_view(ring_).substr(0, ring_pos_));
    }
    std::string().swap(ring_);
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

bad_record_log::bad_record_log(run_files& files, std::string task_id, int attempt)
    : files_(files), task_(std::move(task_id)), attempt_(attempt), split_(split_cap(files.limits().bad_record_bytes)) {}

void bad_record_log::drop(std::uint64_t line_no, std::uint64_t bytes) {
    if (dropped_ == 0 || line_no < first_dropped_) first_dropped_ = line_no;
    last_dropped_ = std::max(last_dropped_, line_no);
    ++dropped_;
    dropped_bytes_ += bytes;
}

void bad_record_log::add(std::uint64_t line_no, std::string_view error, std::string_view text, std::uint64_t length) {
    ++count_;
    // Past the head, a line longer than the whole tail cannot be kept: skip building it.
    if (head_full_ && text.size() > split_.tail) return drop(line_no, text.size());
    std::string line = files_.bad_record_line(task_, attempt_, line_no, error, text, length);
    if (!head_full_ && head_written_ + line.size() <= split_.head) {
        files_.append_bad(line);
        head_written_ += line.size();
        return;
    }
    head_full_ = true;
    if (line.size() > split_.tail) return drop(line_no, line.size());
    tail_bytes_ += line.size();
    tail_.emplace_back(line_no, std::move(line));
    while (tail_bytes_ > split_.tail) {
        auto& [old_no, old] = tail_.front();
        drop(old_no, old.size());
        tail_bytes_ -= old.size();
        tail_.pop_front();
    }
}

void bad_record_log::finish() {
    if (finished_) return;
    finished_ = true;
    if (dropped_ > 0)
        files_.append_bad(
            files_.bad_records_dropped_line(task_, attempt_, dropped_, dropped_bytes_, first_dropped_, last_dropped_));
    for (auto& [no, l] : tail_) files_.append_bad(l);
    tail_.clear();
}

}  // namespace drover::detail
