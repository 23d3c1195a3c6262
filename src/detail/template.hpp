#pragma once
// Placeholder expansion shared by job files (task params) and sinks (partitions).
//
// Grammar: `{name}` where name matches [A-Za-z_][A-Za-z0-9_.-]* is a placeholder;
// `{{` is a literal `{`; `${...}` (shell syntax) is literal; every other character, including a `{` not starting a
// placeholder (as in JSON: `{"a":1}`), is literal.

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace drover::detail {

struct unknown_placeholder : std::runtime_error {
    explicit unknown_placeholder(std::string n)
        : std::runtime_error("unknown placeholder {" + n + "}"), name(std::move(n)) {}
    std::string name;
};

using lookup_fn = std::function<std::optional<std::string>(std::string_view)>;

/// Expands placeholders; throws unknown_placeholder when lookup returns nullopt.
std::string expand_template(std::string_view tpl, const lookup_fn& lookup);

/// The placeholder names used in `tpl`, in order of appearance (with repeats).
std::vector<std::string> template_names(std::string_view tpl);

}  // namespace drover::detail
