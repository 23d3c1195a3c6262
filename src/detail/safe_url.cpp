#include "detail/safe_url.hpp"

namespace drover::detail {

namespace {

bool scheme_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '-' ||
           c == '.';
}

bool host_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == ':' || c == '[' || c == ']' || c == '%';
}

struct url_parts {
    std::string_view scheme;     // empty when there is no "scheme://"
    std::string_view authority;  // user info included
    bool more = false;           // a path, query or fragment follows
};

url_parts split(std::string_view url) {
    url_parts p;
    auto sep = url.find("://");
    std::string_view rest = url;
    if (sep != std::string_view::npos && sep > 0 && sep <= 16 &&
        url.substr(0, sep).find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.") ==
            std::string_view::npos) {
        p.scheme = url.substr(0, sep);
        rest = url.substr(sep + 3);
    }
    // The authority ends at the path, query or fragment, or at anything a URL cannot hold.
    std::size_t end = 0;
    while (end < rest.size()) {
        char c = rest[end];
        if (c == '/' || c == '?' || c == '#' || static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) break;
        ++end;
    }
    p.authority = rest.substr(0, end);
    p.more = end < rest.size();
    return p;
}

}  // namespace

bool url_has_userinfo(std::string_view url) { return split(url).authority.find('@') != std::string_view::npos; }

std::string url_for_message(std::string_view url) {
    auto p = split(url);
    std::string out;
    for (char c : p.scheme) out.push_back(scheme_char(c) ? c : '?');
    if (!p.scheme.empty()) out += "://";
    std::string_view host = p.authority;
    if (auto at = host.rfind('@'); at != std::string_view::npos) host.remove_prefix(at + 1);
    bool cut = host.size() > 255;
    if (cut) host = host.substr(0, 255);
    for (char c : host) out.push_back(host_char(c) ? c : '?');
    if (cut) out += "...";
    if (p.more) out += "/...";
    return out;
}

}  // namespace drover::detail
