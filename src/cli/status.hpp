#pragma once
// `drover status [--state DIR] [--json]`: counts per state, running attempts, dead tasks.

#include <drover/journal.hpp>

#include <string>

namespace drover::cli {

/// The status as text for a terminal.
std::string status_text(const journal_status& s);

}  // namespace drover::cli
