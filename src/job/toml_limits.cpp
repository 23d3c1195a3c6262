#include "job/toml_limits.hpp"

#include <drover/error.hpp>

#include <fmt/format.h>

namespace drover::detail {

namespace {

class scanner {
public:
    scanner(std::string_view text, const std::string& file) : text_(text), file_(file) {}

    void run() {
        while (i_ < text_.size()) {
            char c = text_[i_];
            switch (state_) {
                case state::normal: normal(c); break;
                case state::comment:
                    if (c == '\n') state_ = state::normal;
                    advance();
                    break;
                case state::basic:
                case state::literal: in_string(c); break;
                case state::ml_basic:
                case state::ml_literal: in_multiline(c); break;
            }
        }
    }

private:
    enum class state { normal, comment, basic, literal, ml_basic, ml_literal };

    // Moves past text_[i_], keeping line, column (in characters) and the line's length.
    void advance() {
        char c = text_[i_++];
        if (c == '\n') {
            ++line_;
            col_ = 1;
            line_bytes_ = 0;
            return;
        }
        if (++line_bytes_ > max_job_line_bytes)
            throw config_error(file_, line_, 1, "",
                               fmt::format("line is longer than {} bytes; split long arrays or strings over several "
                                           "lines",
                                           max_job_line_bytes));
        if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++col_;
    }

    bool at(std::string_view s) const { return text_.substr(i_, s.size()) == s; }

    void start_key_part() {
        if (parts_ == 0) {
            key_line_ = line_;
            key_col_ = col_;
            parts_ = 1;
        }
    }

    void normal(char c) {
        switch (c) {
            case '#': state_ = state::comment; break;
            case '"':
            case '\'': {
                start_key_part();
                bool basic = c == '"';
                if (at(basic ? "\"\"\"" : "'''")) {
                    state_ = basic ? state::ml_basic : state::ml_literal;
                    advance();
                    advance();
                } else {
                    state_ = basic ? state::basic : state::literal;
                }
                break;
            }
            case '.':
                start_key_part();
                if (++parts_ > max_key_parts)
                    throw config_error(file_, key_line_, key_col_, "",
                                       fmt::format("a dotted key or table header has more than {} parts", max_key_parts));
                break;
            case '\n': case '=': case ',': case '[': case ']': case '{': case '}':
                parts_ = 0;
                break;
            case ' ': case '\t': case '\r': break;
            default: start_key_part(); break;
        }
        advance();
    }

    void in_string(char c) {
        if (c == '\n') {
            state_ = state::normal;  // unterminated: the parser reports it
            parts_ = 0;
        } else if (c == '\\' && state_ == state::basic && i_ + 1 < text_.size() && text_[i_ + 1] != '\n') {
            advance();
        } else if (c == (state_ == state::basic ? '"' : '\'')) {
            state_ = state::normal;
        }
        advance();
    }

    void in_multiline(char c) {
        bool basic = state_ == state::ml_basic;
        if (basic && c == '\\' && i_ + 1 < text_.size()) {
            advance();
            advance();
            return;
        }
        char quote = basic ? '"' : '\'';
        if (c == quote && at(basic ? "\"\"\"" : "'''")) {
            // The closing delimiter is the last three of a run of up to five quotes.
            for (int k = 0; k < 5 && i_ < text_.size() && text_[i_] == quote; ++k) advance();
            state_ = state::normal;
            return;
        }
        advance();
    }

    std::string_view text_;
    const std::string& file_;
    std::size_t i_ = 0;
    state state_ = state::normal;
    int line_ = 1, col_ = 1;
    std::size_t line_bytes_ = 0;
    std::size_t parts_ = 0;  // parts of the key being read (0: not in a key or value token)
    int key_line_ = 1, key_col_ = 1;
};

}  // namespace

void check_toml_limits(std::string_view text, const std::string& file) { scanner(text, file).run(); }

}  // namespace drover::detail
