// The crawler's parsing against recorded pages (tests/examples/fixtures/): pages the news
// site served, and hand-made broken ones. No network.

#include "page_parser.hpp"
#include "robots.hpp"
#include "url.hpp"

#include "support/support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <functional>

using namespace news_crawler;
namespace fs = std::filesystem;

namespace {

std::string fixture(const std::string& name) {
    return drover::test::read_file(fs::path(DROVER_SOURCE_DIR) / "tests/examples/fixtures" / name);
}

url u(const std::string& s) {
    auto r = parse_url(s);
    REQUIRE(r);
    return *r;
}

std::string error_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const page_error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("list page: 20 article links in order and the next page") {
    auto lp = parse_list_page(fixture("list-2018-01-06-page-1.html"), u("http://127.0.0.1:8080/list?date=2018-01-06&page=1"));
    REQUIRE(lp.articles.size() == 20);
    CHECK(lp.articles[0].str() == "http://127.0.0.1:8080/article?oid=214&aid=0100050000");
    REQUIRE(lp.next);
    CHECK(lp.next->str() == "http://127.0.0.1:8080/list?date=2018-01-06&page=2");
}

TEST_CASE("list page: the last page has no next link") {
    auto lp = parse_list_page(fixture("list-2018-01-06-page-6.html"), u("http://127.0.0.1:8080/list?date=2018-01-06&page=6"));
    CHECK(lp.articles.size() == 12);
    CHECK_FALSE(lp.next);
}

TEST_CASE("list page: relative, dot-segment and scheme-relative links resolve, duplicates and other links are dropped") {
    auto lp = parse_list_page(fixture("list-relative-links.html"), u("https://news.example.org/news/list?date=2018-01-06&page=2"));
    REQUIRE(lp.articles.size() == 3);
    CHECK(lp.articles[0].str() == "https://news.example.org/news/article?oid=001&aid=0100050010");
    CHECK(lp.articles[1].str() == "https://news.example.org/news/article?oid=001&aid=0100050011");
    CHECK(lp.articles[2].str() == "https://cdn.example.org/article?oid=002&aid=0100050012");
    REQUIRE(lp.next);
    CHECK(lp.next->str() == "https://news.example.org/news/list?date=2018-01-06&page=3");
}

TEST_CASE("list page: a page without the article list is a clear error") {
    auto msg = error_of([] { parse_list_page(fixture("list-not-a-list.html"), u("http://h/list?date=2018-01-06&page=1")); });
    CHECK(msg.find("http://h/list?date=2018-01-06&page=1") != std::string::npos);
    CHECK(msg.find("not a list page") != std::string::npos);
}

TEST_CASE("article: every field of a recorded page") {
    auto a = parse_article(fixture("article-ok.html"), u("http://127.0.0.1:8080/article?oid=214&aid=0100050000"));
    CHECK(a.oid == "214");
    CHECK(a.aid == "0100050000");
    CHECK(a.time == "2018-01-06T23:50:23+09:00");
    CHECK(a.title == "Hospitals reviews 연구 결과");
    CHECK(a.content.starts_with("while 설명했다 weeks"));
    CHECK(std::count(a.content.begin(), a.content.end(), '\n') >= 2);  // paragraphs joined by newlines
    CHECK(a.url == "http://127.0.0.1:8080/article?oid=214&aid=0100050000");
}

TEST_CASE("article: malformed HTML is recovered like a browser would, scripts are not text") {
    auto a = parse_article(fixture("article-malformed.html"), u("http://h/article?oid=999&aid=1"));
    CHECK(a.oid == "023");  // the page's data attributes win over the URL
    CHECK(a.aid == "0100051234");
    CHECK(a.title == "Rain & snow expected");
    CHECK(a.time == "2018-01-06T07:00:00+09:00");
    CHECK(a.content.find("First paragraph <with> markup") != std::string::npos);
    CHECK(a.content.find("Second paragraph spans lines") != std::string::npos);
    CHECK(a.content.find("한국") != std::string::npos);
    CHECK(a.content.find("not text") == std::string::npos);
}

TEST_CASE("article: ids from the URL and fields from meta tags when the markup lacks them") {
    auto a = parse_article(fixture("article-no-ids.html"), u("http://h/article?oid=005&aid=0000000042"));
    CHECK(a.oid == "005");
    CHECK(a.aid == "0000000042");
    CHECK(a.title == "Title from og:title");
    CHECK(a.time == "2018-01-06T11:30:00+09:00");
    CHECK(a.content == "Only meta tags and a body.");
}

TEST_CASE("article: missing fields are clear errors naming the URL and the field") {
    struct {
        const char* file;
        const char* url;
        const char* expect;
    } cases[] = {
        {"article-missing-title.html", "http://h/a?x=1", "missing title"},
        {"article-missing-time.html", "http://h/a?x=2", "missing publication time"},
        {"article-missing-body.html", "http://h/a?x=3", "missing body"},
        {"article-truncated.html", "http://h/a?x=4", "missing body"},
        {"article-no-ids.html", "http://h/article", "missing press id"},
        {"article-no-ids.html", "http://h/article?oid=001", "missing article id"},
    };
    for (auto& c : cases) {
        CAPTURE(c.file);
        auto msg = error_of([&] { parse_article(fixture(c.file), u(c.url)); });
        CHECK(msg.find(c.url) != std::string::npos);
        CHECK(msg.find(c.expect) != std::string::npos);
    }
}

TEST_CASE("article: non-UTF-8 bytes and other charsets are refused with the offset") {
    auto body = fixture("article-euc-kr.html");
    auto where = u("http://h/article?oid=001&aid=0100050004");
    auto msg = error_of([&] { check_utf8(where, "text/html", body); });
    CHECK(msg.find("http://h/article?oid=001&aid=0100050004") != std::string::npos);
    CHECK(msg.find("not valid UTF-8 (byte 0xC7 at offset " + std::to_string(body.find('\xc7')) + ")") != std::string::npos);
    msg = error_of([&] { check_utf8(where, "text/html; charset=EUC-KR", fixture("article-ok.html")); });
    CHECK(msg.find("charset 'euc-kr' is not supported") != std::string::npos);
    CHECK_NOTHROW(check_utf8(where, "text/html; charset=\"utf-8\"", fixture("article-ok.html")));
    // Gumbo itself never crashes on such bytes: the parse gives some article or a clear error.
    CHECK_NOTHROW((void)error_of([&] { parse_article(body, where); }));
}

TEST_CASE("utf-8 validation: overlongs, surrogates, truncated sequences and > U+10FFFF") {
    CHECK(invalid_utf8_offset("plain ascii") == std::string_view::npos);
    CHECK(invalid_utf8_offset("한국어 ✓ 😀") == std::string_view::npos);
    CHECK(invalid_utf8_offset("ab\xC0\xAF") == 2);          // overlong '/'
    CHECK(invalid_utf8_offset("\xE0\x80\xAF") == 0);        // overlong, 3 bytes
    CHECK(invalid_utf8_offset("x\xED\xA0\x80") == 1);       // surrogate D800
    CHECK(invalid_utf8_offset("\xF4\x90\x80\x80") == 0);    // above U+10FFFF
    CHECK(invalid_utf8_offset("ok\xE2\x9C") == 2);          // truncated at the end
    CHECK(invalid_utf8_offset("\x80") == 0);                // lone continuation byte
}

TEST_CASE("urls: parse, defaults, IPv6, and bad input") {
    auto a = u("HTTPS://News.Example.org/x/y?q=1#frag");
    CHECK(a.scheme == "https");
    CHECK(a.host == "news.example.org");
    CHECK(a.port == "443");
    CHECK(a.target == "/x/y?q=1");
    CHECK(a.host_header() == "news.example.org");
    auto b = u("http://[::1]:8080");
    CHECK(b.host == "::1");
    CHECK(b.target == "/");
    CHECK(b.host_header() == "[::1]:8080");
    std::string err;
    CHECK_FALSE(parse_url("ftp://x/", &err));
    CHECK(err.find("unsupported scheme 'ftp'") != std::string::npos);
    CHECK_FALSE(parse_url("http://h:99999/", &err));
    CHECK(err.find("bad port") != std::string::npos);
    CHECK_FALSE(parse_url("127.0.0.1:8080", &err));
    CHECK_FALSE(parse_url("http:///path", &err));
    CHECK_FALSE(resolve(a, "javascript:alert(1)"));
    CHECK_FALSE(resolve(a, "mailto:x@y"));
    CHECK(query_param("/a?oid=001&aid=12%33&x", "aid") == "123");
    CHECK(query_param("/a?oid=001&x", "x") == "");
    CHECK_FALSE(query_param("/a?oid=001", "aid"));
}

TEST_CASE("urls: hostile hrefs are encoded as browsers do, or dropped when malformed") {
    auto base = u("http://h:8080/news/list?date=2018-01-06");
    auto r = resolve(base, " article?q=caf\xc3\xa9 au lait&x=\"<|>\" ");
    REQUIRE(r);
    CHECK(r->target == "/news/article?q=caf%C3%A9%20au%20lait&x=%22%3C%7C%3E%22");
    CHECK(query_param(r->target, "q") == "caf\xc3\xa9 au lait");
    CHECK(resolve(base, "/a%2Fb/../c")->target == "/c");  // an escaped '/' is no segment boundary
    CHECK(resolve(base, "../../../../x")->target == "/x");
    CHECK(resolve(base, "?page=2#top")->target == "/news/list?page=2");
    CHECK_FALSE(resolve(base, "/a%zz"));                    // '%' without two hex digits
    CHECK_FALSE(resolve(base, "http://user:pw@h/"));
    CHECK_FALSE(resolve(base, "http://[::1/"));
    CHECK_FALSE(resolve(base, "//:80/"));                   // no host
    CHECK(query_param("/a?q=a+b%2Bc", "q") == "a b+c");     // '+' is a space in a query
    CHECK(query_param("/a?x=1&x=2", "x") == "1");           // the first one
    CHECK_FALSE(query_param("/a?q=%zz", "q"));              // malformed target
    CHECK_FALSE(query_param("/a?q=1 2", "q"));
    std::string err;
    CHECK_FALSE(parse_url("http://h\xc3\xb6/", &err));
    CHECK(err.find("not an absolute URL") != std::string::npos);
}

TEST_CASE("robots.txt: our group over '*', longest match, Allow wins ties, wildcards") {
    auto r = robots_rules::parse(
        "User-agent: *\nDisallow: /\n\n"
        "User-agent: other-bot\nAllow: /\n\n"
        "User-agent: drover-news-crawler\nuser-agent: another\n"
        "Disallow: /article\nAllow: /article?oid=001\nDisallow: /*.pdf$\nAllow: /list # comment\n"
        "Crawl-delay: 0.5\n",
        "drover-news-crawler");
    CHECK(r.allowed("/list?date=2018-01-06"));
    CHECK_FALSE(r.allowed("/article?oid=002&aid=1"));
    CHECK(r.allowed("/article?oid=001&aid=1"));
    CHECK_FALSE(r.allowed("/files/a.pdf"));
    CHECK(r.allowed("/files/a.pdf?x"));
    CHECK(r.allowed("/other"));          // no rule matches in our group
    CHECK(r.allowed("/robots.txt"));
    REQUIRE(r.crawl_delay());
    CHECK(*r.crawl_delay() == doctest::Approx(0.5));

    auto star = robots_rules::parse("User-agent: *\nDisallow: /private/\nDisallow:\n", "drover-news-crawler");
    CHECK_FALSE(star.allowed("/private/x"));
    CHECK(star.allowed("/list"));
    CHECK(robots_rules::parse("garbage\n\x01\x02: ::\nDisallow: /x\n", "a").allowed("/x"));  // rule outside a group
    CHECK_FALSE(robots_rules::disallow_all().allowed("/list"));
    CHECK(robots_match("/a*b$", "/a/x/b"));
    CHECK_FALSE(robots_match("/a*b$", "/a/x/bc"));
    CHECK(robots_match("*", "/anything"));
}
