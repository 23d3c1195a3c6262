#pragma once
// The synthetic news archive: a deterministic function of (year, seed). Every date of the
// year has a number of articles (fewer on weekends), list pages of `per_page` links, newest
// first, and article pages in ordinary HTML. No state, no I/O: the server and the tests
// both ask it what the truth is.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace news_site {

struct archive_options {
    int year = 2018;
    int per_page = 20;               ///< links per list page
    std::uint64_t seed = 2018;       ///< changes titles, bodies and counts
    int weekday_articles = 240;      ///< mean per weekday (varies by ±20%)
    int saturday_articles = 95;      ///< mean per Saturday
    int sunday_articles = 75;        ///< mean per Sunday
};

struct article_ref {
    std::string oid;   ///< press id, 3 digits ("001")
    std::string aid;   ///< article id, 10 digits, unique in the archive
    std::string date;  ///< YYYY-MM-DD
    std::string time;  ///< publication time, ISO 8601 with +09:00
    int index = 0;     ///< position in the day's list (0 = newest)
};

class archive {
public:
    explicit archive(archive_options opts = {});

    const archive_options& options() const noexcept { return opts_; }
    /// Every date of the year, in order.
    std::vector<std::string> dates() const;
    /// Articles published on `date`; nullopt when the date is malformed or not in the year.
    std::optional<int> count(std::string_view date) const;
    /// Pages of the date's list (at least 1, even for zero articles).
    int pages(int articles) const noexcept;
    /// The article at `index` of `date`'s list (index < count(date)).
    article_ref article(std::string_view date, int index) const;
    /// Finds an article by ids; nullopt when there is none.
    std::optional<article_ref> find(std::string_view oid, std::string_view aid) const;

    /// HTML of list page `page` (1-based) of `date`; nullopt when the date is unknown.
    /// Pages past the last one are valid and list nothing (as many portals do).
    std::optional<std::string> list_page(std::string_view date, int page) const;
    /// HTML of an article page.
    std::string article_page(const article_ref& a) const;
    std::string title(const article_ref& a) const;
    /// Paragraphs of the body (the crawler joins them with '\n').
    std::vector<std::string> paragraphs(const article_ref& a) const;

private:
    int day_of_year(std::string_view date) const;  // 0-based, -1 when not in the year
    std::string date_of(int yday) const;
    archive_options opts_;
    int days_ = 365;
};

/// Escapes text for HTML element content and attribute values.
std::string html_escape(std::string_view s);

}  // namespace news_site
