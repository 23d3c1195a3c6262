#pragma once
// Load: the report as files — counts.csv, an SVG line chart of articles per day and an
// SVG bar chart of articles per month. The SVG text is built here without a library;
// the tests check it with a real XML parser.

#include "transform.hpp"

#include <filesystem>
#include <string>

namespace aggregate {

/// "date,weekday,articles,records" with one row per day of the year (0 for missing days);
/// records > articles means duplicate records in the output.
std::string counts_csv(const report& r);
/// A line chart with one polyline point per day; weekends marked.
std::string daily_svg(const report& r);
/// Twelve bars, one per month.
std::string monthly_svg(const report& r);

struct written {
    std::filesystem::path csv, daily, monthly;
};
/// Writes counts.csv, articles-per-day.svg and articles-per-month.svg into `dir`
/// (created if missing), each through a temporary file and a rename.
written write_report(const report& r, const std::filesystem::path& dir);

}  // namespace aggregate
