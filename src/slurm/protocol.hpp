#pragma once
// What the Slurm executor says to Slurm's commands and reads back, without running them:
// the sbatch command line and job script of an attempt, sbatch's and squeue's answers, how a
// job's state becomes an execution_result, and the comment that marks drover's jobs.

#include <drover/executors/slurm.hpp>
#include <drover/task.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace drover::slurm {

/// Slurm's answer did not have the expected form (the text is in the message, shortened).
class protocol_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The executor's defaults with the task's slurm_task_options on top; with no time limit
/// anywhere and a task timeout, the timeout plus a minute.
slurm_job_settings effective_settings(const slurm_job_settings& defaults, const task_spec& task);

/// Slurm's --time for `d`: whole minutes, rounded up ("D-HH:MM:00").
std::string time_limit_arg(duration d);

/// Where one attempt's files go, and how the job is named.
struct submit_files {
    std::string job_name;  ///< "drover:<task>" (shortened, safe characters)
    std::string comment;   ///< job_comment(...)
    std::string script;    ///< the job script (job_script)
    std::string out, err;  ///< stdout, stderr
    std::string workdir;   ///< --chdir
};

/// sbatch's arguments (without the program): --parsable, name, comment, files, the settings
/// in a fixed order, then sbatch_args, then the script. `test_only`: --test-only, no script
/// but --wrap=true (checks the settings without submitting).
std::vector<std::string> sbatch_args(const slurm_job_settings& s, const submit_files& f, bool test_only = false);

/// Which job-file key an sbatch argument came from (for errors): "partition", "sbatch_args[2]"...
/// `args` as returned by sbatch_args for `s`; empty when it is not one of the settings.
std::string setting_key(const slurm_job_settings& s, std::string_view arg);

/// The job script: POSIX sh that exports the task's env (values quoted), changes to the
/// task's workdir when it has one, and execs its argv. Throws config_error for an env name
/// that is not a shell identifier.
std::string job_script(const task_spec& task);

/// The job id from `sbatch --parsable` ("123" or "123;cluster"). Throws protocol_error.
std::string parse_job_id(std::string_view sbatch_stdout);

/// One line of squeue's answer.
struct job_status {
    std::string id;
    std::string state;   ///< e.g. PENDING, RUNNING, COMPLETED, FAILED, TIMEOUT, CANCELLED
    std::string reason;  ///< e.g. None, NonZeroExitCode, Priority
    int exit_status = 0; ///< the wait status (exit code << 8 | signal)
    std::string comment;
};

/// squeue's --Format for parse_squeue: '|'-separated, the comment last.
inline constexpr std::string_view squeue_format = "JobID:|,State:|,Reason:|,exit_code:|,Comment:";
/// Parses squeue -h -O squeue_format output. Throws protocol_error for a malformed line.
std::vector<job_status> parse_squeue(std::string_view out);

/// False while Slurm may still run the job (PENDING, RUNNING, COMPLETING, REQUEUED, SUSPENDED, ...).
bool is_final(std::string_view state);
/// True while the job waits to start (PENDING, CONFIGURING, REQUEUED, the REQUEUE holds):
/// drover's timeout does not run for it then.
bool is_waiting(std::string_view state);

/// What an ended job means for its attempt. `cancelled`: drover ran scancel for it.
/// `stderr_tail`: the end of the job's stderr (slurmstepd reports a memory kill there).
execution_result job_outcome(const job_status& j, bool cancelled, std::string_view stderr_tail);

/// The comment of drover's jobs: "drover state=<label> run=<run> attempt=<n> task=<id>"
/// (the id shortened to safe characters).
std::string job_comment(std::string_view state_label, std::string_view run_id, std::string_view task_id, int attempt);
struct comment_fields {
    std::string state, run;
};
/// The state label and run of a drover comment; nullopt for any other comment.
std::optional<comment_fields> parse_comment(std::string_view comment);

/// Why `arg` cannot be an extra sbatch argument (not an option, or one drover sets itself:
/// --output, --job-name, --array, --chdir, ...); nullopt when it can.
std::optional<std::string> sbatch_arg_problem(std::string_view arg);

/// `s` cut to `max` bytes of [A-Za-z0-9._:=+-], other bytes as '_'.
std::string safe_text(std::string_view s, std::size_t max);

}  // namespace drover::slurm
