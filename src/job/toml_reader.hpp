#pragma once
// Reading TOML (toml++) nodes as drover values, for the job file loader. Every failure is
// a config_error naming file:line:column of the offending node and its key path
// ("tasks[2].timeout"), because job files are written by hand.

#include <drover/error.hpp>
#include <drover/job_file.hpp>

#include <toml++/toml.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace drover::detail {

using keys = std::initializer_list<std::string_view>;
using more_keys = std::span<const std::string_view>;

inline std::string_view type_name(toml::node_type t) {
    constexpr std::string_view names[] = {"nothing", "table",   "array", "string", "integer",
                                          "float",   "boolean", "date",  "time",   "date-time"};
    auto i = static_cast<std::size_t>(t);
    return i < std::size(names) ? names[i] : "value";
}

// Keys as shown in messages: a hostile file may have megabyte-long keys.
inline std::string clip(std::string_view s) {
    return s.size() <= 64 ? std::string(s) : std::string(s.substr(0, 60)) + "...";
}

// "tasks[0]" + "env" -> "tasks[0].env"; keys that are not bare TOML keys are quoted.
inline std::string key_path(std::string_view parent, std::string_view key) {
    bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
    std::string k = bare ? clip(key) : fmt::format("\"{}\"", clip(key));
    return parent.empty() ? k : fmt::format("{}.{}", parent, k);
}

// Levenshtein distance where swapping two adjacent letters also costs 1 ("retires").
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i)
        for (std::size_t j = 1; j <= b.size(); ++j) {
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    return d[a.size()][b.size()];
}

/// Typed access to TOML nodes; parsers derive from it.
class reader {
public:
    explicit reader(std::string file) : file_(std::move(file)) {}

protected:
    std::string file_;
    std::string_view text_;  // the file's text, when the reader has it (for as_written)
    mutable std::vector<std::size_t> line_starts_;

    // The characters of the number or boolean at `n` as the file writes them ("1.0",
    // "0x10", "1_000"), or empty when the text is not known. toml++ keeps only the value,
    // and "text as written" is what job files promise for params and foreach values.
    std::string_view as_written(const toml::node& n) const {
        if (text_.empty()) return {};
        if (line_starts_.empty()) {
            line_starts_.push_back(0);
            for (std::size_t i = 0; i < text_.size(); ++i)
                if (text_[i] == '\n') line_starts_.push_back(i + 1);
        }
        auto at = n.source().begin;
        if (at.line < 1 || at.line > line_starts_.size()) return {};
        std::size_t i = line_starts_[at.line - 1];
        for (std::size_t col = 1; col < at.column && i < text_.size() && text_[i] != '\n'; ++col) {
            ++i;  // columns count characters: skip a UTF-8 character's continuation bytes
            while (i < text_.size() && (static_cast<unsigned char>(text_[i]) & 0xc0) == 0x80) ++i;
        }
        std::size_t end = i;
        while (end < text_.size() && std::string_view(" \t\r\n,]}#").find(text_[end]) == std::string_view::npos) ++end;
        std::string_view w = text_.substr(i, end - i);
        bool plausible = !w.empty() && (std::isdigit(static_cast<unsigned char>(w[0])) || w[0] == '+' || w[0] == '-' ||
                                        w == "true" || w == "false" || w == "inf" || w == "nan");
        return plausible ? w : std::string_view{};
    }

    [[noreturn]] void fail(const toml::source_region& r, const std::string& key, const std::string& problem) const {
        throw config_error(file_, static_cast<int>(r.begin.line), static_cast<int>(r.begin.column), key, problem);
    }
    [[noreturn]] void fail(const toml::node& n, const std::string& key, const std::string& problem) const {
        fail(n.source(), key, problem);
    }
    [[noreturn]] void expected(const toml::node& n, const std::string& key, std::string_view what) const {
        fail(n, key, fmt::format("expected {}, got {}", what, type_name(n.type())));
    }

    void check_keys(const toml::table& t, const std::string& path, keys allowed, more_keys more = {}) const {
        auto known = [&](std::string_view k) {
            return std::find(allowed.begin(), allowed.end(), k) != allowed.end() ||
                   std::find(more.begin(), more.end(), k) != more.end();
        };
        // The table is sorted by name; report the unknown key that comes first in the file.
        const toml::key* first = nullptr;
        for (auto&& [k, v] : t) {
            auto at = [](const toml::key& x) { return std::pair{x.source().begin.line, x.source().begin.column}; };
            if (!known(k.str()) && (!first || at(k) < at(*first))) first = &k;
        }
        if (!first) return;
        std::string problem = fmt::format("unknown key '{}'", clip(first->str()));
        std::string_view best;
        // Suggest only close matches: one edit for short keys, two for longer ones.
        std::size_t best_d = first->str().size() <= 4 ? 2 : 3;
        std::vector<std::string_view> all(allowed.begin(), allowed.end());
        all.insert(all.end(), more.begin(), more.end());
        for (auto cand : all)
            if (first->str().size() < 64)
                if (auto d = edit_distance(first->str(), cand); d < best_d) best_d = d, best = cand;
        if (!best.empty()) {
            problem += fmt::format(" (did you mean '{}'?)", best);
        } else {
            problem += fmt::format(" (expected one of: {})", fmt::join(all, ", "));
        }
        fail(first->source(), key_path(path, first->str()), problem);
    }

    const toml::node& required(const toml::table& t, std::string_view name, const std::string& path,
                               std::string_view hint) const {
        if (const toml::node* n = t.get(name)) return *n;
        fail(t.source(), key_path(path, name), fmt::format("missing required key{}", hint));
    }

    const toml::table& table_of(const toml::node& n, const std::string& key) const {
        if (const auto* t = n.as_table()) return *t;
        expected(n, key, "a table");
    }

    const toml::array& array_of(const toml::node& n, const std::string& key, std::string_view what) const {
        if (const auto* a = n.as_array()) return *a;
        expected(n, key, what);
    }

    std::string string_of(const toml::node& n, const std::string& key) const {
        const auto* s = n.as_string();
        if (!s) expected(n, key, "a string");
        if (s->get().find('\0') != std::string::npos) fail(n, key, "strings must not contain NUL characters");
        return s->get();
    }

    // Params and foreach list values: any scalar, kept as the text a template will insert:
    // strings as they are, numbers and booleans as written in the file.
    std::string scalar_of(const toml::node& n, const std::string& key) const {
        if (n.is_string()) return string_of(n, key);
        if (n.is_number() || n.is_boolean())
            if (auto w = as_written(n); !w.empty()) return std::string(w);
        if (const auto* i = n.as_integer()) return std::to_string(i->get());
        if (const auto* f = n.as_floating_point()) return fmt::format("{}", f->get());
        if (const auto* b = n.as_boolean()) return b->get() ? "true" : "false";
        expected(n, key, "a string, number or boolean");
    }

    std::int64_t int_of(const toml::node& n, const std::string& key, std::int64_t lo,
                        std::int64_t hi = std::numeric_limits<std::int64_t>::max()) const {
        const auto* i = n.as_integer();
        if (!i) expected(n, key, "an integer");
        std::int64_t v = i->get();
        if (v < lo || v > hi) {
            if (hi == std::numeric_limits<std::int64_t>::max())
                fail(n, key, fmt::format("must be at least {}, got {}", lo, v));
            fail(n, key, fmt::format("must be between {} and {}, got {}", lo, hi, v));
        }
        return v;
    }

    std::vector<std::string> string_list(const toml::node& n, const std::string& key) const {
        std::vector<std::string> out;
        const auto& arr = array_of(n, key, "an array of strings");
        for (std::size_t i = 0; i < arr.size(); ++i) out.push_back(string_of(arr[i], fmt::format("{}[{}]", key, i)));
        return out;
    }

    /// `<path>.max_line_bytes` of an executor table: a size of at least 1 byte.
    std::size_t line_limit(const toml::node& v, const std::string& path) const {
        auto n = static_cast<std::size_t>(size_of(v, path + ".max_line_bytes"));
        if (n == 0) fail(v, path + ".max_line_bytes", "must be at least 1 byte");
        return n;
    }

    double number_of(const toml::node& n, const std::string& key) const {
        double v = 0;
        if (const auto* i = n.as_integer()) v = static_cast<double>(i->get());
        else if (const auto* f = n.as_floating_point()) v = f->get();
        else expected(n, key, "a number");
        if (!std::isfinite(v)) fail(n, key, "must be a finite number");
        return v;
    }

    bool bool_of(const toml::node& n, const std::string& key) const {
        if (const auto* b = n.as_boolean()) return b->get();
        expected(n, key, "a boolean (true or false)");
    }

    duration duration_of(const toml::node& n, const std::string& key) const {
        if (!n.is_string()) expected(n, key, "a duration string with a unit, like \"30s\" or \"250ms\"");
        try {
            return parse_duration(string_of(n, key));
        } catch (const config_error& e) {
            fail(n, key, e.what());
        }
    }

    // Byte counts: an integer, or a string with a unit ("512KiB", "64MiB", "10MB").
    std::uint64_t size_of(const toml::node& n, const std::string& key) const {
        if (n.is_integer()) return static_cast<std::uint64_t>(int_of(n, key, 0));
        if (!n.is_string()) expected(n, key, "an integer or a size string like \"64MiB\"");
        std::string s = string_of(n, key);
        std::size_t i = 0;
        std::uint64_t v = 0;
        bool overflow = false;
        for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i)
            overflow |= __builtin_mul_overflow(v, 10u, &v) || __builtin_add_overflow(v, unsigned(s[i] - '0'), &v);
        static const std::pair<std::string_view, std::uint64_t> units[] = {
            {"B", 1},          {"KB", 1000},      {"MB", 1'000'000}, {"GB", 1'000'000'000}, {"TB", 1'000'000'000'000},
            {"KiB", 1u << 10}, {"MiB", 1u << 20}, {"GiB", 1u << 30}, {"TiB", 1ull << 40}};
        std::string_view unit = std::string_view(s).substr(i);
        auto u = std::find_if(std::begin(units), std::end(units), [&](auto& p) { return p.first == unit; });
        if (i == 0 || u == std::end(units))
            fail(n, key, fmt::format("invalid size \"{}\": write a whole number and a unit (B, KB, MB, GB, TB, KiB, "
                                     "MiB, GiB, TiB), e.g. \"64MiB\"", s));
        if (overflow || __builtin_mul_overflow(v, u->second, &v))
            fail(n, key, fmt::format("size \"{}\" is too large", s));
        return v;
    }
};

}  // namespace drover::detail
