#pragma once
// Limits checked on a job file's text before the TOML parser sees it. toml++ descends
// recursively into dotted keys and table headers (`a.b.c...`): a 100 KB line of them
// exhausts the stack. A single pass over the text (strings and comments skipped) refuses
// such input with a located error instead.

#include <cstddef>
#include <string>
#include <string_view>

namespace drover::detail {

inline constexpr std::size_t max_job_line_bytes = 1u << 20;  ///< one physical line
inline constexpr std::size_t max_key_parts = 16;             ///< `a.b.c` has 3

/// Throws config_error("file:line:column: problem") for a line longer than
/// max_job_line_bytes or a dotted key or table header of more than max_key_parts parts.
void check_toml_limits(std::string_view text, const std::string& file);

}  // namespace drover::detail
