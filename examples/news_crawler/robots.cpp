#include "robots.hpp"
#include "url.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace news_crawler {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

}  // namespace

bool robots_match(std::string_view pattern, std::string_view path) {
    // Iterative wildcard match with backtracking to the last '*'.
    bool anchored = !pattern.empty() && pattern.back() == '$';
    if (anchored) pattern.remove_suffix(1);
    std::size_t p = 0, s = 0, star = std::string_view::npos, mark = 0;
    while (s < path.size()) {
        if (p < pattern.size() && pattern[p] == '*') {
            star = p++;
            mark = s;
        } else if (p < pattern.size() && pattern[p] == path[s]) {
            ++p;
            ++s;
        } else if (p == pattern.size() && !anchored) {
            return true;  // prefix match
        } else if (star != std::string_view::npos) {
            p = star + 1;
            s = ++mark;
        } else {
            return false;
        }
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
}

robots_rules robots_rules::disallow_all() {
    robots_rules r;
    r.rules_.push_back({"/", false});
    return r;
}

robots_rules robots_rules::parse(std::string_view text, std::string_view product) {
    // Groups: consecutive user-agent lines, then rules. Collect the rules of groups naming
    // our product; when there are none, those of groups naming '*'.
    struct group {
        std::vector<std::string> agents;
        std::vector<rule> rules;
        std::optional<double> delay;
    };
    std::vector<group> groups;
    bool in_agents = false;
    std::string want = ascii_lower(product);
    while (!text.empty()) {
        auto nl = text.find('\n');
        auto line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        line = line.substr(0, line.find('#'));
        auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        auto key = ascii_lower(trim(line.substr(0, colon)));
        auto value = trim(line.substr(colon + 1));
        if (key == "user-agent") {
            if (!in_agents) groups.emplace_back();
            groups.back().agents.push_back(ascii_lower(value));
            in_agents = true;
            continue;
        }
        if (groups.empty()) continue;  // rules before any user-agent line are ignored
        in_agents = false;
        if (key == "allow" || key == "disallow") {
            if (value.empty()) continue;  // "Disallow:" with nothing = allow all
            groups.back().rules.push_back({std::string(value), key == "allow"});
        } else if (key == "crawl-delay") {
            double d = 0;
            auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), d);
            if (ec == std::errc{} && d >= 0) groups.back().delay = d;
        }
    }
    robots_rules out;
    for (int pass = 0; pass < 2 && out.rules_.empty() && !out.crawl_delay_; ++pass) {
        for (auto& g : groups) {
            bool match = std::any_of(g.agents.begin(), g.agents.end(), [&](const std::string& a) {
                return pass == 0 ? (!a.empty() && a != "*" && want.starts_with(a)) : a == "*";
            });
            if (!match) continue;
            out.rules_.insert(out.rules_.end(), g.rules.begin(), g.rules.end());
            if (g.delay) out.crawl_delay_ = g.delay;
        }
    }
    return out;
}

bool robots_rules::allowed(std::string_view path) const {
    if (path == "/robots.txt") return true;
    const rule* best = nullptr;
    for (auto& r : rules_) {
        if (!robots_match(r.pattern, path)) continue;
        if (!best || r.pattern.size() > best->pattern.size() ||
            (r.pattern.size() == best->pattern.size() && r.allow && !best->allow))
            best = &r;
    }
    return !best || best->allow;
}

}  // namespace news_crawler
