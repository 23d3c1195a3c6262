#pragma once
// Partition templates of the file sink: `date={date}/lang={record.lang}`.
//
// `{name}` is a task param, `{record.<field>}` a top-level field of the record (strings
// raw, numbers in their shortest decimal form (`12.5`, never `1.25E1`), other JSON values
// as JSON text, missing or null as `__missing__`). `{name|FORMAT}` and
// `{record.<field>|FORMAT}` format the value as a time in the sink's zone
// (`dt={record.ts|%Y-%m-%d}/hour={record.ts|%H}`, detail/time_format.hpp). A bad value (a
// missing field, a value that is not a time) becomes `__missing__`, or with
// bad_value_policy::bad_records makes resolve() refuse the record (record_rejected). Substituted
// values are sanitised into a single safe path component (sanitize_component), so no
// value can add directories, climb out of the root, or create hidden entries. Literal
// template text may use `/` for nested directories but must be relative, and no
// component may start with `.` (this rules out `.`, `..` and `.drover`).

#include "cron/cron.hpp"
#include "detail/time_format.hpp"

#include <drover/sink.hpp>

#include <boost/json/fwd.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace drover::detail {

/// Maps any value to one path component made of [A-Za-z0-9._=-] and `%XX` escapes:
/// - every other byte (including `/`, `%`, NUL, space, UTF-8 bytes) becomes `%XX`;
/// - a leading `.` becomes `%2E`, and a value of only dots is fully escaped
///   (`.` → `%2E`, `..` → `%2E%2E`), so the result never names `.`, `..` or a hidden file;
/// - the empty value becomes `__empty__`;
/// - a result longer than 200 bytes is cut to 180 and suffixed with `~` and a 64-bit
///   hash of the whole value, keeping components under NAME_MAX and still distinct.
std::string sanitize_component(std::string_view value);

/// Text used for a record field that is missing or null.
inline constexpr std::string_view missing_value = "__missing__";

class partition_template {
public:
    /// Parses and checks `tpl`; throws config_error when it is absolute, has a component
    /// starting with `.`, contains control characters, uses `{record.}`, or has a format
    /// that does not parse (naming the placeholder). Formats show times in `tz`.
    explicit partition_template(std::string_view tpl, time_zone tz = time_zone(),
                                bad_value_policy bad_values = bad_value_policy::missing_partition);

    /// True when the result depends on record fields (otherwise compute it once).
    bool uses_record() const noexcept { return uses_record_; }

    /// Substitutes task params, leaving record placeholders. Throws sink_error naming the
    /// param when the task lacks one. A param that is not a time for its format becomes
    /// `__missing__`, or (bad_records) makes every resolve() refuse its record.
    partition_template bind(const std::map<std::string, std::string>& params) const;

    /// The partition directory, relative to the sink root, `/`-separated, no trailing
    /// `/`; empty means the root itself. Params must already be bound. With bad_records,
    /// throws record_rejected naming the placeholder and the problem.
    std::string resolve(const boost::json::object& fields) const;
    /// Same, for templates without record placeholders.
    std::string resolve() const;

private:
    partition_template() = default;
    enum class kind { literal, param, field };
    struct part {
        kind k;
        std::string text;  // literal text, param name or field name
        std::optional<time_format> format;
        std::string written;  // the placeholder as written, for messages
    };
    std::string bad_value(const part& p, const std::string& why) const;

    std::string source_;
    std::vector<part> parts_;
    bool uses_record_ = false;
    time_zone tz_;
    bad_value_policy bad_values_ = bad_value_policy::missing_partition;
    std::string rejected_;  // bound with a bad param under bad_records: why every record is refused
};

}  // namespace drover::detail
