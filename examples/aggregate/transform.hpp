#pragma once
// Transform: per-partition counts → one row per day of the year, month totals and the
// weekday/weekend shape. Pure: no files, no processes; unit-tested on its own.

#include "extract.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace aggregate {

struct day_row {
    std::string date;        ///< YYYY-MM-DD
    int weekday = 0;         ///< 0 = Monday .. 6 = Sunday
    std::uint64_t articles = 0;  ///< distinct (oid, aid)
    std::uint64_t records = 0;   ///< all records; more than articles means duplicates
    bool present = false;    ///< a partition existed for the day
};

struct month_row {
    int month = 0;           ///< 1..12
    std::uint64_t articles = 0;
    int days = 0;            ///< days of the month with a partition
};

struct report {
    int year = 0;
    std::vector<day_row> days;          ///< every day of the year, in order
    std::vector<month_row> months;      ///< 12 rows
    std::vector<std::string> missing;   ///< days without a partition
    std::uint64_t total = 0;
    std::uint64_t duplicates = 0, bad_lines = 0, wrong_date = 0;
    double weekday_mean = 0, weekend_mean = 0;  ///< articles per present day
};

/// Merges partition counts. `year` 0 = the year of the first count. Throws
/// std::invalid_argument for a malformed date, a date outside the year, or a date twice.
report summarize(const std::vector<partition_count>& counts, int year = 0);

}  // namespace aggregate
