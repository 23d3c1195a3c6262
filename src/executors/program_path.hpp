#pragma once
// Where a program named without a slash is on PATH, remembered as a shell remembers it
// (bash's `hash`): posix_spawnp tries execve in every PATH directory before the one that has
// the program, and the parent waits (vfork) while its child does. With a PATH of ten entries
// before /usr/bin that is ten failed execve calls for every task.
//
// The search is the one posix_spawnp makes: the directories of our own PATH (not the task's
// env), in order; the first regular file we may execute. A remembered path is dropped when
// PATH changes or when starting it fails (the program was moved or removed): the caller then
// lets posix_spawnp search again. What is not remembered: a name with a slash (no search), a
// PATH with a relative or empty entry (it depends on the task's workdir), no PATH at all.

#include <optional>
#include <string>

namespace drover::detail {

/// The absolute path posix_spawnp would start for `name`, or nullopt when the caller should
/// let posix_spawnp search (see above) or when no directory has it (posix_spawnp then fails
/// with its usual error). Thread-safe.
std::optional<std::string> program_path(const std::string& name);

/// Starting the remembered path of `name` failed: search again next time.
void forget_program_path(const std::string& name);

}  // namespace drover::detail
