#include "s3/container_credentials.hpp"

#include "detail/fs.hpp"
#include "detail/safe_url.hpp"
#include "s3/credential_fetch.hpp"

#include <boost/asio/ip/address.hpp>

#include <thread>

namespace drover::s3 {

namespace bhttp = boost::beast::http;

void check_container_url(const std::string& url) {
    auto u = parse_url(url);
    if (u.ep.kind == http::transport::tls) return;
    const std::string& host = u.ep.host;
    bool ok = host == "localhost";
    boost::system::error_code ec;
    auto addr = boost::asio::ip::make_address(host, ec);
    if (!ec) {
        ok = ok || addr.is_loopback() || (addr.is_v6() && addr.to_v6().is_v4_mapped() &&
                                          boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, addr.to_v6()).is_loopback());
        ok = ok || addr == boost::asio::ip::make_address("169.254.170.2") ||
             addr == boost::asio::ip::make_address("169.254.170.23") || addr == boost::asio::ip::make_address("fd00:ec2::23");
    }
    if (!ok)
        throw credential_error("container credentials: " + detail::url_for_message(url) +
                               " is not allowed: plain http only to a loopback address, 169.254.170.2, 169.254.170.23 "
                               "or fd00:ec2::23 (use https for other hosts)");
}

timed_credentials fetch_container_credentials(const container_options& o) {
    check_container_url(o.url);
    auto u = parse_url(o.url);
    std::string what = "container credentials at " + detail::url_for_message(o.url);
    std::string token = o.auth_token;
    if (!o.auth_token_file.empty()) {
        std::optional<std::string> text;
        try {
            text = detail::read_file_if_exists(o.auth_token_file);
        } catch (const std::exception& e) {
            throw credential_error(what + ": authorization token file: " + e.what());
        }
        if (!text) throw credential_error(what + ": authorization token file " + o.auth_token_file + " does not exist");
        token = *text;
        while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
    }
    if (token.find_first_of("\r\n") != std::string::npos)
        throw credential_error(what + ": the authorization token contains a line break");

    std::string last;
    for (int attempt = 1;; ++attempt) {
        http::request req;
        req.method = bhttp::verb::get;
        req.target = u.target;
        req.headers = {{"Accept", "application/json"}};
        if (!token.empty()) req.headers.emplace_back("Authorization", token);
        auto r = fetch_blocking(u.ep, std::move(req), o.timeout, 64 * 1024);
        bool again = true;
        if (!r) {
            last = r.error;
        } else if (r.res.status == 200) {
            return parse_credentials_json(r.res.body, what, "Token", true, true);
        } else {
            // The service answers errors as {"Code", "Message"}: quote those, not the body.
            last = "HTTP " + std::to_string(r.res.status) + service_error_text(r.res.body);
            again = r.res.status >= 500;
        }
        if (!again || attempt >= o.attempts)
            throw credential_error(what + ": " + last + (again ? " (gave up after " + std::to_string(attempt) + " tries)" : ""));
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
}

}  // namespace drover::s3
