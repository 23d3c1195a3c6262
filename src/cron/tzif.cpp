#include "cron/tzif.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <stdexcept>

namespace drover::detail {

namespace chr = std::chrono;

namespace {

[[noreturn]] void bad(const std::string& what) { throw std::invalid_argument(what); }

std::int64_t days_from_civil(int y, unsigned m, unsigned d) {
    return chr::sys_days(chr::year{y} / chr::month{m} / chr::day{d}).time_since_epoch().count();
}

bool leap(int y) { return chr::year{y}.is_leap(); }

unsigned days_in_month(int y, unsigned m) {
    return static_cast<unsigned>((chr::year{y} / chr::month{m} / chr::last).day());
}

int year_of(std::int64_t t) {
    auto days = chr::floor<chr::days>(chr::sys_seconds(chr::seconds(t)));
    return static_cast<int>(chr::year_month_day(days).year());
}

// ---- POSIX TZ strings ------------------------------------------------------------------

class tz_text {
public:
    explicit tz_text(std::string_view s) : s_(s) {}
    bool done() const { return i_ >= s_.size(); }
    char peek() const { return done() ? '\0' : s_[i_]; }
    bool eat(char c) {
        if (peek() != c) return false;
        ++i_;
        return true;
    }
    [[noreturn]] void fail(const std::string& what) const {
        bad("TZ rule \"" + std::string(s_) + "\": " + what + " at position " + std::to_string(i_ + 1));
    }

    // "CET" (3+ letters) or "<+0330>" (3+ letters, digits, '+', '-').
    void name() {
        std::size_t n = 0;
        if (eat('<')) {
            while (!done() && peek() != '>') {
                char c = peek();
                if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-') fail("bad character in <name>");
                ++i_, ++n;
            }
            if (!eat('>')) fail("unterminated <name>");
        } else {
            while (std::isalpha(static_cast<unsigned char>(peek()))) ++i_, ++n;
        }
        if (n < 3) fail("a zone name needs at least 3 characters");
    }

    int number(int max) {
        if (!std::isdigit(static_cast<unsigned char>(peek()))) fail("expected a number");
        int v = 0;
        while (std::isdigit(static_cast<unsigned char>(peek()))) {
            v = v * 10 + (s_[i_++] - '0');
            if (v > max) fail("number out of range");
        }
        return v;
    }

    // [+-]hh[:mm[:ss]], hours up to max_hours.
    std::int32_t hms(int max_hours) {
        int sign = 1;
        if (eat('-')) sign = -1;
        else eat('+');
        std::int32_t v = number(max_hours) * 3600;
        if (eat(':')) {
            v += number(59) * 60;
            if (eat(':')) v += number(59);
        }
        return sign * v;
    }

    bool starts_offset() const {
        char c = peek();
        return c == '+' || c == '-' || std::isdigit(static_cast<unsigned char>(c));
    }

private:
    std::string_view s_;
    std::size_t i_ = 0;
};

}  // namespace

posix_tz posix_tz::parse(std::string_view text) {
    tz_text in(text);
    posix_tz z;
    in.name();
    if (!in.starts_offset()) in.fail("expected the UTC offset");
    z.std_offset_ = -in.hms(24);  // POSIX offsets count west of Greenwich
    if (in.done()) return z;
    in.name();
    z.dst_offset_ = z.std_offset_ + 3600;
    if (in.starts_offset()) z.dst_offset_ = -in.hms(24);
    if (in.done()) {  // no rule given: the US rule, as glibc assumes
        z.start_ = {rule::month_week_day, 0, 2, 3, 7200};
        z.end_ = {rule::month_week_day, 0, 1, 11, 7200};
        return z;
    }
    auto one_rule = [&](rule& r) {
        if (!in.eat(',')) in.fail("expected ','");
        if (in.eat('M')) {
            r.kind = rule::month_week_day;
            r.month = in.number(12);
            if (r.month < 1) in.fail("month must be 1..12");
            if (!in.eat('.')) in.fail("expected '.'");
            r.week = in.number(5);
            if (r.week < 1) in.fail("week must be 1..5");
            if (!in.eat('.')) in.fail("expected '.'");
            r.day = in.number(6);
        } else if (in.eat('J')) {
            r.kind = rule::julian_no_leap;
            r.day = in.number(365);
            if (r.day < 1) in.fail("Jn needs n in 1..365");
        } else {
            r.kind = rule::julian_zero;
            r.day = in.number(365);
        }
        r.time = 7200;
        if (in.eat('/')) r.time = in.hms(167);  // RFC 8536 allows -167..167 hours
    };
    one_rule(z.start_);
    one_rule(z.end_);
    if (!in.done()) in.fail("unexpected text after the rules");
    return z;
}

std::int64_t posix_tz::transition(int year, const rule& r, std::int32_t offset_before) const {
    std::int64_t day = 0;
    switch (r.kind) {
        case rule::julian_no_leap:  // J1..J365, February 29 never counted
            day = days_from_civil(year, 1, 1) + r.day - 1 + (leap(year) && r.day >= 60 ? 1 : 0);
            break;
        case rule::julian_zero:  // 0..365, February 29 counted
            day = days_from_civil(year, 1, 1) + std::min(r.day, leap(year) ? 365 : 364);
            break;
        case rule::month_week_day: {
            auto m = static_cast<unsigned>(r.month);
            auto first = days_from_civil(year, m, 1);
            int first_wd = static_cast<int>(chr::weekday(chr::sys_days(chr::days(first))).c_encoding());
            unsigned d = 1 + static_cast<unsigned>((r.day - first_wd + 7) % 7) + 7u * static_cast<unsigned>(r.week - 1);
            while (d > days_in_month(year, m)) d -= 7;  // week 5 = the last one
            day = first + d - 1;
            break;
        }
    }
    return day * 86400 + r.time - offset_before;
}

std::int32_t posix_tz::offset_at(std::int64_t t) const {
    if (!dst_offset_) return std_offset_;
    // The transitions of the years around t, in order; the last one at or before t decides.
    // At equal instants an end comes before a start (zones on DST all year).
    struct change {
        std::int64_t at;
        int order;
        std::int32_t offset;
    };
    std::array<change, 6> changes{};
    int y = year_of(t), k = 0;
    for (int year = y - 1; year <= y + 1; ++year) {
        changes[k++] = {transition(year, start_, std_offset_), 1, *dst_offset_};
        changes[k++] = {transition(year, end_, *dst_offset_), 0, std_offset_};
    }
    std::sort(changes.begin(), changes.end(),
              [](const change& a, const change& b) { return a.at != b.at ? a.at < b.at : a.order < b.order; });
    std::int32_t off = std_offset_;
    for (const auto& c : changes)
        if (c.at <= t) off = c.offset;
    return off;
}

// ---- TZif files ------------------------------------------------------------------------

namespace {

class byte_reader {
public:
    byte_reader(std::string_view b, const std::string& name) : b_(b), name_(name) {}
    void need(std::uint64_t n, const char* what) const {
        if (n > b_.size() - pos_) bad(name_ + ": not a valid TZif file: truncated in " + what);
    }
    std::uint8_t u8(const char* what) {
        need(1, what);
        return static_cast<std::uint8_t>(b_[pos_++]);
    }
    std::uint32_t be32(const char* what) {
        need(4, what);
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<std::uint8_t>(b_[pos_++]);
        return v;
    }
    std::int64_t be64(const char* what) {
        need(8, what);
        std::uint64_t v = 0;
        for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<std::uint8_t>(b_[pos_++]);
        return static_cast<std::int64_t>(v);
    }
    void skip(std::uint64_t n, const char* what) {
        need(n, what);
        pos_ += static_cast<std::size_t>(n);
    }
    std::string_view rest() const { return b_.substr(pos_); }

private:
    std::string_view b_;
    std::size_t pos_ = 0;
    const std::string& name_;
};

struct header {
    char version;
    std::uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

header read_header(byte_reader& r, const std::string& name) {
    r.need(44, "the header");
    char magic[4];
    for (char& c : magic) c = static_cast<char>(r.u8("the header"));
    if (std::string_view(magic, 4) != "TZif") bad(name + ": not a TZif file (no \"TZif\" magic)");
    header h{};
    h.version = static_cast<char>(r.u8("the header"));
    if (h.version != 0 && (h.version < '2' || h.version > '9')) bad(name + ": unknown TZif version");
    r.skip(15, "the header");
    h.isutcnt = r.be32("the header");
    h.isstdcnt = r.be32("the header");
    h.leapcnt = r.be32("the header");
    h.timecnt = r.be32("the header");
    h.typecnt = r.be32("the header");
    h.charcnt = r.be32("the header");
    if (h.typecnt == 0 || h.typecnt > 256) bad(name + ": not a valid TZif file: " + std::to_string(h.typecnt) + " local time types");
    if ((h.isutcnt != 0 && h.isutcnt != h.typecnt) || (h.isstdcnt != 0 && h.isstdcnt != h.typecnt))
        bad(name + ": not a valid TZif file: indicator counts do not match the type count");
    return h;
}

std::uint64_t block_size(const header& h, int time_size) {
    return std::uint64_t{h.timecnt} * (time_size + 1) + std::uint64_t{h.typecnt} * 6 + h.charcnt +
           std::uint64_t{h.leapcnt} * (time_size + 4) + h.isstdcnt + h.isutcnt;
}

}  // namespace

tzif_zone tzif_zone::parse(std::string_view bytes, const std::string& name) {
    byte_reader r(bytes, name);
    header h = read_header(r, name);
    int time_size = 4;
    if (h.version >= '2') {  // skip the 32-bit block; the 64-bit one follows with its own header
        r.skip(block_size(h, 4), "the version 1 data");
        h = read_header(r, name);
        time_size = 8;
    }
    r.need(block_size(h, time_size), "the data block");
    tzif_zone z;
    z.times_.resize(h.timecnt);
    for (auto& t : z.times_)
        t = time_size == 8 ? r.be64("transition times") : static_cast<std::int32_t>(r.be32("transition times"));
    for (std::size_t i = 1; i < z.times_.size(); ++i)
        if (z.times_[i] <= z.times_[i - 1]) bad(name + ": not a valid TZif file: transition times out of order");
    z.types_.resize(h.timecnt);
    for (auto& t : z.types_) {
        t = r.u8("transition types");
        if (t >= h.typecnt) bad(name + ": not a valid TZif file: a transition names local time type " + std::to_string(t));
    }
    z.offsets_.resize(h.typecnt);
    for (auto& o : z.offsets_) {
        o = static_cast<std::int32_t>(r.be32("local time types"));
        if (o <= -26 * 3600 || o >= 26 * 3600) bad(name + ": not a valid TZif file: UTC offset " + std::to_string(o) + " s");
        if (r.u8("local time types") > 1) bad(name + ": not a valid TZif file: bad DST flag");
        if (r.u8("local time types") >= std::max<std::uint32_t>(h.charcnt, 1))
            bad(name + ": not a valid TZif file: abbreviation index out of range");
    }
    r.skip(std::uint64_t{h.charcnt} + std::uint64_t{h.leapcnt} * (time_size + 4) + h.isstdcnt + h.isutcnt,
           "the data block");
    if (time_size == 8) {
        auto rest = r.rest();
        if (rest.empty() || rest.front() != '\n') bad(name + ": not a valid TZif file: no footer");
        auto end = rest.find('\n', 1);
        if (end == std::string_view::npos) bad(name + ": not a valid TZif file: unterminated footer");
        auto tz = rest.substr(1, end - 1);
        if (!tz.empty()) {
            try {
                z.footer_ = posix_tz::parse(tz);
            } catch (const std::invalid_argument& e) {
                bad(name + ": " + e.what());
            }
        }
    }
    return z;
}

std::int32_t tzif_zone::offset_at(std::int64_t t) const {
    if (times_.empty() || t < times_.front()) {
        if (times_.empty() && footer_) return footer_->offset_at(t);
        return offsets_.front();  // before the first transition: local time type 0 (RFC 8536)
    }
    if (t > times_.back() && footer_) return footer_->offset_at(t);
    auto k = static_cast<std::size_t>(std::upper_bound(times_.begin(), times_.end(), t) - times_.begin()) - 1;
    return offsets_[types_[k]];
}

}  // namespace drover::detail
