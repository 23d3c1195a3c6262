#include "page_parser.hpp"

#include <gumbo.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <memory>
#include <set>

namespace news_crawler {
namespace {

using document = std::unique_ptr<GumboOutput, void (*)(GumboOutput*)>;

document parse(std::string_view html) {
    GumboOutput* out = gumbo_parse_with_options(&kGumboDefaultOptions, html.data(), html.size());
    return document(out, [](GumboOutput* o) { gumbo_destroy_output(&kGumboDefaultOptions, o); });
}

const char* attr(const GumboNode* n, const char* name) {
    if (n->type != GUMBO_NODE_ELEMENT) return nullptr;
    auto* a = gumbo_get_attribute(&n->v.element.attributes, name);
    return a ? a->value : nullptr;
}

bool has_class(const GumboNode* n, std::string_view cls) {
    const char* c = attr(n, "class");
    if (!c) return false;
    std::string_view s(c);
    while (!s.empty()) {
        auto start = s.find_first_not_of(" \t\r\n\f");
        if (start == std::string_view::npos) break;
        s.remove_prefix(start);
        auto end = s.find_first_of(" \t\r\n\f");
        if (s.substr(0, end) == cls) return true;
        if (end == std::string_view::npos) break;
        s.remove_prefix(end);
    }
    return false;
}

bool is(const GumboNode* n, GumboTag tag) { return n->type == GUMBO_NODE_ELEMENT && n->v.element.tag == tag; }

template <class Pred, class Fn>
void walk(const GumboNode* n, const Pred& pred, const Fn& fn) {
    if (n->type != GUMBO_NODE_ELEMENT && n->type != GUMBO_NODE_DOCUMENT) return;
    if (n->type == GUMBO_NODE_ELEMENT && pred(n)) fn(n);
    const GumboVector& kids = n->type == GUMBO_NODE_ELEMENT ? n->v.element.children : n->v.document.children;
    for (unsigned i = 0; i < kids.length; ++i) walk(static_cast<const GumboNode*>(kids.data[i]), pred, fn);
}

template <class Pred>
const GumboNode* find_first(const GumboNode* root, const Pred& pred) {
    const GumboNode* found = nullptr;
    walk(root, [&](const GumboNode* n) { return !found && pred(n); }, [&](const GumboNode* n) { found = n; });
    return found;
}

void append_text(const GumboNode* n, std::string& out) {
    if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_WHITESPACE || n->type == GUMBO_NODE_CDATA) {
        out += n->v.text.text;
    } else if (n->type == GUMBO_NODE_ELEMENT) {
        auto tag = n->v.element.tag;
        if (tag == GUMBO_TAG_SCRIPT || tag == GUMBO_TAG_STYLE) return;
        if (tag == GUMBO_TAG_BR) out += '\n';
        const GumboVector& kids = n->v.element.children;
        for (unsigned i = 0; i < kids.length; ++i) append_text(static_cast<const GumboNode*>(kids.data[i]), out);
    }
}

/// Text with runs of whitespace collapsed to one space (newlines kept when `keep_newlines`).
std::string squeeze(std::string_view s, bool keep_newlines = false) {
    std::string out;
    bool space = false, newline = false;
    for (char c : s) {
        if (std::isspace(static_cast<unsigned char>(c))) {
            if (c == '\n' && keep_newlines) newline = true;
            space = true;
            continue;
        }
        if (!out.empty() && newline) out += '\n';
        else if (!out.empty() && space) out += ' ';
        space = newline = false;
        out += c;
    }
    return out;
}

std::string text_of(const GumboNode* n) {
    std::string raw;
    append_text(n, raw);
    return squeeze(raw);
}

const GumboNode* meta_property(const GumboNode* root, std::string_view property) {
    return find_first(root, [&](const GumboNode* n) {
        const char* p = attr(n, "property");
        return is(n, GUMBO_TAG_META) && p && property == p && attr(n, "content");
    });
}

}  // namespace

std::size_t invalid_utf8_offset(std::string_view s) noexcept {
    auto u = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    std::size_t i = 0;
    while (i < s.size()) {
        unsigned char c = u(i);
        if (c < 0x80) { ++i; continue; }
        int len = 0;
        unsigned cp = 0;
        if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
        else return i;
        if (i + std::size_t(len) > s.size()) return i;
        for (int k = 1; k < len; ++k) {
            unsigned char cc = u(i + std::size_t(k));
            if ((cc & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
            return i;
        i += std::size_t(len);
    }
    return std::string_view::npos;
}

void check_utf8(const url& where, std::string_view content_type, std::string_view body) {
    std::string ct(content_type);
    std::transform(ct.begin(), ct.end(), ct.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    if (auto p = ct.find("charset="); p != std::string::npos) {
        auto cs = ct.substr(p + 8);
        cs = cs.substr(0, cs.find_first_of("; "));
        std::erase(cs, '"');
        if (cs != "utf-8" && cs != "utf8")
            throw page_error(where.str() + ": charset '" + cs + "' is not supported (only UTF-8 pages are)");
    }
    if (auto off = invalid_utf8_offset(body); off != std::string_view::npos) {
        char b[8];
        std::snprintf(b, sizeof b, "0x%02X", static_cast<unsigned char>(body[off]));
        throw page_error(where.str() + ": body is not valid UTF-8 (byte " + b + " at offset " + std::to_string(off) +
                         "); only UTF-8 pages are supported");
    }
}

list_page parse_list_page(std::string_view html, const url& page_url) {
    auto doc = parse(html);
    const GumboNode* list = find_first(doc->document, [](const GumboNode* n) {
        return is(n, GUMBO_TAG_UL) && has_class(n, "article-list");
    });
    if (!list)
        throw page_error(page_url.str() + ": not a list page: no <ul class=\"article-list\"> (has the site's layout changed?)");
    list_page out;
    std::set<std::string> seen;
    walk(list, [](const GumboNode* n) { return is(n, GUMBO_TAG_A) && has_class(n, "article-link"); },
         [&](const GumboNode* n) {
             const char* href = attr(n, "href");
             if (!href) throw page_error(page_url.str() + ": an article link has no href");
             auto u = resolve(page_url, href);
             if (!u) throw page_error(page_url.str() + ": article link '" + std::string(href) + "' is not an http(s) URL");
             if (seen.insert(u->str()).second) out.articles.push_back(*u);
         });
    const GumboNode* next = find_first(doc->document, [](const GumboNode* n) {
        return is(n, GUMBO_TAG_A) && has_class(n, "next") && attr(n, "href");
    });
    if (next) {
        out.next = resolve(page_url, attr(next, "href"));
        if (!out.next) throw page_error(page_url.str() + ": next-page link '" + std::string(attr(next, "href")) + "' is not an http(s) URL");
    }
    return out;
}

article parse_article(std::string_view html, const url& article_url) {
    auto doc = parse(html);
    const GumboNode* root = doc->document;
    const auto where = article_url.str();
    article a;
    a.url = where;

    const GumboNode* box = find_first(root, [](const GumboNode* n) { return has_class(n, "article") && attr(n, "data-aid"); });
    if (box) {
        a.oid = attr(box, "data-oid") ? attr(box, "data-oid") : "";
        a.aid = attr(box, "data-aid");
    }
    if (a.oid.empty()) a.oid = query_param(article_url.target, "oid").value_or("");
    if (a.aid.empty()) a.aid = query_param(article_url.target, "aid").value_or("");
    if (a.oid.empty()) throw page_error(where + ": missing press id: no data-oid on <div class=\"article\"> and no oid= in the URL");
    if (a.aid.empty()) throw page_error(where + ": missing article id: no data-aid on <div class=\"article\"> and no aid= in the URL");

    if (auto* t = find_first(root, [](const GumboNode* n) { return has_class(n, "article-title"); })) a.title = text_of(t);
    if (a.title.empty())
        if (auto* m = meta_property(root, "og:title")) a.title = squeeze(attr(m, "content"));
    if (a.title.empty()) throw page_error(where + ": missing title: no text in class=\"article-title\" and no og:title meta");

    if (auto* p = find_first(root, [](const GumboNode* n) { return has_class(n, "published") && attr(n, "data-time"); }))
        a.time = squeeze(attr(p, "data-time"));
    if (a.time.empty())
        if (auto* m = meta_property(root, "article:published_time")) a.time = squeeze(attr(m, "content"));
    if (a.time.empty())
        throw page_error(where + ": missing publication time: no data-time on class=\"published\" and no article:published_time meta");

    const GumboNode* body = find_first(root, [](const GumboNode* n) {
        const char* id = attr(n, "id");
        return (id && std::string_view(id) == "articleBody") || has_class(n, "article-body");
    });
    if (!body) throw page_error(where + ": missing body: no id=\"articleBody\" or class=\"article-body\"");
    std::vector<std::string> paragraphs;
    walk(body, [](const GumboNode* n) { return is(n, GUMBO_TAG_P); }, [&](const GumboNode* n) {
        auto t = text_of(n);
        if (!t.empty()) paragraphs.push_back(std::move(t));
    });
    if (paragraphs.empty()) {
        std::string raw;
        append_text(body, raw);
        a.content = squeeze(raw, true);
    } else {
        for (auto& p : paragraphs) a.content += (a.content.empty() ? "" : "\n") + p;
    }
    if (a.content.empty()) throw page_error(where + ": empty body: the article body has no text");
    return a;
}

}  // namespace news_crawler
