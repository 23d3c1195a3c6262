#include "url.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

namespace news_crawler {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return out;
}

// Removes "." and ".." segments (RFC 3986 5.2.4) from a path without query.
std::string remove_dot_segments(std::string_view path) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    bool trailing = false;
    while (i <= path.size()) {
        auto j = path.find('/', i);
        if (j == std::string_view::npos) j = path.size();
        auto seg = path.substr(i, j - i);
        trailing = false;
        if (seg == "..") {
            if (!out.empty()) out.pop_back();
            trailing = true;
        } else if (seg == ".") {
            trailing = true;
        } else if (!seg.empty() || j == path.size()) {
            out.push_back(seg);
        }
        i = j + 1;
    }
    std::string r;
    for (auto s : out) {
        r += '/';
        r += s;
    }
    if (r.empty() || trailing) r += '/';
    return r;
}

}  // namespace

std::string percent_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            int v = 0;
            auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
            if (ec == std::errc{} && p == s.data() + i + 3) {
                out += char(v);
                i += 2;
                continue;
            }
        }
        out += s[i] == '+' ? ' ' : s[i];
    }
    return out;
}

std::string url::origin() const { return scheme + "://" + host + ":" + port; }

std::string url::host_header() const {
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    if ((scheme == "http" && port != "80") || (scheme == "https" && port != "443")) h += ":" + port;
    return h;
}

std::string url::str() const { return scheme + "://" + host_header() + target; }

std::string url::path() const { return target.substr(0, target.find('?')); }

std::optional<url> parse_url(std::string_view text, std::string* error) {
    auto fail = [&](std::string msg) -> std::optional<url> {
        if (error) *error = std::move(msg);
        return std::nullopt;
    };
    auto sep = text.find("://");
    if (sep == std::string_view::npos) return fail("not an absolute URL (no scheme://): '" + std::string(text) + "'");
    url u;
    u.scheme = lower(text.substr(0, sep));
    if (u.scheme != "http" && u.scheme != "https")
        return fail("unsupported scheme '" + u.scheme + "' (only http and https)");
    auto rest = text.substr(sep + 3);
    auto path_at = rest.find_first_of("/?#");
    auto authority = rest.substr(0, path_at);
    if (authority.find('@') != std::string_view::npos) return fail("user info in URLs is not supported");
    if (authority.starts_with('[')) {
        auto close = authority.find(']');
        if (close == std::string_view::npos) return fail("unterminated IPv6 address in '" + std::string(text) + "'");
        u.host = std::string(authority.substr(1, close - 1));
        authority.remove_prefix(close + 1);
        if (!authority.empty() && authority[0] != ':') return fail("junk after IPv6 address");
        if (!authority.empty()) u.port = std::string(authority.substr(1));
    } else {
        auto colon = authority.rfind(':');
        u.host = lower(authority.substr(0, colon));
        if (colon != std::string_view::npos) u.port = std::string(authority.substr(colon + 1));
    }
    if (u.host.empty()) return fail("no host in '" + std::string(text) + "'");
    if (u.port.empty()) u.port = u.tls() ? "443" : "80";
    int port = 0;
    auto [p, ec] = std::from_chars(u.port.data(), u.port.data() + u.port.size(), port);
    if (ec != std::errc{} || p != u.port.data() + u.port.size() || port < 1 || port > 65535)
        return fail("bad port '" + u.port + "'");
    std::string_view target = path_at == std::string_view::npos ? "" : rest.substr(path_at);
    target = target.substr(0, target.find('#'));
    u.target = target.empty() || target[0] != '/' ? "/" + std::string(target) : std::string(target);
    return u;
}

std::optional<url> resolve(const url& base, std::string_view href) {
    // Trim surrounding whitespace, as browsers do.
    while (!href.empty() && std::isspace(static_cast<unsigned char>(href.front()))) href.remove_prefix(1);
    while (!href.empty() && std::isspace(static_cast<unsigned char>(href.back()))) href.remove_suffix(1);
    href = href.substr(0, href.find('#'));
    auto colon = href.find(':');
    auto first_delim = href.find_first_of("/?");
    if (colon != std::string_view::npos && (first_delim == std::string_view::npos || colon < first_delim))
        return parse_url(href);  // has a scheme (http:, https:, or mailto:/javascript: → nullopt)
    if (href.starts_with("//")) return parse_url(base.scheme + ":" + std::string(href));
    url u = base;
    if (href.empty()) return u;
    if (href[0] == '/') {
        auto q = href.find('?');
        u.target = remove_dot_segments(href.substr(0, q)) + std::string(q == std::string_view::npos ? "" : href.substr(q));
    } else if (href[0] == '?') {
        u.target = base.path() + std::string(href);
    } else {
        auto dir = base.path();
        dir = dir.substr(0, dir.rfind('/') + 1);
        auto q = href.find('?');
        u.target = remove_dot_segments(dir + std::string(href.substr(0, q))) +
                   std::string(q == std::string_view::npos ? "" : href.substr(q));
    }
    return u;
}

std::optional<std::string> query_param(std::string_view target, std::string_view name) {
    auto q = target.find('?');
    if (q == std::string_view::npos) return std::nullopt;
    auto rest = target.substr(q + 1);
    while (!rest.empty()) {
        auto amp = rest.find('&');
        auto part = rest.substr(0, amp);
        auto eq = part.find('=');
        if (percent_decode(part.substr(0, eq)) == name)
            return eq == std::string_view::npos ? std::string() : percent_decode(part.substr(eq + 1));
        if (amp == std::string_view::npos) break;
        rest.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

}  // namespace news_crawler
