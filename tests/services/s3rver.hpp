#pragma once
// A real s3rver (npm @20minutes/s3rver 4.0.4, which verifies SigV4 signatures) on
// 127.0.0.1 for the S3 sink's tests. node_modules is installed on first use with
// `npm ci` into the build directory (tests/services/s3rver/package-lock.json pins it).

#include <drover/sinks/s3.hpp>

#include "support/support.hpp"

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace drover::test {

/// Empty when node and s3rver are usable (installing it when needed), else why not.
std::string s3rver_unavailable();

class s3rver {
public:
    struct options {
        std::string bucket = "test";
        bool tls = false;
        /// Key pairs accepted besides S3RVER/S3RVER.
        std::vector<std::pair<std::string, std::string>> keys;
        /// Virtual-hosted requests are for <bucket>.s3.<service_endpoint>; "" = amazonaws.com.
        std::string service_endpoint;
        /// Accept wrong signatures of known keys: s3rver 4.0.4 puts the bucket into the
        /// canonical URI of virtual-hosted SigV4 requests (S3 does not), so virtual-hosted
        /// requests signed as S3 and botocore sign them fail its check.
        bool allow_mismatched_signatures = false;
    };

    /// Starts s3rver with `bucket` created; throws std::runtime_error with its output.
    /// With `tls`, it serves https with a certificate for 127.0.0.1 signed by ca_file(), a
    /// CA made for this server (openssl); other_ca_file() is an unrelated CA.
    explicit s3rver(const std::string& bucket = "test", bool tls = false) : s3rver(options{bucket, tls, {}, {}, false}) {}
    explicit s3rver(const options& o);
    ~s3rver();
    s3rver(const s3rver&) = delete;
    s3rver& operator=(const s3rver&) = delete;

    int port() const { return port_; }
    std::string endpoint() const {
        return (tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port_);
    }
    fs::path ca_file() const { return dir_ / "tls/ca.pem"; }
    fs::path other_ca_file() const { return dir_ / "tls/other-ca.pem"; }
    /// Sink options for s3://<bucket>/<prefix> with s3rver's credentials (S3RVER/S3RVER).
    s3_sink_options sink_options(const std::string& prefix) const;
    /// "/usr/bin/aws --endpoint-url ... s3" with credentials in the environment, for checks.
    std::string aws() const;
    const fs::path& dir() const { return dir_.path(); }

private:
    void stop() noexcept;
    temp_dir dir_;
    std::string bucket_;
    bool tls_ = false;
    int port_ = 0;
    pid_t pid_ = -1;
    int lifeline_ = -1;
};

}  // namespace drover::test
