#pragma once
// Bearer tokens of `drover serve` (--tokens FILE): one per line, "admin TOKEN" or "read TOKEN";
// blank lines and lines starting with '#' are skipped. Tokens are kept only as SHA-256
// digests and compared in constant time.

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace drover::detail {

enum class api_scope { read, admin };

class token_set {
public:
    /// No tokens: every request is anonymous.
    token_set() = default;
    /// Reads a token file. Throws config_error "file:line: problem" (unknown scope, a token
    /// shorter than 16 characters, a line with more than two words, a duplicate token).
    static token_set load(const std::filesystem::path& file);
    static token_set parse(std::string_view text, const std::string& source);

    bool empty() const noexcept { return tokens_.empty(); }
    /// The scope of `token`, or nullopt for an unknown one. Looks at every token whatever
    /// matches, each compared in constant time.
    std::optional<api_scope> check(std::string_view token) const;

private:
    struct entry {
        std::array<unsigned char, 32> digest;
        api_scope scope;
    };
    std::vector<entry> tokens_;
};

/// The token of an "Authorization: Bearer TOKEN" header value; nullopt for another scheme.
std::optional<std::string_view> bearer_token(std::string_view authorization);

}  // namespace drover::detail
