#pragma once
/// @file
/// Exceptions thrown by drover. All derive from drover::error.

#include <drover/export.hpp>

#include <stdexcept>
#include <string>

namespace drover {

class DROVER_API error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A job file or option is wrong. what() reads "file:line:column: key: problem"
/// when the mistake has a location.
class DROVER_API config_error : public error {
public:
    explicit config_error(const std::string& msg) : error(msg) {}
    config_error(std::string file, int line, int column, std::string key, const std::string& problem);

    const std::string& file() const noexcept { return file_; }
    int line() const noexcept { return line_; }
    int column() const noexcept { return column_; }
    const std::string& key() const noexcept { return key_; }

private:
    std::string file_;
    int line_ = 0;
    int column_ = 0;
    std::string key_;
};

/// An executor could not do its job (spawn, connection, daemon).
class DROVER_API executor_error : public error {
public:
    using error::error;
};

/// A sink could not stage or commit output.
class DROVER_API sink_error : public error {
public:
    using error::error;
};

/// A sink writer's write() refuses one record it cannot place (a partition value that is
/// missing or not a time, with `bad_values = bad_records`). The scheduler keeps the line as a
/// bad record with this reason, with the task and line number, and the writer stays usable:
/// the attempt goes on.
class DROVER_API record_rejected : public sink_error {
public:
    using sink_error::sink_error;
};

/// The sink refuses every commit, whatever the task wrote: wrong credentials, a missing
/// bucket. Not the task's fault: the scheduler stops dispatching and ends the run halted with
/// this message, without spending the task's retries; what the task staged stays where the
/// sink keeps failed commits (S3: its spool) for the next run.
class DROVER_API sink_unavailable : public sink_error {
public:
    using sink_error::sink_error;
};

/// What a request names does not exist: a job, a task (drover::service).
class DROVER_API not_found_error : public error {
public:
    using error::error;
};

/// A request conflicts with what is going on: a run of the job is already going, or none is.
class DROVER_API conflict_error : public error {
public:
    using error::error;
};

}  // namespace drover
