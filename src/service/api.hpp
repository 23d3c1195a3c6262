#pragma once
// The HTTP API of `drover serve` (docs/service.md#http-api), without sockets: a request in,
// an answer out. Versioned under /api/v1/, JSON in and out; /metrics in the Prometheus text
// format; the dashboard's page, script and style at /, /dashboard.js, /dashboard.css; live
// job updates as Server-Sent Events at /api/v1/events. Every API path is checked against the
// tokens first: reading needs the read scope (or no tokens file), changing needs admin (and a
// tokens file). A bearer token or a session cookie from /api/v1/login says who asks; a
// changing request with the cookie must carry the session's CSRF token in X-Drover-CSRF.

#include <drover/service.hpp>

#include "service/http_server.hpp"
#include "service/journal_views.hpp"
#include "service/sessions.hpp"
#include "service/tokens.hpp"

#include <boost/json/object.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace drover::detail {

class service_api {
public:
    /// Runs a piece of work somewhere else (the service's jobs thread), for what would hold up
    /// every other request on the server's thread: a trigger reads and checks the job file.
    using elsewhere = std::function<void(std::function<void()>)>;

    /// `slow`: where slow requests are answered (http_answer::later); none: in handle() itself.
    service_api(drover::service& svc, const token_set& tokens, elsewhere slow = {})
        : svc_(svc), tokens_(tokens), slow_(std::move(slow)) {}
    http_answer handle(const http_request& r) const;
    /// The jobs event of /api/v1/events: "event: jobs\ndata: {...}\n\n".
    std::string jobs_event() const;

private:
    http_answer route(const http_request& r) const;
    /// `work`'s answer, given later from `slow_` (or now without it), errors answered as
    /// handle() answers them.
    http_answer later(std::function<http_answer()> work) const;
    http_answer login(const http_request& r) const;
    /// o[field], a string, with the job's secret env values replaced (service::redact).
    void redact_text(boost::json::object& o, std::string_view field, const std::string& key) const;
    /// service::redact for a stderr log of `key` (which must outlive it).
    stderr_filter redactor(const std::string& key) const;

    drover::service& svc_;
    const token_set& tokens_;
    elsewhere slow_;
    mutable session_store sessions_;
};

}  // namespace drover::detail
