#include "service/dashboard.hpp"

#include "dashboard_files.inc"

namespace drover::detail {

namespace {

template <std::size_t N>
std::string text(const unsigned char (&bytes)[N]) {
    return std::string(reinterpret_cast<const char*>(bytes), N);
}

}  // namespace

std::optional<http_answer> dashboard_asset(std::string_view name) {
    http_answer a;
    if (name.empty() || name == "index.html") {
        a.content_type = "text/html; charset=utf-8";
        a.body = text(embedded_index_html);
    } else if (name == "dashboard.js") {
        a.content_type = "text/javascript; charset=utf-8";
        a.body = text(embedded_dashboard_js);
    } else if (name == "dashboard.css") {
        a.content_type = "text/css; charset=utf-8";
        a.body = text(embedded_dashboard_css);
    } else {
        return std::nullopt;
    }
    a.headers = {{"Content-Security-Policy",
                  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; "
                  "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"},
                 {"X-Frame-Options", "DENY"},
                 {"Referrer-Policy", "no-referrer"}};
    return a;
}

std::string_view openapi_document() {
    return {reinterpret_cast<const char*>(embedded_openapi_json), sizeof embedded_openapi_json};
}

}  // namespace drover::detail
