#pragma once
// A complete small executor, for docs/extending.md: "polite" runs tasks as local processes,
// but only while the machine is not busy, and lets a task say "not now".
//
// - It starts a new attempt only while the machine's 1-minute load average (the first number
//   in /proc/loadavg) is below `max_load`. It re-reads the load every `check_interval` and
//   tells the scheduler when it may accept again (executor_context::capacity_changed).
// - A task that exits with `tempfail_exit` (75, EX_TEMPFAIL from <sysexits.h>) is reported
//   as failure_class::executor_lost: the scheduler requeues it without spending a retry (at
//   most 5 times per task; then it counts as a failure like any other).
// - The processes themselves are drover::local_executor's: each attempt leads its own process
//   group, and a timeout or cancel kills the whole group. This executor forwards the
//   scheduler's cancellation to the inner one (the cancellation-slot pattern).
//
// Registered as kind "polite" by add_to(kinds); see night.toml.

#include <drover/drover.hpp>

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace polite {

/// `[[executors]] kind = "polite"`.
struct options {
    std::size_t slots = 2;
    double max_load = 1.0;                         ///< start attempts only below this load
    drover::duration check_interval{1000};         ///< how often the load is read again
    std::filesystem::path load_file = "/proc/loadavg";
    int tempfail_exit = 75;                        ///< this exit code means "not now": requeue
    drover::duration kill_grace{2000};             ///< SIGTERM, then SIGKILL after this long
};

class executor final : public drover::executor {
public:
    explicit executor(options o);
    ~executor() override;

    std::string name() const override { return "polite"; }
    std::size_t slots() const override { return opts_.slots; }
    void start(const drover::executor_context& ctx) override;
    void stop() noexcept override;
    bool can_accept() const override;
    std::optional<std::string> failed() const override;
    void async_execute(boost::asio::any_io_executor io_ex, const drover::attempt_request& req,
                       drover::attempt_io& io, completion_handler handler) override;

    /// The load average in `file`, or an error message naming the file.
    static std::optional<double> read_load(const std::filesystem::path& file, std::string& error);

private:
    struct watch;  // the load check's timer and state, on the run's strand

    options opts_;
    drover::local_executor inner_;
    std::shared_ptr<watch> watch_;
};

/// Registers the kind as "polite" in `k`: keys slots, max_load, check_interval, load_file,
/// tempfail_exit, kill_grace.
void add_to(drover::kinds& k);

}  // namespace polite
