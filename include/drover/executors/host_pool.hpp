#pragma once
/// @file
/// What every executor that runs attempts on a fleet of hosts shares (SSH, Docker): how the
/// hosts are listed, probed, marked down, drained and given up on, and how hosts join and
/// leave while a run goes on.

#include <drover/executor.hpp>
#include <drover/export.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace drover {

namespace detail {
class host_fleet;
class host_backend;
}

/// The host list and its health settings, the same for every fleet executor.
struct DROVER_API host_pool_options {
    /// Hosts in the executor's format ("user@host:22" for SSH, "tcp://host:2375" for Docker).
    std::vector<std::string> hosts{};
    std::size_t slots_per_host = 1;
    duration reprobe_initial{1000};  ///< first re-probe of a host that went down, doubling ...
    duration reprobe_max{30000};     ///< ... up to this
    duration down_timeout{300000};   ///< no usable host for this long: the executor gives up
    /// More hosts, one per line ('#' starts a comment), re-read when the file changes (checked
    /// 4 times a second). Hosts that appear join; hosts that disappear drain.
    std::string hosts_file{};
    /// A command whose stdout lists the current hosts, one per line, run at start and every
    /// hosts_refresh, start to start (e.g. `aws ec2 describe-instances ... --output text`). A
    /// run that fails, or takes longer than hosts_timeout, is reported and the last good list
    /// is kept.
    std::vector<std::string> hosts_command{};
    duration hosts_refresh{30000};
    duration hosts_timeout{30000};
    /// With no usable host, wait down_timeout for one to join even when every listed host was
    /// rejected, and allow an empty list. Implied by hosts_file and hosts_command.
    bool wait_for_hosts = false;
};

enum class host_state {
    probing,   ///< joined, first probe under way
    up,        ///< takes attempts
    down,      ///< did not answer; re-probed with backoff
    rejected,  ///< cannot be used (authentication, host key, TLS, not a daemon) until it leaves and joins again
    draining,  ///< takes no new attempts; leaves when its running ones end
};
DROVER_API std::string_view to_string(host_state) noexcept;

/// One host of a fleet executor, as hosts() and observers see it.
struct DROVER_API host_info {
    std::string spec{};
    host_state state = host_state::probing;
    std::size_t running = 0;  ///< attempts running on it now
    std::size_t started = 0;  ///< attempts started on it in this executor's life
    std::chrono::system_clock::time_point since{};  ///< when it entered `state`
    std::string reason{};                         ///< down, rejected: why
};

/// Base of the executors that run attempts on a pool of hosts. Hosts may be added, drained
/// and removed from any thread, before or while a run goes on.
class DROVER_API host_pool_executor : public executor {
public:
    std::size_t slots() const override;
    void start(const executor_context& ctx) override;
    void stop() noexcept override;
    void async_execute(boost::asio::any_io_executor io_ex, const attempt_request& req, attempt_io& io,
                       completion_handler handler) override;
    bool can_accept() const override;
    std::optional<std::string> failed() const override;
    bool elastic() const override { return true; }

    /// Adds a host (probed first, then takes attempts). Throws config_error for a malformed spec.
    /// A host that is draining is taken back; a rejected host that is still listed stays rejected.
    void add_host(std::string spec);
    /// The host takes no new attempts and leaves when its running attempts end.
    void drain_host(std::string_view spec);
    /// The host leaves now: its running attempts are lost and go back to the queue without
    /// spending the tasks' retries, as for a host that died.
    void remove_host(std::string_view spec);
    /// The hosts that have not left, in the order they joined.
    std::vector<host_info> hosts() const;
    /// Per-host counts of attempts started, for tests and summaries.
    std::vector<std::pair<std::string, std::size_t>> attempts_per_host() const;

    ~host_pool_executor() override;
    host_pool_executor(host_pool_executor&&) noexcept = default;
    host_pool_executor& operator=(host_pool_executor&&) noexcept = default;

protected:
    /// `backend` runs the attempts and probes of one kind of host; it makes the fleet that
    /// keeps its pool.
    explicit host_pool_executor(std::shared_ptr<detail::host_backend> backend);

private:
    std::shared_ptr<detail::host_backend> backend_;
    std::shared_ptr<detail::host_fleet> fleet_;
};

}  // namespace drover
