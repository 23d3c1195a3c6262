#include "s3/retry.hpp"

#include <algorithm>
#include <cstring>
#include <ctime>

namespace drover::s3 {

verdict classify(unsigned status, const std::optional<error_body>& err) {
    if (err) {
        const std::string& c = err->code;
        if (c == "RequestTimeTooSkewed") return verdict::skew;
        if (c == "SlowDown" || c == "RequestTimeout" || c == "InternalError" || c == "ServiceUnavailable" ||
            c == "Throttling" || c == "ThrottlingException" || c == "RequestThrottled" || c == "TooManyRequests")
            return verdict::retry;
    }
    if (status >= 200 && status < 300) return err ? verdict::fail : verdict::ok;
    if (status >= 500 || status == 429 || status == 408) return verdict::retry;
    return verdict::fail;
}

std::chrono::milliseconds backoff(const retry_policy& p, int attempt, std::mt19937_64& rng) {
    long long ceiling = p.base.count();
    for (int i = 1; i < attempt && ceiling < p.cap.count(); ++i) ceiling *= 2;
    ceiling = std::min<long long>(ceiling, p.cap.count());
    std::uniform_int_distribution<long long> d(0, std::max<long long>(ceiling, 0));
    return std::chrono::milliseconds(d(rng));
}

std::optional<long long> parse_http_date(std::string_view s) {
    std::string text(s);
    std::tm tm{};
    const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end || *end != '\0') return std::nullopt;
    return static_cast<long long>(timegm(&tm));
}

}  // namespace drover::s3
