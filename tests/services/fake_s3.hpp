#pragma once
// A small S3 of our own on Beast, ONLY for fault injection that s3rver cannot do: fail an
// operation N times (503, SlowDown, connection reset, RequestTimeTooSkewed, 200 with an
// <Error> body on Complete), then pass. It checks what s3rver does not: x-amz-content-sha256
// and Content-MD5 against the body, the 5 MiB minimum for all parts but the last, the
// listed ETags and part order on Complete, and it implements AbortMultipartUpload.
// Signatures are not checked (s3rver does that). Path-style only; objects in memory.

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace drover::test {

class fake_s3 {
public:
    enum class fault { status_503, slow_down, reset, skewed, error_in_200, internal_500 };

    fake_s3();
    ~fake_s3();
    fake_s3(const fake_s3&) = delete;
    fake_s3& operator=(const fake_s3&) = delete;

    std::string endpoint() const;

    /// `skewed`: from now on the server's clock is an hour ahead (it answers
    /// RequestTimeTooSkewed with its Date to requests signed more than 15 minutes off).
    /// Otherwise: the next `times` requests of `op` ("PutObject", "CreateMultipartUpload", "UploadPart",
    /// "CompleteMultipartUpload", "AbortMultipartUpload", "DeleteObject", "ListObjectsV2",
    /// "GetObject", "HeadObject") fail with `f`.
    void inject(const std::string& op, fault f, int times);

    std::optional<std::string> object(const std::string& key) const;
    std::vector<std::string> keys() const;
    /// Multipart uploads created and neither completed nor aborted.
    std::size_t open_uploads() const;
    /// Requests of `op` seen (including failed ones).
    int count(const std::string& op) const;
    /// Every request of `op` waits `d` before it is answered (slow uploads).
    void delay(const std::string& op, std::chrono::milliseconds d);
    /// The access key ids that signed the requests of `op`, in order of arrival.
    std::vector<std::string> access_keys(const std::string& op) const;
    /// Error responses the server sent because a client broke a rule (EntityTooSmall,
    /// InvalidPart, BadDigest, ...): must stay 0.
    int rule_violations() const;

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

}  // namespace drover::test
