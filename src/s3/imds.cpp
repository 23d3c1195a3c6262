#include "s3/imds.hpp"

#include "detail/safe_url.hpp"
#include "s3/credential_fetch.hpp"

#include <boost/beast/core/error.hpp>

namespace drover::s3 {

namespace bhttp = boost::beast::http;

namespace {

constexpr std::string_view role_path = "/latest/meta-data/iam/security-credentials/";

struct imds_client {
    const imds_options& o;
    http::http_url base;
    std::string what;

    http::result send(bhttp::verb method, const std::string& path, http::header_list headers) const {
        http::result r;
        for (int i = 0; i < std::max(1, o.attempts); ++i) {
            http::request req;
            req.method = method;
            req.target = path;
            req.headers = headers;
            r = fetch_blocking(base.ep, std::move(req), o.timeout, 64 * 1024);
            if (r && r.res.status < 500) break;
        }
        return r;
    }

    std::string get(const std::string& path, const std::optional<std::string>& token) const {
        http::header_list h;
        if (token) h.emplace_back("X-aws-ec2-metadata-token", *token);
        auto r = send(bhttp::verb::get, path, std::move(h));
        if (!r) throw credential_error(what + ": " + r.error);
        if (r.res.status == 404 && path == role_path)
            throw credential_error(what + ": no IAM role is attached to this instance (HTTP 404)");
        if (r.res.status != 200)
            throw credential_error(what + ": GET " + path.substr(0, role_path.size()) + "...: HTTP " +
                                   std::to_string(r.res.status));
        return std::move(r.res.body);
    }
};

}  // namespace

timed_credentials fetch_imds_credentials(const imds_options& o) {
    imds_client c{o, parse_url(o.endpoint), "EC2 instance metadata at " + detail::url_for_message(o.endpoint)};
    std::optional<std::string> token;
    auto t = c.send(bhttp::verb::put, "/latest/api/token", {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}});
    if (t && t.res.status == 200 && !t.res.body.empty()) {
        token = std::move(t.res.body);
    } else if (t && t.res.status == 400) {
        throw credential_error(c.what + ": the session token request was refused (HTTP 400)");
    } else if (!t && t.ec != boost::beast::error::timeout && t.ec != boost::asio::error::timed_out) {
        throw credential_error(c.what + ": " + t.error);  // nothing is listening there
    }
    // Otherwise (404/403/405, a timeout): IMDSv1, without a token.
    std::string roles = c.get(std::string(role_path), token);
    std::string role = roles.substr(0, roles.find('\n'));
    while (!role.empty() && (role.back() == '\r' || role.back() == ' ')) role.pop_back();
    if (role.empty()) throw credential_error(c.what + ": no IAM role is attached to this instance (empty list)");
    if (role.find_first_of("/?#% ") != std::string::npos || role.size() > 128)
        throw credential_error(c.what + ": the role name is not a valid IAM role name");
    std::string body = c.get(std::string(role_path) + role, token);
    return parse_credentials_json(body, c.what + " (role " + role + ")", "Token", true, true);
}

}  // namespace drover::s3
