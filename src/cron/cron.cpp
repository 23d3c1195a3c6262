#include "cron/cron.hpp"
#include "cron/tzif.hpp"

#include <drover/error.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <tuple>
#include <vector>

namespace drover::detail {

namespace chr = std::chrono;
namespace fs = std::filesystem;

// ---- time zones ----------------------------------------------------------------------
//
// GCC 12's library has no std::chrono::tzdb. Named zones are read from the TZ database's
// files (cron/tzif.hpp), so nothing touches the process-wide TZ variable. "" (the
// process's own zone) goes through localtime_r/mktime, which read TZ but never change it.

namespace {

fs::path zone_dir() {
    const char* dir = std::getenv("TZDIR");
    return dir && *dir ? fs::path(dir) : fs::path("/usr/share/zoneinfo");
}

bool known_zone(const std::string& name) {
    if (name.empty() || name.front() == '/' || name.find("..") != std::string::npos) return false;
    if (!std::all_of(name.begin(), name.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' || c == '+';
        }))
        return false;
    std::error_code ec;
    return fs::is_regular_file(zone_dir() / name, ec);
}

std::shared_ptr<const tzif_zone> load_zone(const std::string& name) {
    auto file = zone_dir() / name;
    std::ifstream in(file, std::ios::binary);
    std::string bytes;
    constexpr std::size_t max_size = 1 << 20;  // real zone files are a few kB
    bytes.resize(max_size + 1);
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    bytes.resize(static_cast<std::size_t>(in.gcount()));
    if (in.bad()) throw config_error("time zone '" + name + "': cannot read " + file.string());
    if (bytes.size() > max_size) throw config_error("time zone '" + name + "': " + file.string() + " is too large");
    try {
        return std::make_shared<const tzif_zone>(tzif_zone::parse(bytes, file.string()));
    } catch (const std::invalid_argument& e) {
        throw config_error("time zone '" + name + "': " + e.what());
    }
}

auto civil_key(const time_zone::civil& c) { return std::tie(c.year, c.month, c.day, c.hour, c.minute, c.second); }

}  // namespace

time_zone::time_zone(std::string name) : name_(std::move(name)), utc_(name_ == "UTC" || name_ == "Etc/UTC") {
    if (utc_ || name_.empty()) return;
    if (!known_zone(name_))
        throw config_error("unknown time zone '" + name_ +
                           "': use a TZ database name such as \"Europe/Berlin\" or \"UTC\"");
    zone_ = load_zone(name_);
}

time_zone::civil time_zone::to_local(chr::sys_seconds t) const {
    if (utc_ || zone_) {
        auto local = t + chr::seconds(zone_ ? zone_->offset_at(t.time_since_epoch().count()) : 0);
        auto days = chr::floor<chr::days>(local);
        chr::year_month_day ymd(days);
        chr::hh_mm_ss hms(local - days);
        return {static_cast<int>(ymd.year()), static_cast<int>(static_cast<unsigned>(ymd.month())),
                static_cast<int>(static_cast<unsigned>(ymd.day())), static_cast<int>(hms.hours().count()),
                static_cast<int>(hms.minutes().count()), static_cast<int>(hms.seconds().count()),
                static_cast<int>(chr::weekday(days).c_encoding())};
    }
    std::time_t tt = static_cast<std::time_t>(t.time_since_epoch().count());
    std::tm tm{};
    localtime_r(&tt, &tm);
    return {tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_wday};
}

chr::sys_seconds time_zone::from_local(int year, int month, int day, int hour, int minute) const {
    if (utc_) {
        auto d = chr::sys_days(chr::year{year} / month / day);
        return chr::sys_seconds(d) + chr::hours(hour) + chr::minutes(minute);
    }
    civil want{year, month, day, hour, minute, 0, 0};
    std::vector<std::time_t> valid, tried;
    if (zone_) {
        // The local time read with each offset in force around it; valid where it holds.
        std::int64_t local = (chr::sys_days(chr::year{year} / month / day).time_since_epoch().count()) * 86400 +
                             hour * 3600 + minute * 60;
        for (std::int64_t probe : {local - 86400, local, local + 86400}) {
            std::int64_t t = local - zone_->offset_at(probe);
            tried.push_back(static_cast<std::time_t>(t));
            if (zone_->offset_at(t) == local - t) valid.push_back(static_cast<std::time_t>(t));
        }
    } else {
        for (int dst : {0, 1}) {
            std::tm tm{};
            tm.tm_year = year - 1900;
            tm.tm_mon = month - 1;
            tm.tm_mday = day;
            tm.tm_hour = hour;
            tm.tm_min = minute;
            tm.tm_isdst = dst;
            std::time_t t = std::mktime(&tm);
            if (t == static_cast<std::time_t>(-1)) continue;
            tried.push_back(t);
            std::tm back{};
            localtime_r(&t, &back);
            if (back.tm_year + 1900 == year && back.tm_mon + 1 == month && back.tm_mday == day &&
                back.tm_hour == hour && back.tm_min == minute)
                valid.push_back(t);
        }
    }
    if (!valid.empty()) return chr::sys_seconds(chr::seconds(*std::min_element(valid.begin(), valid.end())));
    if (tried.empty()) throw error("time zone " + name_ + ": cannot convert a local time");
    // Skipped by a jump forward: the first instant whose local time is past the wanted one
    // lies between the readings above (one before the gap, one after it).
    auto [lo_it, hi_it] = std::minmax_element(tried.begin(), tried.end());
    std::time_t lo = *lo_it, hi = *hi_it;
    if (civil_key(to_local(chr::sys_seconds(chr::seconds(hi)))) <= civil_key(want)) hi += 4 * 3600;
    while (lo < hi) {
        std::time_t mid = lo + (hi - lo) / 2;
        if (civil_key(to_local(chr::sys_seconds(chr::seconds(mid)))) > civil_key(want)) hi = mid;
        else lo = mid + 1;
    }
    return chr::sys_seconds(chr::seconds(lo));
}

// ---- parsing -------------------------------------------------------------------------

namespace {

struct field_spec {
    const char* name;
    int lo, hi;
    const char* const* names;  // names[i] means lo + i
};

const char* const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                   "jul", "aug", "sep", "oct", "nov", "dec"};
const char* const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

const field_spec fields[] = {{"minute", 0, 59, nullptr},
                             {"hour", 0, 23, nullptr},
                             {"day of month", 1, 31, nullptr},
                             {"month", 1, 12, month_names},
                             {"day of week", 0, 7, dow_names}};

class field_parser {
public:
    field_parser(std::string_view expr, int index, std::string_view text)
        : expr_(expr), index_(index), spec_(fields[index]), text_(text) {}

    std::vector<bool> parse() {
        std::vector<bool> bits(static_cast<std::size_t>(spec_.hi + 1), false);
        std::size_t start = 0;
        while (true) {
            std::size_t comma = text_.find(',', start);
            std::string_view item = text_.substr(start, comma == std::string_view::npos ? text_.npos : comma - start);
            if (item.empty()) fail("empty list item");
            parse_item(item, bits);
            if (comma == std::string_view::npos) break;
            start = comma + 1;
        }
        return bits;
    }

private:
    [[noreturn]] void fail(const std::string& problem) const {
        throw config_error("cron expression '" + std::string(expr_) + "': field " + std::to_string(index_ + 1) + " (" +
                           spec_.name + ") '" + std::string(text_) + "': " + problem);
    }

    int value(std::string_view v) const {
        if (v.empty()) fail("missing number");
        if (spec_.names && std::isalpha(static_cast<unsigned char>(v.front()))) {
            std::string lower;
            for (char c : v) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
            int count = spec_.name[0] == 'm' ? 12 : 7;
            for (int i = 0; i < count; ++i)
                if (lower == spec_.names[i]) return spec_.lo + i;
            fail("unknown name '" + std::string(v) + "'");
        }
        int n = 0;
        for (char c : v) {
            if (!std::isdigit(static_cast<unsigned char>(c))) fail("'" + std::string(v) + "' is not a number");
            n = n * 10 + (c - '0');
            if (n > 1000) break;
        }
        if (n < spec_.lo || n > spec_.hi)
            fail(std::string(v) + " is out of range " + std::to_string(spec_.lo) + "-" + std::to_string(spec_.hi));
        return n;
    }

    void parse_item(std::string_view item, std::vector<bool>& bits) const {
        int step = 1;
        if (auto slash = item.find('/'); slash != std::string_view::npos) {
            std::string_view s = item.substr(slash + 1);
            if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) ||
                s.size() > 3)
                fail("step '" + std::string(s) + "' is not a positive number");
            step = std::stoi(std::string(s));
            if (step == 0) fail("step must be at least 1");
            item = item.substr(0, slash);
        }
        int from, to;
        if (item == "*") {
            from = spec_.lo;
            to = spec_.hi;
        } else if (auto dash = item.find('-'); dash != std::string_view::npos) {
            from = value(item.substr(0, dash));
            to = value(item.substr(dash + 1));
            if (to < from) fail("range " + std::string(item) + " runs backwards");
        } else {
            from = value(item);
            // "5/15" means 5, 20, 35, 50 (from 5 to the end in steps of 15).
            to = step > 1 ? spec_.hi : from;
        }
        for (int v = from; v <= to; v += step) bits[static_cast<std::size_t>(v)] = true;
    }

    std::string_view expr_;
    int index_;
    field_spec spec_;
    std::string_view text_;
};

std::string_view shorthand(std::string_view s) {
    if (s == "@yearly" || s == "@annually") return "0 0 1 1 *";
    if (s == "@monthly") return "0 0 1 * *";
    if (s == "@weekly") return "0 0 * * 0";
    if (s == "@daily" || s == "@midnight") return "0 0 * * *";
    if (s == "@hourly") return "0 * * * *";
    return {};
}

int days_in(int year, int month) {
    return static_cast<int>(static_cast<unsigned>((chr::year{year} / month / chr::last).day()));
}

}  // namespace

cron_schedule cron_schedule::parse(std::string_view expr) {
    cron_schedule c;
    c.text_ = std::string(expr);
    std::string_view body = expr;
    while (!body.empty() && std::isspace(static_cast<unsigned char>(body.front()))) body.remove_prefix(1);
    while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back()))) body.remove_suffix(1);
    if (body.starts_with("@")) {
        auto full = shorthand(body);
        if (full.empty())
            throw config_error("cron expression '" + c.text_ +
                               "': unknown shorthand (known: @yearly, @annually, @monthly, @weekly, @daily, "
                               "@midnight, @hourly)");
        body = full;
    }
    std::vector<std::string_view> parts;
    for (std::size_t i = 0; i < body.size();) {
        while (i < body.size() && std::isspace(static_cast<unsigned char>(body[i]))) ++i;
        std::size_t j = i;
        while (j < body.size() && !std::isspace(static_cast<unsigned char>(body[j]))) ++j;
        if (j > i) parts.push_back(body.substr(i, j - i));
        i = j;
    }
    if (parts.size() != 5)
        throw config_error("cron expression '" + c.text_ + "': expected 5 fields (minute hour day-of-month month " +
                           "day-of-week) or a shorthand like @hourly, got " + std::to_string(parts.size()));
    std::vector<bool> b[5];
    for (int i = 0; i < 5; ++i) b[i] = field_parser(c.text_, i, parts[static_cast<std::size_t>(i)]).parse();
    for (std::size_t i = 0; i < 60; ++i) c.minute_[i] = b[0][i];
    for (std::size_t i = 0; i < 24; ++i) c.hour_[i] = b[1][i];
    for (std::size_t i = 1; i <= 31; ++i) c.dom_[i] = b[2][i];
    for (std::size_t i = 1; i <= 12; ++i) c.month_[i] = b[3][i];
    for (std::size_t i = 0; i <= 7; ++i)
        if (b[4][i]) c.dow_[i % 7] = true;  // 7 is Sunday too
    c.dom_star_ = parts[2].starts_with("*");
    c.dow_star_ = parts[4].starts_with("*");
    if (!c.next_after(chr::sys_seconds(chr::sys_days(chr::year{2000} / 1 / 1)), time_zone("UTC")))
        throw config_error("cron expression '" + c.text_ + "' never fires (no such day)");
    return c;
}

bool cron_schedule::day_matches(int year, int month, int day, int weekday) const {
    (void)year;
    (void)month;
    bool dom = dom_[static_cast<std::size_t>(day)], dow = dow_[static_cast<std::size_t>(weekday)];
    if (!dom_star_ && !dow_star_) return dom || dow;
    return dom && dow;
}

std::optional<chr::sys_seconds> cron_schedule::next_after(chr::sys_seconds t, const time_zone& tz) const {
    auto now = tz.to_local(t);
    int y = now.year, mo = now.month, d = now.day, h = now.hour, mi = now.minute + 1;
    const int last_year = now.year + 8;
    auto next_month = [&] {
        d = 1, h = 0, mi = 0;
        if (++mo > 12) mo = 1, ++y;
    };
    auto next_day = [&] {
        h = 0, mi = 0;
        if (++d > days_in(y, mo)) next_month();
    };
    auto next_hour = [&] {
        mi = 0;
        if (++h > 23) next_day();
    };
    auto next_minute = [&] {
        if (++mi > 59) next_hour();
    };
    if (mi > 59) mi = 59, next_minute();
    while (y <= last_year) {
        if (!month_[static_cast<std::size_t>(mo)]) {
            next_month();
            continue;
        }
        auto wd = chr::weekday(chr::sys_days(chr::year{y} / mo / d)).c_encoding();
        if (!day_matches(y, mo, d, static_cast<int>(wd))) {
            next_day();
            continue;
        }
        if (!hour_[static_cast<std::size_t>(h)]) {
            next_hour();
            continue;
        }
        if (!minute_[static_cast<std::size_t>(mi)]) {
            next_minute();
            continue;
        }
        auto s = tz.from_local(y, mo, d, h, mi);
        if (s > t) return s;
        next_minute();  // that local time is behind us (the second pass of a repeated hour)
    }
    return std::nullopt;
}

}  // namespace drover::detail
