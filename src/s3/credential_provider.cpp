#include "s3/credential_provider.hpp"

namespace drover::s3 {

credential_provider::credential_provider(std::string method, timed_credentials first, credential_fetcher refresh,
                                         refresh_windows windows, clock_fn now)
    : method_(std::move(method)), refresh_(std::move(refresh)), windows_(windows), now_(std::move(now)),
      current_(std::move(first)) {}

std::shared_ptr<credential_provider> credential_provider::fixed(credentials creds, std::string method) {
    return std::make_shared<credential_provider>(std::move(method), timed_credentials{std::move(creds), std::nullopt},
                                                 credential_fetcher{});
}

std::optional<system_time> credential_provider::expiration() const {
    std::lock_guard lock(m_);
    return current_.expiration;
}

int credential_provider::refreshes() const {
    std::lock_guard lock(m_);
    return refreshes_;
}

void credential_provider::refresh_locked(bool mandatory) {
    timed_credentials fresh;
    try {
        fresh = refresh_();
    } catch (const std::exception& e) {
        if (!mandatory) return;  // still valid for a while: try again on a later request
        throw credential_error(std::string("refreshing the ") + method_ +
                               " credentials before they expire failed: " + e.what());
    }
    // Credentials that are themselves about to expire are no better than the current ones:
    // keep those (botocore installs them and then fails).
    if (fresh.expiration && *fresh.expiration - now() <= windows_.mandatory) {
        if (!mandatory) return;
        throw credential_error("the " + method_ + " credentials were refreshed but expire within " +
                               std::to_string(windows_.mandatory.count()) + " s");
    }
    std::lock_guard lock(m_);
    current_ = std::move(fresh);
    ++refreshes_;
}

credentials credential_provider::current() {
    auto needs = [this](std::chrono::seconds window) {
        std::lock_guard lock(m_);
        return current_.expiration && *current_.expiration - now() <= window;
    };
    auto get = [this] {
        std::lock_guard lock(m_);
        return current_.creds;
    };
    if (!refresh_ || !needs(windows_.advisory)) return get();
    if (needs(windows_.mandatory)) {
        std::lock_guard lock(refresh_m_);
        if (needs(windows_.mandatory)) refresh_locked(true);  // unless another caller just did
        return get();
    }
    std::unique_lock lock(refresh_m_, std::try_to_lock);
    if (lock.owns_lock() && needs(windows_.advisory)) refresh_locked(false);
    return get();
}

}  // namespace drover::s3
