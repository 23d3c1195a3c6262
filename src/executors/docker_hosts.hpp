#pragma once
// Docker executor support without I/O on the network: host specs to HTTP client options and
// the docker CLI's environment conventions.

#include <drover/executors/docker.hpp>

#include "http/client.hpp"

#include <filesystem>
#include <string>

namespace drover::detail {

/// Client options for one daemon: "unix:///p", "tcp://h:p" (TLS when opts.tls.enabled),
/// "http://h:p", "https://h:p". Throws config_error for anything else.
http::client_options docker_client_options(const std::string& host, const docker_executor_options& opts);

}  // namespace drover::detail
