#pragma once
// Which task environment variables count as secrets (docs/workflows.md, "Secrets are
// redacted"): the name contains KEY, SECRET, TOKEN, PASSW, CREDENTIAL, AUTH or PRIVATE
// (case-insensitive) and the value has 4 or more characters. Their values never go into
// alert payloads, the journal or messages.

#include <algorithm>
#include <cctype>
#include <iterator>
#include <string_view>

namespace drover::detail {

inline bool is_secret_env(std::string_view name, std::string_view value) noexcept {
    if (value.size() < 4) return false;
    static constexpr std::string_view marks[] = {"KEY", "SECRET", "TOKEN", "PASSW", "CREDENTIAL", "AUTH", "PRIVATE"};
    auto upper_contains = [&](std::string_view m) {
        return std::search(name.begin(), name.end(), m.begin(), m.end(), [](char a, char b) {
                   return std::toupper(static_cast<unsigned char>(a)) == b;
               }) != name.end();
    };
    return std::any_of(std::begin(marks), std::end(marks), upper_contains);
}

}  // namespace drover::detail
