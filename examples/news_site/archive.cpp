#include "archive.hpp"

#include <array>
#include <charconv>
#include <chrono>
#include <cstdio>

namespace news_site {
namespace {

namespace chr = std::chrono;

std::uint64_t mix(std::uint64_t x) {  // splitmix64 finaliser
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/// A small deterministic stream of numbers for one (seed, day, index, purpose).
class stream {
public:
    stream(std::uint64_t seed, int yday, int index, int purpose)
        : state_(mix(seed ^ mix(std::uint64_t(yday) << 32 ^ std::uint64_t(index) << 8 ^ std::uint64_t(purpose)))) {}
    std::uint64_t next() { return state_ = mix(state_); }
    int below(int n) { return int(next() % std::uint64_t(n)); }

private:
    std::uint64_t state_;
};

struct press { const char* oid; const char* name; };
constexpr std::array<press, 10> presses{{
    {"001", "연합뉴스"}, {"020", "동아일보"}, {"023", "조선일보"}, {"025", "중앙일보"},
    {"028", "한겨레"}, {"032", "경향신문"}, {"055", "SBS"}, {"056", "KBS"},
    {"214", "MBC"}, {"469", "한국일보"},
}};

constexpr std::array<const char*, 24> subjects{
    "Parliament", "Central bank", "Seoul city", "Weather service", "Exporters", "Chip makers",
    "Olympic committee", "Researchers", "Farmers", "Rail operator", "Hospitals", "Start-ups",
    "정부", "국회", "서울시", "기상청", "수출기업", "반도체 업계", "올림픽 조직위", "연구진",
    "Ministry of Finance", "Teachers' union", "Local councils", "Fishermen"};
constexpr std::array<const char*, 16> verbs{
    "plans", "rejects", "reviews", "announces", "delays", "expands", "cuts", "debates",
    "발표한", "검토하는", "추진하는", "연기한", "backs", "questions", "wins", "opens"};
constexpr std::array<const char*, 20> objects{
    "new budget", "winter measures", "trade talks", "\"smart city\" project", "R&D fund",
    "minimum wage rise", "fine-dust rules", "<draft> bill", "rate decision", "stadium plan",
    "예산안", "대책", "무역 협상", "신규 노선", "연구 결과", "safety review", "tax reform",
    "price index", "port expansion", "hiring plan"};
constexpr std::array<const char*, 40> words{
    "the", "officials", "said", "on", "Monday", "that", "market", "growth", "would", "slow",
    "according", "to", "data", "released", "by", "ministry", "analysts", "expect", "further",
    "changes", "in", "coming", "weeks", "while", "residents", "remain", "cautious", "about",
    "정부는", "이날", "발표에서", "계획을", "밝혔다", "관계자는", "설명했다", "올해", "시장",
    "전망", "it's", "a&b"};

}  // namespace

std::string html_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 16);
    for (char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

archive::archive(archive_options opts) : opts_(opts) {
    days_ = chr::year{opts_.year}.is_leap() ? 366 : 365;
}

int archive::day_of_year(std::string_view date) const {
    // Strictly YYYY-MM-DD.
    if (date.size() != 10 || date[4] != '-' || date[7] != '-') return -1;
    auto num = [&](std::size_t pos, std::size_t len) {
        int v = 0;
        for (std::size_t i = pos; i < pos + len; ++i) {
            if (date[i] < '0' || date[i] > '9') return -1;
            v = v * 10 + (date[i] - '0');
        }
        return v;
    };
    int y = num(0, 4), m = num(5, 2), d = num(8, 2);
    if (y != opts_.year || m < 1 || d < 1) return -1;
    chr::year_month_day ymd{chr::year{y}, chr::month{unsigned(m)}, chr::day{unsigned(d)}};
    if (!ymd.ok()) return -1;
    auto first = chr::sys_days{chr::year{y} / chr::January / 1};
    return int((chr::sys_days{ymd} - first).count());
}

std::string archive::date_of(int yday) const {
    chr::year_month_day ymd{chr::sys_days{chr::year{opts_.year} / chr::January / 1} + chr::days{yday}};
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", int(ymd.year()), unsigned(ymd.month()), unsigned(ymd.day()));
    return buf;
}

std::vector<std::string> archive::dates() const {
    std::vector<std::string> out;
    for (int i = 0; i < days_; ++i) out.push_back(date_of(i));
    return out;
}

std::optional<int> archive::count(std::string_view date) const {
    int yday = day_of_year(date);
    if (yday < 0) return std::nullopt;
    chr::weekday wd{chr::sys_days{chr::year{opts_.year} / chr::January / 1} + chr::days{yday}};
    int mean = wd == chr::Saturday ? opts_.saturday_articles
             : wd == chr::Sunday   ? opts_.sunday_articles
                                   : opts_.weekday_articles;
    stream r(opts_.seed, yday, 0, 1);
    int spread = mean / 5;  // ±20%
    return spread > 0 ? mean - spread + r.below(2 * spread + 1) : mean;
}

int archive::pages(int articles) const noexcept {
    return articles <= 0 ? 1 : (articles + opts_.per_page - 1) / opts_.per_page;
}

article_ref archive::article(std::string_view date, int index) const {
    int yday = day_of_year(date);
    int n = count(date).value_or(1);
    stream r(opts_.seed, yday, index, 2);
    // Newest first: slot (n-1-index) of n equal slots of the day, plus jitter inside it.
    long slot = 86400L / n;
    long sec = long(n - 1 - index) * 86400L / n + long(r.below(int(slot > 0 ? slot : 1)));
    article_ref a;
    a.oid = presses[std::size_t(r.below(int(presses.size())))].oid;
    char aid[16];
    std::snprintf(aid, sizeof aid, "%010ld", 100000000L + long(yday) * 10000L + index);
    a.aid = aid;
    a.date = date_of(yday);
    char t[40];
    std::snprintf(t, sizeof t, "%sT%02ld:%02ld:%02ld+09:00", a.date.c_str(), sec / 3600, sec / 60 % 60, sec % 60);
    a.time = t;
    a.index = index;
    return a;
}

std::optional<article_ref> archive::find(std::string_view oid, std::string_view aid) const {
    long n = 0;
    if (aid.size() != 10) return std::nullopt;
    auto [p, ec] = std::from_chars(aid.data(), aid.data() + aid.size(), n);
    if (ec != std::errc{} || p != aid.data() + aid.size() || n < 100000000L) return std::nullopt;
    n -= 100000000L;
    int yday = int(n / 10000), index = int(n % 10000);
    if (yday >= days_) return std::nullopt;
    auto date = date_of(yday);
    if (index >= *count(date)) return std::nullopt;
    auto a = article(date, index);
    if (a.oid != oid) return std::nullopt;
    return a;
}

std::string archive::title(const article_ref& a) const {
    stream r(opts_.seed, day_of_year(a.date), a.index, 3);
    std::string t = subjects[std::size_t(r.below(subjects.size()))];
    t += ' ';
    t += verbs[std::size_t(r.below(verbs.size()))];
    t += ' ';
    t += objects[std::size_t(r.below(objects.size()))];
    return t;
}

std::vector<std::string> archive::paragraphs(const article_ref& a) const {
    stream r(opts_.seed, day_of_year(a.date), a.index, 4);
    std::vector<std::string> out(std::size_t(3 + r.below(4)));
    for (auto& p : out) {
        int n = 20 + r.below(25);
        for (int i = 0; i < n; ++i) {
            if (i) p += ' ';
            p += words[std::size_t(r.below(words.size()))];
        }
        p += '.';
    }
    return out;
}

std::optional<std::string> archive::list_page(std::string_view date, int page) const {
    auto n = count(date);
    if (!n || page < 1) return std::nullopt;
    std::string d(date);
    int last = pages(*n);
    std::string h;
    h.reserve(8192);
    h += "<!DOCTYPE html>\n<html lang=\"ko\"><head><meta charset=\"utf-8\">\n<title>News of " + d +
         " - page " + std::to_string(page) + "</title></head>\n<body>\n"
         "<div class=\"header\"><a href=\"/\">Drover News</a> &gt; <a href=\"/list?date=" + d + "\">" + d + "</a></div>\n"
         "<ul class=\"article-list\">\n";
    for (int i = (page - 1) * opts_.per_page; i < *n && i < page * opts_.per_page; ++i) {
        auto a = article(date, i);
        h += "<li><a class=\"article-link\" href=\"/article?oid=" + a.oid + "&amp;aid=" + a.aid + "\">" +
             html_escape(title(a)) + "</a> <span class=\"time\">" + a.time.substr(11, 5) + "</span></li>\n";
    }
    h += "</ul>\n<div class=\"paging\">";
    for (int p = 1; p <= last; ++p) {
        if (p == page) h += "<strong>" + std::to_string(p) + "</strong> ";
        else h += "<a href=\"/list?date=" + d + "&amp;page=" + std::to_string(p) + "\">" + std::to_string(p) + "</a> ";
    }
    if (page < last)
        h += "<a class=\"next\" href=\"/list?date=" + d + "&amp;page=" + std::to_string(page + 1) + "\">next</a>";
    h += "</div>\n</body></html>\n";
    return h;
}

std::string archive::article_page(const article_ref& a) const {
    auto t = html_escape(title(a));
    const char* press_name = "";
    for (auto& p : presses)
        if (a.oid == p.oid) press_name = p.name;
    std::string h;
    h.reserve(4096);
    h += "<!DOCTYPE html>\n<html lang=\"ko\"><head><meta charset=\"utf-8\">\n<title>" + t +
         " : Drover News</title>\n<meta property=\"og:title\" content=\"" + t + "\">\n"
         "<meta property=\"article:published_time\" content=\"" + a.time + "\">\n</head>\n<body>\n"
         "<div class=\"article\" data-oid=\"" + a.oid + "\" data-aid=\"" + a.aid + "\">\n"
         "<h2 class=\"article-title\">" + t + "</h2>\n"
         "<div class=\"article-info\"><span class=\"press\">" + press_name +
         "</span> <span class=\"published\" data-time=\"" + a.time + "\">" + a.time.substr(0, 16) + "</span></div>\n"
         "<div class=\"article-body\" id=\"articleBody\">\n";
    for (auto& p : paragraphs(a)) h += "<p>" + html_escape(p) + "</p>\n";
    h += "</div>\n</div>\n<div class=\"related\"><h3>More news</h3><a href=\"/list?date=" + a.date +
         "\">All articles of " + a.date + "</a></div>\n</body></html>\n";
    return h;
}

}  // namespace news_site
