#pragma once
// What the crawler reads from a page, parsed with Gumbo (an HTML5 parser: it accepts any
// byte soup a browser would). The page structure it expects:
//
//   list page:    <ul class="article-list"> ... <a class="article-link" href="...">
//                 and, when there is a further page, <a class="next" href="...">
//   article page: <div class="article" data-oid=".." data-aid="..">   (or oid=/aid= in the URL)
//                 <h2 class="article-title">           (or <meta property="og:title">)
//                 <span class="published" data-time="2018-01-06T09:15:00+09:00">
//                                                      (or <meta property="article:published_time">)
//                 <div id="articleBody"> <p>..</p> ... (or class="article-body")
//
// Both functions are pure; errors are exceptions of type page_error with a message that
// names the URL and the missing piece.

#include "url.hpp"

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace news_crawler {

struct page_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct list_page {
    std::vector<url> articles;   ///< in page order, duplicates removed
    std::optional<url> next;     ///< the next list page, if any
};

struct article {
    std::string oid, aid, time, title, content;
    std::string url;
};

/// Offset of the first byte that is not valid UTF-8 (overlongs, surrogates and code
/// points above U+10FFFF count as invalid), or npos.
std::size_t invalid_utf8_offset(std::string_view s) noexcept;

/// Checks a response before parsing: the Content-Type charset (if any) must be UTF-8 and
/// the body valid UTF-8. Throws page_error naming the offset and byte otherwise.
void check_utf8(const url& where, std::string_view content_type, std::string_view body);

list_page parse_list_page(std::string_view html, const url& page_url);
article parse_article(std::string_view html, const url& article_url);

}  // namespace news_crawler
