#pragma once
// Delivery of on_failure alerts, on a thread of its own: each alert runs the command (in a
// process group of its own, killed as a whole) and then POSTs the webhook, each limited to
// `timeout`. Up to 8 task alerts are delivered at once, so one slow hook does not hold the
// others up; a run's last alert (run_failed) goes out after them. The wait at the end
// (drain) is bounded as a whole: whatever is not delivered `timeout` + 0.5 s after it
// started is given up on, commands killed and requests cancelled. abort() gives up at once.

#include <drover/job_file.hpp>

#include "http/endpoint.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

namespace drover::detail {

class alert_queue {
public:
    using log_fn = std::function<void(const std::string&)>;

    /// `target` is the webhook's path and query (when cfg.webhook is set).
    alert_queue(alert_config cfg, http::endpoint webhook, std::string target, log_fn log,
                std::chrono::milliseconds timeout);
    /// Gives up on whatever is still pending, then stops the thread.
    ~alert_queue();
    alert_queue(const alert_queue&) = delete;
    alert_queue& operator=(const alert_queue&) = delete;

    /// Thread-safe. A `droppable` alert (task_dead) is dropped, and counted as failed, when
    /// more than 1,000 alerts wait already; one that is not (run_failed) is never dropped
    /// and goes out after every alert pushed before it.
    void push(std::string event, std::string payload, bool droppable);

    /// Blocks until every alert pushed so far is delivered or failed: at most `timeout` +
    /// 0.5 s from this call, then the rest is given up on.
    void drain();
    /// The same without blocking: `done` is posted to `ex` when the wait is over.
    void async_drain(boost::asio::any_io_executor ex, std::function<void()> done);
    /// Gives up on every pending alert now (a signal while waiting). Thread-safe.
    void abort(std::string why);

    std::size_t sent() const;    ///< deliveries that succeeded (command exit 0, HTTP 2xx)
    std::size_t failed() const;  ///< failed, timed out, given up on or dropped

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace drover::detail
