// drover::make_exec_job: the job of `drover exec` (exec.hpp), built from a command template
// and argument groups instead of a job file.

#include <drover/error.hpp>
#include <drover/exec.hpp>
#include <drover/executors/local.hpp>
#include <drover/sinks/file.hpp>

#include "detail/utf8.hpp"
#include "job/exec_template.hpp"
#include "sinks/partition.hpp"
#include "sinks/stdout.hpp"

#include <boost/json/object.hpp>

#include <fmt/format.h>

#include <cstdint>
#include <fstream>
#include <istream>
#include <unordered_map>

namespace drover {

namespace {

constexpr std::size_t max_id_chars = 120;  // valid_task_id allows 200: room for suffixes
constexpr std::size_t cut_id_chars = 100;

bool literal_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

// 64-bit FNV-1a over the values, each with its length, so ("ab","c") and ("a","bc") differ.
std::uint64_t values_hash(const std::vector<std::string>& values) {
    std::uint64_t h = 14695981039346656037ull;
    auto mix = [&h](unsigned char c) { h = (h ^ c) * 1099511628211ull; };
    for (const auto& v : values) {
        for (int i = 0; i < 8; ++i) mix(static_cast<unsigned char>(v.size() >> (8 * i)));
        for (char c : v) mix(static_cast<unsigned char>(c));
    }
    return h;
}

// The `stdout` sink kind of an exec job's kinds: records to stdout per task (sinks/stdout.hpp).
struct stdout_sink_options {};

kinds exec_kinds() {
    kinds k;
    k.add_sink<stdout_sink_options>(
        "stdout", {
                      .read =
                          [](const job_table& t) {
                              t.check_keys({"kind"});
                              return stdout_sink_options{};
                          },
                      .make = [](const stdout_sink_options&) { return std::make_shared<detail::stream_sink>(stdout); },
                      .location = [](const stdout_sink_options&) { return std::string("stdout"); },
                  });
    return k;
}

// What is wrong with an argument, or empty.
std::string argument_problem(const std::string& v) {
    if (v.size() > max_exec_argument_bytes) return fmt::format("an argument is longer than {} bytes", max_exec_argument_bytes);
    if (v.find('\0') != std::string::npos) return "an argument holds a NUL byte";
    if (!detail::valid_utf8(v)) return "an argument is not UTF-8 text: '" + detail::terminal_safe(v) + "'";
    return {};
}

}  // namespace

std::string exec_task_id(const std::vector<std::string>& values) {
    std::string id;
    std::size_t cut = std::string::npos;  // where the id may be cut: between whole escapes
    for (std::size_t g = 0; g < values.size(); ++g) {
        if (g) id += '=';
        const auto& v = values[g];
        if (v.empty()) id += '_';
        for (std::size_t i = 0; i < v.size(); ++i) {
            if (id.size() <= cut_id_chars) cut = id.size();
            char c = v[i];
            bool leading = id.empty() && (c == '.' || c == '-');
            if (literal_char(c) && !leading)
                id += c;
            else if (c == '_')
                id += "__";
            else
                id += fmt::format("_{:02x}", static_cast<unsigned char>(c));
        }
    }
    if (id.size() > max_id_chars) {
        if (cut == std::string::npos || cut > cut_id_chars) cut = cut_id_chars;
        id = fmt::format("{}_h{:016x}", id.substr(0, cut), values_hash(values));
    }
    return id;
}

job make_exec_job(const exec_spec& s) {
    if (s.groups.empty()) throw config_error("exec: no arguments (give ::: ARGS, :::: FILE or lines on stdin)");
    detail::exec_template tpl(s.command, s.groups.size(), s.shell);
    std::size_t total = 1;
    for (std::size_t g = 0; g < s.groups.size(); ++g) {
        const auto& group = s.groups[g];
        if (group.empty()) throw config_error(fmt::format("exec: argument group {} is empty", g + 1));
        for (const auto& v : group)
            if (auto problem = argument_problem(v); !problem.empty())
                throw config_error(fmt::format("exec: argument group {}: {}", g + 1, problem));
        if (total > max_exec_tasks / group.size())
            throw config_error(fmt::format("exec: the argument groups make more than {} tasks", max_exec_tasks));
        total *= group.size();
    }
    if (!s.partition.empty() && !s.out) throw config_error("exec: a partition needs an output directory (--out)");
    if (s.retries < 0) throw config_error("exec: retries must not be negative");

    job j;
    j.name = "exec";
    j.source = "exec";
    j.kinds = exec_kinds();
    j.options.state_dir = s.state_dir;
    j.options.journal.enabled = true;
    j.options.journal.job_name = j.name;
    j.executors.push_back({"local", local_executor_options{.slots = s.slots}});
    if (s.out) {
        if (s.out->empty()) throw config_error("exec: the output directory must not be empty");
        file_sink_options o{.root = *s.out, .partition = s.partition};
        if (!o.partition.empty()) {
            std::map<std::string, std::string> params{{"n", "1"}};  // what every task has
            for (std::size_t g = 1; g <= s.groups.size(); ++g) params["arg" + std::to_string(g)] = "x";
            try {
                (void)detail::partition_template(o.partition).bind(params);
            } catch (const std::exception& e) {  // config_error, or sink_error for an unknown param
                throw config_error("exec: partition '" + detail::terminal_safe(o.partition) + "': " + e.what());
            }
        }
        j.sink = sink_config{"file", std::move(o)};
    } else {
        j.sink = sink_config{"stdout", stdout_sink_options{}};
    }

    // The cross product, the first group outermost.
    j.tasks.reserve(total);
    std::vector<std::size_t> at(s.groups.size(), 0);
    std::vector<std::string> values(s.groups.size());
    std::unordered_map<std::string, std::size_t> seen;
    seen.reserve(total);
    for (std::size_t n = 1; n <= total; ++n) {
        for (std::size_t g = 0; g < at.size(); ++g) values[g] = s.groups[g][at[g]];
        task_spec t;
        t.id = exec_task_id(values);
        if (auto k = ++seen[t.id]; k > 1) t.id += "_r" + std::to_string(k);
        t.command = tpl.fill(values, n);
        t.params["n"] = std::to_string(n);
        for (std::size_t g = 0; g < values.size(); ++g) t.params["arg" + std::to_string(g + 1)] = values[g];
        t.retries = s.retries;
        t.timeout = s.timeout;
        t.backoff = s.backoff;
        // Records are what the command prints: a line like {"$drover": ...} is a record too.
        t.control_lines = false;
        j.tasks.push_back(std::move(t));
        for (std::size_t g = at.size(); g-- > 0;) {  // odometer: the last group fastest
            if (++at[g] < s.groups[g].size()) break;
            at[g] = 0;
        }
    }
    return j;
}

std::vector<std::string> read_exec_arguments(std::istream& in, std::string_view source) {
    std::vector<std::string> out;
    std::string line;
    std::size_t number = 0;
    while (std::getline(in, line)) {
        ++number;
        auto where = [&] { return fmt::format("{}:{}", detail::terminal_safe(source), number); };
        if (out.size() == max_exec_tasks)
            throw config_error(fmt::format("{}: more than {} arguments", where(), max_exec_tasks));
        if (auto problem = argument_problem(line); !problem.empty()) throw config_error(where() + ": " + problem);
        out.push_back(std::move(line));
    }
    if (in.bad()) throw config_error(fmt::format("{}: cannot read", detail::terminal_safe(source)));
    return out;
}

std::vector<std::string> read_exec_arguments(const std::filesystem::path& file) {
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec))
        throw config_error(detail::terminal_safe(file.string()) + ": is a directory, not a file of arguments");
    std::ifstream in(file, std::ios::binary);
    if (!in) throw config_error(detail::terminal_safe(file.string()) + ": cannot open the file of arguments");
    return read_exec_arguments(in, file.string());
}

}  // namespace drover
