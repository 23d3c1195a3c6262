#pragma once
/// @file
/// A table of a job file as an executor or sink kind reads it: typed getters whose mistakes
/// are config_errors "file:line:column: key: problem", located at the offending value.
///
/// The job loader implements it over its TOML parser; kinds see only this view, so a
/// program's own kind reads its `[[executors]]` or `[sink]` table exactly as the built-in
/// kinds do (see kinds.hpp and examples/custom_kind/).
///
/// @code
/// my_options read(const drover::job_table& t) {
///     t.check_keys({"kind", "slots", "greeting"});   // unknown keys: error with a did-you-mean
///     my_options o;
///     if (auto v = t.get_int("slots", 1, 64)) o.slots = *v;
///     o.greeting = t.get_string("greeting").value_or("hello");
///     if (o.greeting.empty()) t.fail("greeting", "must not be empty");
///     return o;
/// }
/// @endcode

#include <drover/export.hpp>
#include <drover/task.hpp>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace drover {

/// A view of one table of a job file, valid during the call that receives it.
///
/// Every getter returns std::nullopt when the key is absent and throws config_error when
/// the value is of the wrong type or out of range, naming the key by its path in the file
/// ("executors[1].slots", "sink.part_size", "tasks[3].image").
class DROVER_API job_table {
public:
    virtual ~job_table() = default;

    /// This table's path in messages: "executors[1]", "sink", "defaults", "tasks[3]".
    virtual const std::string& path() const noexcept = 0;
    virtual bool contains(std::string_view key) const = 0;
    /// The keys, in the order they appear in the file.
    virtual std::vector<std::string> keys() const = 0;

    virtual std::optional<std::string> get_string(std::string_view key) const = 0;
    /// An integer in [min, max].
    virtual std::optional<std::int64_t> get_int(std::string_view key,
                                                std::int64_t min = std::numeric_limits<std::int64_t>::min(),
                                                std::int64_t max = std::numeric_limits<std::int64_t>::max()) const = 0;
    /// A finite number; integers are accepted.
    virtual std::optional<double> get_number(std::string_view key) const = 0;
    virtual std::optional<bool> get_bool(std::string_view key) const = 0;
    /// A duration string: "250ms", "30s", "1h30m", "2d".
    virtual std::optional<duration> get_duration(std::string_view key) const = 0;
    /// Bytes: an integer, or a string with a unit ("64MiB", "10MB").
    virtual std::optional<std::uint64_t> get_size(std::string_view key) const = 0;
    virtual std::optional<std::vector<std::string>> get_strings(std::string_view key) const = 0;
    /// A sub-table (`tls = { ca = "..." }` or `[executors.tls]`); nullptr when absent.
    virtual std::unique_ptr<job_table> get_table(std::string_view key) const = 0;

    /// Throws for the first key (in file order) not in `known`: "unknown key 'tls_verfy'
    /// (did you mean 'tls_verify'?)", or the list of known keys when none is close.
    virtual void check_keys(std::span<const std::string_view> known) const = 0;
    void check_keys(std::initializer_list<std::string_view> known) const {
        check_keys(std::span<const std::string_view>(known.begin(), known.size()));
    }

    /// Throws config_error "file:line:column: path.key: problem", located at the key's value,
    /// or at this table when the key is absent (e.g. "missing required key").
    [[noreturn]] virtual void fail(std::string_view key, const std::string& problem) const = 0;
    /// Same, at element `index` of the array at `key` ("path.key[index]: problem").
    [[noreturn]] virtual void fail(std::string_view key, std::size_t index, const std::string& problem) const = 0;

    /// The value of a required key, or "missing required key" + `hint` (e.g. " (e.g. hosts =
    /// [\"user@host\"])") at this table.
    template <class T>
    T required(std::optional<T> v, std::string_view key, std::string_view hint = {}) const {
        if (!v) fail(key, "missing required key" + std::string(hint));
        return std::move(*v);
    }
};

}  // namespace drover
