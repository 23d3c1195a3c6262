#pragma once
// What to do with an S3 response or transport failure: accept, retry, correct the clock,
// or fail. Pure functions, no I/O.

#include "s3/xml.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

namespace drover::s3 {

enum class verdict {
    ok,     ///< 2xx (and for Complete: no <Error> in the body)
    retry,  ///< transport error, 5xx, 429, SlowDown, RequestTimeout, InternalError, ...
    skew,   ///< RequestTimeTooSkewed: correct the clock from the server's Date, then retry
    fail,   ///< 4xx such as SignatureDoesNotMatch, AccessDenied, NoSuchBucket: final
};

/// Classifies an HTTP status and (possibly empty) parsed error body.
verdict classify(unsigned status, const std::optional<error_body>& err);
/// Classifies a transport failure (connection refused or reset, timeout, EOF): always
/// retry; listed for symmetry and documentation.
inline verdict classify_transport() { return verdict::retry; }

struct retry_policy {
    int max_attempts = 8;                              ///< total tries of one request
    std::chrono::milliseconds base{100};               ///< first backoff ceiling
    std::chrono::milliseconds cap{10'000};             ///< largest backoff ceiling
};

/// "Full jitter": uniform in [0, min(cap, base * 2^(attempt-1))] for attempt >= 1.
std::chrono::milliseconds backoff(const retry_policy& p, int attempt, std::mt19937_64& rng);

/// Parses an HTTP Date (RFC 1123, "Sun, 06 Nov 1994 08:49:37 GMT") to Unix seconds.
std::optional<long long> parse_http_date(std::string_view s);

}  // namespace drover::s3
