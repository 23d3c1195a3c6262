#include "service/tokens.hpp"

#include <drover/error.hpp>


#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <fstream>
#include <sstream>

namespace drover::detail {

namespace {

std::array<unsigned char, 32> digest_of(std::string_view s) {
    std::array<unsigned char, 32> d{};
    SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), d.data());
    return d;
}

std::vector<std::string_view> words(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
        std::size_t b = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
        if (i > b) out.push_back(line.substr(b, i - b));
    }
    return out;
}

}  // namespace

token_set token_set::parse(std::string_view text, const std::string& source) {
    token_set t;
    int line_no = 0;
    while (!text.empty()) {
        auto nl = text.find('\n');
        auto line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        ++line_no;
        auto w = words(line);
        if (w.empty() || w[0].front() == '#') continue;
        auto where = source + ":" + std::to_string(line_no) + ": ";
        if (w.size() != 2) throw config_error(where + "expected \"admin TOKEN\" or \"read TOKEN\"");
        api_scope scope;
        if (w[0] == "admin")
            scope = api_scope::admin;
        else if (w[0] == "read")
            scope = api_scope::read;
        else
            throw config_error(where + "unknown scope (admin or read)");
        if (w[1].size() < 16) throw config_error(where + "a token must have at least 16 characters");
        auto d = digest_of(w[1]);
        for (auto& e : t.tokens_)
            if (e.digest == d) throw config_error(where + "the same token is listed twice");
        t.tokens_.push_back({d, scope});
    }
    if (t.tokens_.empty()) throw config_error(source + ": no tokens (lines \"admin TOKEN\" or \"read TOKEN\")");
    return t;
}

token_set token_set::load(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw config_error("cannot read the tokens file " + file.string());
    std::ostringstream ss;
    ss << in.rdbuf();
    auto text = ss.str();
    if (text.size() > (1 << 20)) throw config_error(file.string() + ": the tokens file is larger than 1 MiB");
    return parse(text, file.string());
}

std::optional<api_scope> token_set::check(std::string_view token) const {
    auto d = digest_of(token);
    std::optional<api_scope> found;
    for (auto& e : tokens_)
        if (CRYPTO_memcmp(e.digest.data(), d.data(), d.size()) == 0) found = e.scope;
    return found;
}

std::optional<std::string_view> bearer_token(std::string_view authorization) {
    constexpr std::string_view scheme = "bearer ";
    if (authorization.size() <= scheme.size()) return std::nullopt;
    for (std::size_t i = 0; i < scheme.size(); ++i) {
        char c = authorization[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != scheme[i]) return std::nullopt;
    }
    auto t = authorization.substr(scheme.size());
    while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
    while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
    if (t.empty()) return std::nullopt;
    return t;
}

}  // namespace drover::detail
