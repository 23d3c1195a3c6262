#pragma once
// The credentials the S3 client signs with, asked for per request, and refreshed before they
// expire the way botocore's RefreshableCredentials does it:
//
//   - credentials without an expiration are used as they are;
//   - within `advisory` (15 min) of the expiration, the thread that asks first refreshes
//     while the others go on with the current credentials; when the refresh fails (or
//     brings credentials that are themselves about to expire) the current ones are used
//     (they are still valid) and the next request tries again;
//   - within `mandatory` (10 min) of it, every caller waits for a refresh; if it fails, or the
//     new credentials are themselves inside the mandatory window, current() throws
//     credential_error (S3 would refuse them soon or already does).
//
// Thread-safe: current() may be called from any thread. The fetch function runs on the
// calling thread (it blocks: a few seconds at most, see the sources' timeouts).

#include "s3/sigv4.hpp"

#include <drover/error.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace drover::s3 {

using system_time = std::chrono::system_clock::time_point;

/// Credentials that could not be obtained or refreshed. Never carries a secret.
struct credential_error : config_error {
    using config_error::config_error;
};

struct timed_credentials {
    credentials creds;
    std::optional<system_time> expiration;  ///< none = do not expire
};

/// Gets fresh credentials from a source (STS, the metadata service, a process, ...).
/// Throws credential_error saying what failed.
using credential_fetcher = std::function<timed_credentials()>;

struct refresh_windows {
    std::chrono::seconds advisory{15 * 60};
    std::chrono::seconds mandatory{10 * 60};
};

class credential_provider {
public:
    using clock_fn = std::function<system_time()>;

    /// `method` names the source the way botocore does ("env", "assume-role", "iam-role",
    /// ...); `first` are the credentials already fetched (no fetch happens here).
    credential_provider(std::string method, timed_credentials first, credential_fetcher refresh,
                        refresh_windows windows = {}, clock_fn now = {});

    /// Static credentials that never refresh.
    static std::shared_ptr<credential_provider> fixed(credentials creds, std::string method);

    /// The credentials to sign the next request with (see the rules above).
    credentials current();

    const std::string& method() const noexcept { return method_; }
    std::optional<system_time> expiration() const;
    /// How many times the credentials were fetched again.
    int refreshes() const;

private:
    system_time now() const { return now_ ? now_() : std::chrono::system_clock::now(); }
    // With refresh_m_ held: fetch and install, or throw.
    void refresh_locked(bool mandatory);

    std::string method_;
    credential_fetcher refresh_;
    refresh_windows windows_;
    clock_fn now_;
    mutable std::mutex m_;     // guards current_ and refreshes_
    std::mutex refresh_m_;     // one refresh at a time
    timed_credentials current_;
    int refreshes_ = 0;
};

}  // namespace drover::s3
