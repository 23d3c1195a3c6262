#pragma once
// on_failure alerts: when a task is dead-lettered or a run ends with failures, run a
// command with a JSON payload on stdin and/or POST the payload to a webhook.
//
// The observer only builds the payload on the run's strand; a thread of its own runs the
// command and the HTTP request, so a slow hook never stalls the scheduler.
//
// Secrets: values of a task's environment variables whose names look secret (containing
// KEY, SECRET, TOKEN, PASSW, CREDENTIAL, AUTH or PRIVATE, case-insensitive; values of 4+
// characters) are replaced by "[redacted]" wherever they occur in the payload (command,
// message, stderr tail).

#include <drover/job_file.hpp>
#include <drover/observer.hpp>

#include "http/endpoint.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace drover::detail {

/// "http://host[:port]/path?query" -> (endpoint, "/path?query"). Throws config_error whose
/// message names only the scheme and host of the URL (never user info, path or query).
std::pair<http::endpoint, std::string> parse_webhook_url(std::string_view url);

/// Replaces every occurrence of each secret in `text` with "[redacted]".
std::string redact(std::string text, const std::vector<std::string>& secrets);

/// Values of `env` entries whose names look secret (see above).
std::vector<std::string> secret_values(const std::map<std::string, std::string>& env);

class alerter final : public observer {
public:
    using log_fn = std::function<void(const std::string&)>;
    /// Throws config_error for a bad webhook URL.
    alerter(std::string job_name, alert_config cfg, log_fn log,
            std::chrono::milliseconds timeout = std::chrono::seconds(10));
    /// Sends what is queued, then stops.
    ~alerter() override;

    void on_task_finished(const task_spec& t, const attempt_outcome& o, task_state next) override;
    void on_run_finished(const run_summary& s) override;

    /// Blocks until every alert queued so far has been sent (or has failed).
    void drain();
    std::size_t sent() const;    ///< deliveries that succeeded (command exit 0, HTTP 2xx)
    std::size_t failed() const;

private:
    void worker();
    void deliver(const std::string& event, const std::string& payload);
    bool run_command(const std::string& event, const std::string& payload);
    bool post_webhook(const std::string& payload);

    std::string job_;
    alert_config cfg_;
    log_fn log_;
    std::chrono::milliseconds timeout_;
    http::endpoint endpoint_;
    std::string target_;

    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<std::pair<std::string, std::string>> queue_;  // (event, payload)
    std::size_t in_flight_ = 0, sent_ = 0, failed_ = 0;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace drover::detail
