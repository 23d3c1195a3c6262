#pragma once
// on_failure alerts: when a task is dead-lettered or a run ends with failures, run a
// command with a JSON payload on stdin and/or POST the payload to a webhook.
//
// The observer only builds the payload on the run's strand; alert_queue delivers it on a
// thread of its own, several at once, so a slow hook never stalls the scheduler. The wait
// for what is still pending when the run ends is bounded as a whole (`timeout`), and
// abort() ends it at once (the CLI calls it on SIGINT/SIGTERM).
//
// Secrets: values of a task's environment variables whose names look secret (containing
// KEY, SECRET, TOKEN, PASSW, CREDENTIAL, AUTH or PRIVATE, case-insensitive; values of 4+
// characters) are replaced by "[redacted]" wherever they occur in the payload (command,
// message, stderr tail).

#include <drover/job_file.hpp>
#include <drover/observer.hpp>

#include "alerts/alert_queue.hpp"
#include "http/endpoint.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace drover::detail {

/// "http://host[:port]/path?query" -> (endpoint, "/path?query"). Throws config_error whose
/// message names only the scheme and host of the URL (never user info, path or query).
std::pair<http::endpoint, std::string> parse_webhook_url(std::string_view url);

/// Replaces every occurrence of each secret in `text` with "[redacted]".
std::string redact(std::string text, const std::vector<std::string>& secrets);
/// The same for a piece cut out of a longer text (a log's tail, a log still being written):
/// with `cut_front`, a start that is the end of a secret cut there is redacted too; with
/// `cut_back`, an end that is a secret's beginning. Secrets longest first.
std::string redact(std::string text, const std::vector<std::string>& secrets, bool cut_front, bool cut_back);

/// Values of `env` entries whose names look secret (see above), longest first.
std::vector<std::string> secret_values(const std::map<std::string, std::string>& env);
/// The same over a job's [defaults] env and every task's env, each value once.
std::vector<std::string> secret_values(const job& j);

class alerter final : public observer {
public:
    using log_fn = std::function<void(const std::string&)>;
    /// `timeout` overrides cfg.timeout: the limit for each command and request, and for
    /// the whole wait in drain(). Throws config_error for a bad webhook URL.
    alerter(std::string job_name, alert_config cfg, log_fn log,
            std::optional<std::chrono::milliseconds> timeout = std::nullopt);
    /// Gives up on alerts still pending (commands killed, requests cancelled).
    ~alerter() override;

    void on_task_finished(const task_spec& t, const attempt_outcome& o, task_state next) override;
    void on_run_finished(const run_summary& s) override;

    /// Blocks until every alert queued so far has been sent or has failed, at most the
    /// timeout in all; the rest is given up on (and logged).
    void drain() { queue_->drain(); }
    /// The same without blocking: `done` is posted to `ex` when the wait is over.
    void async_drain(boost::asio::any_io_executor ex, std::function<void()> done) {
        queue_->async_drain(std::move(ex), std::move(done));
    }
    /// Gives up on every pending alert now; logs "on_failure: <why>: N alert(s) not delivered".
    void abort(std::string why) { queue_->abort(std::move(why)); }

    std::size_t sent() const { return queue_->sent(); }      ///< command exit 0, HTTP 2xx
    std::size_t failed() const { return queue_->failed(); }  ///< failed, timed out, given up or dropped

private:
    std::string job_;
    std::unique_ptr<alert_queue> queue_;
};

}  // namespace drover::detail
