#pragma once
// One attempt of one task: hands the task to an executor, validates what it prints
// (records to the sink writer, bad lines to bad-records.jsonl, stderr to the attempt log
// and a tail), enforces the timeout, and commits or aborts the staged output.

#include <drover/executor.hpp>
#include <drover/sink.hpp>

#include "scheduler/attempt_logs.hpp"
#include "scheduler/run_files.hpp"

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/json/parser.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

namespace drover::detail {

/// A task fanned out by a control line (`{"$drover": {"submit": {...}}}`) of this attempt.
struct child_task {
    task_spec spec;
    std::uint64_t line = 0;                     ///< its control line's number on stdout
    std::vector<std::uint32_t> upstream;        ///< `after`, resolved: tasks in the store
    std::vector<std::size_t> sibling_upstream;  ///< `after`, resolved: earlier children of this attempt
};

/// Checks the children of a successful attempt before its output is committed (ids unique in
/// the run, `after` known and without a cycle) and reserves their ids. Returns the problem.
using admit_fn = std::function<std::optional<std::string>(std::vector<child_task>&)>;

struct attempt_context {
    boost::asio::strand<boost::asio::any_io_executor> strand;
    task_spec task;  ///< rebuilt from the compact store for this attempt
    int attempt;
    std::string_view run_id;
    executor& exec;
    sink& output;
    run_files& files;
    boost::json::parser& parser;   ///< shared: everything runs on the strand
    std::size_t tail_lines;
    const task_spec& defaults;     ///< what fanned-out tasks start from
    admit_fn admit;
    /// The attempt's process group started (journaled, so a resumed run can kill what is left).
    std::function<void(const process_ref&)> on_process;
    /// A successful attempt asks before it commits (speculation: the first of two twins
    /// wins); false: it discards its output and ends cancelled, superseded. Empty: always.
    std::function<bool()> claim = {};
    /// The executor is done with a successful attempt, whose output commits now: its slot
    /// may take the next task while the commit goes on (called on the strand, once at most).
    std::function<void()> on_released = {};
    /// A backup attempt: its straggler's host, for a fleet executor to avoid.
    std::string avoid_host = {};
    /// The checkpoint segment this attempt publishes first (sink_attempt::first_segment).
    std::uint32_t first_segment = 0;
    /// A checkpoint was published (attempt_checkpoint.cpp): a later attempt resumes from
    /// `token` and publishes from `next_segment`; `out` as sink_writer::async_checkpoint.
    std::function<void(const std::string& token, std::uint32_t next_segment, const committed_output& out)>
        on_checkpoint = {};
};

/// The longest checkpoint token (bytes): it is passed to the next attempt in its environment.
inline constexpr std::size_t max_checkpoint_token = 4096;

class attempt_run final : public attempt_io, public std::enable_shared_from_this<attempt_run> {
public:
    /// `children`: admitted (ids reserved) when not empty, also when the commit then failed.
    using done_fn = std::function<void(attempt_outcome, committed_output committed, std::vector<child_task> children)>;

    attempt_run(attempt_context ctx, done_fn done);
    ~attempt_run();

    void start();
    const task_spec& task() const noexcept { return ctx_.task; }
    /// Kills the attempt (run cancelled). Completion still goes through `done`.
    void cancel();

    void on_process(const process_ref& p) override {
        if (ctx_.on_process) ctx_.on_process(p);
    }
    void on_stdout_line(std::string_view line) override;
    void on_stdout_oversized(std::uint64_t length, std::string_view head) override;
    void on_stderr(std::string_view bytes) override;
    void on_placed(std::string_view host) override { host_ = host; }
    void on_queued() override;
    void on_running() override;
    /// Where a fleet executor placed the attempt (empty: not a fleet, or not placed yet).
    const std::string& host() const noexcept { return host_; }
    /// How long the final commit took (from the attempt's end to the sink's answer); 0 without one.
    duration commit_time() const noexcept { return commit_time_; }

private:
    void on_executed(execution_result r);
    void arm_timeout();
    void finish(attempt_outcome o);
    void bad(std::string_view error, std::string_view text, std::uint64_t length);
    void control(const boost::json::value& v);
    void complete(attempt_outcome o);
    // Checkpoints (attempt_checkpoint.cpp).
    void checkpoint(const boost::json::value& token);
    bool checkpoint_due() const;
    void publish_checkpoint(std::string token);
    void checkpoint_published(const std::string& token, std::exception_ptr error, const committed_output& out);

    attempt_context ctx_;
    done_fn done_;
    std::unique_ptr<sink_writer> writer_;
    boost::asio::cancellation_signal cancel_signal_;
    boost::asio::steady_timer timeout_timer_;
    std::chrono::steady_clock::time_point started_;
    duration commit_time_{0};
    bool timed_out_ = false;
    bool queued_ = false;               // waiting in the executor's queue: no timeout
    std::uint32_t timeouts_armed_ = 0;
    bool cancelled_ = false;
    bool too_many_bad_ = false;         // more than limits.max_bad_records: killed
    bool finished_ = false;
    std::uint64_t line_no_ = 0;
    std::uint64_t records_ = 0;
    std::uint64_t bad_records_ = 0;
    std::string output_error_;          // first sink error while staging
    std::string control_error_;         // first invalid control line
    std::vector<child_task> children_;
    // Checkpoints: the writer's policy (empty: it publishes at the end only), one publish in
    // flight at most, and the attempt's end waits for it.
    std::optional<checkpoint_policy> policy_;
    bool publishing_ = false;
    std::unique_ptr<attempt_outcome> deferred_;  // (a pointer: attempts stay small, see log_)
    std::string checkpoint_error_;      // a publish failed: the attempt fails with it
    failure_class checkpoint_failure_ = failure_class::output_error;
    std::uint32_t next_segment_ = 0;
    std::uint64_t records_at_publish_ = 0;
    std::chrono::steady_clock::time_point last_publish_;
    // Bounded by limits.stderr_log_bytes; made by the first stderr bytes (the attempt object
    // stays small enough for the allocator's per-thread cache: it is made for every attempt).
    std::unique_ptr<stderr_log> log_;
    // Bounded by limits.bad_record_bytes; made by the first bad record (most attempts have none).
    std::unique_ptr<bad_record_log> bad_log_;
    std::string tail_partial_;
    std::string host_;
    // The last tail_lines stderr lines, a ring: oldest at tail_next_ once full. A vector, not a
    // deque: an attempt that prints nothing on stderr allocates nothing for it.
    std::vector<std::string> tail_;
    std::size_t tail_next_ = 0;
    void keep_tail_line();
};

}  // namespace drover::detail
