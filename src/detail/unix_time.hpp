#pragma once
// Wall-clock time as Unix milliseconds: what the journal, the service's task events and
// `drover status` record and show.

#include <chrono>
#include <cstdint>

namespace drover::detail {

inline std::int64_t unix_now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace drover::detail
