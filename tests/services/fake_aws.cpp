#include "services/fake_aws.hpp"

#include "services/http_server.hpp"

#include "s3/sigv4.hpp"

#include <boost/beast/http.hpp>
#include <boost/url/params_view.hpp>

#include <ctime>
#include <mutex>
#include <optional>
#include <thread>

namespace drover::test {

namespace http = boost::beast::http;
using response = http_server::response;

namespace {

std::string iso8601(std::time_t t) {
    char buf[32];
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

// An application/x-www-form-urlencoded body ('+' as a space); throws on a malformed one.
std::map<std::string, std::string> parse_form(std::string_view body) {
    std::map<std::string, std::string> out;
    for (auto p : boost::urls::params_view(body)) out[p.key] = p.value;
    return out;
}

response reply(unsigned status, std::string body, const char* type = "application/json") {
    response r{static_cast<http::status>(status), 11};
    r.set(http::field::server, "fake-aws");
    r.set(http::field::content_type, type);
    r.body() = std::move(body);
    r.prepare_payload();
    return r;
}

response sts_error(unsigned status, const std::string& code, const std::string& msg) {
    return reply(status,
                 "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>" +
                     code + "</Code><Message>" + msg + "</Message></Error><RequestId>fake-request-1</RequestId></ErrorResponse>",
                 "text/xml");
}

}  // namespace

struct fake_aws::impl {
    mutable std::mutex m;
    std::vector<key_pair> keys;
    std::size_t next_key = 0;
    std::chrono::seconds life{3600};
    std::map<std::string, std::pair<fault, int>> faults;
    bool imds_v1 = false;
    unsigned token_status = 200;
    std::string container_token, web_token;
    key_pair source;
    std::map<std::string, int> counts;
    std::map<std::string, std::map<std::string, std::string>> forms;
    std::vector<std::string> handed_out;
    std::unique_ptr<http_server> server;

    std::optional<fault> take_fault(const std::string& service) {
        auto it = faults.find(service);
        if (it == faults.end() || it->second.second <= 0) return std::nullopt;
        --it->second.second;
        return it->second.first;
    }

    // The next key, expiring `life` from now (or an hour ago).
    std::pair<key_pair, std::string> issue(bool expired) {
        key_pair k = keys[next_key++ % keys.size()];
        handed_out.push_back(k.id);
        std::time_t now = std::time(nullptr);
        return {k, iso8601(expired ? now - 3600 : now + life.count())};
    }

    // JSON credentials (IMDS, container), or the fault's answer.
    response json_creds(std::optional<fault> f, unsigned& sleep_ms) {
        if (f == fault::status_500) return reply(500, "{\"Code\":\"InternalError\",\"Message\":\"the fake failed\"}");
        if (f == fault::malformed) return reply(200, "{\"Code\": \"Success\", \"AccessKeyId\": \"AK");
        if (f == fault::oversized) return reply(200, std::string(1 << 20, ' ') + "{}");
        if (f == fault::error_document)
            return reply(200, "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":\"EC2 cannot assume the role\"}");
        if (f == fault::slow) sleep_ms = 3000;
        auto [k, exp] = issue(f == fault::expired);
        return reply(200, "{\"Code\":\"Success\",\"LastUpdated\":\"" + iso8601(std::time(nullptr)) +
                              "\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"" + k.id + "\",\"SecretAccessKey\":\"" +
                              k.secret + "\",\"Token\":\"token-for-" + k.id + "\",\"Expiration\":\"" + exp + "\"}");
    }

    bool signed_by_source(const http_server::request& req) const {
        std::string auth(req[http::field::authorization]);
        auto field = [&](const std::string& name) {
            auto at = auth.find(name + "=");
            if (at == std::string::npos) return std::string();
            at += name.size() + 1;
            return auth.substr(at, auth.find_first_of(", ", at) - at);
        };
        std::string cred = field("Credential"), signed_names = field("SignedHeaders"), sig = field("Signature");
        // KEY/DATE/REGION/sts/aws4_request
        std::vector<std::string> scope;
        for (std::size_t s = 0; s <= cred.size();) {
            auto e = std::min(cred.find('/', s), cred.size());
            scope.push_back(cred.substr(s, e - s));
            s = e + 1;
        }
        if (scope.size() != 5 || scope[0] != source.id || scope[3] != "sts") return false;
        s3::string_pairs headers;
        for (std::size_t s = 0; s <= signed_names.size();) {
            auto e = std::min(signed_names.find(';', s), signed_names.size());
            std::string name = signed_names.substr(s, e - s);
            headers.emplace_back(name, std::string(req[name]));
            s = e + 1;
        }
        std::string date(req["x-amz-date"]);
        std::string payload = s3::sha256_hex(req.body());
        s3::signing_request r{"POST", "/", nullptr, &headers, payload, date, scope[2], "sts"};
        return s3::compute_signature(r, {source.id, source.secret, ""}).signature == sig;
    }

    response sts(const http_server::request& req, unsigned& sleep_ms) {
        auto form = parse_form(req.body());
        std::string action = form["Action"];
        ++counts[action];
        forms[action] = form;
        auto f = take_fault("sts");
        if (action == "AssumeRole") {
            if (req[http::field::authorization].empty()) return sts_error(403, "MissingAuthenticationToken", "Request is missing Authentication Token");
            if (!signed_by_source(req))
                return sts_error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.");
        } else if (action == "AssumeRoleWithWebIdentity") {
            if (!req[http::field::authorization].empty()) return sts_error(400, "InvalidRequest", "this action is unsigned");
            if (form["WebIdentityToken"] != web_token)
                return sts_error(400, "InvalidIdentityToken", "The web identity token that was passed could not be validated by AWS.");
        } else {
            return sts_error(400, "InvalidAction", "Could not find operation " + action);
        }
        if (form["RoleArn"].empty() || form["RoleSessionName"].empty())
            return sts_error(400, "ValidationError", "RoleArn and RoleSessionName are required");
        if (f == fault::status_500) return sts_error(500, "InternalFailure", "the fake failed");
        if (f == fault::error_document)
            return sts_error(403, "AccessDenied", "User is not authorized to perform: sts:" + action + " on resource: " + form["RoleArn"]);
        if (f == fault::malformed) return reply(200, "<" + action + "Response><" + action + "Result><Credentials><AccessKeyId>AK", "text/xml");
        if (f == fault::oversized) return reply(200, std::string(1 << 20, ' '), "text/xml");
        if (f == fault::slow) sleep_ms = 3000;
        auto [k, exp] = issue(f == fault::expired);
        return reply(200,
                     "<" + action + "Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><" + action +
                         "Result><Credentials><AccessKeyId>" + k.id + "</AccessKeyId><SecretAccessKey>" + k.secret +
                         "</SecretAccessKey><SessionToken>token-for-" + k.id + "</SessionToken><Expiration>" + exp +
                         "</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>AROAFAKE:" + form["RoleSessionName"] +
                         "</AssumedRoleId><Arn>" + form["RoleArn"] + "</Arn></AssumedRoleUser></" + action +
                         "Result><ResponseMetadata><RequestId>fake-request-2</RequestId></ResponseMetadata></" + action +
                         "Response>",
                     "text/xml");
    }

    std::optional<response> handle(const http_server::request& req) {
        std::string target(req.target());
        unsigned sleep_ms = 0;
        std::optional<response> out;
        {
            std::lock_guard lock(m);
            const std::string creds_path = "/latest/meta-data/iam/security-credentials/";
            std::string token(req["X-aws-ec2-metadata-token"]);
            if (req.method() == http::verb::put && target == "/latest/api/token") {
                ++counts["imds-token"];
                auto f = take_fault("imds-token");
                if (f == fault::slow) sleep_ms = 3000;
                if (req["X-aws-ec2-metadata-token-ttl-seconds"].empty()) out = reply(400, "", "text/plain");
                else if (token_status != 200) out = reply(token_status, "", "text/plain");
                else out = reply(200, "imds-session-token", "text/plain");
            } else if (req.method() == http::verb::get && target.rfind(creds_path, 0) == 0) {
                bool list = target == creds_path;
                ++counts[list ? "imds-role" : "imds"];
                if (token != "imds-session-token" && !(imds_v1 && token.empty())) out = reply(401, "", "text/plain");
                else if (list) out = reply(200, "drover-role", "text/plain");
                else if (target != creds_path + "drover-role") out = reply(404, "", "text/plain");
                else out = json_creds(take_fault("imds"), sleep_ms);
            } else if (req.method() == http::verb::get && target == "/container/credentials") {
                ++counts["container"];
                if (std::string(req[http::field::authorization]) != container_token)
                    out = reply(403, "{\"Code\":\"AccessDenied\",\"Message\":\"bad authorization token\"}");
                else out = json_creds(take_fault("container"), sleep_ms);
            } else if (req.method() == http::verb::post && target == "/") {
                out = sts(req, sleep_ms);
            } else {
                out = reply(404, "", "text/plain");
            }
        }
        if (sleep_ms) std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
        return out;
    }
};

fake_aws::fake_aws(std::vector<key_pair> keys) : impl_(std::make_shared<impl>()) {
    impl_->keys = std::move(keys);
    impl_->server = std::make_unique<http_server>([i = impl_.get()](const http_server::request& r) { return i->handle(r); });
}

fake_aws::~fake_aws() { impl_->server.reset(); }

std::string fake_aws::endpoint() const { return impl_->server->endpoint(); }
std::string fake_aws::container_url() const { return endpoint() + "/container/credentials"; }

void fake_aws::lifetime(std::chrono::seconds s) {
    std::lock_guard lock(impl_->m);
    impl_->life = s;
}
void fake_aws::inject(const std::string& service, fault f, int times) {
    std::lock_guard lock(impl_->m);
    impl_->faults[service] = {f, times};
}
void fake_aws::allow_imds_v1(bool yes) {
    std::lock_guard lock(impl_->m);
    impl_->imds_v1 = yes;
}
void fake_aws::imds_token_status(unsigned status) {
    std::lock_guard lock(impl_->m);
    impl_->token_status = status;
}
void fake_aws::container_token(std::string token) {
    std::lock_guard lock(impl_->m);
    impl_->container_token = std::move(token);
}
void fake_aws::web_identity_token(std::string token) {
    std::lock_guard lock(impl_->m);
    impl_->web_token = std::move(token);
}
void fake_aws::source_key(key_pair k) {
    std::lock_guard lock(impl_->m);
    impl_->source = std::move(k);
}

int fake_aws::count(const std::string& what) const {
    std::lock_guard lock(impl_->m);
    auto it = impl_->counts.find(what);
    return it == impl_->counts.end() ? 0 : it->second;
}

std::map<std::string, std::string> fake_aws::last_form(const std::string& action) const {
    std::lock_guard lock(impl_->m);
    auto it = impl_->forms.find(action);
    return it == impl_->forms.end() ? std::map<std::string, std::string>{} : it->second;
}

std::vector<std::string> fake_aws::issued() const {
    std::lock_guard lock(impl_->m);
    return impl_->handed_out;
}

}  // namespace drover::test
