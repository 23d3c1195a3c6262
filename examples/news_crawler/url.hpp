#pragma once
// URLs as the crawler needs them: absolute http(s) URLs, relative references resolved
// against a page (RFC 3986, with Boost.URL), and query parameters. Pure functions, no I/O.

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

/// Parses an absolute http:// or https:// URL (RFC 3986; no user info); nullopt with `error`
/// set otherwise. The scheme and host are lower-cased.
std::optional<url> parse_url(std::string_view text, std::string* error = nullptr);
/// Resolves `href` (absolute, scheme-relative, absolute-path, or relative path) against `base`
/// (RFC 3986 section 5; ".." never climbs above the root, "%2F" is no segment boundary). Surrounding white space is trimmed and characters a URI cannot hold
/// (spaces, non-ASCII bytes, '"', '<', '|', ...) are percent-encoded first, as browsers do;
/// fragments are dropped. nullopt when the result is not an http(s) URL or `href` is
/// malformed (e.g. a '%' not followed by two hex digits).
std::optional<url> resolve(const url& base, std::string_view href);
/// Value of the first query parameter `name` in a target ("/a?x=1&y=2"), percent-decoded
/// ('+' as a space); "" for a name without '='. nullopt when absent or the target is malformed.
std::optional<std::string> query_param(std::string_view target, std::string_view name);

/// ASCII letters to lower case, other bytes as they are (no locale).
std::string ascii_lower(std::string_view s);

}  // namespace news_crawler
