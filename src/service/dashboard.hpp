#pragma once
// The dashboard's files (src/service/dashboard/: plain HTML, CSS and a hand-written script,
// compiled into the library by cmake/embed_files.cmake), served at /, /dashboard.js and
// /dashboard.css with a Content-Security-Policy that allows only them.

#include "service/http_server.hpp"

#include <optional>
#include <string_view>

namespace drover::detail {

/// The answer for the file a one-segment path names ("" = the page), or nullopt.
std::optional<http_answer> dashboard_asset(std::string_view name);

/// The OpenAPI 3 document of the HTTP API (src/service/dashboard/openapi.json), served at
/// /api/v1/openapi.json.
std::string_view openapi_document();

}  // namespace drover::detail
