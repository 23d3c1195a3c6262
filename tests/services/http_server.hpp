#pragma once
// The loopback HTTP server under the tests' own fakes (fake_s3, fake_aws): it binds
// 127.0.0.1 on a free port, serves each connection on its own thread (so a handler may be
// slow on purpose) and answers every request with what the handler returns — or resets the
// connection when the handler returns nullopt. Keep-alive as the client asks.

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace drover::test {

class http_server {
public:
    using request = boost::beast::http::request<boost::beast::http::string_body>;
    using response = boost::beast::http::response<boost::beast::http::string_body>;
    using handler = std::function<std::optional<response>(const request&)>;

    explicit http_server(handler h);
    ~http_server();
    http_server(const http_server&) = delete;
    http_server& operator=(const http_server&) = delete;

    int port() const;
    /// "http://127.0.0.1:<port>"
    std::string endpoint() const;

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

}  // namespace drover::test
