#include "services/fake_s3.hpp"

#include "services/http_server.hpp"

#include "detail/hex.hpp"
#include "s3/sigv4.hpp"

#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <openssl/evp.h>

#include <ctime>
#include <stdexcept>
#include <mutex>
#include <thread>

namespace drover::test {

namespace http = boost::beast::http;

namespace {

std::string xml_escape(std::string_view s) {
    std::string o;
    for (char c : s) {
        if (c == '&') o += "&amp;";
        else if (c == '<') o += "&lt;";
        else if (c == '>') o += "&gt;";
        else o += c;
    }
    return o;
}

// ETags are hex MD5s.
std::string md5_hex(const std::string& data) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), d, &len, EVP_md5(), nullptr) != 1) throw std::runtime_error("MD5 failed");
    return detail::hex_encode({reinterpret_cast<const char*>(d), len});
}

std::string error_xml(const std::string& code, const std::string& msg) {
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + code + "</Code><Message>" + xml_escape(msg) +
           "</Message><RequestId>FAKE</RequestId></Error>";
}

std::string http_date(std::time_t t) {
    char buf[64];
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

}  // namespace

struct fake_s3::impl {
    mutable std::mutex m;
    std::map<std::string, std::string> objects;
    struct upload {
        std::string key;
        std::map<int, std::pair<std::string, std::string>> parts;  // number -> (etag, data)
    };
    std::map<std::string, upload> uploads;
    int next_upload = 1;
    std::map<std::string, std::vector<fault>> faults;
    std::map<std::string, int> counts;
    std::map<std::string, std::vector<std::string>> keys_seen;  // op -> access key ids, in order
    std::map<std::string, std::chrono::milliseconds> delays;
    int violations = 0;
    long long clock_offset = 0;  // the server's clock minus ours

    using response = http::response<http::string_body>;

    response reply(unsigned status, std::string body) {
        response r{static_cast<http::status>(status), 11};
        r.set(http::field::server, "fake-s3");
        r.set(http::field::date, http_date(std::time(nullptr) + clock_offset));
        r.body() = std::move(body);
        r.prepare_payload();
        return r;
    }

    response violation(unsigned status, const std::string& code, const std::string& msg) {
        ++violations;
        return reply(status, error_xml(code, msg));
    }

    // Returns nullopt when the connection must be reset instead of answered.
    std::optional<response> handle(const http::request<http::string_body>& req) {
        auto target = boost::urls::parse_origin_form(req.target());
        if (!target) return violation(400, "InvalidURI", "malformed request target");
        std::string path = target->path();
        std::map<std::string, std::string> query;
        for (auto p : target->params(boost::urls::encoding_opts{}))  // S3 writes spaces as %20, '+' is '+'
            if (!p.key.empty() || p.has_value) query[p.key] = p.value;
        // "/bucket/key"
        auto slash = path.find('/', 1);
        std::string key = slash == std::string::npos ? "" : path.substr(slash + 1);
        std::string op;
        auto v = req.method();
        if (v == http::verb::put) op = query.count("partNumber") ? "UploadPart" : "PutObject";
        else if (v == http::verb::post) op = query.count("uploads") ? "CreateMultipartUpload" : "CompleteMultipartUpload";
        else if (v == http::verb::delete_) op = query.count("uploadId") ? "AbortMultipartUpload" : "DeleteObject";
        else if (v == http::verb::head) op = "HeadObject";
        else if (v == http::verb::get) op = key.empty() ? "ListObjectsV2" : "GetObject";
        else return reply(405, error_xml("MethodNotAllowed", "method not allowed"));

        std::unique_lock lock(m);
        ++counts[op];
        {
            std::string auth(req[http::field::authorization]);
            auto at = auth.find("Credential=");
            keys_seen[op].push_back(at == std::string::npos ? "" : auth.substr(at + 11, auth.find('/', at) - at - 11));
        }
        if (auto d = delays.find(op); d != delays.end()) {
            auto wait = d->second;
            lock.unlock();
            std::this_thread::sleep_for(wait);
            lock.lock();
        }
        auto& fl = faults[op];
        std::optional<fault> inject;
        if (!fl.empty()) {
            inject = fl.front();
            fl.erase(fl.begin());
        }
        if (inject) {
            switch (*inject) {
            case fault::status_503: return reply(503, error_xml("ServiceUnavailable", "Please reduce your request rate."));
            case fault::slow_down: return reply(503, error_xml("SlowDown", "Please reduce your request rate."));
            case fault::internal_500: return reply(500, error_xml("InternalError", "We encountered an internal error."));
            case fault::reset: return std::nullopt;
            case fault::skewed: break;  // see clock_offset
            case fault::error_in_200:
                if (op != "CompleteMultipartUpload") break;
                return reply(200, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\n" +
                                      error_xml("InternalError", "We encountered an internal error. Please try again."));
            }
        }

        // Like S3: requests more than 15 minutes off the server's clock are refused.
        {
            std::string d(req["x-amz-date"]);
            std::tm tm{};
            if (d.size() != 16 || !strptime(d.c_str(), "%Y%m%dT%H%M%SZ", &tm))
                return violation(400, "InvalidRequest", "missing or bad x-amz-date");
            long long diff = static_cast<long long>(timegm(&tm)) - (std::time(nullptr) + clock_offset);
            if (diff > 900 || diff < -900)
                return reply(403, error_xml("RequestTimeTooSkewed",
                                            "The difference between the request time and the current time is too large."));
        }
        // What s3rver does not check.
        auto sha = req[ "x-amz-content-sha256"];
        if (sha.empty()) return violation(400, "InvalidRequest", "missing x-amz-content-sha256");
        if (sha != "UNSIGNED-PAYLOAD" && std::string(sha) != s3::sha256_hex(req.body()))
            return violation(400, "XAmzContentSHA256Mismatch", "payload hash does not match");
        auto md5 = req["Content-MD5"];
        if (!md5.empty() && std::string(md5) != s3::md5_base64(req.body()))
            return violation(400, "BadDigest", "Content-MD5 does not match");

        if (op == "PutObject") {
            if (req["If-None-Match"] == "*" && objects.count(key)) return reply(412, error_xml("PreconditionFailed", "exists"));
            objects[key] = req.body();
            auto r = reply(200, "");
            r.set(http::field::etag, "\"" + md5_hex(req.body()) + "\"");
            return r;
        }
        if (op == "CreateMultipartUpload") {
            std::string id = "upload-" + std::to_string(next_upload++);
            uploads[id] = {key, {}};
            return reply(200, "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>" + xml_escape(key) +
                                  "</Key><UploadId>" + id + "</UploadId></InitiateMultipartUploadResult>");
        }
        if (op == "UploadPart") {
            auto it = uploads.find(query["uploadId"]);
            if (it == uploads.end()) return violation(404, "NoSuchUpload", "no such upload");
            int n = std::stoi(query["partNumber"]);
            if (n < 1 || n > 10000) return violation(400, "InvalidArgument", "bad part number");
            std::string etag = "\"" + md5_hex(req.body()) + "\"";
            it->second.parts[n] = {etag, req.body()};
            auto r = reply(200, "");
            r.set(http::field::etag, etag);
            return r;
        }
        if (op == "CompleteMultipartUpload") {
            auto it = uploads.find(query["uploadId"]);
            if (it == uploads.end()) return reply(404, error_xml("NoSuchUpload", "no such upload"));
            // Parse <Part><PartNumber>n</PartNumber><ETag>e</ETag></Part>... minimally.
            const std::string& b = req.body();
            std::vector<std::pair<int, std::string>> listed;
            std::size_t pos = 0;
            while ((pos = b.find("<PartNumber>", pos)) != std::string::npos) {
                int n = std::stoi(b.substr(pos + 12));
                auto e1 = b.find("<ETag>", pos), e2 = b.find("</ETag>", pos);
                if (e1 == std::string::npos || e2 == std::string::npos) return violation(400, "MalformedXML", "no ETag");
                listed.emplace_back(n, b.substr(e1 + 6, e2 - e1 - 6));
                pos = e2;
            }
            if (listed.empty()) return violation(400, "MalformedXML", "no parts");
            std::string data, etags;
            for (std::size_t i = 0; i < listed.size(); ++i) {
                auto [n, etag] = listed[i];
                if (i > 0 && n <= listed[i - 1].first) return violation(400, "InvalidPartOrder", "parts out of order");
                auto p = it->second.parts.find(n);
                if (p == it->second.parts.end() || p->second.first != etag)
                    return violation(400, "InvalidPart", "part " + std::to_string(n) + " missing or ETag mismatch");
                if (i + 1 < listed.size() && p->second.second.size() < (5u << 20))
                    return violation(400, "EntityTooSmall", "part " + std::to_string(n) + " is smaller than 5 MiB");
                data += p->second.second;
                etags += p->second.first;
            }
            std::string etag = "\"" + md5_hex(etags) + "-" + std::to_string(listed.size()) + "\"";
            objects[it->second.key] = std::move(data);
            uploads.erase(it);
            return reply(200, "<CompleteMultipartUploadResult><Key>" + xml_escape(key) + "</Key><ETag>" +
                                  xml_escape(etag) + "</ETag></CompleteMultipartUploadResult>");
        }
        if (op == "AbortMultipartUpload") {
            if (!uploads.erase(query["uploadId"])) return reply(404, error_xml("NoSuchUpload", "no such upload"));
            return reply(204, "");
        }
        if (op == "DeleteObject") {
            objects.erase(key);
            return reply(204, "");
        }
        if (op == "HeadObject" || op == "GetObject") {
            auto it = objects.find(key);
            if (it == objects.end()) return reply(404, op == "GetObject" ? error_xml("NoSuchKey", "no such key") : "");
            auto r = reply(200, op == "GetObject" ? it->second : "");
            if (op == "HeadObject") r.content_length(it->second.size());
            return r;
        }
        // ListObjectsV2 (one page; tests keep it small)
        std::string prefix = query["prefix"];
        std::string body = "<ListBucketResult><IsTruncated>false</IsTruncated>";
        for (auto& [k, d] : objects)
            if (k.compare(0, prefix.size(), prefix) == 0)
                body += "<Contents><Key>" + xml_escape(k) + "</Key><Size>" + std::to_string(d.size()) + "</Size></Contents>";
        return reply(200, body + "</ListBucketResult>");
    }

    std::unique_ptr<http_server> server;
};

fake_s3::fake_s3() : impl_(std::make_shared<impl>()) {
    impl_->server = std::make_unique<http_server>([i = impl_.get()](const http_server::request& req) { return i->handle(req); });
}

fake_s3::~fake_s3() { impl_->server.reset(); }

std::string fake_s3::endpoint() const { return impl_->server->endpoint(); }

void fake_s3::inject(const std::string& op, fault f, int times) {
    std::lock_guard lock(impl_->m);
    if (f == fault::skewed) {  // the server's clock jumps an hour ahead
        impl_->clock_offset = 3600;
        return;
    }
    for (int k = 0; k < times; ++k) impl_->faults[op].push_back(f);
}

std::optional<std::string> fake_s3::object(const std::string& key) const {
    std::lock_guard lock(impl_->m);
    auto it = impl_->objects.find(key);
    if (it == impl_->objects.end()) return std::nullopt;
    return it->second;
}

std::vector<std::string> fake_s3::keys() const {
    std::lock_guard lock(impl_->m);
    std::vector<std::string> out;
    for (auto& [k, v] : impl_->objects) out.push_back(k);
    return out;
}

std::size_t fake_s3::open_uploads() const {
    std::lock_guard lock(impl_->m);
    return impl_->uploads.size();
}

int fake_s3::count(const std::string& op) const {
    std::lock_guard lock(impl_->m);
    auto it = impl_->counts.find(op);
    return it == impl_->counts.end() ? 0 : it->second;
}

void fake_s3::delay(const std::string& op, std::chrono::milliseconds d) {
    std::lock_guard lock(impl_->m);
    impl_->delays[op] = d;
}

std::vector<std::string> fake_s3::access_keys(const std::string& op) const {
    std::lock_guard lock(impl_->m);
    auto it = impl_->keys_seen.find(op);
    return it == impl_->keys_seen.end() ? std::vector<std::string>{} : it->second;
}

int fake_s3::rule_violations() const {
    std::lock_guard lock(impl_->m);
    return impl_->violations;
}

}  // namespace drover::test
