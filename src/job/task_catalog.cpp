#include "job/task_catalog.hpp"

#include <drover/error.hpp>

#include <cstring>
#include <functional>
#include <limits>

namespace drover::detail {

namespace {

std::size_t hash_of(std::string_view id) noexcept { return std::hash<std::string_view>{}(id); }

// The `after` entries of a blob start after its id's NUL: a count, then the entries.
const char* after_part(const char* blob, std::uint32_t& count) noexcept {
    const char* p = blob + std::strlen(blob) + 1;
    auto first = static_cast<unsigned char>(*p++);
    if (first < 255) {
        count = first;
    } else {
        std::memcpy(&count, p, sizeof count);
        p += sizeof count;
    }
    return p;
}

}  // namespace

std::string_view task_catalog::id(std::uint32_t i) const noexcept { return blobs_[i]; }

bool task_catalog::has_after(std::uint32_t i) const noexcept {
    std::uint32_t n = 0;
    after_part(blobs_[i], n);
    return n > 0;
}

std::vector<std::string_view> task_catalog::after(std::uint32_t i) const {
    std::uint32_t n = 0;
    const char* p = after_part(blobs_[i], n);
    std::vector<std::string_view> out;
    out.reserve(n);
    for (std::uint32_t k = 0; k < n; ++k) {
        std::string_view e(p);
        out.push_back(e);
        p += e.size() + 1;
    }
    return out;
}

std::int64_t task_catalog::find(std::string_view id) const noexcept {
    if (index_.empty()) return -1;
    const std::size_t mask = index_.size() - 1;
    for (std::size_t s = hash_of(id) & mask;; s = (s + 1) & mask) {
        auto slot = index_[s];
        if (slot == 0) return -1;
        if (this->id(slot - 1) == id) return slot - 1;
    }
}

void task_catalog::grow_index() {
    std::vector<std::uint32_t> bigger(index_.empty() ? 1024 : index_.size() * 2, 0);
    const std::size_t mask = bigger.size() - 1;
    for (auto slot : index_) {
        if (slot == 0) continue;
        std::size_t s = hash_of(id(slot - 1)) & mask;
        while (bigger[s] != 0) s = (s + 1) & mask;
        bigger[s] = slot;
    }
    index_.swap(bigger);
}

std::int64_t task_catalog::add(std::string_view id, const std::vector<std::string>& after) {
    if (blobs_.size() >= std::numeric_limits<std::uint32_t>::max() - 1)
        throw config_error("too many tasks (at most 4,294,967,293)");
    if ((blobs_.size() + 1) * 2 > index_.size()) grow_index();
    const std::size_t mask = index_.size() - 1;
    std::size_t s = hash_of(id) & mask;
    for (; index_[s] != 0; s = (s + 1) & mask)
        if (this->id(index_[s] - 1) == id) return index_[s] - 1;

    const auto n = static_cast<std::uint32_t>(after.size());
    std::size_t bytes = id.size() + 1 + (n < 255 ? 1 : 1 + sizeof n);
    for (const auto& a : after) bytes += a.size() + 1;
    char* p = arena_.allocate(bytes);
    const char* blob = p;
    std::memcpy(p, id.data(), id.size());
    p += id.size();
    *p++ = '\0';
    if (n < 255) {
        *p++ = static_cast<char>(n);
    } else {
        *p++ = static_cast<char>(255);
        std::memcpy(p, &n, sizeof n);
        p += sizeof n;
    }
    for (const auto& a : after) {
        std::memcpy(p, a.data(), a.size());
        p += a.size();
        *p++ = '\0';
    }
    blobs_.push_back(blob);
    index_[s] = static_cast<std::uint32_t>(blobs_.size());
    return -1;
}

task_list task_catalog::list() const {
    task_list l;
    l.size = size();
    l.id = [this](std::uint32_t i) { return id(i); };
    l.has_after = [this](std::uint32_t i) { return has_after(i); };
    l.after = [this](std::uint32_t i) { return after(i); };
    l.find = [this](std::string_view s) { return find(s); };
    return l;
}

std::size_t task_catalog::memory_bytes() const noexcept {
    return arena_.bytes() + blobs_.capacity() * sizeof(const char*) + index_.capacity() * sizeof(std::uint32_t);
}

void task_catalog::clear() noexcept {
    arena_.clear();
    std::vector<const char*>().swap(blobs_);
    std::vector<std::uint32_t>().swap(index_);
}

}  // namespace drover::detail
