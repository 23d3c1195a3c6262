// Sink (the base every sink binds under) and FileSink.

#include "bind.hpp"

namespace drover::python {

void bind_sink_base(py::module_& m) {
    py::class_<sink, std::shared_ptr<sink>>(m, "Sink", R"doc(
Where records go, exactly once per successful task. Not constructed directly: use
FileSink or S3Sink and pass it to Scheduler(sink=...) or Scheduler.set_sink().
)doc")
        .def("describe", &sink::describe, "Human-readable location, e.g. 'out/hello'.");
}

bad_value_policy bad_values_from(const std::string& name) {
    if (name == "missing_partition") return bad_value_policy::missing_partition;
    if (name == "bad_records") return bad_value_policy::bad_records;
    throw config_error("bad_values must be \"missing_partition\" or \"bad_records\", got \"" + name + "\"");
}

const char* bad_values_name(bad_value_policy p) {
    return p == bad_value_policy::bad_records ? "bad_records" : "missing_partition";
}

void bind_file_sink(py::module_& m) {
    const file_sink_options d{};
    py::class_<file_sink, sink, std::shared_ptr<file_sink>>(m, "FileSink", R"doc(
Gzip JSON-lines files: <root>/<partition>/<task-id>.jsonl.gz (then <task-id>~1.jsonl.gz,
... when rotating). Attempts stage under <root>/.drover/staging/ and are renamed into place
only when they succeed. Read the output back with drover.read_output(root).

root               output directory (created if missing; made absolute now)
partition          directory template from task params ("date={date}") and record fields
                   ("{record.kind}"); "" = no partition directories. {name|FORMAT} formats a
                   time: "dt={record.ts|%Y-%m-%d}/hour={record.ts|%H}" (docs/sinks.md)
timezone           TZ database name the formats show times in ("Asia/Seoul"); default "UTC"
bad_values         "missing_partition" (a missing field or a value that is not a time goes
                   under __missing__) or "bad_records" (such a record is a bad record of the
                   run, with task, line and reason)
max_records        rotate after this many records per file; 0 = never
max_bytes          rotate after this many uncompressed bytes; 0 = never
rotate_interval    checkpointing tasks: publish the records up to the last checkpoint at the
                   first checkpoint this long after the last publish; seconds, "10s" or
                   timedelta; 0 = not by time (docs/sinks.md, "Checkpoints")
flush_records      ... or at the first checkpoint after this many records; 0 = not by count
                   (with both 0: at a checkpoint, at most once a second)
compression_level  zlib level 0..9
fsync              fsync files and directories on commit
)doc")
        .def(py::init([](const std::string& root, std::string partition, std::string timezone,
                         const std::string& bad_values, std::uint64_t max_records, std::uint64_t max_bytes,
                         py::object rotate_interval, std::uint64_t flush_records, int compression_level, bool fsync) {
                 file_sink_options o;
                 o.root = root;
                 o.partition = std::move(partition);
                 o.timezone = std::move(timezone);
                 o.bad_values = bad_values_from(bad_values);
                 o.max_records = max_records;
                 o.max_bytes = max_bytes;
                 o.rotate_interval = to_duration(rotate_interval, "rotate_interval");
                 if (o.rotate_interval.count() < 0) throw config_error("file sink: rotate_interval must not be negative");
                 o.flush_records = flush_records;
                 o.compression_level = compression_level;
                 o.fsync = fsync;
                 return std::make_shared<file_sink>(std::move(o));
             }),
             py::arg("root"), py::kw_only(), py::arg("partition") = d.partition, py::arg("timezone") = d.timezone,
             py::arg("bad_values") = bad_values_name(d.bad_values), py::arg("max_records") = d.max_records,
             py::arg("max_bytes") = d.max_bytes, py::arg("rotate_interval") = seconds(d.rotate_interval),
             py::arg("flush_records") = d.flush_records,
             py::arg("compression_level") = d.compression_level, py::arg("fsync") = d.fsync)
        .def_property_readonly("rotate_interval", [](const file_sink& s) { return seconds(s.options().rotate_interval); })
        .def_property_readonly("flush_records", [](const file_sink& s) { return s.options().flush_records; })
        .def_property_readonly("root", [](const file_sink& s) { return s.options().root.string(); })
        .def_property_readonly("partition", [](const file_sink& s) { return s.options().partition; })
        .def_property_readonly("timezone", [](const file_sink& s) { return s.options().timezone; })
        .def_property_readonly("bad_values", [](const file_sink& s) { return bad_values_name(s.options().bad_values); })
        .def("__repr__", [](const file_sink& s) {
            std::string r = "FileSink(" + py::repr(py::str(s.options().root.string())).cast<std::string>();
            if (!s.options().partition.empty())
                r += ", partition=" + py::repr(py::str(s.options().partition)).cast<std::string>();
            return r + ")";
        });
}

}  // namespace drover::python
