#pragma once
// Cron schedules: the standard 5 fields (minute hour day-of-month month day-of-week) with
// lists, ranges, steps and names (JAN-DEC, SUN-SAT; 0 and 7 are Sunday), the @yearly,
// @annually, @monthly, @weekly, @daily, @midnight and @hourly shorthands, and the next
// fire time in a time zone from the TZ database.
//
// Day matching follows Vixie cron: when both day fields are restricted (neither starts
// with '*'), a day matches if either does; otherwise both must.
//
// Daylight saving time (see docs/workflows.md): a local time skipped by a jump forward
// fires at the first instant after the jump; a local time that occurs twice (fall back)
// fires once, at its first occurrence.

#include <bitset>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace drover::detail {

class tzif_zone;

/// A time zone by TZ database name ("Europe/Berlin"), "UTC", or "" for the process's
/// local zone (TZ / /etc/localtime). Named zones are read from the TZ database's files
/// (TZDIR, default /usr/share/zoneinfo) once, at construction; converting never touches TZ.
class time_zone {
public:
    /// Throws config_error for a name the TZ database does not know.
    explicit time_zone(std::string name = "UTC");
    const std::string& name() const noexcept { return name_; }

    struct civil {
        int year, month, day, hour, minute, second, weekday;  // weekday 0 = Sunday
    };
    civil to_local(std::chrono::sys_seconds t) const;
    /// The instant a local time (seconds = 0) means: the earlier one when it occurs twice,
    /// the first instant after the gap when a DST jump skips it.
    std::chrono::sys_seconds from_local(int year, int month, int day, int hour, int minute) const;

private:
    std::string name_;
    bool utc_;
    std::shared_ptr<const tzif_zone> zone_;  ///< named zones other than UTC
};

class cron_schedule {
public:
    /// Throws config_error ("cron expression '...': field 3 (day of month): ...").
    static cron_schedule parse(std::string_view expr);

    /// The first fire time strictly after `t`; nullopt when there is none in the next 8 years
    /// (e.g. "0 0 30 2 *").
    std::optional<std::chrono::sys_seconds> next_after(std::chrono::sys_seconds t, const time_zone& tz) const;

    const std::string& text() const noexcept { return text_; }

private:
    bool day_matches(int year, int month, int day, int weekday) const;

    std::string text_;
    std::bitset<60> minute_;
    std::bitset<24> hour_;
    std::bitset<32> dom_;    // 1..31
    std::bitset<13> month_;  // 1..12
    std::bitset<7> dow_;     // 0..6, Sunday = 0
    bool dom_star_ = false, dow_star_ = false;
};

}  // namespace drover::detail
