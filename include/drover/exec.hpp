#pragma once
/// @file
/// Ad-hoc jobs without a job file, the way GNU parallel takes its work (`drover exec`):
/// a command template and groups of arguments whose cross product makes the tasks.
/// See docs/guide.md#one-off-work-drover-exec.
///
/// @code
/// drover::exec_spec s{.command = {"crawler", "--day", "{}"},
///                     .groups = {{"2018-01-01", "2018-01-02"}},
///                     .slots = 4, .retries = 2, .out = "out"};
/// auto summary = drover::make_scheduler(drover::make_exec_job(s)).run();
/// @endcode

#include <drover/error.hpp>
#include <drover/export.hpp>
#include <drover/job_file.hpp>

#include <cstddef>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace drover {

/// The most tasks an exec job may have (the cross product of its groups), and the most
/// arguments read from one input: what a job file's foreach allows.
inline constexpr std::size_t max_exec_tasks = 1'000'000;
/// The longest argument (one line of an input) accepted, in bytes.
inline constexpr std::size_t max_exec_argument_bytes = 64 * 1024;

/// What `drover exec` runs. Every task runs `command` with its arguments filled in:
///
/// - `{}`: the task's arguments (one per group), separated by spaces; `{N}`: group N's
///   argument (1-based). Either may carry a GNU parallel modifier: `{.}` without the
///   extension, `{/}` the base name, `{//}` the directory (`.` when none), `{/.}` the base
///   name without extension; `{2/.}` for group 2.
/// - `{#}`: the task's number, 1-based, in the order of the cross product.
/// - Other braces (`{"a":1}`) are kept as they are. A command without any placeholder but
///   `{#}` gets `{}` appended as its last word, as parallel does.
///
/// The groups combine as a cross product in order: the first group is the outermost loop,
/// the last changes fastest (`::: a b ::: 1 2` is a 1, a 2, b 1, b 2).
struct DROVER_API exec_spec {
    /// argv template; words are not split. With `shell`, the words joined by spaces are a
    /// script for `sh -c` and each filled-in argument is quoted for it.
    std::vector<std::string> command{};
    /// Argument groups, at least one; each must have at least one argument.
    std::vector<std::vector<std::string>> groups{};
    bool shell = false;
    std::size_t slots = 0;               ///< local slots; 0 = one per core
    int retries = 0;                     ///< extra attempts per task
    std::optional<duration> timeout{};   ///< per attempt; unset = none
    backoff_policy backoff{};            ///< between retries
    /// File sink root (gzip JSON lines, `<out>/<task-id>.jsonl.gz`). Unset: each task's
    /// records are written to stdout when it succeeds, all of a task's records together.
    std::optional<std::filesystem::path> out{};
    /// File sink partition template: `{record.<field>}` and the params `{n}` (the task's
    /// number) and `{arg1}`, `{arg2}`, ... (its arguments). Only with `out`.
    std::string partition{};
    /// Journal, logs, dead letters. A job made again with the same arguments and state
    /// directory resumes: tasks that succeeded there are not run again.
    std::filesystem::path state_dir = ".drover/exec";
};

/// The task id of the arguments `values` (one per group): each value with letters, digits,
/// `.` and `-` as they are, `_` as `__`, an empty value as `_`, every other byte (and a
/// leading `.` or `-`) as `_` and two hex digits; values joined by `=`. So ids are
/// distinct for distinct arguments, stable across runs and safe as file names:
/// `2018-01-01`, `a_20b.txt=3`. An id longer than 120 characters is cut to at most 100 and
/// ends in `_h` and 16 hex digits of a 64-bit hash of the values. make_exec_job gives the
/// k-th repeat of the same values in one job the suffix `_rk` (k >= 2).
DROVER_API std::string exec_task_id(const std::vector<std::string>& values);

/// The job: one local executor with `slots`, the file sink at `out` or the stdout sink, and
/// one task per combination of the groups, named by exec_task_id. Throws config_error for
/// an empty command, a group without arguments, no groups, `{N}` beyond the groups, more
/// than max_exec_tasks tasks, arguments with a NUL byte or invalid UTF-8, or `partition`
/// without `out`.
DROVER_API job make_exec_job(const exec_spec& s);

/// Arguments from lines of text, one per line (`::::` files, stdin): a final line without
/// `\n` counts, `\r\n` is not special (the `\r` stays). Throws config_error naming
/// `source:line` for a line that is not UTF-8, holds a NUL byte or is longer than
/// max_exec_argument_bytes, and for more than max_exec_tasks lines.
DROVER_API std::vector<std::string> read_exec_arguments(std::istream& in, std::string_view source);
/// The same from a file; a file that cannot be read is a config_error.
DROVER_API std::vector<std::string> read_exec_arguments(const std::filesystem::path& file);

}  // namespace drover
