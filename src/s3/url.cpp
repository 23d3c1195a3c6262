#include "s3/url.hpp"

#include <drover/error.hpp>

#include "detail/safe_url.hpp"
#include "s3/credential_chain.hpp"
#include "s3/credentials.hpp"

namespace drover::s3 {

bucket_prefix parse_s3_url(std::string_view url) {
    constexpr std::string_view scheme = "s3://";
    // Only a URL that is not what it should be is shortened (it may be an https:// URL with
    // a password in it); an s3:// URL names a bucket and a prefix, which are no secret.
    if (url.substr(0, scheme.size()) != scheme)
        throw config_error("S3 url must start with s3://, got " + detail::url_for_message(url));
    if (detail::url_has_userinfo(url))
        throw config_error("S3 url " + detail::url_for_message(url) + ": user info (user:password@) is not supported");
    std::string_view rest = url.substr(scheme.size());
    auto slash = rest.find('/');
    bucket_prefix out;
    out.bucket = std::string(rest.substr(0, slash));
    if (out.bucket.size() < 3 || out.bucket.size() > 63 ||
        out.bucket.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-") != std::string::npos ||
        out.bucket.front() == '.' || out.bucket.front() == '-')
        throw config_error("S3 url \"" + std::string(url) + "\": invalid bucket name \"" + out.bucket + "\"");
    if (slash != std::string_view::npos) {
        std::string_view p = rest.substr(slash + 1);
        while (!p.empty() && p.back() == '/') p.remove_suffix(1);
        if (!p.empty() && p.front() == '/') throw config_error("S3 url \"" + std::string(url) + "\": prefix starts with '/'");
        if (p.find("//") != std::string_view::npos)
            throw config_error("S3 url \"" + std::string(url) + "\": empty component in prefix");
        for (unsigned char c : p)
            if (c < 0x20 || c == 0x7f) throw config_error("S3 url \"" + std::string(url) + "\": control character in prefix");
        out.prefix = std::string(p);
    }
    return out;
}

std::string join_key(const std::string& prefix, const std::string& rel) {
    return prefix.empty() ? rel : prefix + "/" + rel;
}

api_options make_api_options(const s3_sink_options& o) {
    api_options a;
    resolved_config r;
    if (o.credentials) {
        if (o.credentials->access_key_id.empty() || o.credentials->secret_access_key.empty())
            throw config_error("S3 credentials: access key id and secret access key must not be empty");
        a.creds = {o.credentials->access_key_id, o.credentials->secret_access_key, o.credentials->session_token};
        // Region and endpoint may still come from the environment or a profile.
        try {
            r = resolve_config(o.profile);
        } catch (const config_error&) {
            auto env = process_env();
            if (auto v = env("AWS_REGION"); v && !v->empty()) r.region = *v;
            else if (auto v2 = env("AWS_DEFAULT_REGION"); v2 && !v2->empty()) r.region = *v2;
            if (auto e = env("AWS_ENDPOINT_URL_S3"); e && !e->empty()) r.endpoint = *e;
            else if (auto e2 = env("AWS_ENDPOINT_URL"); e2 && !e2->empty()) r.endpoint = *e2;
        }
    } else {
        r = resolve_config(o.profile);
    }
    a.region = !o.region.empty() ? o.region : !r.region.empty() ? r.region : "us-east-1";
    a.endpoint = !o.endpoint.empty() ? o.endpoint : r.endpoint;
    a.path_style = o.path_style;
    a.ca_file = o.ca_file;
    if (a.ca_file.empty())
        if (auto v = process_env()("AWS_CA_BUNDLE"); v && !v->empty()) a.ca_file = *v;
    // Fetches now (STS, a process, the metadata services): a source that fails stops the start.
    if (!o.credentials) a.provider = make_credential_provider(r.plan, {a.region, a.ca_file, {}});
    a.retry.max_attempts = o.max_attempts < 1 ? 1 : o.max_attempts;
    a.retry.base = o.retry_base;
    a.request_timeout = o.request_timeout;
    return a;
}

}  // namespace drover::s3
