#pragma once
// URLs in messages. A URL from a job file or the environment may carry secrets: user info
// (`user:password@`), and tokens in the path or query (webhook URLs usually are one). So
// messages name only the scheme and the host[:port] — enough to say which server is meant.

#include <string>
#include <string_view>

namespace drover::detail {

/// "https://bob:pw@hooks.example.com:8443/T0/tok?k=v" -> "https://hooks.example.com:8443/...".
/// User info is dropped, a path, query or fragment becomes "/...", and characters that do
/// not belong in a host name are shown as '?'. Text without "scheme://" is treated as a
/// host followed by a path. Never throws.
std::string url_for_message(std::string_view url);

/// True when the authority of `url` (between "scheme://" and the path) has user info.
bool url_has_userinfo(std::string_view url);

}  // namespace drover::detail
