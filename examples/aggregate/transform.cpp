#include "transform.hpp"

#include <chrono>
#include <cstdio>
#include <stdexcept>

namespace aggregate {

namespace chr = std::chrono;

namespace {

chr::year_month_day parse_date(const std::string& d) {
    unsigned y = 0, m = 0, day = 0;
    char tail = 0;
    if (d.size() != 10 || std::sscanf(d.c_str(), "%4u-%2u-%2u%c", &y, &m, &day, &tail) != 3 || d[4] != '-' || d[7] != '-')
        throw std::invalid_argument("not a YYYY-MM-DD date: '" + d + "'");
    chr::year_month_day ymd{chr::year{int(y)}, chr::month{m}, chr::day{day}};
    if (!ymd.ok()) throw std::invalid_argument("no such date: '" + d + "'");
    return ymd;
}

}  // namespace

report summarize(const std::vector<partition_count>& counts, int year) {
    report r;
    if (year == 0) year = counts.empty() ? 0 : int(parse_date(counts.front().date).year());
    if (year == 0) throw std::invalid_argument("no partitions and no year given");
    r.year = year;
    auto first = chr::sys_days{chr::year{year} / chr::January / 1};
    int ndays = chr::year{year}.is_leap() ? 366 : 365;
    r.days.resize(std::size_t(ndays));
    for (int i = 0; i < ndays; ++i) {
        chr::year_month_day ymd{first + chr::days{i}};
        char buf[16];
        std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", year, unsigned(ymd.month()), unsigned(ymd.day()));
        r.days[std::size_t(i)].date = buf;
        r.days[std::size_t(i)].weekday = int(chr::weekday{first + chr::days{i}}.iso_encoding()) - 1;
    }
    for (auto& c : counts) {
        auto ymd = parse_date(c.date);
        if (int(ymd.year()) != year)
            throw std::invalid_argument("partition date " + c.date + " is outside " + std::to_string(year));
        auto& row = r.days[std::size_t((chr::sys_days{ymd} - first).count())];
        if (row.present) throw std::invalid_argument("date " + c.date + " counted twice");
        row.present = true;
        row.articles = c.articles;
        row.records = c.records;
        r.total += c.articles;
        r.duplicates += c.records - c.articles - c.bad_lines;
        r.bad_lines += c.bad_lines;
        r.wrong_date += c.wrong_date;
    }
    r.months.resize(12);
    double wd_sum = 0, we_sum = 0;
    int wd_n = 0, we_n = 0;
    for (auto& d : r.days) {
        auto& m = r.months[std::size_t(std::stoi(d.date.substr(5, 2)) - 1)];
        m.month = std::stoi(d.date.substr(5, 2));
        if (!d.present) {
            r.missing.push_back(d.date);
            continue;
        }
        m.articles += d.articles;
        m.days++;
        if (d.weekday >= 5) { we_sum += double(d.articles); we_n++; }
        else { wd_sum += double(d.articles); wd_n++; }
    }
    r.weekday_mean = wd_n ? wd_sum / wd_n : 0;
    r.weekend_mean = we_n ? we_sum / we_n : 0;
    return r;
}

}  // namespace aggregate
