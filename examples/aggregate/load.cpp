#include "load.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <stdexcept>

namespace aggregate {

namespace fs = std::filesystem;

namespace {

constexpr const char* weekday_names[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr const char* month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

std::string fmt(const char* f, double a, double b = 0, double c = 0, double d = 0) {
    char buf[256];
    std::snprintf(buf, sizeof buf, f, a, b, c, d);
    return buf;
}

/// A "nice" axis maximum and step for values up to `max`.
std::pair<double, double> axis(double max) {
    if (max <= 0) return {1, 1};
    double raw = max / 5, mag = std::pow(10, std::floor(std::log10(raw)));
    double step = raw / mag <= 1 ? mag : raw / mag <= 2 ? 2 * mag : raw / mag <= 5 ? 5 * mag : 10 * mag;
    return {std::ceil(max / step) * step, step};
}

struct frame {
    double w, h, left = 70, right = 20, top = 50, bottom = 50;
    double pw() const { return w - left - right; }
    double ph() const { return h - top - bottom; }
};

std::string header(const frame& f, const std::string& title, const std::string& subtitle) {
    std::string s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    s += fmt("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
             "font-family=\"sans-serif\" font-size=\"12\">\n", f.w, f.h, f.w, f.h);
    s += fmt("<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"white\"/>\n", f.w, f.h);
    s += fmt("<text x=\"%.0f\" y=\"22\" font-size=\"16\" font-weight=\"bold\">", f.left) + title + "</text>\n";
    s += fmt("<text x=\"%.0f\" y=\"38\" fill=\"#555\">", f.left) + subtitle + "</text>\n";
    return s;
}

std::string y_grid(const frame& f, double ymax, double step) {
    std::string s = "<g class=\"y-axis\" stroke=\"#ddd\">\n";
    for (double v = 0; v <= ymax + step / 2; v += step) {
        double y = f.top + f.ph() - v / ymax * f.ph();
        s += fmt("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>", f.left, y, f.left + f.pw(), y);
        s += fmt("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" stroke=\"none\" fill=\"#333\">%.0f</text>\n",
                 f.left - 6, y + 4, v);
    }
    return s + "</g>\n";
}

void write_atomically(const fs::path& p, const std::string& content) {
    auto tmp = p;
    tmp += ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << content;
        if (!out.flush()) throw std::runtime_error(tmp.string() + ": cannot write");
    }
    fs::rename(tmp, p);
}

}  // namespace

std::string counts_csv(const report& r) {
    std::string s = "date,weekday,articles,records\n";
    for (auto& d : r.days)
        s += d.date + "," + weekday_names[d.weekday] + "," + std::to_string(d.articles) + "," + std::to_string(d.records) + "\n";
    return s;
}

std::string daily_svg(const report& r) {
    frame f{1100, 380};
    std::uint64_t max = 0;
    for (auto& d : r.days) max = std::max(max, d.articles);
    auto [ymax, step] = axis(double(max));
    std::string s = header(f, "Articles per day, " + std::to_string(r.year),
                           "total " + std::to_string(r.total) + " articles; mean per weekday " +
                               fmt("%.0f", r.weekday_mean) + ", per weekend day " + fmt("%.0f", r.weekend_mean) +
                               " (weekends shaded)");
    double n = double(r.days.size()), dx = f.pw() / std::max(1.0, n - 1);
    auto x_of = [&](std::size_t i) { return f.left + double(i) * dx; };
    auto y_of = [&](double v) { return f.top + f.ph() - v / ymax * f.ph(); };
    s += "<g class=\"weekends\" fill=\"#f0f0f0\">\n";
    for (std::size_t i = 0; i < r.days.size(); ++i)
        if (r.days[i].weekday == 5)
            s += fmt("<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>\n", x_of(i) - dx / 2, f.top, 2 * dx, f.ph());
    s += "</g>\n" + y_grid(f, ymax, step) + "<g class=\"x-axis\" fill=\"#333\">\n";
    for (std::size_t i = 0; i < r.days.size(); ++i)
        if (r.days[i].date.ends_with("-01"))
            s += fmt("<text x=\"%.1f\" y=\"%.1f\">", x_of(i), f.top + f.ph() + 18) +
                 month_names[std::stoi(r.days[i].date.substr(5, 2)) - 1] + "</text>\n";
    s += "</g>\n<polyline class=\"daily\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.2\" points=\"";
    for (std::size_t i = 0; i < r.days.size(); ++i)
        s += fmt(i ? " %.1f,%.1f" : "%.1f,%.1f", x_of(i), y_of(double(r.days[i].articles)));
    s += "\"/>\n";
    for (std::size_t i = 0; i < r.days.size(); ++i)
        if (!r.days[i].present)
            s += fmt("<circle class=\"missing\" cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"red\"/>\n", x_of(i), y_of(0));
    s += fmt("<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", f.left, f.top + f.ph(),
             f.left + f.pw(), f.top + f.ph());
    return s + "</svg>\n";
}

std::string monthly_svg(const report& r) {
    frame f{800, 360};
    std::uint64_t max = 0;
    for (auto& m : r.months) max = std::max(max, m.articles);
    auto [ymax, step] = axis(double(max));
    std::string s = header(f, "Articles per month, " + std::to_string(r.year), "total " + std::to_string(r.total) + " articles");
    s += y_grid(f, ymax, step);
    double slot = f.pw() / 12, bw = slot * 0.7;
    s += "<g class=\"months\">\n";
    for (std::size_t i = 0; i < r.months.size(); ++i) {
        double h = double(r.months[i].articles) / ymax * f.ph();
        double x = f.left + double(i) * slot + (slot - bw) / 2, y = f.top + f.ph() - h;
        s += fmt("<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#1f77b4\">", x, y, bw, h) +
             "<title>" + month_names[i] + ": " + std::to_string(r.months[i].articles) + "</title></rect>\n";
        s += fmt("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"10\">%.0f</text>\n", x + bw / 2, y - 4,
                 double(r.months[i].articles));
        s += fmt("<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", x + bw / 2, f.top + f.ph() + 18) +
             month_names[i] + "</text>\n";
    }
    return s + "</g>\n</svg>\n";
}

written write_report(const report& r, const fs::path& dir) {
    fs::create_directories(dir);
    written w{dir / "counts.csv", dir / "articles-per-day.svg", dir / "articles-per-month.svg"};
    write_atomically(w.csv, counts_csv(r));
    write_atomically(w.daily, daily_svg(r));
    write_atomically(w.monthly, monthly_svg(r));
    return w;
}

}  // namespace aggregate
