#pragma once
// URLs as the crawler needs them: absolute http(s) URLs, relative references resolved
// against a page, and query parameters. Pure functions, no I/O.

#include <optional>
#include <string>
#include <string_view>

namespace news_crawler {

struct url {
    std::string scheme;   ///< "http" or "https"
    std::string host;     ///< without brackets for IPv6
    std::string port;     ///< always set ("80"/"443" by default)
    std::string target;   ///< path and query, starts with '/'

    bool tls() const { return scheme == "https"; }
    /// "scheme://host:port": one rate limit and connection pool per origin.
    std::string origin() const;
    /// The Host header value (port omitted when it is the scheme's default).
    std::string host_header() const;
    std::string str() const;
    std::string path() const;  ///< target without the query
};

/// Parses an absolute http:// or https:// URL; nullopt with `error` set otherwise.
std::optional<url> parse_url(std::string_view text, std::string* error = nullptr);
/// Resolves `href` (absolute, scheme-relative, absolute-path, or relative path) against `base`.
/// Fragments are dropped. nullopt when the result is not an http(s) URL.
std::optional<url> resolve(const url& base, std::string_view href);
/// Decodes %XX escapes and '+' (as a space); a malformed escape is kept as it is.
std::string percent_decode(std::string_view s);
/// Value of query parameter `name` in a target ("/a?x=1&y=2"), percent-decoded.
std::optional<std::string> query_param(std::string_view target, std::string_view name);

}  // namespace news_crawler
