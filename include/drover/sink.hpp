#pragma once
/// @file
/// The sink extension point: where records go, exactly once per successful task.
///
/// Per attempt the scheduler calls open() to get a writer, write() for every valid
/// record, then commit() if the attempt succeeded or abort() otherwise. A writer must
/// keep records staged (not visible in the output) until commit(), and commit() must
/// publish under names derived only from the task id (plus a rotation index), so that
/// committing the same task again replaces its earlier output instead of adding to it.
///
/// Checkpoints (docs/sinks.md, "Checkpoints"): a sink whose writers return a
/// checkpoint_policy can also publish a long-running attempt's records in segments, at the
/// task's checkpoints; segment `s` of task `t` is named from `t@s`, so re-publishing a
/// segment overwrites it, and a publish of segment `s` removes every name of the task that is
/// not in segments `0..s`.

#include <drover/export.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/json/fwd.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <exception>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace drover {

/// Where a record goes whose partition value is bad: a `{record.<field>}` that is missing
/// or null, or a `{name|FORMAT}` value that is not a time (docs/sinks.md).
enum class bad_value_policy {
    missing_partition,  ///< the value becomes `__missing__`; the record is published there
    bad_records,        ///< the record is not published: it is a bad record, with the reason
};

/// One valid record: the line as the task printed it, and the parsed object.
struct DROVER_API record {
    std::string_view json{};
    const boost::json::object& fields;
};

/// The attempt a writer stages records for.
struct DROVER_API sink_attempt {
    std::string_view run_id{};
    std::string_view task_id{};
    int attempt{};
    const std::map<std::string, std::string>& params;
    /// The first checkpoint segment this attempt publishes: one past the task's last journaled
    /// checkpoint, 0 without one. open() takes back the task's published segments numbered
    /// from here on (a crash published them after the journal's last checkpoint).
    std::uint32_t first_segment = 0;
};

/// When a checkpointing attempt publishes (sink settings; docs/sinks.md, "Checkpoints"): at
/// a checkpoint once `rotate_interval` has passed or `flush_records` records were written
/// since the last publish; with both 0, at a checkpoint at least a second after the last.
struct DROVER_API checkpoint_policy {
    std::chrono::milliseconds rotate_interval{0};
    std::uint64_t flush_records = 0;
};

/// What a commit published.
struct DROVER_API committed_output {
    std::vector<std::string> locations{}; ///< paths or URLs of the published objects
    std::uint64_t records = 0;
    std::uint64_t bytes = 0;              ///< bytes published (compressed)
};

class DROVER_API sink_writer {
public:
    using commit_handler = boost::asio::any_completion_handler<void(std::exception_ptr, committed_output)>;

    virtual ~sink_writer() = default;
    /// Stages one record. Throws sink_error when staging fails.
    virtual void write(const record& r) = 0;
    /// Durably publishes everything staged. Throws sink_error; on failure nothing
    /// partial is visible under the final names that was not there before.
    virtual committed_output commit() = 0;
    /// Discards staged data. Safe to call after a failed commit.
    virtual void abort() noexcept = 0;

    /// What the scheduler calls: commits without blocking the run's strand. The default
    /// calls commit() and completes through the handler's associated executor; sinks
    /// that talk to a network (S3) override it. The writer stays alive until `h` runs.
    virtual void async_commit(commit_handler h);

    /// Empty: this writer cannot publish at checkpoints (the attempt publishes at its end).
    virtual std::optional<checkpoint_policy> checkpoints() const { return std::nullopt; }
    /// Publishes everything written so far as the attempt's next segment and keeps the writer
    /// open; from then on commit() publishes what follows as a segment too. `locations` of
    /// the result are all the task's published names (earlier segments included); `records`
    /// and `bytes` those of this segment. On failure the writer is failed (abort() it); what
    /// it may have published is taken back by the next open() of the task or a later publish.
    /// Only for writers whose checkpoints() is set; one at a time, not with a commit running.
    virtual void async_checkpoint(commit_handler h);
};

/// What a sink gets once per run, before the first open().
struct DROVER_API sink_context {
    std::string run_id{};
    /// The run's strand; network sinks may run their I/O here or on threads of their own.
    boost::asio::any_io_executor io_ex = {};
    /// The scheduler's state directory (for spools and the like); empty outside a scheduler.
    std::filesystem::path state_dir = {};
    /// Called from start() for each task whose records an earlier run staged but could not
    /// commit (the sink was unavailable), now published: the scheduler marks the task
    /// succeeded without running it again. May be empty.
    std::function<void(const std::string& task_id, const committed_output& out)> recovered = {};
};

class DROVER_API sink {
public:
    virtual ~sink() = default;
    /// Human-readable location, e.g. "out/hello".
    virtual std::string describe() const = 0;
    /// Called once before the run's first open(); may take locks or clean leftovers.
    virtual void start(const sink_context& ctx) = 0;
    /// Called once after the run; releases what start() took.
    virtual void stop() noexcept = 0;
    virtual std::unique_ptr<sink_writer> open(const sink_attempt& a) = 0;
};

}  // namespace drover
