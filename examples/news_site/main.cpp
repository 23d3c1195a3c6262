// news_site — serves the synthetic news archive (archive.hpp) over HTTP/1.1 on loopback,
// with optional latency, slow responses and 503s to exercise a crawler's retries.
//
//   news_site [--host 127.0.0.1] [--port 0] [--port-file F] [--truth-file F] [--threads 2]
//             [--year 2018] [--seed 2018] [--per-page 20] [--latency-ms 0]
//             [--error-rate 0] [--slow-rate 0] [--slow-ms 200] [--fault-seed 1] [--robots-file F]
//
// Routes: /robots.txt, /list?date=YYYY-MM-DD&page=N, /article?oid=..&aid=..,
//         /truth?date=YYYY-MM-DD (JSON) and /truth (CSV for the whole year), /stats.
// Faults (503, slowness) only hit /list and /article.

#include "archive.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <atomic>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

struct options {
    std::string host = "127.0.0.1";
    unsigned short port = 0;          // 0: any free port
    std::string port_file;            // written once listening (atomically)
    std::string truth_file;           // CSV date,articles written at start
    std::string robots_file;          // replaces the built-in robots.txt
    int threads = 2;
    news_site::archive_options archive;
    int latency_ms = 0;               // added to every /list and /article response
    double error_rate = 0;            // fraction of /list and /article requests answered 503
    double slow_rate = 0;             // fraction answered after an extra slow_ms
    int slow_ms = 200;
    std::uint64_t fault_seed = 1;
};

struct stats {
    std::atomic<std::uint64_t> requests{0}, errors_injected{0}, slow_injected{0}, connections{0};
};

const char* default_robots =
    "# Drover News (synthetic). Crawl the lists and the articles, nothing else.\n"
    "User-agent: *\n"
    "Allow: /list\n"
    "Allow: /article\n"
    "Disallow: /truth\n"
    "Disallow: /stats\n"
    "Disallow: /private/\n";

[[noreturn]] void usage(const std::string& msg) {
    std::cerr << "news_site: " << msg << "\n"
              << "usage: news_site [--host H] [--port P] [--port-file F] [--truth-file F] [--threads N]\n"
                 "                 [--year Y] [--seed S] [--per-page N] [--latency-ms MS] [--error-rate R]\n"
                 "                 [--slow-rate R] [--slow-ms MS] [--fault-seed S] [--robots-file F]\n";
    std::exit(2);
}

template <class T>
T number(const std::string& flag, const std::string& v) {
    T out{};
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc{} || p != v.data() + v.size()) usage(flag + ": not a number: '" + v + "'");
    return out;
}

options parse_args(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage(a + " needs a value");
            return argv[++i];
        };
        if (a == "--host") o.host = value();
        else if (a == "--port") o.port = number<unsigned short>(a, value());
        else if (a == "--port-file") o.port_file = value();
        else if (a == "--truth-file") o.truth_file = value();
        else if (a == "--robots-file") o.robots_file = value();
        else if (a == "--threads") o.threads = number<int>(a, value());
        else if (a == "--year") o.archive.year = number<int>(a, value());
        else if (a == "--seed") o.archive.seed = number<std::uint64_t>(a, value());
        else if (a == "--per-page") o.archive.per_page = number<int>(a, value());
        else if (a == "--latency-ms") o.latency_ms = number<int>(a, value());
        else if (a == "--error-rate") o.error_rate = number<double>(a, value());
        else if (a == "--slow-rate") o.slow_rate = number<double>(a, value());
        else if (a == "--slow-ms") o.slow_ms = number<int>(a, value());
        else if (a == "--fault-seed") o.fault_seed = number<std::uint64_t>(a, value());
        else if (a == "--help" || a == "-h") usage("serves a synthetic news archive");
        else usage("unknown option '" + a + "'");
    }
    if (o.threads < 1 || o.archive.per_page < 1 || o.archive.year < 1 || o.archive.year > 9999)
        usage("--threads, --per-page and --year must be positive");
    if (o.error_rate < 0 || o.error_rate > 1 || o.slow_rate < 0 || o.slow_rate > 1)
        usage("--error-rate and --slow-rate are fractions in [0, 1]");
    return o;
}

struct target {
    std::string path;
    std::map<std::string, std::string> query;
};

// The request target (RFC 3986 origin-form, read by Boost.URL): path and query parameters
// decoded, '+' in the query as a space. nullopt when it is malformed (a bad %-escape, a space).
std::optional<target> split_target(std::string_view t) {
    auto r = boost::urls::parse_origin_form(t);
    if (!r) return std::nullopt;
    target out;
    out.path = r->path();
    for (auto p : r->params()) out.query[p.key] = p.value;
    return out;
}

struct reply {
    http::status status = http::status::ok;
    std::string content_type = "text/html; charset=utf-8";
    std::string body;
    bool faultable = false;  // /list and /article
};

reply route(const target& t, const news_site::archive& ar, const std::string& robots, const stats& st) {
    auto text = [](http::status s, std::string body) {
        return reply{s, "text/plain; charset=utf-8", std::move(body)};
    };
    if (t.path == "/robots.txt") return text(http::status::ok, robots);
    if (t.path == "/list") {
        auto date = t.query.count("date") ? t.query.at("date") : "";
        int page = 1;
        if (auto it = t.query.find("page"); it != t.query.end()) {
            auto [p, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), page);
            if (ec != std::errc{} || p != it->second.data() + it->second.size() || page < 1)
                return text(http::status::bad_request, "bad page '" + it->second + "'\n");
        }
        auto html = ar.list_page(date, page);
        if (!html) return text(http::status::not_found, "no such date '" + date + "'\n");
        return reply{http::status::ok, "text/html; charset=utf-8", std::move(*html), true};
    }
    if (t.path == "/article") {
        auto oid = t.query.count("oid") ? t.query.at("oid") : "";
        auto aid = t.query.count("aid") ? t.query.at("aid") : "";
        auto a = ar.find(oid, aid);
        if (!a) return text(http::status::not_found, "no article oid=" + oid + " aid=" + aid + "\n");
        return reply{http::status::ok, "text/html; charset=utf-8", ar.article_page(*a), true};
    }
    if (t.path == "/truth") {
        if (auto it = t.query.find("date"); it != t.query.end()) {
            auto n = ar.count(it->second);
            if (!n) return reply{http::status::not_found, "application/json", "{\"error\":\"no such date\"}\n"};
            return reply{http::status::ok, "application/json",
                         "{\"date\":\"" + it->second + "\",\"articles\":" + std::to_string(*n) + "}\n"};
        }
        std::string csv = "date,articles\n";
        for (auto& d : ar.dates()) csv += d + "," + std::to_string(*ar.count(d)) + "\n";
        return reply{http::status::ok, "text/csv", std::move(csv)};
    }
    if (t.path == "/stats") {
        return reply{http::status::ok, "application/json",
                     "{\"requests\":" + std::to_string(st.requests.load()) +
                         ",\"errors_injected\":" + std::to_string(st.errors_injected.load()) +
                         ",\"slow_injected\":" + std::to_string(st.slow_injected.load()) +
                         ",\"connections\":" + std::to_string(st.connections.load()) + "}\n"};
    }
    if (t.path == "/") {
        auto d = ar.dates();
        return reply{http::status::ok, "text/html; charset=utf-8",
                     "<!DOCTYPE html><html><body><h1>Drover News</h1><p>Archive " + d.front() + " to " + d.back() +
                         ": <a href=\"/list?date=" + d.front() + "\">start</a></p></body></html>\n"};
    }
    return text(http::status::not_found, "not found: " + t.path + "\n");
}

struct server {
    options opts;
    news_site::archive ar;
    std::string robots;
    stats st;
};

std::mt19937_64& fault_rng(std::uint64_t seed) {
    thread_local std::mt19937_64 rng(seed ^ std::hash<std::thread::id>{}(std::this_thread::get_id()));
    return rng;
}

asio::awaitable<void> session(tcp::socket socket, server& srv) {
    auto tok = asio::as_tuple(asio::use_awaitable);
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    srv.st.connections++;
    for (;;) {
        http::request<http::string_body> req;
        stream.expires_after(120s);
        auto [rec, rn] = co_await http::async_read(stream, buffer, req, tok);
        if (rec) break;
        srv.st.requests++;
        auto t = split_target(req.target());
        auto rep = t ? route(*t, srv.ar, srv.robots, srv.st)
                     : reply{http::status::bad_request, "text/plain; charset=utf-8", "malformed request target\n"};
        std::chrono::milliseconds delay{0};
        if (rep.faultable) {
            delay = std::chrono::milliseconds(srv.opts.latency_ms);
            std::uniform_real_distribution<double> u(0, 1);
            auto& rng = fault_rng(srv.opts.fault_seed);
            if (srv.opts.error_rate > 0 && u(rng) < srv.opts.error_rate) {
                srv.st.errors_injected++;
                rep = reply{http::status::service_unavailable, "text/plain", "injected 503: try again\n"};
            } else if (srv.opts.slow_rate > 0 && u(rng) < srv.opts.slow_rate) {
                srv.st.slow_injected++;
                delay += std::chrono::milliseconds(srv.opts.slow_ms);
            }
        }
        if (delay.count() > 0) {
            asio::steady_timer timer(stream.get_executor(), delay);
            co_await timer.async_wait(tok);
        }
        http::response<http::string_body> res{rep.status, req.version()};
        res.set(http::field::server, "drover-news-site");
        res.set(http::field::content_type, rep.content_type);
        res.keep_alive(req.keep_alive());
        res.body() = std::move(rep.body);
        res.prepare_payload();
        stream.expires_after(120s);
        auto [wec, wn] = co_await http::async_write(stream, res, tok);
        if (wec || !res.keep_alive()) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> listen(tcp::acceptor& acceptor, server& srv) {
    for (;;) {
        auto sock_ex = asio::make_strand(acceptor.get_executor());
        auto [ec, socket] = co_await acceptor.async_accept(sock_ex, asio::as_tuple(asio::use_awaitable));
        if (ec == asio::error::operation_aborted) co_return;
        if (ec) continue;  // e.g. EMFILE: keep serving the connections we have
        socket.set_option(tcp::no_delay(true));
        asio::co_spawn(sock_ex, session(std::move(socket), srv), asio::detached);
    }
}

void write_atomically(const std::string& path, const std::string& content) {
    auto tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        f << content;
        if (!f.flush()) throw std::runtime_error("cannot write " + tmp);
    }
    std::filesystem::rename(tmp, path);
}

}  // namespace

int main(int argc, char** argv) try {
    server srv{parse_args(argc, argv), news_site::archive{}, {}, {}};
    srv.ar = news_site::archive(srv.opts.archive);
    srv.robots = default_robots;
    if (!srv.opts.robots_file.empty()) {
        std::ifstream f(srv.opts.robots_file, std::ios::binary);
        if (!f) usage("cannot read --robots-file " + srv.opts.robots_file);
        std::stringstream ss;
        ss << f.rdbuf();
        srv.robots = ss.str();
    }
    if (!srv.opts.truth_file.empty()) {
        std::string csv = "date,articles\n";
        for (auto& d : srv.ar.dates()) csv += d + "," + std::to_string(*srv.ar.count(d)) + "\n";
        write_atomically(srv.opts.truth_file, csv);
    }

    asio::io_context ioc{srv.opts.threads};
    tcp::endpoint ep{asio::ip::make_address(srv.opts.host), srv.opts.port};
    tcp::acceptor acceptor{ioc};
    acceptor.open(ep.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen(asio::socket_base::max_listen_connections);
    auto port = acceptor.local_endpoint().port();
    auto url = "http://" + (ep.address().is_v6() ? "[" + srv.opts.host + "]" : srv.opts.host) + ":" + std::to_string(port);
    if (!srv.opts.port_file.empty()) write_atomically(srv.opts.port_file, std::to_string(port) + "\n");
    std::cout << "news_site: listening on " << url << " (year " << srv.opts.archive.year << ", "
              << srv.opts.threads << " threads, error rate " << srv.opts.error_rate << ")" << std::endl;

    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](beast::error_code, int) {
        acceptor.close();
        ioc.stop();
    });
    asio::co_spawn(ioc, listen(acceptor, srv), asio::detached);

    std::vector<std::thread> pool;
    for (int i = 1; i < srv.opts.threads; ++i) pool.emplace_back([&] { ioc.run(); });
    ioc.run();
    for (auto& t : pool) t.join();
    std::cerr << "news_site: stopped after " << srv.st.requests << " requests (" << srv.st.errors_injected
              << " injected 503s, " << srv.st.slow_injected << " slow)\n";
    return 0;
} catch (const std::exception& e) {
    std::cerr << "news_site: " << e.what() << "\n";
    return 1;
}
