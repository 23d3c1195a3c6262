#pragma once
/// @file
/// A client of a drover service's HTTP API (docs/service.md): what `drover trigger`, `drover
/// runs`, `drover logs`, `drover retry`, `drover succeed`, `drover cancel` and `drover hosts` use, and drover.Client in Python.

#include <drover/error.hpp>
#include <drover/export.hpp>
#include <drover/service.hpp>

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace drover {

struct DROVER_API service_client_options {
    /// "http://127.0.0.1:8080" or "https://host:8443" (a path after the authority is a prefix
    /// of every request's path: a service behind a reverse proxy).
    std::string url = "http://127.0.0.1:8080";
    std::string token{};                      ///< bearer token; empty = none
    std::chrono::milliseconds timeout{30'000};  ///< per request
    std::string ca_file{};                    ///< https: a PEM CA bundle; empty = the system's
};

/// Blocking calls, one request each. Answers are the API's JSON documents (docs/service.md).
/// Errors carry the server's message and the URL: not_found_error (404), conflict_error (409),
/// config_error (400, 413, 415: a bad request), error (401, 403, 5xx, no connection: its
/// message says whether the service could be reached at all).
class DROVER_API service_client {
public:
    explicit service_client(service_client_options o);
    ~service_client();
    service_client(service_client&&) noexcept;
    service_client& operator=(service_client&&) noexcept;

    boost::json::value jobs();                  ///< {"jobs": [...]}
    boost::json::value job(std::string_view key);
    boost::json::value runs(std::string_view key, std::size_t limit = 50);  ///< {"runs": [...]}
    /// {"total", "offset", "tasks": [...]}; `state` empty = all.
    boost::json::value tasks(std::string_view key, std::string_view state = {}, std::size_t limit = 100,
                             std::size_t offset = 0);
    /// A task with its attempts and their stderr tails.
    boost::json::value task(std::string_view key, std::string_view id);
    /// {"task", "run_id", "attempt", "size", "offset", "text"}: the last `bytes` (at most 16 MiB)
    /// of an attempt's stderr log, of `run` (empty: the newest run with that attempt).
    boost::json::value attempt_stderr(std::string_view key, std::string_view id, int attempt,
                                      std::size_t bytes = 64 * 1024, std::string_view run = {});

    /// {"events": [...], "lost", "last_seq"}: the job's events numbered after `after`
    /// (service::task_events); follow a job by asking again with the last "seq" seen.
    boost::json::value task_events(std::string_view key, std::uint64_t after = 0, std::size_t limit = 1000);

    /// Starts a run; returns its run id.
    std::string trigger(std::string_view key, const trigger_options& o = {});
    bool cancel(std::string_view key);
    bool cancel_task(std::string_view key, std::string_view id);
    bool retry_task(std::string_view key, std::string_view id);
    bool mark_succeeded(std::string_view key, std::string_view id);
    /// {"hosts": [...]}: the hosts of the running run's fleet executors (service::hosts).
    boost::json::value hosts(std::string_view key);
    void add_host(std::string_view key, std::string_view spec, std::optional<std::size_t> executor = std::nullopt);
    void drain_host(std::string_view key, std::string_view spec, bool remove = false);
    /// Tasks as JSON objects (the keys of a control line's "submit"); returns how many.
    std::size_t submit(std::string_view key, const boost::json::array& tasks);
    /// {"pools": [{"name", "limit", "in_use", "waiting"}, ...]}: the pools the service's jobs share.
    boost::json::value pools();
    std::string metrics();

    /// True when something answers GET /api/v1/health with 200.
    bool reachable();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace drover
