#include "url.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/gen_delim_chars.hpp>
#include <boost/url/rfc/sub_delim_chars.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

namespace news_crawler {
namespace {

namespace urls = boost::urls;


std::string_view view(urls::string_view s) { return {s.data(), s.size()}; }

// Removes "." and ".." segments (RFC 3986 5.2.4) from a path without query; ".." above the
// root is dropped.
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

// Every character RFC 3986 allows in a URI reference but '%' (urls::encode always encodes it).
constexpr auto uri_chars = urls::unreserved_chars + urls::gen_delim_chars + urls::sub_delim_chars;

// What browsers do with an href: characters a URI cannot hold (spaces, non-ASCII bytes, '"',
// '<', '|') percent-encoded; '%' kept, so escapes already there stay as they are.
std::string encode_like_a_browser(std::string_view href) {
    std::string out;
    for (;;) {
        auto pct = href.find('%');
        out += urls::encode(href.substr(0, pct), uri_chars);
        if (pct == std::string_view::npos) return out;
        out += '%';
        href.remove_prefix(pct + 1);
    }
}

std::optional<url> from_uri(const urls::url_view_base& v, std::string_view text, std::string* error) {
    auto fail = [&](std::string msg) -> std::optional<url> {
        if (error) *error = std::move(msg);
        return std::nullopt;
    };
    url u;
    u.scheme = ascii_lower(view(v.scheme()));
    if (u.scheme != "http" && u.scheme != "https")
        return fail("unsupported scheme '" + u.scheme + "' (only http and https)");
    if (v.has_userinfo()) return fail("user info in URLs is not supported");
    u.host = ascii_lower(view(v.encoded_host_address()));  // IPv6 without its brackets
    if (u.host.empty()) return fail("no host in '" + std::string(text) + "'");
    u.port = v.has_port() ? std::string(view(v.port())) : "";
    if (u.port.empty()) u.port = u.tls() ? "443" : "80";
    int port = 0;
    auto [p, ec] = std::from_chars(u.port.data(), u.port.data() + u.port.size(), port);
    if (ec != std::errc{} || p != u.port.data() + u.port.size() || port < 1 || port > 65535)
        return fail("bad port '" + u.port + "'");
    u.target = std::string(view(v.encoded_target()));  // path and query; no fragment
    if (u.target.empty() || u.target[0] != '/') u.target.insert(u.target.begin(), '/');
    return u;
}

}  // namespace

std::string url::origin() const { return scheme + "://" + host + ":" + port; }

std::string url::host_header() const {
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    if ((scheme == "http" && port != "80") || (scheme == "https" && port != "443")) h += ":" + port;
    return h;
}

std::string url::str() const { return scheme + "://" + host_header() + target; }

std::string url::path() const { return target.substr(0, target.find('?')); }

std::optional<url> parse_url(std::string_view text, std::string* error) {
    auto r = urls::parse_uri(text);
    if (!r) {
        if (error) *error = "not an absolute URL (scheme://host[:port][/path]): '" + std::string(text) + "'";
        return std::nullopt;
    }
    return from_uri(*r, text, error);
}

std::optional<url> resolve(const url& base, std::string_view href) {
    // Trim surrounding whitespace, as browsers do.
    while (!href.empty() && std::isspace(static_cast<unsigned char>(href.front()))) href.remove_prefix(1);
    while (!href.empty() && std::isspace(static_cast<unsigned char>(href.back()))) href.remove_suffix(1);
    href = href.substr(0, href.find('#'));  // the fragment is never fetched
    std::string encoded = encode_like_a_browser(href);
    auto ref = urls::parse_uri_reference(encoded);
    if (!ref) return std::nullopt;
    if (ref->has_scheme()) return parse_url(encoded);  // http:, https:, or mailto:/javascript: -> nullopt
    if (ref->has_authority()) return parse_url(base.scheme + ":" + encoded);
    // A path and/or query: merged with the base's (RFC 3986 5.2.2-5.2.4) here, because Boost
    // 1.81's urls::resolve decodes %2F into '/' and keeps ".." segments above the root.
    std::string_view path = view(ref->encoded_path());
    std::string query = ref->has_query() ? "?" + std::string(view(ref->encoded_query())) : "";
    url u = base;
    if (path.empty()) {
        if (ref->has_query()) u.target = base.path() + query;
    } else if (path[0] == '/') {
        u.target = remove_dot_segments(path) + query;
    } else {
        auto dir = base.path();
        dir = dir.substr(0, dir.rfind('/') + 1);
        u.target = remove_dot_segments(dir + std::string(path)) + query;
    }
    return u;
}

std::optional<std::string> query_param(std::string_view target, std::string_view name) {
    auto r = urls::parse_origin_form(target);
    if (!r) return std::nullopt;
    for (auto p : r->params())  // decoded, '+' as a space
        if (p.key == name) return p.value;
    return std::nullopt;
}

std::string ascii_lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return c >= 'A' && c <= 'Z' ? char(c + 32) : char(c); });
    return out;
}

}  // namespace news_crawler
