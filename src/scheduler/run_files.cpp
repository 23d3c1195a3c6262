#include "scheduler/run_files.hpp"

#include "detail/fs.hpp"
#include "detail/utf8.hpp"

#include <drover/error.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <random>
#include <unistd.h>

namespace drover::detail {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

json::object outcome_json(const attempt_outcome& o) {
    json::object j;
    j["attempt"] = o.attempt;
    j["failure"] = std::string(to_string(o.failure));
    if (o.exit_code >= 0) j["exit_code"] = o.exit_code;
    if (o.signal) j["signal"] = o.signal;
    j["message"] = o.message;
    j["executor"] = o.executor;
    j["records"] = o.records;
    j["bad_records"] = o.bad_records;
    j["elapsed_ms"] = o.elapsed.count();
    return j;
}

}  // namespace

std::string new_run_id() {
    auto now = std::chrono::system_clock::now();
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    std::random_device rd;
    char suffix[8];
    std::snprintf(suffix, sizeof suffix, "%04x", rd() & 0xffff);
    return std::string(buf) + "-" + suffix;
}

run_files::run_files(const fs::path& state_dir, std::string run_id, attempt_limits limits) : limits_(limits) {
    dir_ = state_dir / "runs" / run_id;
    std::error_code ec;
    fs::create_directories(dir_ / "logs", ec);
    if (ec) throw error("cannot create state directory " + dir_.string() + ": " + ec.message());
    // runs/latest -> <run-id>, replaced atomically.
    auto tmp = state_dir / "runs" / (".latest-" + run_id);
    fs::remove(tmp, ec);
    fs::create_directory_symlink(run_id, tmp, ec);
    if (!ec) fs::rename(tmp, state_dir / "runs" / "latest", ec);
}

fs::path run_files::stderr_log(std::string_view task_id, int attempt) const {
    return dir_ / "logs" / (std::string(task_id) + "." + std::to_string(attempt) + ".stderr");
}

void run_files::append(unique_fd& fd, const char* name, const std::string& line) {
    auto path = dir_ / name;
    if (!fd) {
        fd.reset(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
        if (!fd) throw_errno("cannot open", path, errno);
    }
    write_all(fd.get(), line.data(), line.size(), path);  // one write per line: lines never interleave
}

void run_files::dead_letter(const task_result& r) {
    json::object j;
    j["task"] = r.id;
    j["attempts"] = r.attempts;
    j["failure"] = std::string(to_string(r.last.failure));
    j["message"] = r.last.message;
    if (r.last.exit_code >= 0) j["exit_code"] = r.last.exit_code;
    if (r.last.signal) j["signal"] = r.last.signal;
    json::array tail;
    for (auto& l : r.last.stderr_tail) tail.emplace_back(l);
    j["stderr_tail"] = std::move(tail);
    j["log"] = stderr_log(r.id, r.last.attempt).string();
    append(dead_fd_, "dead-letter.jsonl", to_json_text(j) + "\n");
}

void run_files::bad_record(std::string_view task_id, int attempt, std::uint64_t line_no, std::string_view err,
                           std::string_view text, std::uint64_t length) {
    append_bad(bad_record_line(task_id, attempt, line_no, err, text, length));
}

void run_files::append_bad(const std::string& line) { append(bad_fd_, "bad-records.jsonl", line); }

std::string run_files::bad_records_dropped_line(std::string_view task_id, int attempt, std::uint64_t dropped,
                                                std::uint64_t bytes, std::uint64_t first_line,
                                                std::uint64_t last_line) const {
    json::object j;
    j["task"] = task_id;
    j["attempt"] = attempt;
    j["dropped"] = dropped;
    j["dropped_bytes"] = bytes;
    j["first_line"] = first_line;
    j["last_line"] = last_line;
    return to_json_text(j) + "\n";
}

std::string run_files::bad_record_line(std::string_view task_id, int attempt, std::uint64_t line_no,
                                       std::string_view err, std::string_view text, std::uint64_t length) const {
    json::object j;
    j["task"] = task_id;
    j["attempt"] = attempt;
    j["line"] = line_no;
    j["error"] = err;
    j["length"] = length;
    // JSON strings must be valid UTF-8 (strictly: Python's json refuses surrogates): a
    // line that is not keeps its exact bytes hex-encoded in "hex" instead of "text".
    put_text_or_hex(j, "text", "hex", text);
    return to_json_text(j) + "\n";
}

}  // namespace drover::detail

namespace drover {

std::string to_json(const run_summary& s) {
    namespace json = boost::json;
    json::object j;
    j["run_id"] = s.run_id;
    j["ok"] = s.ok();
    j["exit_code"] = s.exit_code();
    j["cancelled"] = s.cancelled;
    j["halted"] = s.halted;
    if (s.halted) j["halt_reason"] = s.halt_reason;
    j["total"] = s.counts.total;
    j["succeeded"] = s.counts.succeeded;
    j["dead"] = s.counts.dead;
    j["skipped"] = s.counts.skipped;
    j["upstream_failed"] = s.counts.upstream_failed;
    j["cancelled_tasks"] = s.counts.cancelled;
    j["resumed"] = s.counts.resumed;
    j["resumed_dead"] = s.counts.resumed_dead;
    j["backups"] = s.counts.backups;
    j["ran"] = s.counts.ran();
    j["records"] = s.counts.records;
    j["bad_records"] = s.counts.bad_records;
    j["elapsed_ms"] = s.counts.elapsed.count();
    j["run_dir"] = s.run_dir.string();
    j["output"] = s.output;
    json::array dead;
    for (auto& t : s.tasks) {
        if (t.state != task_state::dead) continue;
        json::object d;
        d["task"] = t.id;
        d["attempts"] = t.attempts;
        d["last"] = detail::outcome_json(t.last);
        dead.push_back(std::move(d));
    }
    j["dead_tasks"] = std::move(dead);
    return detail::to_json_text(j);  // messages and paths may hold bytes that are not UTF-8
}

}  // namespace drover

namespace drover::detail {

void run_files::host_changed(std::string_view executor, const host_info& h, bool left) {
    auto i = std::find_if(hosts_.begin(), hosts_.end(),
                          [&](auto& e) { return e.first == executor && e.second.spec == h.spec; });
    if (left) {
        if (i != hosts_.end()) hosts_.erase(i);
    } else if (i == hosts_.end()) {
        hosts_.emplace_back(std::string(executor), h);
    } else {
        i->second = h;
    }
    boost::json::array out;
    for (auto& [ex, host] : hosts_) {
        auto since = std::chrono::duration_cast<std::chrono::milliseconds>(host.since.time_since_epoch()).count();
        out.push_back(boost::json::object{{"executor", repair_utf8(ex)},
                                          {"host", repair_utf8(host.spec)},
                                          {"state", to_string(host.state)},
                                          {"since_ms", since},
                                          {"reason", repair_utf8(host.reason)}});
    }
    try {
        atomic_write_file(dir_ / "hosts.json", boost::json::serialize(out) + "\n", false);
    } catch (const std::exception&) {
        // Status information only: a full disk must not stop the run.
    }
}

void run_files::write_summary(const run_summary& s) {
    atomic_write_file(dir_ / "summary.json", to_json(s) + "\n", false);
}

}  // namespace drover::detail
