#pragma once
// Reading fields of a JSON object that a user wrote (a task in a control line, an extension's
// keys), with errors "key: problem" (config_error) that name what was found instead.

#include <drover/error.hpp>

#include <boost/json/value.hpp>

#include <fmt/format.h>

#include <cmath>
#include <string>
#include <string_view>

namespace drover::detail::json_fields {

[[noreturn]] inline void bad(std::string_view key, const std::string& problem) {
    throw config_error(std::string(key) + ": " + problem);
}

/// "a string", "an array", ... for messages.
inline std::string_view kind_of(const boost::json::value& v) {
    switch (v.kind()) {
        case boost::json::kind::null: return "null";
        case boost::json::kind::bool_: return "a boolean";
        case boost::json::kind::int64:
        case boost::json::kind::uint64:
        case boost::json::kind::double_: return "a number";
        case boost::json::kind::string: return "a string";
        case boost::json::kind::array: return "an array";
        case boost::json::kind::object: return "an object";
    }
    return "a value";
}

inline std::string string_of(const boost::json::value& v, std::string_view key) {
    if (!v.is_string()) bad(key, "must be a string, not " + std::string(kind_of(v)));
    return std::string(v.get_string());
}

/// A number (integer or not) within [lo, hi].
inline double number_of(const boost::json::value& v, std::string_view key, double lo, double hi) {
    double d = 0;
    if (v.is_double())
        d = v.get_double();
    else if (v.is_int64())
        d = static_cast<double>(v.get_int64());
    else if (v.is_uint64())
        d = static_cast<double>(v.get_uint64());
    else
        bad(key, "must be a number, not " + std::string(kind_of(v)));
    if (!std::isfinite(d) || d < lo || d > hi) bad(key, fmt::format("must be between {} and {}", lo, hi));
    return d;
}

}  // namespace drover::detail::json_fields
