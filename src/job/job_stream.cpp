// job_stream: a job file's tasks made one at a time (job_parser::make_tasks), with the
// checks over all tasks done on a task_catalog; load_job and parse_job collect its tasks.

#include <drover/error.hpp>
#include <drover/job_stream.hpp>

#include "job/job_parser.hpp"
#include "job/select.hpp"
#include "job/task_catalog.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>

namespace drover {

namespace {

namespace fs = std::filesystem;

constexpr std::uintmax_t max_file_bytes = 64u << 20;

std::string read_job_file(const fs::path& file) {
    const std::string name = file.string();
    std::error_code ec;
    if (fs::is_directory(file, ec)) throw config_error(name, 0, 0, "", "cannot read job file: it is a directory");
    if (auto size = fs::file_size(file, ec); !ec && size > max_file_bytes)
        throw config_error(name, 0, 0, "", fmt::format("job file is too large ({} bytes; the limit is 64 MiB)", size));
    std::ifstream in(file, std::ios::binary);
    if (!in) throw config_error(name, 0, 0, "", fmt::format("cannot read job file: {}", std::strerror(errno)));
    std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (in.bad()) throw config_error(name, 0, 0, "", fmt::format("cannot read job file: {}", std::strerror(errno)));
    return text;
}

// The catalog is the stream's memory per task: it lives only while tasks are being made.
struct catalog_scope {
    detail::task_catalog& c;
    explicit catalog_scope(detail::task_catalog& c) : c(c) { c.clear(); }
    ~catalog_scope() { c.clear(); }
};

}  // namespace

struct job_stream::impl {
    job_load_options opts;
    std::string text;
    std::optional<detail::job_parser> parser;  // refers to opts and text
    detail::task_catalog catalog;

    // Tasks made once to know them all: the graph of their `after`, and which to keep.
    struct selection {
        detail::task_graph graph;
        std::vector<bool> keep;  // empty = every task
    };
    selection select() {
        parser->make_tasks(&catalog, [](task_spec&&, std::uint32_t) {});
        selection s{parser->check_after(catalog), {}};
        if (!opts.only.empty())
            s.keep = detail::select_tasks(catalog.list(), s.graph, opts.only, opts.with_dependencies);
        return s;
    }
};

job_stream::job_stream() : impl_(std::make_unique<impl>()) {}

job_stream::job_stream(const fs::path& file, const drover::kinds& k) : job_stream(file, job_load_options{}, k) {}

job_stream::job_stream(const fs::path& file, const job_load_options& o, const drover::kinds& k) : job_stream() {
    impl_->opts = o;
    impl_->text = read_job_file(file);
    impl_->parser.emplace(file.string(), k, impl_->opts);
    impl_->parser->read(impl_->text);
    impl_->parser->settings().source = file;
}

job_stream job_stream::parse(std::string_view toml_text, const std::string& source_name, const job_load_options& o,
                             const drover::kinds& k) {
    job_stream s;
    s.impl_->opts = o;
    s.impl_->text = toml_text;
    s.impl_->parser.emplace(source_name, k, s.impl_->opts);
    s.impl_->parser->read(s.impl_->text);
    return s;
}

job_stream::~job_stream() = default;
job_stream::job_stream(job_stream&&) noexcept = default;
job_stream& job_stream::operator=(job_stream&&) noexcept = default;

const job& job_stream::settings() const noexcept { return impl_->parser->settings(); }
job& job_stream::settings() noexcept { return impl_->parser->settings(); }
std::size_t job_stream::expanded_size() const noexcept { return impl_->parser->task_count(); }

std::size_t job_stream::for_each_task(const std::function<void(task_spec&&)>& fn) {
    auto& m = *impl_;
    catalog_scope scope(m.catalog);
    std::size_t n = 0;
    if (m.opts.only.empty()) {
        m.parser->make_tasks(&m.catalog, [&](task_spec&& t, std::uint32_t) {
            fn(std::move(t));
            ++n;
        });
        (void)m.parser->check_after(m.catalog);
        return n;
    }
    auto sel = m.select();
    auto list = m.catalog.list();
    m.parser->make_tasks(nullptr, [&](task_spec&& t, std::uint32_t i) {
        if (!sel.keep[i]) return;
        if (!m.opts.with_dependencies && !t.after.empty()) t.after = detail::kept_after(list, sel.graph, sel.keep, i);
        fn(std::move(t));
        ++n;
    });
    return n;
}

void job_stream::for_each_task_resolved(
    const std::function<void(std::size_t)>& start,
    const std::function<void(task_spec&&, const std::vector<std::string_view>&)>& fn) {
    auto& m = *impl_;
    catalog_scope scope(m.catalog);
    auto sel = m.select();
    auto kept = [&](std::uint32_t i) { return sel.keep.empty() || sel.keep[i]; };
    std::size_t count = m.catalog.size();
    if (!sel.keep.empty()) count = static_cast<std::size_t>(std::count(sel.keep.begin(), sel.keep.end(), true));
    start(count);
    std::vector<std::string_view> after;
    m.parser->make_tasks(nullptr, [&](task_spec&& t, std::uint32_t i) {
        if (!kept(i)) return;
        after.clear();
        if (!sel.graph.empty())
            for (auto u : sel.graph.upstream[i])
                if (kept(u)) after.push_back(m.catalog.id(u));
        fn(std::move(t), after);
    });
}

job job_stream::to_job() && {
    std::vector<task_spec> tasks;
    tasks.reserve(expanded_size());
    for_each_task([&](task_spec&& t) { tasks.push_back(std::move(t)); });
    job j = std::move(settings());
    j.tasks = std::move(tasks);
    return j;
}

scheduler make_scheduler(job_stream& s) {
    scheduler sched = make_scheduler(s.settings());
    s.for_each_task([&](task_spec&& t) { sched.submit(std::move(t)); });
    return sched;
}

job parse_job(std::string_view toml_text, const std::string& source_name, const drover::kinds& k) {
    return parse_job(toml_text, source_name, job_load_options{}, k);
}

job parse_job(std::string_view toml_text, const std::string& source_name, const job_load_options& o,
              const drover::kinds& k) {
    return job_stream::parse(toml_text, source_name, o, k).to_job();
}

job load_job(const std::filesystem::path& file, const drover::kinds& k) {
    return load_job(file, job_load_options{}, k);
}

job load_job(const std::filesystem::path& file, const job_load_options& o, const drover::kinds& k) {
    return job_stream(file, o, k).to_job();
}

}  // namespace drover
