#pragma once
/// @file
/// The executor extension point: where attempts run.
///
/// An executor owns a number of slots; the scheduler never starts more attempts on it
/// than it has slots. Executors know nothing about sinks or journals: they report
/// stdout lines and stderr bytes to an attempt_io and complete with an execution_result.

#include <drover/export.hpp>
#include <drover/outcome.hpp>
#include <drover/task.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace drover {

/// A process group an attempt started on this machine, with when its leader started:
/// "BOOT_ID:TICKS" (/proc/sys/kernel/random/boot_id, and field 22 of /proc/PID/stat), which
/// tells it apart from a later process that got the same id.
struct DROVER_API process_ref {
    std::int64_t pgid = 0;
    std::string started{};
};

struct host_info;

/// Receives what an attempt prints. Implemented by the scheduler; called on the
/// executor passed to async_execute.
class DROVER_API attempt_io {
public:
    /// The attempt's process group started on this machine (local executors call it): the
    /// scheduler journals it, so a run resumed after drover died can kill what is left of it
    /// before it starts the task again.
    virtual void on_process(const process_ref&) {}
    /// One stdout line without its line terminator. Lines are records.
    virtual void on_stdout_line(std::string_view line) = 0;
    /// A stdout line longer than the executor's limit: its length and its first bytes.
    virtual void on_stdout_oversized(std::uint64_t length, std::string_view head) = 0;
    /// Raw stderr bytes, in order.
    virtual void on_stderr(std::string_view bytes) = 0;
    /// A fleet executor placed the attempt on this host (its spec, as listed).
    virtual void on_placed(std::string_view /*host*/) {}
    /// The attempt waits in a queue outside drover (a pending Slurm job): its timeout does not
    /// run until on_running(). Executors that start attempts at once call neither.
    virtual void on_queued() {}
    /// The attempt left that queue and runs: its timeout starts now, in full.
    virtual void on_running() {}

protected:
    ~attempt_io() = default;
};

/// What the scheduler asks an executor to run.
struct DROVER_API attempt_request {
    const task_spec& task;
    int attempt{};               ///< 1-based
    std::string_view run_id{};
    /// A fleet executor places the attempt on another host than this one when another can
    /// take it now (a backup attempt avoids its straggler's host). Empty: no preference.
    std::string_view avoid_host = {};
};

/// How an attempt's process ended, as the executor saw it. The scheduler turns this into
/// an attempt_outcome (it knows whether it cancelled the attempt for a timeout).
struct DROVER_API execution_result {
    failure_class failure = failure_class::none;  ///< none, exit_code, signal, spawn_error, executor_lost, cancelled, oom_killed, image_missing
    int exit_code = -1;
    int signal = 0;
    std::string message{};
};

/// What an executor gets once per run, before its first attempt.
struct DROVER_API executor_context {
    boost::asio::any_io_executor io_ex{};      ///< the run's strand; call the callbacks through it
    std::filesystem::path state_dir{};         ///< for control sockets and the like
    std::string run_id{};
    /// Call whenever can_accept() may have become true or failed() became set.
    std::function<void()> capacity_changed;
    /// Report something the user should see (a host went down, came back, was rejected).
    std::function<void(std::string)> report;
    /// A host of a fleet executor joined, changed state or left (`left` = true).
    std::function<void(const host_info&, bool left)> host_changed;
    /// Process groups of attempts that an earlier run on this state directory started and
    /// never saw end (that drover process died). An executor that started them (local) kills
    /// what is left of them in start(), before this run's first attempt.
    std::vector<process_ref> leftovers{};
};

/// Base class for executors (local processes, SSH hosts, Docker daemons, ...).
///
/// Thread safety: the scheduler calls every member from one strand; implementations
/// need no locking of their own for those calls.
class DROVER_API executor {
public:
    using completion_handler = boost::asio::any_completion_handler<void(execution_result)>;

    virtual ~executor() = default;

    /// A short name for logs and summaries, e.g. "local".
    virtual std::string name() const = 0;

    /// How many attempts may run at once.
    virtual std::size_t slots() const = 0;

    /// Called once per run before the first attempt (probe hosts, open connections).
    virtual void start(const executor_context&) {}
    /// Called once after the run's last attempt.
    virtual void stop() noexcept {}
    /// Whether one more attempt can start now (e.g. a host that is up has a free slot).
    /// The scheduler never runs more than slots() attempts on an executor either way.
    virtual bool can_accept() const { return true; }
    /// Set when the executor cannot run anything any more; says why.
    virtual std::optional<std::string> failed() const { return std::nullopt; }
    /// Whether slots() may change while a run goes on (hosts join and leave). The scheduler
    /// reads slots() again whenever capacity_changed is called; it may be 0 for a while.
    virtual bool elastic() const { return false; }
    /// The task extensions it reads (the Docker executor: docker_task_options). Tasks fanned
    /// out by control lines and tasks recreated from the journal may carry their JSON keys.
    virtual std::vector<const task_extension_type*> task_extension_types() const { return {}; }

    /// Runs one attempt. `req` and `io` stay valid until `handler` is called.
    /// Cancellation: when the handler's associated cancellation slot is emitted, the
    /// executor must kill the attempt (its whole process tree) and then complete —
    /// typically with failure_class::cancelled. The handler is invoked exactly once,
    /// through `io_ex` (never from inside async_execute itself).
    virtual void async_execute(boost::asio::any_io_executor io_ex, const attempt_request& req,
                               attempt_io& io, completion_handler handler) = 0;
};

}  // namespace drover
