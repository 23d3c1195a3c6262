#pragma once
// The crawler's HTTP client (Beast): keep-alive connections per origin, at most
// `concurrency` of them, a per-origin request rate, retries with exponential backoff and
// jitter on 5xx, 408, 429, timeouts and connection errors, redirects, and TLS for https://
// (OpenSSL, peer and host name verified). One thread: all calls on one io_context.

#include "url.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace news_crawler {

struct fetch_options {
    int concurrency = 4;                               ///< connections per origin (callers keep ≤ this many requests in flight)
    double rate = 20;                                  ///< requests per second per origin; 0 = unlimited
    int retries = 5;                                   ///< extra attempts after a retryable failure
    std::chrono::milliseconds backoff{100};            ///< first retry delay; doubles, jittered in [d/2, d]
    std::chrono::milliseconds backoff_max{5000};
    std::chrono::milliseconds timeout{15000};          ///< per attempt: connect, TLS, request and response
    std::size_t max_body = 16 * 1024 * 1024;           ///< larger responses are an error
    int max_redirects = 5;
    std::string user_agent = "drover-news-crawler/0.1 (drover example crawler; set --user-agent with your contact)";
    bool verify_tls = true;                            ///< --insecure turns it off
    std::string ca_file;                               ///< extra CA bundle (PEM); system store otherwise
};

struct fetch_result {
    int status = 0;              ///< final HTTP status; 0 when no response was received
    std::string body;
    std::string content_type;
    std::string final_url;       ///< after redirects
    std::string error;           ///< empty on a 2xx; otherwise what went wrong, last attempt
    int attempts = 0;
    bool ok() const { return error.empty(); }
};

struct fetch_stats {
    std::uint64_t requests = 0, retries = 0, connections = 0, bytes = 0;
};

class fetcher {
public:
    fetcher(boost::asio::any_io_executor ex, fetch_options opts);
    ~fetcher();
    fetcher(const fetcher&) = delete;
    fetcher& operator=(const fetcher&) = delete;

    /// GET with retries and redirects; never throws for network or HTTP errors (see error).
    boost::asio::awaitable<fetch_result> get(url u);
    /// Lower bound for the interval between requests to one origin (robots Crawl-delay).
    void set_min_interval(std::chrono::milliseconds d);
    const fetch_stats& stats() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace news_crawler
