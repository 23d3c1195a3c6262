// The service's HTTP API (service/api.cpp) and its token, cookie and listen-address parsers,
// on any request: an answer with a known status always comes back, JSON answers are JSON with
// an "error" string when the status is not 2xx, and nothing changes without an admin token.
//
// Input, one field per line: method, target, a header line "Name: value" (or empty), then the
// body (the rest). The service has one job (a task that never runs: nothing is triggered
// without a valid admin token, which the input cannot know unless it finds the seed's).
#include "fuzz/fuzz.hpp"

#include "service/api.hpp"
#include "service/http_server.hpp"
#include "service/sessions.hpp"
#include "service/tokens.hpp"

#include <drover/error.hpp>
#include <drover/service.hpp>

#include <boost/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <unistd.h>

namespace drover::fuzz {

namespace {

struct fixture {
    std::filesystem::path dir;
    std::unique_ptr<drover::service> svc;
    detail::token_set tokens;
    std::unique_ptr<detail::service_api> api;

    fixture() {
        char tmpl[] = "/tmp/drover-fuzz-service-XXXXXX";
        dir = ::mkdtemp(tmpl);
        std::filesystem::create_directories(dir / "jobs");
        std::ofstream(dir / "jobs" / "job.toml") << "name = \"job\"\n[[tasks]]\nid = \"t\"\ncommand = [\"true\"]\n";
        svc = std::make_unique<drover::service>(
            drover::service_options{.jobs_dir = dir / "jobs", .state_dir = dir / "state", .listen = ""});
        svc->start();
        tokens = detail::token_set::parse("read read-token-0123456789\n", "tokens");
        api = std::make_unique<detail::service_api>(*svc, tokens);
    }
    ~fixture() {
        svc->stop();
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
};

}  // namespace

void service_api(std::string_view in) {
    static fixture f;
    auto lines = split(in, '\n');
    while (lines.size() < 4) lines.emplace_back();
    // The parsers on their own first.
    try {
        (void)detail::token_set::parse(in, "fuzz");
    } catch (const drover::config_error&) {
    }
    (void)detail::bearer_token(lines[2]);
    (void)detail::cookie_value(lines[2], "drover_session");
    try {
        (void)detail::parse_listen(lines[1]);
    } catch (const drover::config_error&) {
    }

    detail::http_request r;
    r.method = std::string(lines[0]);
    r.target = std::string(lines[1]);
    if (auto colon = lines[2].find(':'); colon != std::string_view::npos) {
        auto value = lines[2].substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        r.headers.emplace_back(std::string(lines[2].substr(0, colon)), std::string(value));
    }
    auto body_at = std::min(in.size(), lines[0].size() + lines[1].size() + lines[2].size() + 3);
    r.body = std::string(in.substr(body_at));
    auto a = f.api->handle(r);
    static const std::set<unsigned> known{200, 201, 400, 401, 403, 404, 405, 409, 413, 415, 500};
    DROVER_FUZZ_CHECK(known.count(a.status) == 1, std::to_string(a.status));
    // A read token (the only one there is) never starts a run.
    DROVER_FUZZ_CHECK(a.status != 201, a.body);
    if (a.content_type == "application/json") {
        boost::system::error_code ec;
        auto v = boost::json::parse(a.body, ec);
        DROVER_FUZZ_CHECK(!ec, a.body);
        if (a.status >= 300) {
            DROVER_FUZZ_CHECK(v.is_object() && v.as_object().contains("error") && v.at("error").is_string(), a.body);
        }
    }
}

}  // namespace drover::fuzz
