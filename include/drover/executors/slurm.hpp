#pragma once
/// @file
/// Runs attempts as Slurm jobs through the standard commands (sbatch, squeue, scancel).

#include <drover/executor.hpp>
#include <drover/export.hpp>

#include <boost/json/fwd.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace drover {

/// What a Slurm job asks for: the executor's defaults, and per task the slurm_task_options
/// extension on top of them (a non-empty or non-zero field of the task wins).
struct DROVER_API slurm_job_settings {
    std::string partition{};              ///< --partition; empty = the cluster's default
    std::string account{};                ///< --account
    std::string qos{};                    ///< --qos
    /// --time. Zero: the task's timeout plus a minute when it has one (so Slurm ends the job
    /// even when drover is gone), else the partition's limit.
    duration time_limit{0};
    std::uint64_t memory = 0;             ///< --mem in bytes (rounded up to MiB); 0 = the cluster's default
    int cpus = 0;                         ///< --cpus-per-task; 0 = the cluster's default
    std::string gres{};                   ///< --gres, e.g. "gpu:1"
    std::vector<std::string> sbatch_args{}; ///< more sbatch options, e.g. "--constraint=avx2" (added, not replaced)

    bool operator==(const slurm_job_settings&) const = default;
};

/// The Slurm settings of a task: a task extension (task_extension.hpp).
///
/// Job files: a `slurm = { partition = "long", memory = "4GiB", cpus = 4 }` table in
/// [defaults] and [[tasks]]. Task JSON (control lines, the journal): "slurm" {...} with the
/// same keys (time_limit in seconds, memory in bytes).
struct DROVER_API slurm_task_options {
    slurm_job_settings job{};

    bool operator==(const slurm_task_options&) const = default;

    static constexpr std::string_view extension_name = "slurm";
    static constexpr std::array<std::string_view, 1> json_keys{"slurm"};
    void to_json(boost::json::object& task) const;
    static slurm_task_options from_json(const boost::json::object& task, slurm_task_options base);
};

struct DROVER_API slurm_executor_options {
    /// The most jobs drover keeps in Slurm's queue (pending or running) at once; the other
    /// tasks wait in drover's queue.
    std::size_t slots = 100;
    /// Where job scripts, stdout and stderr go: a directory the submitting host and the
    /// compute nodes both see at the same path (a shared filesystem). Empty: `slurm/` in the
    /// run's state directory, which works for a single-node cluster or a shared state directory.
    std::filesystem::path shared_dir{};
    slurm_job_settings defaults{};        ///< for every job (a task's own settings win)
    std::string workdir{};                ///< the job's working directory (a task's workdir wins); empty = shared_dir
    duration poll_interval{1000};         ///< one squeue for all of drover's jobs this often
    duration command_timeout{30000};      ///< an sbatch, squeue or scancel that takes longer is killed
    /// The controller answers no squeue for this long: the attempts it had are lost (requeued
    /// without spending retries, their jobs cancelled when it answers again) and no job is
    /// submitted until it answers.
    duration controller_timeout{60000};
    std::size_t max_submits = 4;          ///< sbatch commands at once
    std::size_t max_line_bytes = 16u << 20;
    /// Check the executor's own settings with `sbatch --test-only` when the run starts: a
    /// partition, GRES or option the cluster refuses is a configuration error naming the key.
    bool check_settings = true;
    std::string sbatch = "sbatch", squeue = "squeue", scancel = "scancel";
};

/// Each attempt is one Slurm batch job running the task's argv (with its env and workdir) from
/// a generated script. Its stdout goes to a file under shared_dir that drover reads while the
/// job runs (records, control lines, bad and oversized lines as for local tasks) and its
/// stderr becomes the attempt log. One squeue call per poll_interval covers every job of the
/// executor.
///
/// Outcomes: COMPLETED succeeds; FAILED is the exit code or signal (a job slurmstepd killed
/// for exceeding its memory is oom_killed, as is OUT_OF_MEMORY); TIMEOUT and DEADLINE are
/// timeouts; NODE_FAIL, BOOT_FAIL and PREEMPTED lose the attempt (executor_lost: requeued
/// without spending retries); CANCELLED by someone else fails with the reason. A drover
/// timeout or cancel runs scancel, which ends the whole job, and completes once Slurm says
/// the job has ended.
///
/// No orphans: jobs are named `drover:<task>` and carry `drover state=<this state directory>
/// run=<run> ...` in their comment; a run cancels the jobs that an earlier run of the same
/// state directory left queued or running (drover was killed) before it submits anything.
class DROVER_API slurm_executor final : public executor {
public:
    explicit slurm_executor(slurm_executor_options opts = {});
    ~slurm_executor() override;
    slurm_executor(slurm_executor&&) noexcept;
    slurm_executor& operator=(slurm_executor&&) noexcept;

    std::string name() const override { return "slurm"; }
    std::size_t slots() const override;
    void start(const executor_context& ctx) override;
    void stop() noexcept override;
    bool can_accept() const override;
    std::optional<std::string> failed() const override;
    std::vector<const task_extension_type*> task_extension_types() const override;
    void async_execute(boost::asio::any_io_executor io_ex, const attempt_request& req, attempt_io& io,
                       completion_handler handler) override;

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

}  // namespace drover
