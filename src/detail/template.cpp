#include "detail/template.hpp"

namespace drover::detail {
namespace {

bool name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9') || c == '.' || c == '-'; }

// If a placeholder starts at tpl[i] ('{'), returns its length including braces, else 0.
std::size_t placeholder_at(std::string_view tpl, std::size_t i) {
    if (i + 1 >= tpl.size() || !name_start(tpl[i + 1])) return 0;
    std::size_t j = i + 2;
    while (j < tpl.size() && name_char(tpl[j])) ++j;
    return (j < tpl.size() && tpl[j] == '}') ? j - i + 1 : 0;
}

template <class OnLiteral, class OnName>
void scan(std::string_view tpl, OnLiteral&& lit, OnName&& name) {
    std::size_t i = 0;
    while (i < tpl.size()) {
        if (tpl[i] != '{') { lit(tpl[i]); ++i; continue; }
        if (i + 1 < tpl.size() && tpl[i + 1] == '{') { lit('{'); i += 2; continue; }
        // `${NAME}` is shell syntax, never a placeholder.
        bool shell = i > 0 && tpl[i - 1] == '$';
        if (std::size_t n = shell ? 0 : placeholder_at(tpl, i)) { name(tpl.substr(i + 1, n - 2)); i += n; continue; }
        lit('{');
        ++i;
    }
}

}  // namespace

std::string expand_template(std::string_view tpl, const lookup_fn& lookup) {
    std::string out;
    out.reserve(tpl.size());
    scan(tpl, [&](char c) { out.push_back(c); },
         [&](std::string_view n) {
             auto v = lookup(n);
             if (!v) throw unknown_placeholder(std::string(n));
             out += *v;
         });
    return out;
}

std::vector<std::string> template_names(std::string_view tpl) {
    std::vector<std::string> names;
    scan(tpl, [](char) {}, [&](std::string_view n) { names.emplace_back(n); });
    return names;
}

}  // namespace drover::detail
