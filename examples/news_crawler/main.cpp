// news_crawler — crawls one date of a news site's archive and prints one JSON object per
// article on stdout (oid, aid, date, time, title, content, url). Errors go to stderr; the
// exit code is 0 only when the date was crawled completely.
//
//   news_crawler --date 2018-01-06 --base-url http://127.0.0.1:8080
//
// Run by drover, a day can also be split: `--fan-out` only follows the day's list pages and
// prints one drover control line per page, submitting a task that crawls that page alone
// (`--page N`); see examples/jobs/news-fanout.toml. With `--checkpoints` it prints each list
// page's articles as soon as they are fetched, then a drover checkpoint line whose token is
// the next list page; started with DROVER_CHECKPOINT it continues from that page
// (docs/sinks.md, "Checkpoints").
//
// The page structure it expects is described in page_parser.hpp; the HTTP behaviour
// (keep-alive, rate, retries, TLS) in fetcher.hpp.

#include "fetcher.hpp"
#include "page_parser.hpp"
#include "robots.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <set>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace news_crawler;

namespace {

constexpr int exit_incomplete = 1;
constexpr int exit_usage = 2;
constexpr const char* robots_product = "drover-news-crawler";

struct options {
    std::string date;
    std::string base_url;
    fetch_options fetch;
    int max_pages = 1000;
    bool quiet = false;
    bool fan_out = false;   // list the pages, submit a task per page (drover control lines)
    int page = 0;           // crawl only this list page (1-based); 0 = every page
    bool checkpoints = false;  // a checkpoint per list page; resume from DROVER_CHECKPOINT
    std::string program;    // argv[0], for the tasks --fan-out submits
    std::vector<std::string> shared_args;  // the options a page task gets too
};

const char* usage_text = R"(usage: news_crawler --date YYYY-MM-DD [--base-url URL] [options]

Crawls the list pages of one date (URL/list?date=YYYY-MM-DD&page=1, then each page's
"next" link) and every article they link to; prints one JSON object per article.

  --base-url URL      the site (http:// or https://); default: $NEWS_BASE_URL
  --concurrency N     connections (requests in flight) per host      [4]
  --rate R            requests per second per host, 0 = unlimited    [20]
  --retries N         retries per request on 5xx/408/429/timeouts    [5]
  --backoff-ms MS     first retry delay, doubling, jittered          [100]
  --timeout-ms MS     per request attempt                            [15000]
  --max-pages N       stop following "next" after N list pages       [1000]
  --user-agent UA     default: drover-news-crawler/0.1 (...); add your contact URL
  --ca-file PEM       extra CA certificates for https://
  --insecure          do not verify TLS certificates
  --quiet             no summary line on stderr
  --fan-out           only follow the list pages, and print one drover control line per page
                      submitting the task `crawl-DATE-pN` that runs this crawler with --page N
  --page N            crawl list page N only (no "next"), and its articles
  --checkpoints       print each list page's articles when fetched, then a drover checkpoint
                      line (token: the next list page); with $DROVER_CHECKPOINT set, start
                      at that list page
Exit codes: 0 complete, 1 incomplete (errors on stderr), 2 usage.
)";

[[noreturn]] void usage(const std::string& msg) {
    std::cerr << "news_crawler: " << msg << "\n" << usage_text;
    std::exit(exit_usage);
}

template <class T>
T number(const std::string& flag, const std::string& v, T min) {
    T out{};
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc{} || p != v.data() + v.size() || out < min)
        usage(flag + ": expected a number >= " + std::to_string(min) + ", got '" + v + "'");
    return out;
}

bool valid_date(const std::string& d) {
    if (d.size() != 10 || d[4] != '-' || d[7] != '-') return false;
    for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
        if (d[i] < '0' || d[i] > '9') return false;
    using namespace std::chrono;
    year_month_day ymd{year{std::stoi(d.substr(0, 4))}, month{unsigned(std::stoi(d.substr(5, 2)))},
                       day{unsigned(std::stoi(d.substr(8, 2)))}};
    return ymd.ok();
}

options parse_args(int argc, char** argv) {
    options o;
    o.program = argv[0];
    if (const char* env = std::getenv("NEWS_BASE_URL")) o.base_url = env;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) usage(a + " needs a value");
            o.shared_args.push_back(a);
            o.shared_args.push_back(argv[i + 1]);
            return argv[++i];
        };
        if (a == "--fan-out") {
            o.fan_out = true;
            continue;
        }
        if (a == "--checkpoints") {
            o.checkpoints = true;
            continue;
        }
        if (a == "--page") {
            if (i + 1 >= argc) usage(a + " needs a value");
            o.page = number<int>(a, argv[++i], 1);
            continue;
        }
        if (a == "--insecure" || a == "--quiet") o.shared_args.push_back(a);
        if (a == "--date") o.date = value();
        else if (a == "--base-url") o.base_url = value();
        else if (a == "--concurrency") o.fetch.concurrency = number<int>(a, value(), 1);
        else if (a == "--rate") o.fetch.rate = number<double>(a, value(), 0);
        else if (a == "--retries") o.fetch.retries = number<int>(a, value(), 0);
        else if (a == "--backoff-ms") o.fetch.backoff = std::chrono::milliseconds(number<long>(a, value(), 0));
        else if (a == "--timeout-ms") o.fetch.timeout = std::chrono::milliseconds(number<long>(a, value(), 1));
        else if (a == "--max-pages") o.max_pages = number<int>(a, value(), 1);
        else if (a == "--user-agent") o.fetch.user_agent = value();
        else if (a == "--ca-file") o.fetch.ca_file = value();
        else if (a == "--insecure") o.fetch.verify_tls = false;
        else if (a == "--quiet") o.quiet = true;
        else if (a == "--help" || a == "-h") {
            std::cout << usage_text;
            std::exit(0);
        } else usage("unknown option '" + a + "'");
    }
    if (o.date.empty()) usage("--date is required");
    if (!valid_date(o.date)) usage("--date: not a valid YYYY-MM-DD date: '" + o.date + "'");
    if (o.base_url.empty()) usage("no --base-url given and NEWS_BASE_URL is not set");
    if (o.fan_out && o.page) usage("--fan-out and --page do not go together");
    if (o.checkpoints && (o.fan_out || o.page)) usage("--checkpoints goes with neither --fan-out nor --page");
    return o;
}

struct crawl_state {
    const options& opts;
    fetcher& http;
    robots_rules robots;
    std::vector<url> queue;                    // article URLs in list order
    std::vector<std::optional<article>> found; // same order
    std::size_t next = 0;
    std::vector<std::string> errors;
    int list_pages = 0;

    void error(std::string msg) {
        std::cerr << "news_crawler: " << opts.date << ": " << msg << "\n";
        errors.push_back(std::move(msg));
    }
};

asio::awaitable<void> article_worker(crawl_state& s) {
    while (s.next < s.queue.size()) {
        std::size_t i = s.next++;
        const url& u = s.queue[i];
        if (!s.robots.allowed(u.target)) {
            s.error(u.str() + ": disallowed by robots.txt; not fetched");
            continue;
        }
        auto r = co_await s.http.get(u);
        if (!r.ok()) {
            s.error(r.error);
            continue;
        }
        try {
            check_utf8(u, r.content_type, r.body);
            s.found[i] = parse_article(r.body, u);
        } catch (const page_error& e) {
            s.error(e.what());
        }
    }
}

// One control line per list page: drover runs a task per page, each crawling it alone.
int fan_out(crawl_state& s) {
    const auto& o = s.opts;
    for (int n = 1; n <= s.list_pages && s.errors.empty(); ++n) {
        boost::json::array command{boost::json::string(o.program)};
        for (const auto& a : o.shared_args) command.emplace_back(a);
        command.emplace_back("--page");
        command.emplace_back(std::to_string(n));
        boost::json::object task{{"id", "crawl-" + o.date + "-p" + std::to_string(n)},
                                 {"command", std::move(command)},
                                 {"params", {{"date", o.date}}}};
        boost::json::object line{{"$drover", {{"submit", std::move(task)}}}};
        std::cout << boost::json::serialize(line) << "\n";
    }
    std::cout.flush();
    if (!std::cout) s.error("cannot write to stdout");
    if (!o.quiet)
        std::cerr << "news_crawler: " << o.date << ": " << s.list_pages << " list pages, one task each"
                  << (s.errors.empty() ? "" : "; INCOMPLETE") << "\n";
    return s.errors.empty() ? 0 : exit_incomplete;
}

// The queued articles, `concurrency` at a time, into s.found.
asio::awaitable<void> fetch_articles(crawl_state& s) {
    s.found.assign(s.queue.size(), std::nullopt);
    s.next = 0;
    if (s.queue.empty()) co_return;
    auto ex = co_await asio::this_coro::executor;
    int n = std::min<int>(s.opts.fetch.concurrency, int(s.queue.size()));
    int done = 0;
    asio::steady_timer all_done(ex, asio::steady_timer::time_point::max());
    for (int i = 0; i < n; ++i)
        asio::co_spawn(ex, article_worker(s), [&](std::exception_ptr e) {
            if (e) s.error("internal error in a worker");
            if (++done == n) all_done.cancel();
        });
    while (done < n) co_await all_done.async_wait(asio::as_tuple(asio::use_awaitable));
}

// The fetched articles in list order, each (oid, aid) once. Returns how many were printed.
std::size_t print_articles(crawl_state& s, std::set<std::pair<std::string, std::string>>& ids) {
    std::size_t printed = 0;
    for (auto& a : s.found) {
        if (!a) continue;
        if (!ids.emplace(a->oid, a->aid).second) continue;  // listed twice under different URLs
        boost::json::object obj{{"oid", a->oid}, {"aid", a->aid}, {"date", s.opts.date}, {"time", a->time},
                                {"title", a->title}, {"content", a->content}, {"url", a->url}};
        auto line = boost::json::serialize(obj);
        line += '\n';
        std::fwrite(line.data(), 1, line.size(), stdout);
        ++printed;
    }
    return printed;
}

// The token a checkpoint carries: the list page to continue with, or "end".
constexpr const char* end_token = "end";

void print_checkpoint(const std::string& token) {
    boost::json::object line{{"$drover", {{"checkpoint", token}}}};
    auto text = boost::json::serialize(line) + "\n";
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
}

// --checkpoints: list page by list page, its articles printed before the checkpoint that
// names the next page. A page with errors gets no checkpoint: a retry fetches it again.
asio::awaitable<int> crawl_with_checkpoints(crawl_state& s, url page, const std::string& prefix) {
    if (const char* cp = std::getenv("DROVER_CHECKPOINT"); cp && *cp) {
        std::string token = cp;
        if (token == end_token) co_return 0;  // the last page was done; only the end was lost
        if (!token.starts_with(prefix + "/list?")) {
            s.error("DROVER_CHECKPOINT '" + token + "' is not a list page of this site");
            co_return exit_incomplete;
        }
        page.target = token;
    }
    std::set<std::string> seen_pages;
    std::set<std::pair<std::string, std::string>> ids;
    std::size_t printed = 0;
    for (std::optional<url> p = page; p && s.errors.empty();) {
        if (!seen_pages.insert(p->str()).second) {
            s.error(p->str() + ": list pages link in a loop; stopping there");
            break;
        }
        if (s.list_pages >= s.opts.max_pages) {
            s.error("more than " + std::to_string(s.opts.max_pages) + " list pages (--max-pages); the list is incomplete");
            break;
        }
        if (!s.robots.allowed(p->target)) {
            s.error(p->str() + ": list page disallowed by robots.txt; not fetched");
            break;
        }
        auto r = co_await s.http.get(*p);
        s.list_pages++;
        if (!r.ok()) {
            s.error(r.error + " (list page)");
            break;
        }
        list_page lp;
        try {
            check_utf8(*p, r.content_type, r.body);
            lp = parse_list_page(r.body, *p);
        } catch (const page_error& e) {
            s.error(e.what());
            break;
        }
        s.queue = std::move(lp.articles);
        co_await fetch_articles(s);
        if (!s.errors.empty()) break;
        printed += print_articles(s, ids);
        print_checkpoint(lp.next ? lp.next->target : end_token);
        if (std::ferror(stdout)) s.error("cannot write to stdout");
        p = lp.next;
    }
    if (!s.opts.quiet)
        std::cerr << "news_crawler: " << s.opts.date << ": " << printed << " articles from " << s.list_pages
                  << " list pages, a checkpoint after each" << (s.errors.empty() ? "" : "; INCOMPLETE") << "\n";
    co_return s.errors.empty() ? 0 : exit_incomplete;
}

asio::awaitable<int> crawl(const options& o, fetcher& http) {
    std::string err;
    auto base = parse_url(o.base_url, &err);
    if (!base) usage("--base-url: " + err);
    crawl_state s{o, http, {}, {}, {}, 0, {}, 0};

    // robots.txt: 2xx → rules; 4xx → no rules; anything else → we may not crawl (RFC 9309).
    url robots_url = *base;
    robots_url.target = "/robots.txt";
    auto rr = co_await http.get(robots_url);
    if (rr.ok()) {
        s.robots = robots_rules::parse(rr.body, robots_product);
    } else if (rr.status >= 400 && rr.status < 500) {
        s.robots = robots_rules{};
    } else {
        s.error("cannot read robots.txt, so the site may not be crawled: " + rr.error);
        co_return exit_incomplete;
    }
    if (auto d = s.robots.crawl_delay()) http.set_min_interval(std::chrono::milliseconds(long(*d * 1000)));

    // List pages, in order, following "next".
    std::string prefix = base->path();
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    url page = *base;
    page.target = prefix + "/list?date=" + o.date + "&page=" + std::to_string(o.page ? o.page : 1);
    if (o.checkpoints) co_return co_await crawl_with_checkpoints(s, page, prefix);
    std::set<std::string> seen_pages, seen_articles;
    for (std::optional<url> p = page; p; ) {
        if (!seen_pages.insert(p->str()).second) {
            s.error(p->str() + ": list pages link in a loop; stopping there");
            break;
        }
        if (s.list_pages >= o.max_pages) {
            s.error("more than " + std::to_string(o.max_pages) + " list pages (--max-pages); the list is incomplete");
            break;
        }
        if (!s.robots.allowed(p->target)) {
            s.error(p->str() + ": list page disallowed by robots.txt; not fetched");
            break;
        }
        auto r = co_await http.get(*p);
        s.list_pages++;
        if (!r.ok()) {
            s.error(r.error + " (list page)");
            break;
        }
        list_page lp;
        try {
            check_utf8(*p, r.content_type, r.body);
            lp = parse_list_page(r.body, *p);
        } catch (const page_error& e) {
            s.error(e.what());
            break;
        }
        for (auto& a : lp.articles)
            if (seen_articles.insert(a.str()).second) s.queue.push_back(a);
        p = o.page ? std::nullopt : lp.next;
    }
    if (o.fan_out) co_return fan_out(s);

    std::set<std::pair<std::string, std::string>> ids;
    co_await fetch_articles(s);
    std::size_t printed = print_articles(s, ids);
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) s.error("cannot write to stdout");

    if (!o.quiet) {
        auto& st = http.stats();
        std::cerr << "news_crawler: " << o.date << ": " << printed << " articles from " << s.list_pages
                  << " list pages; " << st.requests << " requests, " << st.retries << " retries, "
                  << st.connections << " connections" << (s.errors.empty() ? "" : "; INCOMPLETE: ")
                  << (s.errors.empty() ? "" : std::to_string(s.errors.size()) + " errors") << "\n";
    }
    co_return s.errors.empty() ? 0 : exit_incomplete;
}

}  // namespace

int main(int argc, char** argv) try {
    auto opts = parse_args(argc, argv);
    asio::io_context ioc{1};
    fetcher http(ioc.get_executor(), opts.fetch);
    int code = exit_incomplete;
    asio::co_spawn(ioc, crawl(opts, http), [&](std::exception_ptr e, int c) {
        if (e) std::rethrow_exception(e);
        code = c;
    });
    ioc.run();
    return code;
} catch (const std::exception& e) {
    std::cerr << "news_crawler: " << e.what() << "\n";
    return exit_incomplete;
}
