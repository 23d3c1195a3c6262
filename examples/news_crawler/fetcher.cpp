#include "fetcher.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>

#include <algorithm>
#include <charconv>
#include <map>
#include <random>
#include <vector>

namespace news_crawler {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr auto tok = asio::as_tuple(asio::use_awaitable);

struct connection {
    std::unique_ptr<beast::tcp_stream> plain;
    std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
    beast::flat_buffer buffer;
};

struct origin_state {
    std::vector<std::unique_ptr<connection>> idle;
    clock::time_point next_slot{};
};

struct exchange_result {
    beast::error_code ec;
    const char* stage = "";        // what failed: resolve, connect, TLS handshake, request, response
    bool reused = false;
    http::response<http::string_body> res;
};

template <class Stream>
asio::awaitable<exchange_result> exchange(Stream& s, beast::flat_buffer& buf, const http::request<http::empty_body>& req,
                                          milliseconds timeout, std::size_t max_body) {
    exchange_result r;
    beast::get_lowest_layer(s).expires_after(timeout);
    auto [wec, wn] = co_await http::async_write(s, req, tok);
    if (wec) {
        r.ec = wec;
        r.stage = "sending the request";
        co_return r;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_body);
    auto [rec, rn] = co_await http::async_read(s, buf, parser, tok);
    if (rec) {
        r.ec = rec;
        r.stage = "reading the response";
        co_return r;
    }
    r.res = parser.release();
    co_return r;
}

bool is_ip_literal(const std::string& host) {
    beast::error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

std::string snippet(std::string_view body) {
    std::string s(body.substr(0, 200));
    std::replace(s.begin(), s.end(), '\n', ' ');
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
}

}  // namespace

struct fetcher::impl {
    asio::any_io_executor ex;
    fetch_options opts;
    std::unique_ptr<ssl::context> ctx;  // made at the first https:// request: loading the CA store costs
    std::map<std::string, origin_state> origins;
    fetch_stats st;
    std::mt19937_64 rng{std::random_device{}()};
    milliseconds min_interval{0};

    asio::awaitable<void> sleep(milliseconds d) {
        asio::steady_timer t(ex, d);
        co_await t.async_wait(tok);
    }

    asio::awaitable<void> pace(origin_state& o) {
        auto interval = opts.rate > 0 ? std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(1.0 / opts.rate))
                                      : clock::duration::zero();
        interval = std::max<clock::duration>(interval, min_interval);
        if (interval == clock::duration::zero()) co_return;
        auto now = clock::now();
        auto at = std::max(now, o.next_slot);
        o.next_slot = at + interval;
        if (at > now) {
            asio::steady_timer t(ex, at);
            co_await t.async_wait(tok);
        }
    }

    asio::awaitable<exchange_result> connect(const url& u, connection& c) {
        exchange_result r;
        tcp::resolver resolver(ex);
        auto [ec, endpoints] = co_await resolver.async_resolve(u.host, u.port, tok);
        if (ec) {
            r.ec = ec;
            r.stage = "resolving the host";
            co_return r;
        }
        beast::tcp_stream* low;
        if (u.tls()) {
            if (!ctx) {
                auto fresh = std::make_unique<ssl::context>(ssl::context::tls_client);
                beast::error_code tec;
                fresh->set_default_verify_paths(tec);
                if (!tec && !opts.ca_file.empty()) fresh->load_verify_file(opts.ca_file, tec);
                if (tec) {
                    r.ec = tec;
                    r.stage = opts.ca_file.empty() ? "loading the system CA certificates" : "loading --ca-file";
                    co_return r;
                }
                ctx = std::move(fresh);
            }
            c.tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ex, *ctx);
            low = &beast::get_lowest_layer(*c.tls);
        } else {
            c.plain = std::make_unique<beast::tcp_stream>(ex);
            low = c.plain.get();
        }
        low->expires_after(opts.timeout);
        auto [cec, ep] = co_await low->async_connect(endpoints, tok);
        if (cec) {
            r.ec = cec;
            r.stage = "connecting";
            co_return r;
        }
        low->socket().set_option(tcp::no_delay(true));
        st.connections++;
        if (c.tls) {
            if (!is_ip_literal(u.host)) SSL_set_tlsext_host_name(c.tls->native_handle(), u.host.c_str());
            c.tls->set_verify_mode(opts.verify_tls ? ssl::verify_peer : ssl::verify_none);
            if (opts.verify_tls) c.tls->set_verify_callback(ssl::host_name_verification(u.host));
            auto [hec] = co_await c.tls->async_handshake(ssl::stream_base::client, tok);
            if (hec) {
                r.ec = hec;
                r.stage = "the TLS handshake";
                co_return r;
            }
        }
        co_return r;
    }

    /// One request on an idle keep-alive connection or a new one. A reused connection
    /// that the server closed meanwhile is replaced once, without counting as an attempt.
    asio::awaitable<exchange_result> once(const url& u) {
        auto& o = origins[u.origin()];
        http::request<http::empty_body> req{http::verb::get, u.target, 11};
        req.set(http::field::host, u.host_header());
        req.set(http::field::user_agent, opts.user_agent);
        req.set(http::field::accept, "text/html,text/plain;q=0.9,*/*;q=0.5");
        req.keep_alive(true);
        for (int fresh = 0; fresh < 2; ++fresh) {
            std::unique_ptr<connection> c;
            bool reused = false;
            if (!o.idle.empty() && fresh == 0) {
                c = std::move(o.idle.back());
                o.idle.pop_back();
                reused = true;
            } else {
                c = std::make_unique<connection>();
                auto r = co_await connect(u, *c);
                if (r.ec) co_return r;
            }
            // (No co_await inside ?: — GCC 12 miscompiles it.)
            exchange_result r;
            if (c->tls) r = co_await exchange(*c->tls, c->buffer, req, opts.timeout, opts.max_body);
            else r = co_await exchange(*c->plain, c->buffer, req, opts.timeout, opts.max_body);
            r.reused = reused;
            if (r.ec && reused && r.ec != beast::error::timeout && r.ec != http::error::body_limit) continue;
            if (!r.ec) {
                st.bytes += r.res.body().size();
                if (r.res.keep_alive() && int(o.idle.size()) < opts.concurrency) o.idle.push_back(std::move(c));
            }
            co_return r;
        }
        co_return exchange_result{};  // unreachable
    }
};

fetcher::fetcher(asio::any_io_executor ex, fetch_options opts) : impl_(std::make_unique<impl>()) {
    impl_->ex = std::move(ex);
    impl_->opts = std::move(opts);
}

fetcher::~fetcher() = default;

void fetcher::set_min_interval(milliseconds d) { impl_->min_interval = d; }

const fetch_stats& fetcher::stats() const { return impl_->st; }

asio::awaitable<fetch_result> fetcher::get(url u) {
    auto& m = *impl_;
    fetch_result out;
    int redirects = 0;
    for (int attempt = 1; attempt <= m.opts.retries + 1; ++attempt) {
        co_await m.pace(m.origins[u.origin()]);
        m.st.requests++;
        out.attempts++;
        auto r = co_await m.once(u);
        milliseconds retry_after{0};
        if (r.ec) {
            out.status = 0;
            out.error = "GET " + u.str() + ": " + r.stage + " to " + u.host_header() + " failed: " + r.ec.message();
            if (r.ec == http::error::body_limit) co_return out;  // will not get smaller
        } else {
            int status = int(r.res.result_int());
            out.status = status;
            if (status >= 300 && status < 400 && r.res.count(http::field::location)) {
                auto next = resolve(u, r.res[http::field::location]);
                if (!next || ++redirects > m.opts.max_redirects) {
                    out.error = "GET " + u.str() + ": bad or too many redirects (last to '" +
                                std::string(r.res[http::field::location]) + "')";
                    co_return out;
                }
                u = *next;
                --attempt;  // a redirect is not a failed attempt
                continue;
            }
            out.error = "GET " + u.str() + ": HTTP " + std::to_string(status) + " " + std::string(r.res.reason()) +
                        (r.res.body().empty() ? "" : ": " + snippet(r.res.body()));
            if (status >= 200 && status < 300) {
                out.error.clear();
                out.body = std::move(r.res.body());
                out.content_type = std::string(r.res[http::field::content_type]);
                out.final_url = u.str();
                co_return out;
            }
            if (status < 500 && status != 408 && status != 429) co_return out;  // permanent
            auto ra = r.res[http::field::retry_after];
            long secs = 0;
            if (auto [p, ec] = std::from_chars(ra.data(), ra.data() + ra.size(), secs); ec == std::errc{} && secs > 0)
                retry_after = milliseconds(secs * 1000);
        }
        if (attempt > m.opts.retries) break;
        double d = double(m.opts.backoff.count()) * double(1LL << std::min(attempt - 1, 20));
        d = std::min(d, double(m.opts.backoff_max.count()));
        std::uniform_real_distribution<double> jitter(d / 2, d);
        auto delay = std::max(milliseconds(static_cast<long>(jitter(m.rng))), std::min(retry_after, m.opts.backoff_max));
        m.st.retries++;
        co_await m.sleep(delay);
    }
    out.error += " (after " + std::to_string(out.attempts) + " attempts)";
    co_return out;
}

}  // namespace news_crawler
