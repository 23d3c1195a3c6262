#pragma once
// What the credential sources share: one blocking HTTP exchange on the internal client (its
// own io_context, so it can run from any thread), the JSON credential documents of the
// container and instance metadata services and credential_process, and ISO 8601 times.

#include "http/client.hpp"
#include "s3/credential_provider.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace drover::s3 {

/// Sends `req` to `url`'s host ("http://127.0.0.1:9/ignored/path" → its scheme, host and
/// port) and waits. `timeout` bounds the connect and the whole exchange; bodies over
/// `body_limit` fail. Transport failures come back in result::error, naming the endpoint.
http::result fetch_blocking(const http::endpoint& ep, http::request req, http::milliseconds timeout,
                            std::uint64_t body_limit = 64 * 1024, const std::string& ca_file = {});

/// http::parse_http_url, for fetch_blocking: the endpoint and the origin-form target
/// ("/path?q"). Throws credential_error for what it refuses (no secret in the message).
http::http_url parse_url(std::string_view url);

/// "2026-11-29T19:08:54Z", with optional fractional seconds and "+hh:mm"/"-hh:mm" offsets.
std::optional<system_time> parse_iso8601(std::string_view s);

/// The JSON document the container and instance metadata services answer, and
/// credential_process prints (there with "Version": 1 and "SessionToken"). `token_key` is
/// "Token" or "SessionToken"; `token_required` and `expiration_required` as the source
/// demands. `what` names the source in messages. The text of the document never appears
/// in an error (it holds the secret); the service's Code and Message do.
timed_credentials parse_credentials_json(std::string_view body, const std::string& what, const char* token_key,
                                         bool token_required, bool expiration_required);

/// " Code: Message" of a metadata service's JSON error document, or "" when `body` is not one.
std::string service_error_text(std::string_view body);

/// Trims and shortens server or process text for an error message.
std::string message_text(std::string_view s, std::size_t limit = 500);

}  // namespace drover::s3
