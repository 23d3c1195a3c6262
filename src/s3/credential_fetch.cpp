#include "s3/credential_fetch.hpp"


#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <charconv>
#include <ctime>

namespace drover::s3 {

namespace json = boost::json;

http::result fetch_blocking(const http::endpoint& ep, http::request req, http::milliseconds timeout,
                            std::uint64_t body_limit, const std::string& ca_file) {
    boost::asio::io_context ioc;
    http::client_options o;
    o.target = ep;
    o.tls.ca_file = ca_file;
    o.connect_timeout = timeout;
    o.request_timeout = timeout;
    o.max_idle_connections = 0;
    o.body_limit = body_limit;
    o.user_agent = "drover";
    http::client c(ioc.get_executor(), std::move(o));
    http::result out;
    c.async_request(std::move(req), [&out](http::result r) { out = std::move(r); });
    ioc.run();
    return out;
}

http::http_url parse_url(std::string_view url) {
    try {
        return http::parse_http_url(url);
    } catch (const std::exception& e) {
        throw credential_error(e.what());
    }
}

std::optional<system_time> parse_iso8601(std::string_view s) {
    // YYYY-MM-DDTHH:MM:SS[.fff](Z|+hh:mm|-hh:mm)
    auto num = [&](std::size_t at, std::size_t len, int& v) {
        if (at + len > s.size()) return false;
        auto [p, ec] = std::from_chars(s.data() + at, s.data() + at + len, v);
        return ec == std::errc() && p == s.data() + at + len;
    };
    std::tm tm{};
    int y, mo, d, h, mi, sec;
    if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
        s[16] != ':' || !num(0, 4, y) || !num(5, 2, mo) || !num(8, 2, d) || !num(11, 2, h) || !num(14, 2, mi) ||
        !num(17, 2, sec))
        return std::nullopt;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
    std::size_t i = 19;
    if (i < s.size() && s[i] == '.') {
        ++i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    }
    long offset = 0;
    if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
        ++i;
    } else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh, om;
        if (!num(i + 1, 2, oh) || !num(i + 4, 2, om)) return std::nullopt;
        offset = (oh * 3600L + om * 60L) * (s[i] == '-' ? -1 : 1);
        i += 6;
    } else {
        return std::nullopt;
    }
    if (i != s.size()) return std::nullopt;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    std::time_t t = ::timegm(&tm);
    return std::chrono::system_clock::from_time_t(t - offset);
}

std::string message_text(std::string_view s, std::size_t limit) {
    std::string out;
    for (char c : s) out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
    while (!out.empty() && out.back() == ' ') out.pop_back();
    while (!out.empty() && out.front() == ' ') out.erase(out.begin());
    if (out.size() > limit) out = out.substr(0, limit) + "...";
    return out;
}

std::string service_error_text(std::string_view body) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) return {};
    auto* code = v.as_object().if_contains("Code");
    auto* msg = v.as_object().if_contains("Message");
    if (!code || !code->is_string()) return {};
    std::string out = " " + message_text(code->as_string(), 100);
    if (msg && msg->is_string()) out += ": " + message_text(msg->as_string());
    return out;
}

timed_credentials parse_credentials_json(std::string_view body, const std::string& what, const char* token_key,
                                         bool token_required, bool expiration_required) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    // Never quote the document: it may be a valid secret in an almost valid document.
    if (ec) throw credential_error(what + ": the answer is not valid JSON (" + ec.message() + ")");
    if (!v.is_object()) throw credential_error(what + ": the answer is not a JSON object");
    const auto& o = v.as_object();
    auto str = [&](const char* key) -> std::optional<std::string> {
        auto* f = o.if_contains(key);
        if (!f) return std::nullopt;
        if (!f->is_string()) throw credential_error(what + ": \"" + key + "\" is not a string");
        return std::string(f->as_string());
    };
    // The metadata services answer errors as {"Code": "...", "Message": "..."}.
    if (auto code = str("Code"); code && *code != "Success") {
        std::string msg = str("Message").value_or("");
        throw credential_error(what + ": " + message_text(*code, 100) + (msg.empty() ? "" : ": " + message_text(msg)));
    }
    timed_credentials out;
    auto key = str("AccessKeyId"), secret = str("SecretAccessKey"), token = str(token_key), exp = str("Expiration");
    if (!key || key->empty()) throw credential_error(what + ": the answer has no AccessKeyId");
    if (!secret || secret->empty()) throw credential_error(what + ": the answer has no SecretAccessKey");
    if (token_required && (!token || token->empty()))
        throw credential_error(what + ": the answer has no " + token_key);
    if (exp) {
        out.expiration = parse_iso8601(*exp);
        if (!out.expiration)
            throw credential_error(what + ": Expiration \"" + message_text(*exp, 40) + "\" is not an ISO 8601 time");
    } else if (expiration_required) {
        throw credential_error(what + ": the answer has no Expiration");
    }
    out.creds = {*key, *secret, token.value_or("")};
    return out;
}

}  // namespace drover::s3
