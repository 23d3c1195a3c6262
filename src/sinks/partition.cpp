#include "sinks/partition.hpp"

#include "detail/template.hpp"

#include <drover/error.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <cstdint>

namespace drover::detail {

namespace {

constexpr std::size_t max_component = 200;  // well under NAME_MAX (255)
constexpr std::size_t cut_component = 180;
constexpr char marker = '\x01';  // stands for a placeholder while checking the literal text

bool safe_byte(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '=' || c == '-';
}

std::uint64_t fnv1a(std::string_view s) {
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    return h;
}

void append_hex(std::string& out, std::uint64_t v, int digits) {
    static constexpr char hex[] = "0123456789ABCDEF";
    for (int i = digits - 1; i >= 0; --i) out.push_back(hex[(v >> (4 * i)) & 0xF]);
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
    bool only_dots = value.find_first_not_of('.') == std::string_view::npos;
    std::string out;
    out.reserve(value.size());
    for (std::size_t i = 0; i < value.size(); ++i) {
        char c = value[i];
        bool keep = safe_byte(c) && !(c == '.' && (i == 0 || only_dots));
        if (keep) {
            out.push_back(c);
        } else {
            out.push_back('%');
            append_hex(out, static_cast<unsigned char>(c), 2);
        }
    }
    if (out.size() > max_component) {
        std::size_t cut = cut_component;
        if (out[cut - 1] == '%') cut -= 1;        // do not split a %XX escape
        else if (out[cut - 2] == '%') cut -= 2;
        out.resize(cut);
        out.push_back('~');  // never produced by escaping, so cut names cannot clash with whole ones
        append_hex(out, fnv1a(value), 16);
    }
    return out;
}

partition_template::partition_template(std::string_view tpl) : source_(tpl) {
    for (char c : tpl)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) bad_template(tpl, "control characters are not allowed");

    // Let the shared grammar find the placeholders; each becomes a marker so the literal
    // directory structure can be checked on its own.
    std::vector<std::string> names;
    std::string shape = expand_template(tpl, [&](std::string_view n) -> std::optional<std::string> {
        names.emplace_back(n);
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

    std::size_t next_name = 0;
    std::string lit;
    for (char c : normal) {
        if (c != marker) {
            lit.push_back(c);
            continue;
        }
        if (!lit.empty()) parts_.push_back({kind::literal, std::move(lit)});
        lit.clear();
        std::string& n = names[next_name++];
        if (n.starts_with("record.")) {
            std::string field = n.substr(7);
            if (field.empty()) bad_template(tpl, "{record.} needs a field name");
            parts_.push_back({kind::field, std::move(field)});
            uses_record_ = true;
        } else {
            parts_.push_back({kind::param, std::move(n)});
        }
    }
    if (!lit.empty()) parts_.push_back({kind::literal, std::move(lit)});
}

partition_template partition_template::bind(const std::map<std::string, std::string>& params) const {
    partition_template out;
    out.source_ = source_;
    out.uses_record_ = uses_record_;
    for (const auto& p : parts_) {
        part q = p;
        if (p.k == kind::param) {
            auto it = params.find(p.text);
            if (it == params.end())
                throw sink_error("partition template \"" + source_ + "\" uses {" + p.text +
                                 "} but the task has no such param");
            q = {kind::literal, sanitize_component(it->second)};
        }
        if (q.k == kind::literal && !out.parts_.empty() && out.parts_.back().k == kind::literal)
            out.parts_.back().text += q.text;
        else
            out.parts_.push_back(std::move(q));
    }
    return out;
}

std::string partition_template::resolve(const boost::json::object& fields) const {
    std::string out;
    for (const auto& p : parts_) {
        switch (p.k) {
            case kind::literal: out += p.text; break;
            case kind::param: throw std::logic_error("partition_template::resolve: params not bound");
            case kind::field: {
                const boost::json::value* v = fields.if_contains(p.text);
                if (!v || v->is_null()) out += missing_value;
                else out += sanitize_component(field_text(*v));
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
