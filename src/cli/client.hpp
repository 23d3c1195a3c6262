#pragma once
// `drover trigger|runs|logs|retry|succeed|cancel|hosts`: the HTTP API of a running `drover serve`
// (drover::service_client); runs and logs read the journal with --state when no service answers.

#include "cli/args.hpp"

namespace drover::cli {

/// Returns the exit code: 0 done, 1 refused (nothing to retry or cancel). Errors (the
/// service's message, or that it cannot be reached) are thrown: main prints them, exit 2.
int run_client(const cli_args& a);

}  // namespace drover::cli
