#include "detail/time_format.hpp"

#include <drover/error.hpp>

#include <boost/json/value.hpp>
#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <cmath>

namespace drover::detail {

namespace chr = std::chrono;

namespace {

// 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z: four-digit years, and far from any overflow.
constexpr std::int64_t min_seconds = -62135596800;
constexpr std::int64_t max_seconds = 253402300799;
constexpr double ms_threshold = 1e11;  // |n| below: seconds (up to the year 5138); above: milliseconds

constexpr std::string_view known =
    "%Y %y %C %G %g %m %d %e %j %H %I %M %S %p %a %A %b %h %B %u %w %U %W %V %F %T %R %s %z %%";

constexpr const char* day_names[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
constexpr const char* month_names[] = {"January", "February", "March",     "April",   "May",      "June",
                                       "July",    "August",   "September", "October", "November", "December"};

std::int64_t days_from_civil(int y, int m, int d) {
    return chr::sys_days(chr::year{y} / m / d).time_since_epoch().count();
}

bool digits(std::string_view s, std::size_t at, std::size_t n, int& out) {
    if (at + n > s.size()) return false;
    out = 0;
    for (std::size_t i = at; i < at + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        out = out * 10 + (s[i] - '0');
    }
    return true;
}

// A JSON-style number: -?digits(.digits)?([eE][+-]?digits)?
bool looks_numeric(std::string_view s) {
    std::size_t i = 0;
    if (i < s.size() && s[i] == '-') ++i;
    std::size_t d = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == d) return false;
    if (i < s.size() && s[i] == '.') {
        std::size_t f = ++i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
        if (i == f) return false;
    }
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
        ++i;
        if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
        std::size_t e = i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
        if (i == e) return false;
    }
    return i == s.size();
}

std::string quoted(std::string_view text) {
    constexpr std::size_t shown = 60;
    std::string out = "'";
    for (char c : text.substr(0, shown)) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) out += fmt::format("\\x{:02x}", u);
        else out.push_back(c);
    }
    return out + (text.size() > shown ? "...'" : "'");
}

[[noreturn]] void bad(std::string_view text, std::string_view why) {
    throw bad_time_value(quoted(text) + " " + std::string(why));
}

struct iso_parts {
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    bool has_offset = false;
    int offset = 0;  // seconds east
};

// ISO 8601 extended form; throws bad_time_value saying which part is wrong.
iso_parts parse_iso(std::string_view s) {
    const char* what = "is not a time (epoch seconds, epoch milliseconds or ISO 8601 like 2019-01-01T10:00:00Z)";
    iso_parts p;
    if (!digits(s, 0, 4, p.year) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, p.month) || s[7] != '-' ||
        !digits(s, 8, 2, p.day))
        bad(s, what);
    if (p.year < 1) bad(s, "is out of range (years 0001..9999)");
    if (p.month < 1 || p.month > 12) bad(s, "has no such month");
    auto ymd = chr::year{p.year} / p.month / p.day;
    if (p.day < 1 || !ymd.ok()) bad(s, "has no such day");
    std::size_t i = 10;
    if (i == s.size()) return p;
    if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') bad(s, what);
    ++i;
    if (!digits(s, i, 2, p.hour) || i + 2 >= s.size() || s[i + 2] != ':' || !digits(s, i + 3, 2, p.minute))
        bad(s, "has an incomplete time (want HH:MM, HH:MM:SS or HH:MM:SS.fff)");
    i += 5;
    if (i < s.size() && s[i] == ':') {
        if (!digits(s, i + 1, 2, p.second)) bad(s, "has incomplete seconds");
        i += 3;
        if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
            std::size_t f = ++i;
            while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
            if (i == f || i - f > 9) bad(s, "has a bad fraction of a second");
        }
    }
    if (p.hour > 23 || p.minute > 59 || p.second > 59) bad(s, "has no such time of day");
    if (i == s.size()) return p;
    if (s[i] == 'Z' || s[i] == 'z') {
        p.has_offset = true;
        if (i + 1 != s.size()) bad(s, "has text after 'Z'");
        return p;
    }
    if (s[i] != '+' && s[i] != '-') bad(s, "has text after the time");
    int sign = s[i] == '-' ? -1 : 1, oh = 0, om = 0;
    auto rest = s.substr(i + 1);
    bool ok = (rest.size() == 2 && digits(rest, 0, 2, oh)) ||
              (rest.size() == 4 && digits(rest, 0, 2, oh) && digits(rest, 2, 2, om)) ||
              (rest.size() == 5 && rest[2] == ':' && digits(rest, 0, 2, oh) && digits(rest, 3, 2, om));
    if (!ok || oh > 23 || om > 59) bad(s, "has a bad UTC offset (want Z, +HH:MM, +HHMM or +HH)");
    p.has_offset = true;
    p.offset = sign * (oh * 3600 + om * 60);
    return p;
}

}  // namespace

struct time_format::local_time {
    int year, month, day, hour, minute, second, weekday;  // weekday 0 = Sunday
    std::int64_t days;                                     // local date, days since 1970-01-01
    std::int32_t offset;                                   // seconds east of UTC
    std::int64_t epoch;                                    // the instant, seconds since the epoch
};

namespace {

time_format::local_time instant_in(std::int64_t t, const time_zone& tz, std::string_view text) {
    if (t < min_seconds || t > max_seconds) bad(text, "is out of range (years 0001..9999)");
    auto c = tz.to_local(chr::sys_seconds(chr::seconds(t)));
    if (c.year < 1 || c.year > 9999) bad(text, "is out of range (years 0001..9999)");
    std::int64_t days = days_from_civil(c.year, c.month, c.day);
    auto offset = static_cast<std::int32_t>(days * 86400 + c.hour * 3600 + c.minute * 60 + c.second - t);
    return {c.year, c.month, c.day, c.hour, c.minute, c.second, c.weekday, days, offset, t};
}

}  // namespace

time_format time_format::parse(std::string_view spec) {
    time_format f;
    for (auto [name, r] : {std::pair{std::string_view("epoch_s:"), reader::epoch_s},
                           std::pair{std::string_view("epoch_ms:"), reader::epoch_ms},
                           std::pair{std::string_view("iso:"), reader::iso}}) {
        if (spec.starts_with(name)) {
            f.reader_ = r;
            spec.remove_prefix(name.size());
            break;
        }
    }
    if (spec.empty()) throw config_error("empty format: write a strftime pattern such as %Y-%m-%d");
    std::string lit;
    for (std::size_t i = 0; i < spec.size(); ++i) {
        char c = spec[i];
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
            throw config_error("control characters are not allowed in a format");
        if (c != '%') {
            lit.push_back(c);
            continue;
        }
        if (i + 1 == spec.size())
            throw config_error("format '" + std::string(spec) + "' ends with a lone '%' (write %% for a literal '%')");
        char k = spec[++i];
        if (k == '%') {
            lit.push_back('%');
            continue;
        }
        std::string conv{'%', k};
        if (k == ' ' || known.find(conv) == std::string_view::npos) {
            std::string hint = k == 'Z' ? " (zone abbreviations are not available; use %z)" : "";
            throw config_error("format '" + std::string(spec) + "': unknown conversion '" + conv + "'" + hint +
                               " (known: " + std::string(known) + ")");
        }
        if (!lit.empty()) f.pieces_.push_back(std::move(lit));
        lit.clear();
        f.pieces_.push_back(std::move(conv));
    }
    if (!lit.empty()) f.pieces_.push_back(std::move(lit));
    return f;
}

std::string time_format::from_number(double v, bool integral, std::int64_t i, const time_zone& tz,
                                     std::string_view written) const {
    std::string text = !written.empty() ? std::string(written) : integral ? std::to_string(i) : fmt::format("{}", v);
    if (reader_ == reader::iso) bad(text, "is a number, not an ISO 8601 time (the format says iso:)");
    double magnitude = integral ? std::fabs(static_cast<double>(i)) : std::fabs(v);
    bool ms = reader_ == reader::epoch_ms || (reader_ == reader::detect && magnitude >= ms_threshold);
    std::int64_t t;
    if (integral) {
        t = ms ? (i / 1000 - (i % 1000 < 0 ? 1 : 0)) : i;
    } else {
        if (!std::isfinite(v)) bad(text, "is not a finite number");
        double s = std::floor(ms ? v / 1000.0 : v);
        if (s < static_cast<double>(min_seconds) || s > static_cast<double>(max_seconds))
            bad(text, "is out of range (years 0001..9999)");
        t = static_cast<std::int64_t>(s);
    }
    return render(instant_in(t, tz, text));
}

std::string time_format::format(std::string_view text, const time_zone& tz) const {
    if (looks_numeric(text)) {
        if (reader_ == reader::iso) bad(text, "is a number, not an ISO 8601 time (the format says iso:)");
        std::int64_t i = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
        if (ec == std::errc() && end == text.data() + text.size()) return from_number(0, true, i, tz, text);
        if (ec == std::errc::result_out_of_range && text.find_first_of(".eE") == std::string_view::npos)
            bad(text, "is out of range (years 0001..9999)");
        double d = 0;
        auto [dend, dec] = std::from_chars(text.data(), text.data() + text.size(), d);
        if (dec != std::errc() || dend != text.data() + text.size()) bad(text, "is out of range (years 0001..9999)");
        return from_number(d, false, 0, tz, text);
    }
    if (reader_ == reader::epoch_s || reader_ == reader::epoch_ms)
        bad(text, reader_ == reader::epoch_s ? "is not a number of seconds (the format says epoch_s:)"
                                              : "is not a number of milliseconds (the format says epoch_ms:)");
    iso_parts p = parse_iso(text);
    std::int64_t days = days_from_civil(p.year, p.month, p.day);
    std::int64_t local = days * 86400 + p.hour * 3600 + p.minute * 60 + p.second;
    if (p.has_offset) return render(instant_in(local - p.offset, tz, text));
    // Local time in `tz` already: shown as written. The offset (for %z and %s) is the one in
    // force then: the earlier when the time occurs twice, the later inside a DST gap.
    local_time t{p.year, p.month, p.day, p.hour, p.minute, p.second,
                 static_cast<int>(chr::weekday(chr::sys_days(chr::days(days))).c_encoding()), days, 0, 0};
    try {
        auto at = tz.from_local(p.year, p.month, p.day, p.hour, p.minute).time_since_epoch().count();
        auto c = tz.to_local(chr::sys_seconds(chr::seconds(at)));
        t.offset = static_cast<std::int32_t>(days_from_civil(c.year, c.month, c.day) * 86400 + c.hour * 3600 +
                                             c.minute * 60 + c.second - at);
    } catch (const drover::error& e) {
        bad(text, e.what());
    }
    t.epoch = local - t.offset;
    return render(t);
}

std::string time_format::format(const boost::json::value& v, const time_zone& tz) const {
    switch (v.kind()) {
        case boost::json::kind::int64: return from_number(0, true, v.get_int64(), tz);
        case boost::json::kind::uint64: {
            auto u = v.get_uint64();
            if (u > static_cast<std::uint64_t>(INT64_MAX)) bad(std::to_string(u), "is out of range (years 0001..9999)");
            return from_number(0, true, static_cast<std::int64_t>(u), tz);
        }
        case boost::json::kind::double_: return from_number(v.get_double(), false, 0, tz);
        case boost::json::kind::string: return format(std::string_view(v.get_string()), tz);
        case boost::json::kind::bool_: bad(v.get_bool() ? "true" : "false", "is not a time");
        case boost::json::kind::array: bad("[...]", "is not a time (an array)");
        case boost::json::kind::object: bad("{...}", "is not a time (an object)");
        case boost::json::kind::null: bad("null", "is not a time");
    }
    bad("?", "is not a time");
}

std::string time_format::render(const local_time& t) const {
    std::string out;
    auto yday = static_cast<int>(t.days - days_from_civil(t.year, 1, 1));  // 0-based
    auto iso_week = [&](int& iso_year) {
        int wday_mon = (t.weekday + 6) % 7;  // Monday = 0
        std::int64_t thursday = t.days - wday_mon + 3;
        iso_year = static_cast<int>(chr::year_month_day(chr::sys_days(chr::days(thursday))).year());
        return static_cast<int>((thursday - days_from_civil(iso_year, 1, 1)) / 7 + 1);
    };
    for (const auto& p : pieces_) {
        if (p.size() != 2 || p[0] != '%') {
            out += p;
            continue;
        }
        int iso_year = 0;
        switch (p[1]) {
            case 'Y': out += fmt::format("{:04}", t.year); break;
            case 'y': out += fmt::format("{:02}", t.year % 100); break;
            case 'C': out += fmt::format("{:02}", t.year / 100); break;
            case 'G': iso_week(iso_year); out += fmt::format("{:04}", iso_year); break;
            case 'g': iso_week(iso_year); out += fmt::format("{:02}", iso_year % 100); break;
            case 'm': out += fmt::format("{:02}", t.month); break;
            case 'd': out += fmt::format("{:02}", t.day); break;
            case 'e': out += fmt::format("{:2}", t.day); break;
            case 'j': out += fmt::format("{:03}", yday + 1); break;
            case 'H': out += fmt::format("{:02}", t.hour); break;
            case 'I': out += fmt::format("{:02}", t.hour % 12 == 0 ? 12 : t.hour % 12); break;
            case 'M': out += fmt::format("{:02}", t.minute); break;
            case 'S': out += fmt::format("{:02}", t.second); break;
            case 'p': out += t.hour < 12 ? "AM" : "PM"; break;
            case 'a': out += std::string_view(day_names[t.weekday]).substr(0, 3); break;
            case 'A': out += day_names[t.weekday]; break;
            case 'b':
            case 'h': out += std::string_view(month_names[t.month - 1]).substr(0, 3); break;
            case 'B': out += month_names[t.month - 1]; break;
            case 'u': out += std::to_string(t.weekday == 0 ? 7 : t.weekday); break;
            case 'w': out += std::to_string(t.weekday); break;
            case 'U': out += fmt::format("{:02}", (yday + 7 - t.weekday) / 7); break;
            case 'W': out += fmt::format("{:02}", (yday + 7 - (t.weekday + 6) % 7) / 7); break;
            case 'V': out += fmt::format("{:02}", iso_week(iso_year)); break;
            case 'F': out += fmt::format("{:04}-{:02}-{:02}", t.year, t.month, t.day); break;
            case 'T': out += fmt::format("{:02}:{:02}:{:02}", t.hour, t.minute, t.second); break;
            case 'R': out += fmt::format("{:02}:{:02}", t.hour, t.minute); break;
            case 's': out += std::to_string(t.epoch); break;
            case 'z': {
                int o = t.offset < 0 ? -t.offset : t.offset;
                out += fmt::format("{}{:02}{:02}", t.offset < 0 ? '-' : '+', o / 3600, o / 60 % 60);
                break;
            }
        }
    }
    return out;
}

}  // namespace drover::detail
