#pragma once
// The command template of `drover exec` (exec_spec::command): GNU parallel's replacement
// strings `{}`, `{N}`, `{#}` and the path modifiers, parsed once and filled per task.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace drover::detail {

/// A path modifier of a replacement string: `{.}`, `{/}`, `{//}`, `{/.}`.
enum class path_part { whole, no_extension, basename, dirname, basename_no_extension };

/// `value` as the modifier takes it ("a/b.c": "a/b", "b.c", "a", "b").
std::string apply_path_part(std::string_view value, path_part p);

class exec_template {
public:
    /// Parses the words; throws config_error for an empty command, `{0}` and `{N}` with N
    /// beyond `groups`. Without any argument placeholder, `{}` is appended as a word.
    exec_template(const std::vector<std::string>& words, std::size_t groups, bool shell);

    /// argv for the task numbered `number` (1-based) with `values` (one per group).
    std::vector<std::string> fill(const std::vector<std::string>& values, std::size_t number) const;

private:
    struct piece {
        enum kind_t { text, all, one_group, number } kind = text;
        std::string literal;      // text
        std::size_t group = 0;    // group: 0-based
        path_part part = path_part::whole;
    };
    using word = std::vector<piece>;

    std::string fill_word(const word& w, const std::vector<std::string>& values, std::size_t number) const;

    std::vector<word> words_;
    bool shell_;
};

}  // namespace drover::detail
