#include "service/sessions.hpp"

#include <drover/error.hpp>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

namespace drover::detail {

namespace {

std::string hex_of(const unsigned char* p, std::size_t n) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    out.reserve(n * 2);
    for (std::size_t i = 0; i < n; ++i) {
        out += digits[p[i] >> 4];
        out += digits[p[i] & 15];
    }
    return out;
}

// Sessions are kept under a digest of their id: the map's lookup compares digests, never ids.
std::string key_of(std::string_view id) {
    unsigned char d[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(id.data()), id.size(), d);
    return hex_of(d, sizeof d);
}

}  // namespace

std::string random_hex(std::size_t n) {
    std::string bytes(n, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(n)) != 1)
        throw error("no random bytes from OpenSSL for a session");
    return hex_of(reinterpret_cast<const unsigned char*>(bytes.data()), n);
}

bool same_secret(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::pair<std::string, session_store::session> session_store::create(api_scope scope) {
    auto id = random_hex(32);
    session s{scope, random_hex(16), std::chrono::steady_clock::now() + lifetime};
    std::lock_guard lock(mutex_);
    auto now = std::chrono::steady_clock::now();
    for (auto it = sessions_.begin(); it != sessions_.end();) it = it->second.expires < now ? sessions_.erase(it) : std::next(it);
    if (sessions_.size() >= max_sessions) {
        auto oldest = sessions_.begin();
        for (auto it = sessions_.begin(); it != sessions_.end(); ++it)
            if (it->second.expires < oldest->second.expires) oldest = it;
        sessions_.erase(oldest);
    }
    sessions_[key_of(id)] = s;
    return {id, s};
}

std::optional<session_store::session> session_store::find(std::string_view id) {
    if (id.size() != 64) return std::nullopt;
    auto key = key_of(id);
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(key);
    if (it == sessions_.end()) return std::nullopt;
    if (it->second.expires < std::chrono::steady_clock::now()) {
        sessions_.erase(it);
        return std::nullopt;
    }
    return it->second;
}

void session_store::remove(std::string_view id) {
    auto key = key_of(id);
    std::lock_guard lock(mutex_);
    sessions_.erase(key);
}

std::string_view cookie_value(std::string_view header, std::string_view name) {
    while (!header.empty()) {
        auto semi = header.find(';');
        auto part = header.substr(0, semi);
        while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
        auto eq = part.find('=');
        if (eq != std::string_view::npos && part.substr(0, eq) == name) {
            auto v = part.substr(eq + 1);
            while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
            return v;
        }
        if (semi == std::string_view::npos) break;
        header.remove_prefix(semi + 1);
    }
    return {};
}

}  // namespace drover::detail
