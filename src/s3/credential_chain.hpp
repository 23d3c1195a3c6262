#pragma once
// Turns the chain's choice (s3/credentials.hpp: credential_plan) into a credential_provider:
// fetches the first credentials now (so a run fails at start with a clear error), and gives
// the provider the function that fetches them again when they near their expiration.

#include "s3/credential_provider.hpp"
#include "s3/credentials.hpp"

#include <memory>
#include <string>

namespace drover::s3 {

struct chain_options {
    std::string region;   ///< the S3 region, also STS's (regional endpoint, signing)
    std::string ca_file;  ///< CA bundle for an https STS endpoint
    refresh_windows windows;
};

/// Throws credential_error (a config_error) when the source fails, or when nothing applies:
/// an instance metadata service that answers nothing gives "S3 credentials not found: ...".
std::shared_ptr<credential_provider> make_credential_provider(const credential_plan& plan, const chain_options& o);

}  // namespace drover::s3
