#include "sinks/partition.hpp"

#include "detail/hex.hpp"
#include "detail/template.hpp"

#include <drover/error.hpp>

#include <boost/json.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <fmt/format.h>

#include <cstdint>

namespace drover::detail {

namespace {

constexpr std::size_t max_component = 200;  // well under NAME_MAX (255)
constexpr std::size_t cut_component = 180;
constexpr char marker = '\x01';  // stands for a placeholder while checking the literal text

// Bytes a path component keeps as they are; every other one becomes %XX (upper case):
// [A-Za-z0-9._=-]: RFC 3986's unreserved characters without '~' (the cut marker) and with '='.
constexpr auto safe_bytes = boost::urls::unreserved_chars - '~' + '=';
constexpr auto safe_bytes_but_dot = safe_bytes - '.';

std::uint64_t fnv1a(std::string_view s) {
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return h;
}

// A record field as partition text: strings as they are; numbers in their shortest decimal
// form ("12.5", "2018", "1e+300"; Boost.JSON would write 1.25E1); arrays and objects as
// JSON with their numbers written the same way.
std::string field_text(const boost::json::value& v, bool top = true) {
    switch (v.kind()) {
        case boost::json::kind::string:
            return top ? std::string(v.get_string()) : boost::json::serialize(v);
        case boost::json::kind::double_: return fmt::format("{}", v.get_double());
        case boost::json::kind::array: {
            std::string out = "[";
            for (const auto& e : v.get_array()) out += (out.size() > 1 ? "," : "") + field_text(e, false);
            return out + "]";
        }
        case boost::json::kind::object: {
            std::string out = "{";
            for (const auto& [k, e] : v.get_object())
                out += (out.size() > 1 ? "," : "") + boost::json::serialize(boost::json::string_view(k)) + ":" +
                       field_text(e, false);
            return out + "}";
        }
        default: return boost::json::serialize(v);
    }
}

[[noreturn]] void bad_template(std::string_view tpl, std::string_view problem) {
    throw config_error("partition template \"" + std::string(tpl) + "\": " + std::string(problem));
}

}  // namespace

std::string sanitize_component(std::string_view value) {
    if (value.empty()) return "__empty__";
    // A leading dot, and every dot of a value made only of dots, is escaped too.
    bool only_dots = value.find_first_not_of('.') == std::string_view::npos;
    std::string out = boost::urls::encode(value.substr(0, 1), safe_bytes_but_dot);
    out += only_dots ? boost::urls::encode(value.substr(1), safe_bytes_but_dot)
                     : boost::urls::encode(value.substr(1), safe_bytes);
    if (out.size() > max_component) {
        std::size_t cut = cut_component;
        if (out[cut - 1] == '%') cut -= 1;        // do not split a %XX escape
        else if (out[cut - 2] == '%') cut -= 2;
        out.resize(cut);
        out.push_back('~');  // never produced by escaping, so cut names cannot clash with whole ones
        append_hex(out, fnv1a(value), 16, hex_case::upper);
    }
    return out;
}

partition_template::partition_template(std::string_view tpl, time_zone tz, bad_value_policy bad_values)
    : source_(tpl), tz_(std::move(tz)), bad_values_(bad_values) {
    for (char c : tpl)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) bad_template(tpl, "control characters are not allowed");

    // Let the shared grammar find the placeholders; each becomes a marker so the literal
    // directory structure can be checked on its own.
    std::vector<placeholder> holders;
    std::string shape = substitute_template(tpl, [&](const placeholder& p) {
        holders.push_back(p);
        return std::string(1, marker);
    });
    if (shape.starts_with('/')) bad_template(tpl, "must be relative to the sink root");

    // Normalise: drop empty components ("a//b", trailing "/"); reject dot-led ones.
    std::string normal;
    std::size_t start = 0;
    while (start <= shape.size()) {
        std::size_t slash = std::min(shape.find('/', start), shape.size());
        std::string_view comp(shape.data() + start, slash - start);
        if (!comp.empty()) {
            if (comp.front() == '.')
                bad_template(tpl, "a directory may not start with '.' (no '.', '..' or hidden directories)");
            if (!normal.empty()) normal.push_back('/');
            normal += comp;
        }
        start = slash + 1;
    }

    std::size_t next = 0;
    std::string lit;
    for (char c : normal) {
        if (c != marker) {
            lit.push_back(c);
            continue;
        }
        if (!lit.empty()) parts_.push_back({kind::literal, std::move(lit), {}, {}});
        lit.clear();
        placeholder& h = holders[next++];
        part p{kind::param, h.name, {}, h.text()};
        if (h.has_bar) {
            try {
                p.format = time_format::parse(h.format);
            } catch (const config_error& e) {
                bad_template(tpl, p.written + ": " + e.what());
            }
        }
        if (h.name.starts_with("record.")) {
            p.text = h.name.substr(7);
            if (p.text.empty()) bad_template(tpl, "{record.} needs a field name");
            p.k = kind::field;
            uses_record_ = true;
        }
        parts_.push_back(std::move(p));
    }
    if (!lit.empty()) parts_.push_back({kind::literal, std::move(lit), {}, {}});
}

// The text for a bad value under missing_partition; under bad_records, throws.
std::string partition_template::bad_value(const part& p, const std::string& why) const {
    if (bad_values_ == bad_value_policy::missing_partition) return std::string(missing_value);
    throw record_rejected("partition " + p.written + ": " + why);
}

partition_template partition_template::bind(const std::map<std::string, std::string>& params) const {
    partition_template out;
    out.source_ = source_;
    out.uses_record_ = uses_record_;
    out.tz_ = tz_;
    out.bad_values_ = bad_values_;
    out.rejected_ = rejected_;
    for (const auto& p : parts_) {
        part q = p;
        if (p.k == kind::param) {
            auto it = params.find(p.text);
            if (it == params.end())
                throw sink_error("partition template \"" + source_ + "\" uses {" + p.text +
                                 "} but the task has no such param");
            std::string value = it->second;
            if (p.format) {
                try {
                    value = p.format->format(std::string_view(value), tz_);
                } catch (const bad_time_value& e) {
                    try {
                        value = bad_value(p, "param '" + p.text + "': " + e.what());
                    } catch (const record_rejected& r) {
                        // Every record of the task is refused, one by one, with this reason.
                        if (out.rejected_.empty()) out.rejected_ = r.what();
                        out.uses_record_ = true;
                    }
                }
            }
            q = {kind::literal, sanitize_component(value), {}, {}};
        }
        if (q.k == kind::literal && !out.parts_.empty() && out.parts_.back().k == kind::literal)
            out.parts_.back().text += q.text;
        else
            out.parts_.push_back(std::move(q));
    }
    return out;
}

std::string partition_template::resolve(const boost::json::object& fields) const {
    if (!rejected_.empty()) throw record_rejected(rejected_);
    std::string out;
    for (const auto& p : parts_) {
        switch (p.k) {
            case kind::literal: out += p.text; break;
            case kind::param: throw std::logic_error("partition_template::resolve: params not bound");
            case kind::field: {
                const boost::json::value* v = fields.if_contains(p.text);
                if (!v || v->is_null()) {
                    out += bad_value(p, "field '" + p.text + "' is " + (v ? "null" : "missing"));
                } else if (p.format) {
                    try {
                        out += sanitize_component(p.format->format(*v, tz_));
                    } catch (const bad_time_value& e) {
                        out += bad_value(p, "field '" + p.text + "': " + e.what());
                    }
                } else {
                    out += sanitize_component(field_text(*v));
                }
                break;
            }
        }
    }
    return out;
}

std::string partition_template::resolve() const {
    if (uses_record_) throw std::logic_error("partition_template::resolve: template needs a record");
    static const boost::json::object none;
    return resolve(none);
}

}  // namespace drover::detail
