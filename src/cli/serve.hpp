#pragma once
// `drover serve` (docs/service.md).

#include "cli/args.hpp"

namespace drover::cli {

/// Serves until a signal; returns the exit code. Throws config_error when it cannot start.
int run_serve(const serve_args& a);

}  // namespace drover::cli
