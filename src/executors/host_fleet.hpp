#pragma once
// Drives a pool_machine for a fleet executor: runs its actions (timers, reports, the
// executor's per-host work through host_backend), keeps the host list in step with the
// hosts_file and hosts_command sources, and takes add/drain/remove from any thread.

#include <drover/executors/host_pool.hpp>

#include "executors/pool_machine.hpp"

#include <drover/executor.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace drover::detail {

class host_fleet;

/// What a fleet executor does for its hosts. Called on the run's strand.
class host_backend {
public:
    virtual ~host_backend() = default;
    /// Once, right after it was made (it is owned by a shared_ptr then).
    virtual std::shared_ptr<host_fleet> make_fleet() = 0;
    // ---- the executor (host_pool_executor forwards) ----
    virtual void start_run(const executor_context& ctx) = 0;
    virtual void stop_run() noexcept = 0;
    virtual void execute(boost::asio::any_io_executor io_ex, const attempt_request& req, attempt_io& io,
                         executor::completion_handler handler) = 0;

    // ---- its hosts (host_fleet calls) ----
    /// Throws config_error when `spec` is not a host in the executor's format (any thread).
    virtual void check_host(const std::string& spec) const = 0;
    /// Host `h` joined: make what it needs (a client, a control socket path). A throw rejects it.
    virtual void open_host(std::uint32_t h, const std::string& spec) = 0;
    /// Probe it; answer with host_fleet::probe_done.
    virtual void probe_host(std::uint32_t h) = 0;
    /// End its running attempts with failure_class::executor_lost, saying `why`.
    virtual void lose_attempts(std::uint32_t h, const std::string& why) = 0;
    /// It answered for the first time, or again after being down.
    virtual void host_reachable(std::uint32_t) {}
    /// It left: release what open_host made.
    virtual void close_host(std::uint32_t h) noexcept = 0;
};

struct probe_result {
    bool ok = false;
    bool permanent = false;  // not ok: rejected rather than down
    std::string why;
};

class host_source;

class host_fleet : public std::enable_shared_from_this<host_fleet> {
public:
    host_fleet(host_pool_options opts, pool_config cfg, std::weak_ptr<host_backend> backend);
    ~host_fleet();

    void start(const executor_context& ctx);
    void stop() noexcept;

    // ---- on the strand, from the backend ----
    void probe_done(std::uint32_t h, const probe_result& r);
    void host_failed(std::uint32_t h, bool permanent, const std::string& why);
    /// A host for one more attempt (counted as started), or none.
    std::optional<std::uint32_t> take(std::string_view avoid = {});
    void attempt_ended(std::uint32_t h);
    std::string spec(std::uint32_t h) const;
    bool stopped() const { return !running_; }
    const executor_context& context() const { return *ctx_; }

    // ---- any thread ----
    std::size_t slots() const;
    bool can_accept() const;
    std::optional<std::string> failed() const;
    void add_host(std::string spec);
    void drain_host(std::string spec);
    void remove_host(std::string spec);
    std::vector<host_info> hosts() const;
    std::vector<std::pair<std::string, std::size_t>> attempts_per_host() const;
    const host_pool_options& options() const { return opts_; }

    /// The current list of a source (hosts_file or hosts_command) changed (strand).
    void source_listed(int source, const std::vector<std::string>& specs);
    /// A line of a source is not a host: config_error's message, or empty when it is one.
    std::string check_line(const std::string& spec) const;
    void report(std::string msg) const;

private:
    using actions = pool_machine::actions;
    void run(actions a);
    void on_strand(std::function<void(host_fleet&)> f);
    template <class Event>
    void change(std::string spec, Event event, bool pin);
    void host_changed(std::uint32_t h, bool left);
    host_info info(const pool_machine::view& v) const;

    host_pool_options opts_;
    std::weak_ptr<host_backend> backend_;
    mutable std::mutex m_;  // machine_, initial_, running_: queries come from any thread
    pool_machine machine_;
    std::vector<std::string> initial_;  // listed when the next run starts (before start: what add_host added)
    std::set<std::string> pinned_;      // hosts, add_host: not drained by a source
    std::set<std::string> listed_by_[2];
    std::atomic<bool> running_ = false;
    std::optional<executor_context> ctx_;
    std::optional<std::string> failed_;  // why the last run's pool gave up
    struct timers;
    std::unique_ptr<timers> timers_;
    std::unique_ptr<host_source> sources_[2];
};

}  // namespace drover::detail
