#pragma once
/// @file
/// Umbrella header: everything a program embedding drover needs.

#include <drover/duration.hpp>
#include <drover/error.hpp>
#include <drover/executor.hpp>
#include <drover/executors/docker.hpp>
#include <drover/executors/local.hpp>
#include <drover/executors/slurm.hpp>
#include <drover/executors/ssh.hpp>
#include <drover/exec.hpp>
#include <drover/job_file.hpp>
#include <drover/job_stream.hpp>
#include <drover/job_table.hpp>
#include <drover/journal.hpp>
#include <drover/kinds.hpp>
#include <drover/observer.hpp>
#include <drover/outcome.hpp>
#include <drover/scheduler.hpp>
#include <drover/sink.hpp>
#include <drover/sinks/file.hpp>
#include <drover/sinks/s3.hpp>
#include <drover/storage_sink.hpp>
#include <drover/summary.hpp>
#include <drover/task.hpp>
#include <drover/task_extension.hpp>
#include <drover/version.hpp>
