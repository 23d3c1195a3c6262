// read_output / read_records: a file sink's output (gzip JSON lines under key=value
// partition directories) back into Python, as dicts or a pandas DataFrame. Partition values
// are decoded back to what the sink wrote them from (sanitize_component in reverse):
// `%XX` escapes to bytes (then UTF-8), `__missing__` to None, `__empty__` to "".

#include "bind.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/url/pct_string_view.hpp>

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <system_error>

namespace drover::python {

namespace fs = std::filesystem;

namespace {

struct partition_value {
    std::string key;
    std::optional<std::string> value;  // nullopt: the missing-value partition
};

// A partition directory's value as the sink got it. A value that is not validly
// percent-encoded (a '%' without two hex digits: the sink never writes one; a directory made
// by hand may) stays as it is.
std::optional<std::string> decode_value(std::string_view v) {
    if (v == "__missing__") return std::nullopt;
    if (v == "__empty__") return std::string();
    auto encoded = boost::urls::make_pct_string_view(v);
    if (!encoded) return std::string(v);
    return encoded->decode();
}

// `date=2018-01-06` -> {date, 2018-01-06}; other directory names carry no column.
std::vector<partition_value> partitions_of(const fs::path& relative_dir) {
    std::vector<partition_value> out;
    for (auto& part : relative_dir) {
        auto name = part.string();
        auto eq = name.find('=');
        if (eq == std::string::npos || eq == 0) continue;
        out.push_back({name.substr(0, eq), decode_value(std::string_view(name).substr(eq + 1))});
    }
    return out;
}

// The task id in a chunk's name: `<task>.jsonl.gz` or `<task>~<n>.jsonl.gz`, and for checkpoint
// segments `<task>@<s>.jsonl.gz` or `<task>@<s>~<n>.jsonl.gz` ("~" and "@" are not in task ids).
std::string task_of(std::string name) {
    name.resize(name.size() - std::string_view(".jsonl.gz").size());
    auto tilde = name.rfind('~');
    if (tilde != std::string::npos && tilde + 1 < name.size() &&
        name.find_first_not_of("0123456789", tilde + 1) == std::string::npos)
        name.resize(tilde);
    auto at = name.rfind('@');
    if (at != std::string::npos && at + 1 < name.size() &&
        name.find_first_not_of("0123456789", at + 1) == std::string::npos)
        name.resize(at);
    return name;
}

py::object partition_to_python(const std::optional<std::string>& v) {
    if (!v) return py::none();
    // Bytes that are not UTF-8 (a value the task printed that way) become U+FFFD.
    PyObject* s = PyUnicode_DecodeUTF8(v->data(), static_cast<Py_ssize_t>(v->size()), "replace");
    if (!s) throw py::error_already_set();
    return py::reinterpret_steal<py::object>(s);
}

/// What each row gets besides the record's own fields.
struct row_extras {
    std::vector<partition_value> parts;
    std::string task_column;  // "" = none
    std::string task;
};

// Output files in a stable order: by directory, then by name (rotation chunks `id~N` after `id`).
std::vector<fs::path> output_files(const fs::path& root) {
    std::error_code ec;
    auto st = fs::status(root, ec);
    if (ec || !fs::exists(st)) {
        PyErr_SetString(PyExc_FileNotFoundError, ("read_output: no such directory: " + root.string()).c_str());
        throw py::error_already_set();
    }
    if (fs::is_regular_file(st)) return {root};
    if (!fs::is_directory(st)) throw sink_error("read_output: not a directory or file: " + root.string());
    std::vector<fs::path> files;
    fs::recursive_directory_iterator it(root, fs::directory_options::none, ec), end;
    if (ec) throw sink_error("read_output: cannot list " + root.string() + ": " + ec.message());
    for (; it != end; it.increment(ec)) {
        if (ec) throw sink_error("read_output: cannot list " + root.string() + ": " + ec.message());
        auto name = it->path().filename().string();
        // The sink's bookkeeping (staging, manifests, lock) is not output.
        if (it->is_directory() && name.starts_with(".")) {
            it.disable_recursion_pending();
            continue;
        }
        if (it->is_regular_file() && name.ends_with(".jsonl.gz") && !name.starts_with(".")) files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    return files;
}

// Calls `line(text, number)` for every line of a gzip file. Throws sink_error for a file that
// cannot be opened, corrupt or truncated data.
template <class F>
void for_each_gzip_line(const fs::path& file, F&& line) {
    gzFile gz = gzopen(file.c_str(), "rb");
    if (!gz) throw sink_error("read_output: cannot open " + file.string());
    struct closer {
        gzFile g;
        ~closer() { gzclose(g); }
    } guard{gz};
    std::string pending;
    std::vector<char> buf(1 << 16);
    std::size_t number = 0;
    for (;;) {
        int n = gzread(gz, buf.data(), static_cast<unsigned>(buf.size()));
        if (n < 0) {
            int err = 0;
            const char* msg = gzerror(gz, &err);
            throw sink_error("read_output: " + file.string() + ": corrupt gzip data: " + (msg ? msg : "?"));
        }
        if (n == 0) {
            int err = 0;
            const char* msg = gzerror(gz, &err);
            if (err != Z_OK && err != Z_STREAM_END)
                throw sink_error("read_output: " + file.string() + ": " + (msg ? msg : "read error"));
            break;
        }
        pending.append(buf.data(), static_cast<std::size_t>(n));
        std::size_t start = 0;
        for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n', start)) {
            line(std::string_view(pending).substr(start, nl - start), ++number);
            start = nl + 1;
        }
        pending.erase(0, start);
    }
    if (!pending.empty()) line(std::string_view(pending), ++number);
}

// One record line as a dict, with the partition columns it lacks filled in, and the task
// column when asked for.
py::dict record_row(std::string_view text, const std::string& where, std::size_t number, const row_extras& extras) {
    boost::system::error_code jec;
    auto v = boost::json::parse(text, jec);
    if (jec || !v.is_object())
        throw sink_error("read_output: " + where + ":" + std::to_string(number) + ": " +
                         (jec ? "invalid JSON: " + jec.message() : std::string("not a JSON object")));
    py::dict row = to_python(v);
    // A partition value fills in a field the record lacks; the record's own value wins.
    for (auto& p : extras.parts)
        if (!row.contains(p.key)) row[py::str(p.key)] = partition_to_python(p.value);
    if (!extras.task_column.empty()) {
        if (row.contains(extras.task_column))
            throw sink_error("read_output: " + where + ":" + std::to_string(number) + ": the record has a field '" +
                             extras.task_column + "' itself; choose another task_column");
        row[py::str(extras.task_column)] = extras.task;
    }
    return row;
}

py::list read_file_records(const std::string& path, bool partitions, const std::string& task_column) {
    fs::path root(path);
    py::list rows;
    for (auto& file : output_files(root)) {
        row_extras extras{{}, task_column, task_of(file.filename().string())};
        if (partitions) {
            std::error_code ec;
            auto rel = fs::is_directory(root) ? fs::relative(file.parent_path(), root, ec) : fs::path();
            if (!ec) extras.parts = partitions_of(rel);
        }
        for_each_gzip_line(file, [&](std::string_view text, std::size_t number) {
            if (text.empty()) return;
            rows.append(record_row(text, file.string(), number, extras));
        });
    }
    return rows;
}


/// Where and how to read s3:// output (read_output's keyword arguments).
struct s3_source {
    std::string endpoint, region, profile;
    bool path_style = false;
    std::string access_key_id, secret_access_key, session_token;
};

// The prefix of "s3://bucket/prefix" ("" without one), without a trailing '/'.
std::string s3_prefix_of(const std::string& url) {
    auto rest = std::string_view(url).substr(5);
    auto slash = rest.find('/');
    if (slash == std::string_view::npos) return {};
    auto prefix = std::string(rest.substr(slash + 1));
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    return prefix;
}

// Every `*.jsonl.gz` object under the prefix, in key order; partition columns from the
// `key=value` segments between the prefix and the object's name.
py::list read_s3_records(const std::string& url, bool partitions, const std::string& task_column,
                         const s3_source& src) {
    s3_sink_options o;
    o.url = url;
    o.endpoint = src.endpoint;
    o.region = src.region;
    o.path_style = src.path_style;
    o.profile = src.profile;
    o.credentials = s3_credentials_from(src.access_key_id, src.secret_access_key, src.session_token);
    const auto prefix = s3_prefix_of(url);
    const auto bucket = url.substr(5, url.find('/', 5) == std::string::npos ? std::string::npos : url.find('/', 5) - 5);
    py::list rows;
    std::unique_ptr<s3_reader> reader;
    std::vector<s3_reader::object> objects;
    {
        py::gil_scoped_release release;  // network I/O: other Python threads keep running
        reader = std::make_unique<s3_reader>(o);
        objects = reader->list();
    }
    for (auto& obj : objects) {
        auto rel = prefix.empty() ? obj.key : obj.key.substr(std::min(obj.key.size(), prefix.size() + 1));
        auto name = fs::path(rel).filename().string();
        if (!name.ends_with(".jsonl.gz") || name.starts_with(".")) continue;
        row_extras extras{{}, task_column, task_of(name)};
        if (partitions) extras.parts = partitions_of(fs::path(rel).parent_path());
        std::vector<std::string> lines;
        {
            py::gil_scoped_release release;
            reader->read_lines(obj.key, [&](std::string_view line) { lines.emplace_back(line); });
        }
        const auto where = "s3://" + bucket + "/" + obj.key;
        std::size_t number = 0;
        for (auto& line : lines) {
            ++number;
            if (line.empty()) continue;
            rows.append(record_row(line, where, number, extras));
        }
    }
    return rows;
}

py::list read_records(const std::string& path, bool partitions, const std::string& task_column,
                      const s3_source& src) {
    if (path.starts_with("s3://")) return read_s3_records(path, partitions, task_column, src);
    return read_file_records(path, partitions, task_column);
}

}  // namespace

void bind_output_reader(py::module_& m) {
    const s3_sink_options d{};
    auto records = [](const std::string& path, bool partitions, const std::string& task_column, std::string endpoint,
                      std::string region, bool path_style, std::string profile, std::string access_key_id,
                      std::string secret_access_key, std::string session_token) {
        return read_records(path, partitions, task_column,
                            s3_source{std::move(endpoint), std::move(region), std::move(profile), path_style,
                                      std::move(access_key_id), std::move(secret_access_key),
                                      std::move(session_token)});
    };
    m.def("read_records", records, py::arg("path"), py::kw_only(), py::arg("partitions") = true,
          py::arg("task_column") = "", py::arg("endpoint") = d.endpoint, py::arg("region") = d.region,
          py::arg("path_style") = d.path_style, py::arg("profile") = d.profile, py::arg("access_key_id") = "",
          py::arg("secret_access_key") = "", py::arg("session_token") = "", R"doc(
A sink's output as a list of dicts, one per record, without needing pandas.

path is a file sink's root directory (or one .jsonl.gz file), or an S3 sink's
"s3://bucket/prefix". Files (objects) are read in path (key) order; the file sink's own
bookkeeping under .drover/ is skipped. With partitions=True every `key=value` directory
(key segment) between the root and a file adds `key` to that file's records unless a record
has the field itself: the value decoded back to what the sink was given (`%XX` escapes
undone, so "New%20York%2F%C3%9C" is "New York/Ü"), None for the missing-value partition
`__missing__`, "" for `__empty__`. A value the sink had to cut (over 200 bytes) keeps its
`~hash` ending. task_column="task" adds the task id (from the file name) as a column of that
name; a record with a field of that name raises SinkError. Raises FileNotFoundError for a missing path and SinkError
(naming file:line, or s3://bucket/key:line) for corrupt gzip data or a line that is not a
JSON object, and for S3 requests that fail (with the server's error code and message).

For s3:// paths, endpoint, region, path_style, profile and the explicit credentials
(access_key_id, secret_access_key, session_token) mean what they mean for S3Sink, with the
same defaults and the same environment / ~/.aws fallbacks. Credentials never appear in errors.
)doc");
    m.def(
        "read_output",
        [records](const std::string& path, bool partitions, const std::string& task_column, std::string endpoint,
                  std::string region, bool path_style, std::string profile, std::string access_key_id,
                  std::string secret_access_key, std::string session_token) {
            auto pd = import_pandas("read_output()");
            return pd.attr("DataFrame")(records(path, partitions, task_column, std::move(endpoint), std::move(region),
                                                path_style, std::move(profile), std::move(access_key_id),
                                                std::move(secret_access_key), std::move(session_token)));
        },
        py::arg("path"), py::kw_only(), py::arg("partitions") = true, py::arg("task_column") = "",
        py::arg("endpoint") = d.endpoint,
        py::arg("region") = d.region, py::arg("path_style") = d.path_style, py::arg("profile") = d.profile,
        py::arg("access_key_id") = "", py::arg("secret_access_key") = "", py::arg("session_token") = "", R"doc(
A sink's output as a pandas DataFrame: one row per record, one column per field, plus the
partition columns (e.g. `date` from date=2018-01-06/ directories or key segments; decoded,
None for __missing__), and with task_column="task" the task id. path is a directory or
"s3://bucket/prefix"; the keyword arguments are read_records'.

    df = drover.read_output("out/news")
    df = drover.read_output("s3://news/crawl", endpoint="http://127.0.0.1:4568", path_style=True)
    df.groupby("date").size().plot()
    df = drover.read_output("out/news", task_column="task")
)doc");
}

}  // namespace drover::python
