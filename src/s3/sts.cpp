#include "s3/sts.hpp"

#include "detail/safe_url.hpp"
#include "s3/credential_fetch.hpp"
#include "s3/xml.hpp"

#include <chrono>
#include <thread>

namespace drover::s3 {

namespace bhttp = boost::beast::http;

namespace {

long long unix_now() { return std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()); }

std::string form(const string_pairs& fields) {
    std::string out;
    for (const auto& [k, v] : fields) out += (out.empty() ? "" : "&") + uri_encode(k, false) + "=" + uri_encode(v, false);
    return out;
}

bool retryable(unsigned status, const std::optional<error_body>& err) {
    if (status >= 500 || status == 429) return true;
    return err && (err->code == "Throttling" || err->code == "IDPCommunicationError");
}

timed_credentials call(const sts_target& t, const std::string& action, const role_request& r, string_pairs fields,
                       const credentials* signer) {
    std::string url = sts_url(t);
    auto where = parse_url(url);
    std::string what = "STS " + action + " of " + message_text(r.role_arn, 200) + " at " + detail::url_for_message(url);
    string_pairs all{{"Action", action}, {"Version", "2011-06-15"}, {"RoleArn", r.role_arn},
                     {"RoleSessionName", r.session_name.empty() ? "drover-" + std::to_string(unix_now()) : r.session_name}};
    for (auto& f : fields) all.push_back(std::move(f));
    std::string body = form(all);

    std::string last;
    for (int attempt = 1;; ++attempt) {
        http::request req;
        req.method = bhttp::verb::post;
        req.target = "/";
        req.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
        if (signer) {
            string_pairs h = {{"content-type", req.headers[0].second}, {"host", where.ep.host_header()}};
            std::size_t own = h.size();
            sign("POST", "/", nullptr, h, sha256_hex(body), amz_date(unix_now()), t.region.empty() ? "us-east-1" : t.region,
                 *signer, "sts");
            for (std::size_t i = own; i < h.size(); ++i) req.headers.push_back(h[i]);
        }
        req.body = body;
        auto res = fetch_blocking(where.ep, std::move(req), t.timeout, 256 * 1024, t.ca_file);
        bool again = false;
        if (!res) {
            last = res.error;
            again = true;
        } else if (res.res.status == 200) {
            sts_credentials c;
            try {
                c = parse_sts_credentials(res.res.body, action);
            } catch (const xml_error& e) {
                throw credential_error(what + ": " + e.what());
            }
            timed_credentials out;
            out.creds = {c.access_key_id, c.secret_access_key, c.session_token};
            out.expiration = parse_iso8601(c.expiration);
            if (!out.expiration)
                throw credential_error(what + ": Expiration \"" + message_text(c.expiration, 40) +
                                       "\" is not an ISO 8601 time");
            return out;
        } else {
            auto err = parse_sts_error(res.res.body);
            last = "HTTP " + std::to_string(res.res.status);
            if (err) {
                last += " " + err->code;
                if (!err->message.empty()) last += ": " + err->message;
                if (!err->request_id.empty()) last += " (request id " + err->request_id + ")";
            } else if (!res.res.reason.empty()) {
                last += " " + res.res.reason;
            }
            again = retryable(res.res.status, err);
        }
        if (!again || attempt >= 3)
            throw credential_error(what + ": " + last + (again ? " (gave up after 3 attempts)" : ""));
        std::this_thread::sleep_for(std::chrono::milliseconds(100 << attempt));
    }
}

}  // namespace

std::string sts_url(const sts_target& t) {
    if (!t.endpoint.empty()) return t.endpoint;
    return "https://sts." + (t.region.empty() ? std::string("us-east-1") : t.region) + ".amazonaws.com";
}

timed_credentials assume_role(const sts_target& t, const credentials& source, const role_request& r) {
    string_pairs extra;
    if (r.duration_seconds) extra.emplace_back("DurationSeconds", std::to_string(*r.duration_seconds));
    if (!r.external_id.empty()) extra.emplace_back("ExternalId", r.external_id);
    return call(t, "AssumeRole", r, std::move(extra), &source);
}

timed_credentials assume_role_with_web_identity(const sts_target& t, const role_request& r, const std::string& token) {
    return call(t, "AssumeRoleWithWebIdentity", r, {{"WebIdentityToken", token}}, nullptr);
}

}  // namespace drover::s3
