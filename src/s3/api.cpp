#include "s3/api.hpp"

#include "detail/safe_url.hpp"

#include <drover/error.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <ctime>

namespace drover::s3 {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

namespace {

bool is_ip_literal(const std::string& host) {
    if (host.find(':') != std::string::npos) return true;  // IPv6
    return !host.empty() && host.find_first_not_of("0123456789.") == std::string::npos;
}

std::string verb_name(bhttp::verb v) { return std::string(bhttp::to_string(v)); }

}  // namespace

struct api::call {
    bhttp::verb method;
    std::string bucket;
    std::string key;
    string_pairs query;
    string_pairs headers;
    std::string body;
    const char* op;
    bool error_in_200 = false;           // CompleteMultipartUpload
    http::body_callback on_body = {};    // streamed GET
};

api::api(asio::any_io_executor ex, api_options opts)
    : ex_(std::move(ex)), opts_(std::move(opts)), rng_(std::random_device{}()) {
    if (opts_.region.empty()) opts_.region = "us-east-1";
    std::string url = opts_.endpoint.empty() ? "https://s3." + opts_.region + ".amazonaws.com" : opts_.endpoint;
    while (!url.empty() && url.back() == '/') url.pop_back();
    base_ = http::parse_endpoint(url);
    if (base_.kind == http::transport::unix_socket)
        throw config_error("S3 endpoint " + detail::url_for_message(url) + ": must be http:// or https://");
    if (is_ip_literal(base_.host) || base_.host == "localhost") opts_.path_style = true;
    if (!opts_.provider) opts_.provider = credential_provider::fixed(opts_.creds, "static");
}

api::~api() = default;

std::string api::describe() const {
    return (base_.kind == http::transport::tls ? "https://" : "http://") + base_.host_header();
}

http::client& api::client_for(const std::string& bucket) {
    std::string k = opts_.path_style ? std::string() : bucket;
    auto& c = clients_[k];
    if (!c) {
        http::client_options o;
        o.target = base_;
        o.tls.ca_file = opts_.ca_file;
        if (!opts_.path_style && !bucket.empty()) o.target.host = bucket + "." + base_.host;
        o.request_timeout = opts_.request_timeout;
        o.max_idle_connections = opts_.max_idle_connections;
        o.user_agent = "drover-s3";
        c = std::make_unique<http::client>(ex_, std::move(o));
    }
    return *c;
}

asio::awaitable<http::response> api::perform(call c) {
    http::client& client = client_for(c.bucket);
    std::string path = "/";
    if (opts_.path_style && !c.bucket.empty()) path += c.bucket + (c.key.empty() ? "" : "/");
    path += uri_encode(c.key, true);
    std::string query = canonical_query(c.query);
    std::string target = query.empty() ? path : path + "?" + query;
    std::string payload_hash = sha256_hex(c.body);
    std::string what = std::string("S3 ") + c.op + " s3://" + c.bucket + "/" + c.key + " at " + describe();

    asio::steady_timer timer(ex_);
    std::string last;
    for (int attempt = 1;; ++attempt) {
        http::request req;
        req.method = c.method;
        req.target = target;
        req.headers = c.headers;
        string_pairs signed_headers = c.headers;
        signed_headers.emplace_back("host", client.target().host_header());
        auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()) + skew_;
        credentials creds;
        try {
            creds = opts_.provider->current();  // refreshed here when they near their expiration
        } catch (const credential_error& e) {
            throw credential_error(what + ": " + e.what());
        }
        sign(verb_name(c.method), path, &c.query, signed_headers, payload_hash, amz_date(now), opts_.region, creds);
        for (std::size_t i = c.headers.size() + 1; i < signed_headers.size(); ++i) req.headers.push_back(signed_headers[i]);
        req.body = c.body;

        bool delivered = false;
        http::result r;
        if (c.on_body) {
            unsigned status = 0;
            std::string err_body;
            r = co_await client.async_stream(
                std::move(req), [&](const http::response& h) { status = h.status; },
                [&](std::string_view piece) {
                    if (status >= 200 && status < 300) {
                        delivered = true;
                        return c.on_body(piece);
                    }
                    if (err_body.size() < 64 * 1024) err_body.append(piece);
                    return true;
                },
                asio::use_awaitable);
            r.res.body = std::move(err_body);
        } else {
            r = co_await client.async_request(std::move(req), asio::use_awaitable);
        }

        verdict v;
        std::optional<error_body> err;
        if (!r) {
            v = classify_transport();
            last = r.error;
            if (delivered) throw request_error(what + ": " + r.error + " (after part of the body was read)", 0, "");
        } else {
            if (r.res.status < 200 || r.res.status >= 300 || c.error_in_200) err = parse_error(r.res.body);
            v = classify(r.res.status, err);
            if (v == verdict::ok) co_return std::move(r.res);
            last = "HTTP " + std::to_string(r.res.status);
            if (err) {
                last += " " + err->code;
                if (!err->message.empty()) last += ": " + err->message;
                if (!err->request_id.empty()) last += " (request id " + err->request_id + ")";
            } else if (!r.res.reason.empty()) {
                last += " " + r.res.reason;
            }
        }
        if (v == verdict::fail) throw request_error(what + ": " + last, r.res.status, err ? err->code : "");
        if (attempt >= opts_.retry.max_attempts)
            throw request_error(what + ": " + last + " (gave up after " + std::to_string(attempt) + " attempts)",
                                r ? r.res.status : 0, err ? err->code : "");
        if (v == verdict::skew) {
            auto date = r.res.header("Date");
            auto server = date ? parse_http_date(*date) : std::nullopt;
            if (!server)
                throw request_error(what + ": " + last + " and the response has no usable Date header", r.res.status,
                                    err ? err->code : "");
            skew_ = *server - std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
            continue;  // re-sign at once with the corrected clock
        }
        timer.expires_after(backoff(opts_.retry, attempt, rng_));
        co_await timer.async_wait(asio::use_awaitable);
    }
}

asio::awaitable<std::string> api::put_object(std::string bucket, std::string key, std::string body, bool if_none_match) {
    call c{bhttp::verb::put, std::move(bucket), std::move(key), {}, {}, {}, "PutObject"};
    c.headers.emplace_back("Content-MD5", md5_base64(body));
    c.headers.emplace_back("Content-Type", "application/gzip");
    if (if_none_match) c.headers.emplace_back("If-None-Match", "*");
    c.body = std::move(body);
    auto res = co_await perform(std::move(c));
    co_return std::string(res.header("ETag").value_or(""));
}

asio::awaitable<std::string> api::create_multipart(std::string bucket, std::string key) {
    call c{bhttp::verb::post, std::move(bucket), std::move(key), {{"uploads", ""}}, {}, {}, "CreateMultipartUpload"};
    c.headers.emplace_back("Content-Type", "application/gzip");
    auto res = co_await perform(std::move(c));
    co_return parse_upload_id(res.body);
}

asio::awaitable<std::string> api::upload_part(std::string bucket, std::string key, std::string upload_id, int number,
                                              std::string body) {
    call c{bhttp::verb::put, std::move(bucket), std::move(key),
           {{"partNumber", std::to_string(number)}, {"uploadId", std::move(upload_id)}}, {}, {}, "UploadPart"};
    c.headers.emplace_back("Content-MD5", md5_base64(body));
    c.body = std::move(body);
    auto res = co_await perform(std::move(c));
    co_return std::string(res.header("ETag").value_or(""));
}

asio::awaitable<std::string> api::complete_multipart(std::string bucket, std::string key, std::string upload_id,
                                                     std::string body) {
    call c{bhttp::verb::post, std::move(bucket), std::move(key), {{"uploadId", std::move(upload_id)}}, {}, {},
           "CompleteMultipartUpload"};
    c.headers.emplace_back("Content-Type", "application/xml");
    c.body = std::move(body);
    c.error_in_200 = true;
    auto res = co_await perform(std::move(c));
    co_return parse_complete(res.body).etag;
}

asio::awaitable<void> api::abort_multipart(std::string bucket, std::string key, std::string upload_id) {
    call c{bhttp::verb::delete_, std::move(bucket), std::move(key), {{"uploadId", std::move(upload_id)}}, {}, {},
           "AbortMultipartUpload"};
    co_await perform(std::move(c));
}

asio::awaitable<void> api::delete_object(std::string bucket, std::string key) {
    call c{bhttp::verb::delete_, std::move(bucket), std::move(key), {}, {}, {}, "DeleteObject"};
    try {
        co_await perform(std::move(c));
    } catch (const request_error& e) {
        if (e.status != 404) throw;  // already gone
    }
}

asio::awaitable<head_info> api::head_object(std::string bucket, std::string key) {
    call c{bhttp::verb::head, std::move(bucket), std::move(key), {}, {}, {}, "HeadObject"};
    head_info out;
    try {
        auto res = co_await perform(std::move(c));
        out.exists = true;
        out.etag = std::string(res.header("ETag").value_or(""));
        if (auto len = res.header("Content-Length")) out.size = std::stoull(std::string(*len));
    } catch (const request_error& e) {
        if (e.status != 404) throw;
    }
    co_return out;
}

asio::awaitable<list_page> api::list_objects(std::string bucket, std::string prefix, std::string token) {
    call c{bhttp::verb::get, std::move(bucket), {}, {{"list-type", "2"}, {"prefix", std::move(prefix)}}, {}, {},
           "ListObjectsV2"};
    if (!token.empty()) c.query.emplace_back("continuation-token", std::move(token));
    auto res = co_await perform(std::move(c));
    co_return parse_list(res.body);
}

asio::awaitable<void> api::get_object(std::string bucket, std::string key, http::body_callback on_body) {
    call c{bhttp::verb::get, std::move(bucket), std::move(key), {}, {}, {}, "GetObject"};
    c.on_body = std::move(on_body);
    co_await perform(std::move(c));
}

}  // namespace drover::s3
