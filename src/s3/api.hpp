#pragma once
// S3 operations over the internal HTTP client: addressing (path-style or virtual-hosted),
// SigV4 signing with a clock corrected for server skew, and retries with exponential
// backoff and full jitter (see s3/retry.hpp for what is retried).
//
// Coroutines on the executor given to the constructor; one thread drives everything. A
// final failure throws s3::request_error whose what() names the operation, the object,
// the endpoint, the status, S3's error code and the server's message — never credentials.
// Credentials that cannot be refreshed throw credential_error naming the operation.

#include "http/client.hpp"
#include "s3/credential_provider.hpp"
#include "s3/retry.hpp"
#include "s3/sigv4.hpp"
#include "s3/xml.hpp"

#include <boost/asio/awaitable.hpp>

#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>

namespace drover::s3 {

struct request_error : std::runtime_error {
    request_error(const std::string& what, unsigned status, std::string code)
        : std::runtime_error(what), status(status), code(std::move(code)) {}
    unsigned status;   ///< 0 for transport failures
    std::string code;  ///< S3 error code, "" when none
};

struct api_options {
    std::string endpoint;        ///< "http://127.0.0.1:4568"; empty = https://s3.<region>.amazonaws.com
    std::string region = "us-east-1";
    bool path_style = false;     ///< forced on for IP-address endpoints
    std::string ca_file;         ///< PEM CA bundle for https; empty = the system's
    credentials creds;           ///< static credentials, used when `provider` is empty
    /// Asked for the current credentials before every request is signed (temporary
    /// credentials are refreshed there, also in the middle of a multipart upload).
    std::shared_ptr<credential_provider> provider;
    retry_policy retry;
    http::milliseconds request_timeout{120'000};
    std::size_t max_idle_connections = 16;
};

struct head_info {
    bool exists = false;
    std::uint64_t size = 0;
    std::string etag;
};

class api {
public:
    api(boost::asio::any_io_executor ex, api_options opts);
    ~api();

    /// "http://127.0.0.1:4568" (for messages).
    std::string describe() const;

    boost::asio::awaitable<std::string> put_object(std::string bucket, std::string key, std::string body,
                                                   bool if_none_match);
    boost::asio::awaitable<std::string> create_multipart(std::string bucket, std::string key);
    boost::asio::awaitable<std::string> upload_part(std::string bucket, std::string key, std::string upload_id,
                                                    int number, std::string body);
    /// Parses the 200 body: an <Error> there is retried or thrown like any other.
    boost::asio::awaitable<std::string> complete_multipart(std::string bucket, std::string key, std::string upload_id,
                                                           std::string body);
    boost::asio::awaitable<void> abort_multipart(std::string bucket, std::string key, std::string upload_id);
    boost::asio::awaitable<void> delete_object(std::string bucket, std::string key);
    boost::asio::awaitable<head_info> head_object(std::string bucket, std::string key);
    boost::asio::awaitable<list_page> list_objects(std::string bucket, std::string prefix, std::string token);
    /// Streams the object's body to `on_body` (retried from the start only if nothing was
    /// delivered yet).
    boost::asio::awaitable<void> get_object(std::string bucket, std::string key, http::body_callback on_body);

    /// Seconds added to the local clock when signing (learned from RequestTimeTooSkewed).
    long long clock_skew() const noexcept { return skew_; }

private:
    struct call;
    boost::asio::awaitable<http::response> perform(call c);
    http::client& client_for(const std::string& bucket);

    boost::asio::any_io_executor ex_;
    api_options opts_;
    http::endpoint base_;
    std::map<std::string, std::unique_ptr<http::client>> clients_;
    std::mt19937_64 rng_;
    long long skew_ = 0;
};

}  // namespace drover::s3
