#pragma once
// One run of a job from the CLI, as `drover run` and `drover exec` do it: progress on
// stderr, Ctrl-C/SIGTERM/SIGHUP cancel, the summary, alerts of [on_failure].

#include <drover/job_file.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <cstdio>

namespace drover::cli {

/// SIGINT, SIGTERM and SIGHUP caught from its construction to its end. One that comes while
/// nothing waits for it (the job file being read, between a service's runs) is kept by the set
/// and ends the next wait - it cancels the run that starts next - never the process with the
/// default action (exit 143 without a journal flush or the tasks killed).
struct run_signals {
    boost::asio::io_context ctx;
    boost::asio::signal_set set{ctx, SIGINT, SIGTERM, SIGHUP};
};

struct run_job_options {
    bool json = false;             ///< the summary as one JSON object
    bool quiet = false;            ///< no progress output
    std::FILE* summary = stdout;   ///< where the summary goes (exec: stderr, stdout has records)
    run_signals* signals = nullptr;  ///< caught since before the run; null: from the run's start
};

/// Runs `j` once and returns the exit code (0 ok, 1 dead or skipped tasks, 130 cancelled).
/// `stop` is set when a signal arrived. Throws what the run threw (config_error: exit 2).
int run_job_once(const run_job_options& o, job j, bool& stop);
/// The same with the scheduler made already (make_scheduler(job_stream&)); `j` gives the
/// name and [on_failure].
int run_job_once(const run_job_options& o, const job& j, scheduler& sched, bool& stop);

}  // namespace drover::cli
