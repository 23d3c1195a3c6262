#pragma once
/// @file
/// A job file whose tasks are made one at a time: for jobs too large to hold as a
/// `std::vector<task_spec>` (a million-task foreach). See docs/job-files.md#large-jobs.

#include <drover/job_file.hpp>
#include <drover/scheduler.hpp>
#include <drover/task.hpp>

#include <cstddef>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace drover {

class job_stream;
/// write_json for a streamed job: the same document, the tasks made (twice: `after` is
/// resolved over every task first) as they are written.
DROVER_API void write_json(std::ostream& out, job_stream& s, const job_json_options& o = {});

/// A job file read and checked except for its tasks, which for_each_task makes one at a
/// time, in the order load_job lists them, each checked as load_job checks it.
///
/// Constructing reads the file, its settings, executors, sink and each `[[tasks]]` entry
/// (templates, `foreach` variables and the task limit), so mistakes there throw here. The
/// tasks' own mistakes (an invalid or duplicate id, a partition param a task lacks, an
/// `after` naming no task, a cycle) throw from for_each_task as config_error
/// "file:line:column: key: problem", like load_job's. Per task, only its id and `after`
/// entries are remembered for those checks (about 20 bytes besides their text), and only
/// while for_each_task goes.
///
/// @code
/// drover::job_stream js("big.toml");
/// drover::scheduler s = drover::make_scheduler(js);   // every task submitted as it is made
/// auto summary = s.run();
/// @endcode
class DROVER_API job_stream {
public:
    explicit job_stream(const std::filesystem::path& file, const drover::kinds& k = {});
    job_stream(const std::filesystem::path& file, const job_load_options& o, const drover::kinds& k = {});
    /// From text; `source_name` is used in error messages.
    static job_stream parse(std::string_view toml_text, const std::string& source_name,
                            const job_load_options& o = {}, const drover::kinds& k = {});
    ~job_stream();
    job_stream(job_stream&&) noexcept;
    job_stream& operator=(job_stream&&) noexcept;

    /// The job without its tasks (`tasks` is empty): name, source, options, executors,
    /// sink, schedule, on_failure, kinds. May be changed (e.g. options.state_dir).
    const job& settings() const noexcept;
    job& settings() noexcept;

    /// How many tasks the `[[tasks]]` entries make (with `only`, for_each_task yields fewer).
    std::size_t expanded_size() const noexcept;

    /// Calls `fn` with each task, in file order, and returns how many it called it with.
    /// After the last one, the checks over all tasks (`after`); with
    /// job_load_options::only, the tasks are made twice (first to select) and only the
    /// selection is passed on. May be called again: the same tasks again. An exception
    /// from `fn` ends the stream and is passed on.
    std::size_t for_each_task(const std::function<void(task_spec&&)>& fn);

    /// The whole job, tasks included: what load_job returns. Leaves this stream without settings.
    job to_job() &&;

private:
    friend void write_json(std::ostream& out, job_stream& s, const job_json_options& o);
    /// The tasks with their `after` resolved to the ids of the tasks they come after;
    /// `start` gets how many there are, before the first.
    void for_each_task_resolved(const std::function<void(std::size_t count)>& start,
                                const std::function<void(task_spec&&, const std::vector<std::string_view>& after)>& fn);

    job_stream();
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// A scheduler set up with the job's options, executors and sink, and every task of the
/// stream submitted as it is made (make_scheduler(const job&) for a streamed job).
DROVER_API scheduler make_scheduler(job_stream& s);

}  // namespace drover
