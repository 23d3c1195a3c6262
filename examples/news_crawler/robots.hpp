#pragma once
// robots.txt (RFC 9309): the group for our user agent (or "*"), Allow/Disallow with the
// longest match winning and Allow winning ties, '*' and '$' patterns, and Crawl-delay.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace news_crawler {

class robots_rules {
public:
    /// Everything allowed (no robots.txt, or a 4xx for it).
    robots_rules() = default;
    /// Rules of the group that names `product` (e.g. "drover-news-crawler"), else of "*".
    static robots_rules parse(std::string_view text, std::string_view product);
    /// Everything disallowed (robots.txt unreachable with a 5xx, as RFC 9309 asks).
    static robots_rules disallow_all();

    /// `path_and_query` starts with '/'.
    bool allowed(std::string_view path_and_query) const;
    /// Seconds between requests the site asks for, if any.
    std::optional<double> crawl_delay() const { return crawl_delay_; }

private:
    struct rule {
        std::string pattern;
        bool allow;
    };
    std::vector<rule> rules_;
    std::optional<double> crawl_delay_;
};

/// True if `path` matches robots pattern `pattern` ('*' any run, '$' end anchor).
bool robots_match(std::string_view pattern, std::string_view path);

}  // namespace news_crawler
