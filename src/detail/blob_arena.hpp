#pragma once
// Bump allocation for many small, immutable byte strings (task blobs in the scheduler's
// task_store, ids and `after` lists in the loader's task_catalog): blocks of at least 1 MiB,
// and a blob never moves once written. Freed all at once.

#include <cstddef>
#include <memory>
#include <vector>

namespace drover::detail {

class blob_arena {
public:
    static constexpr std::size_t block_size = std::size_t{1} << 20;

    /// `n` bytes that stay where they are until clear() or destruction.
    char* allocate(std::size_t n) {
        if (n > left_) {
            std::size_t size = n > block_size ? n : block_size;
            blocks_.push_back(std::make_unique_for_overwrite<char[]>(size));
            next_ = blocks_.back().get();
            left_ = size;
            bytes_ += size;
        }
        char* p = next_;
        next_ += n;
        left_ -= n;
        return p;
    }

    /// Bytes held in blocks.
    std::size_t bytes() const noexcept { return bytes_; }

    void clear() noexcept {
        std::vector<std::unique_ptr<char[]>>().swap(blocks_);
        left_ = 0;
        next_ = nullptr;
        bytes_ = 0;
    }

private:
    std::vector<std::unique_ptr<char[]>> blocks_;
    std::size_t left_ = 0;
    char* next_ = nullptr;
    std::size_t bytes_ = 0;
};

}  // namespace drover::detail
