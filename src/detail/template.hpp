#pragma once
// Placeholder expansion shared by job files (task params) and sinks (partitions).
//
// Grammar: `{name}` where name matches [A-Za-z_][A-Za-z0-9_.-]* is a placeholder, and so is
// `{name|FORMAT}`, whose value is formatted as a time (detail/time_format.hpp; FORMAT is any
// text without `{`, `}` or control characters); `{{` is a literal `{`; `${...}` (shell
// syntax) is literal; every other character, including a `{` not starting a placeholder
// (as in JSON: `{"a":1}`), is literal.

#include "cron/cron.hpp"

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

/// A placeholder whose format does not parse, or whose value the format cannot read.
/// what() reads "{date|%Q}: ...".
struct bad_placeholder : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// One placeholder: `{name}` or `{name|format}` (format empty when there is none).
struct placeholder {
    std::string name;
    std::string format;
    bool has_bar = false;  // written with '|' (even `{name|}`, whose empty format is an error)
    /// The placeholder as written, for messages: `{date|%Y%m%d}`.
    std::string text() const { return "{" + name + (has_bar ? "|" + format : "") + "}"; }
};

using lookup_fn = std::function<std::optional<std::string>(std::string_view)>;

/// Expands placeholders, formatting `{name|FORMAT}` values as times in `tz`. Throws
/// unknown_placeholder when lookup returns nullopt, bad_placeholder for a format that does
/// not parse or a value it cannot read.
std::string expand_template(std::string_view tpl, const lookup_fn& lookup, const time_zone& tz = time_zone());

/// Expands each placeholder to what `fn` returns for it (no lookup, no formatting).
std::string substitute_template(std::string_view tpl, const std::function<std::string(const placeholder&)>& fn);

/// The placeholders used in `tpl`, in order of appearance (with repeats).
std::vector<placeholder> template_placeholders(std::string_view tpl);

/// The placeholder names used in `tpl`, in order of appearance (with repeats).
std::vector<std::string> template_names(std::string_view tpl);

}  // namespace drover::detail
