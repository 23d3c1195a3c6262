#pragma once
// The HTTP API of `drover serve` (docs/service.md#http-api), without sockets: a request in,
// an answer out. Versioned under /api/v1/, JSON in and out; /metrics in the Prometheus text
// format. Every path is checked against the tokens first: reading needs the read scope (or
// no tokens file), changing needs admin (and a tokens file).

#include <drover/service.hpp>

#include "service/http_server.hpp"
#include "service/tokens.hpp"

namespace drover::detail {

class service_api {
public:
    service_api(drover::service& svc, const token_set& tokens) : svc_(svc), tokens_(tokens) {}
    http_answer handle(const http_request& r) const;

private:
    drover::service& svc_;
    const token_set& tokens_;
};

}  // namespace drover::detail
