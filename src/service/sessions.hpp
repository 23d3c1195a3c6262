#pragma once
// Browser sessions of the dashboard: POST /api/v1/login with a token gives a session cookie
// (HttpOnly, SameSite=Strict) carrying the token's scope, and a CSRF token that every changing
// request made with the cookie must send back in X-Drover-CSRF. Bounded in number and age.

#include "service/tokens.hpp"

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace drover::detail {

class session_store {
public:
    struct session {
        api_scope scope;
        std::string csrf;
        std::chrono::steady_clock::time_point expires;
    };
    static constexpr std::size_t max_sessions = 1000;
    static constexpr std::chrono::hours lifetime{12};
    static constexpr std::string_view cookie_name = "drover_session";

    /// A new session; the oldest goes when there are max_sessions. Returns (id, session).
    std::pair<std::string, session> create(api_scope scope);
    /// The live session with this id (compared in constant time), or nullopt.
    std::optional<session> find(std::string_view id);
    void remove(std::string_view id);

private:
    std::mutex mutex_;
    std::map<std::string, session, std::less<>> sessions_;  // by SHA-256 hex of the id
};

/// The value of cookie `name` in a Cookie header; empty when absent.
std::string_view cookie_value(std::string_view cookie_header, std::string_view name);
/// `n` random bytes from OpenSSL as lower-case hex.
std::string random_hex(std::size_t n);
/// Equal, in time that depends only on the lengths.
bool same_secret(std::string_view a, std::string_view b);

}  // namespace drover::detail
