#pragma once
// `drover exec`: GNU-parallel-style one-off work (docs/guide.md#one-off-work-drover-exec).
// Reads the `::::` files and stdin, makes the job with drover::make_exec_job, runs it.

#include "cli/args.hpp"

namespace drover::cli {

/// The exit code: 0 all succeeded, 1 some dead, 130 cancelled. Throws config_error (exit 2).
int run_exec(const exec_args& a);

}  // namespace drover::cli
