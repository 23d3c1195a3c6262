#pragma once
// Helpers of the service tests: job files, a blocking HTTP call with drover's own client, and
// waiting for a condition.

#include <drover/service.hpp>
#include <drover/service_client.hpp>

#include "http/client.hpp"
#include "service/http_server.hpp"
#include "support/support.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

namespace drover::test {

inline constexpr const char* admin_token = "admin-token-0123456789";
inline constexpr const char* read_token = "read-token-0123456789";

inline void write_tokens(const fs::path& file) {
    write_file(file, fmt::format("# tokens of the test\nadmin {}\nread {}\n", admin_token, read_token));
}

/// A job of `n` tasks t-1..t-n ({i}) that each sleep `sleep` seconds and print one record.
inline std::string sleepy_job(const std::string& name, int n, double sleep, int slots = 2) {
    return fmt::format(R"(name = "{0}"
[[executors]]
kind = "local"
slots = {3}
[[tasks]]
id = "t-{{i}}"
foreach = {{ i = {{ from = 1, to = {1} }} }}
command = ["sh", "-c", "sleep {2}; echo '{{\"task\":\"t-{{i}}\"}}'"]
)",
                       name, n, sleep, slots);
}

/// A job of two tasks: "bad" writes `stderr` and exits 3 (dead at once), "long" sleeps 30 s,
/// so that its run stays while a test acts on it.
inline std::string failing_job(const std::string& name, const std::string& stderr_line) {
    return fmt::format(R"(name = "{}"
[[tasks]]
id = "bad"
command = ["sh", "-c", "echo '{}' >&2; exit 3"]
[[tasks]]
id = "long"
command = ["sleep", "30"]
)",
                       name, stderr_line);
}

/// Polls `pred` every 20 ms for at most `timeout`.
inline bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return pred();
}

/// One request to 127.0.0.1:port; `token` empty = no Authorization header.
inline http::result call(std::uint16_t port, boost::beast::http::verb method, const std::string& target,
                         const std::string& body = {}, const std::string& token = admin_token) {
    boost::asio::io_context io;
    http::client_options o;
    o.target = http::parse_endpoint("tcp://127.0.0.1:" + std::to_string(port));
    o.request_timeout = std::chrono::milliseconds(30'000);
    http::client c(io.get_executor(), o);
    http::request req{method, target, {}, body, std::nullopt};
    if (!token.empty()) req.headers.emplace_back("Authorization", std::string("Bearer ") + token);
    if (!body.empty()) req.headers.emplace_back("Content-Type", "application/json");
    http::result out;
    c.async_request(std::move(req), [&](http::result r) { out = std::move(r); });
    io.run();
    return out;
}

/// A GET for service_api::handle with the admin token (and these headers).
inline detail::http_request api_get(std::string target, std::vector<std::pair<std::string, std::string>> headers = {}) {
    detail::http_request r{"GET", std::move(target), std::move(headers), {}};
    r.headers.emplace_back("Authorization", std::string("Bearer ") + admin_token);
    return r;
}

inline boost::json::value json_of(const std::string& body) {
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    INFO(body);
    REQUIRE(!ec);
    return v;
}

/// The run of `key` the service went through last has ended (none is going).
inline bool run_ended(const drover::service& s, const std::string& key) {
    auto j = s.job(key);
    return j.run_id.empty() && !j.last_run_id.empty();
}

}  // namespace drover::test
