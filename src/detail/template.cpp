#include "detail/template.hpp"

#include "detail/time_format.hpp"

#include <drover/error.hpp>

namespace drover::detail {
namespace {

bool name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '-'; }
bool format_char(char c) { return c != '{' && c != '}' && static_cast<unsigned char>(c) >= 0x20 && c != 0x7f; }

// If a placeholder starts at tpl[i] ('{'), returns its length including braces, else 0;
// `bar` is set to the offset of its '|' (0 when there is none).
std::size_t placeholder_at(std::string_view tpl, std::size_t i, std::size_t& bar) {
    bar = 0;
    if (i + 1 >= tpl.size() || !name_start(tpl[i + 1])) return 0;
    std::size_t j = i + 2;
    while (j < tpl.size() && name_char(tpl[j])) ++j;
    if (j < tpl.size() && tpl[j] == '|') {
        bar = j - i;
        ++j;
        while (j < tpl.size() && format_char(tpl[j])) ++j;
    }
    return (j < tpl.size() && tpl[j] == '}') ? j - i + 1 : 0;
}

template <class OnLiteral, class OnPlaceholder>
void scan(std::string_view tpl, OnLiteral&& lit, OnPlaceholder&& on) {
    std::size_t i = 0;
    while (i < tpl.size()) {
        if (tpl[i] != '{') { lit(tpl[i]); ++i; continue; }
        if (i + 1 < tpl.size() && tpl[i + 1] == '{') { lit('{'); i += 2; continue; }
        // `${NAME}` is shell syntax, never a placeholder.
        bool shell = i > 0 && tpl[i - 1] == '$';
        std::size_t bar = 0;
        if (std::size_t n = shell ? 0 : placeholder_at(tpl, i, bar)) {
            placeholder p;
            if (bar) {
                p.name = tpl.substr(i + 1, bar - 1);
                p.format = tpl.substr(i + bar + 1, n - bar - 2);
                p.has_bar = true;
            } else {
                p.name = tpl.substr(i + 1, n - 2);
            }
            on(p);
            i += n;
            continue;
        }
        lit('{');
        ++i;
    }
}

}  // namespace

std::string expand_template(std::string_view tpl, const lookup_fn& lookup, const time_zone& tz) {
    std::string out;
    out.reserve(tpl.size());
    scan(tpl, [&](char c) { out.push_back(c); },
         [&](const placeholder& p) {
             auto v = lookup(p.name);
             if (!v) throw unknown_placeholder(p.name);
             if (!p.has_bar) {
                 out += *v;
                 return;
             }
             try {
                 out += time_format::parse(p.format).format(*v, tz);
             } catch (const config_error& e) {
                 throw bad_placeholder(p.text() + ": " + e.what());
             } catch (const bad_time_value& e) {
                 throw bad_placeholder(p.text() + ": " + e.what());
             }
         });
    return out;
}

std::string substitute_template(std::string_view tpl, const std::function<std::string(const placeholder&)>& fn) {
    std::string out;
    out.reserve(tpl.size());
    scan(tpl, [&](char c) { out.push_back(c); }, [&](const placeholder& p) { out += fn(p); });
    return out;
}

std::vector<placeholder> template_placeholders(std::string_view tpl) {
    std::vector<placeholder> out;
    scan(tpl, [](char) {}, [&](const placeholder& p) { out.push_back(p); });
    return out;
}

std::vector<std::string> template_names(std::string_view tpl) {
    std::vector<std::string> names;
    scan(tpl, [](char) {}, [&](const placeholder& p) { names.push_back(p.name); });
    return names;
}

}  // namespace drover::detail
