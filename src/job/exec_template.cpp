#include "job/exec_template.hpp"

#include <drover/error.hpp>
#include <drover/job_file.hpp>

#include "detail/utf8.hpp"

#include <charconv>
#include <optional>

namespace drover::detail {

namespace {

struct parsed_placeholder {
    std::size_t length;  // with the braces
    bool number = false;
    std::optional<std::size_t> group;  // 1-based as written; unset = {}
    path_part part = path_part::whole;
};

// A replacement string at text[0] ('{'), or nothing: `{}`, `{#}`, `{N}` and `{.}` `{/}`
// `{//}` `{/.}` with or without N. Anything else is literal text.
std::optional<parsed_placeholder> placeholder_at(std::string_view text) {
    auto close = text.find('}');
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view inner = text.substr(1, close - 1);
    parsed_placeholder p{close + 1};
    if (inner == "#") {
        p.number = true;
        return p;
    }
    std::size_t digits = 0;
    while (digits < inner.size() && inner[digits] >= '0' && inner[digits] <= '9') ++digits;
    if (digits) {
        std::size_t n = 0;
        auto [end, ec] = std::from_chars(inner.data(), inner.data() + digits, n);
        if (ec != std::errc()) n = static_cast<std::size_t>(-1);  // far beyond any group count
        p.group = n;
    }
    std::string_view mod = inner.substr(digits);
    if (mod.empty())
        p.part = path_part::whole;
    else if (mod == ".")
        p.part = path_part::no_extension;
    else if (mod == "/")
        p.part = path_part::basename;
    else if (mod == "//")
        p.part = path_part::dirname;
    else if (mod == "/.")
        p.part = path_part::basename_no_extension;
    else
        return std::nullopt;
    return p;
}

std::string_view strip_extension(std::string_view v) {
    auto slash = v.rfind('/');
    auto dot = v.rfind('.');
    // A dot in a directory name, or a leading dot of the base name, is not an extension.
    std::size_t base = slash == std::string_view::npos ? 0 : slash + 1;
    if (dot == std::string_view::npos || dot <= base) return v;
    return v.substr(0, dot);
}

std::string shell_word(const std::string& v) {
    // shell_command_line quotes a first word holding '='; for one argument that is harmless.
    return shell_command_line({v});
}

}  // namespace

std::string apply_path_part(std::string_view value, path_part p) {
    auto slash = value.rfind('/');
    switch (p) {
        case path_part::whole: return std::string(value);
        case path_part::no_extension: return std::string(strip_extension(value));
        case path_part::basename:
            return std::string(slash == std::string_view::npos ? value : value.substr(slash + 1));
        case path_part::dirname:
            if (slash == std::string_view::npos) return ".";
            return slash == 0 ? "/" : std::string(value.substr(0, slash));
        case path_part::basename_no_extension:
            return std::string(strip_extension(slash == std::string_view::npos ? value : value.substr(slash + 1)));
    }
    return std::string(value);
}

exec_template::exec_template(const std::vector<std::string>& words, std::size_t groups, bool shell) : shell_(shell) {
    if (words.empty()) throw config_error("exec: no command given (e.g. drover exec -- echo {} ::: a b)");
    if (words.front().empty()) throw config_error("exec: the command's first word is empty");
    bool has_argument = false;
    for (const auto& text : words) {
        if (!valid_utf8(text) || text.find('\0') != std::string::npos)
            throw config_error("exec: the command word '" + terminal_safe(text) + "' is not UTF-8 text");
        word w;
        std::size_t lit = 0;
        auto flush = [&](std::size_t end) {
            if (end > lit) w.push_back({piece::text, text.substr(lit, end - lit)});
        };
        for (std::size_t i = 0; i < text.size();) {
            std::optional<parsed_placeholder> p;
            if (text[i] == '{') p = placeholder_at(std::string_view(text).substr(i));
            if (!p) {
                ++i;
                continue;
            }
            flush(i);
            piece pc;
            if (p->number) {
                pc.kind = piece::number;
            } else if (p->group) {
                if (*p->group == 0 || *p->group > groups)
                    throw config_error("exec: '" + terminal_safe(text.substr(i, p->length)) + "' in the command, but " +
                                       (*p->group == 0 ? std::string("groups count from {1}")
                                                       : "there " + std::string(groups == 1 ? "is " : "are ") +
                                                             std::to_string(groups) + " argument group(s)"));
                pc.kind = piece::one_group;
                pc.group = *p->group - 1;
                pc.part = p->part;
                has_argument = true;
            } else {
                pc.kind = piece::all;
                pc.part = p->part;
                has_argument = true;
            }
            w.push_back(std::move(pc));
            i += p->length;
            lit = i;
        }
        flush(text.size());
        words_.push_back(std::move(w));
    }
    if (!has_argument) words_.push_back({piece{piece::all}});
}

std::string exec_template::fill_word(const word& w, const std::vector<std::string>& values, std::size_t number) const {
    std::string out;
    for (const auto& p : w) {
        switch (p.kind) {
            case piece::text: out += p.literal; break;
            case piece::number: out += std::to_string(number); break;
            case piece::one_group: {
                auto v = apply_path_part(values[p.group], p.part);
                out += shell_ ? shell_word(v) : v;
                break;
            }
            case piece::all:
                for (std::size_t i = 0; i < values.size(); ++i) {
                    if (i) out += ' ';
                    auto v = apply_path_part(values[i], p.part);
                    out += shell_ ? shell_word(v) : v;
                }
                break;
        }
    }
    return out;
}

std::vector<std::string> exec_template::fill(const std::vector<std::string>& values, std::size_t number) const {
    if (shell_) {
        std::string script;
        for (const auto& w : words_) {
            if (!script.empty()) script += ' ';
            script += fill_word(w, values, number);
        }
        return {"sh", "-c", std::move(script)};
    }
    std::vector<std::string> argv;
    argv.reserve(words_.size());
    for (const auto& w : words_) argv.push_back(fill_word(w, values, number));
    return argv;
}

}  // namespace drover::detail
