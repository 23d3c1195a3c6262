#pragma once
/// @file
/// Durations as people write them: "250ms", "30s", "5m", "1h30m", "2d".

#include <drover/export.hpp>
#include <drover/task.hpp>

#include <string>
#include <string_view>

namespace drover {

/// Parses durations like "250ms", "30s", "5m", "1h30m", "2d". Throws config_error.
DROVER_API duration parse_duration(std::string_view text);

/// Formats a duration the way parse_duration reads it ("1m30s", "250ms").
DROVER_API std::string format_duration(duration d);

}  // namespace drover
