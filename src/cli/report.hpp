#pragma once
// The end-of-run summary the CLI prints.

#include <drover/summary.hpp>

#include <string>

namespace drover::cli {

/// Human-readable summary: counts, rate, where output and logs are, dead tasks.
std::string summary_text(const std::string& job_name, const run_summary& s);

}  // namespace drover::cli
