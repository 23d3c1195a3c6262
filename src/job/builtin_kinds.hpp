#pragma once
// The built-in executor and sink kinds, each in its own file: how it reads its job-file
// table (job_table, the same view a program's own kind gets) and makes itself.

#include <drover/error.hpp>
#include <drover/executors/docker.hpp>
#include <drover/executors/local.hpp>
#include <drover/executors/slurm.hpp>
#include <drover/executors/ssh.hpp>
#include <drover/kinds.hpp>
#include <drover/executors/host_pool.hpp>
#include <drover/sinks/file.hpp>
#include <drover/sinks/s3.hpp>

#include <functional>
#include <string_view>
#include <vector>

namespace drover::detail {

executor_kind<local_executor_options> local_kind();    // local_kind.cpp
executor_kind<ssh_executor_options> ssh_kind();        // ssh_kind.cpp
executor_kind<docker_executor_options> docker_kind();  // docker_kind.cpp: also the task keys
executor_kind<slurm_executor_options> slurm_kind();    // slurm_kind.cpp: also the task key `slurm`
sink_kind<file_sink_options> file_sink_kind();         // file_sink_kind.cpp
sink_kind<s3_sink_options> s3_sink_kind();             // s3_sink_kind.cpp

/// Registers the six above.
void add_builtin_kinds(kinds& k);

/// `max_line_bytes` of an executor table: a size of at least 1 byte.
std::optional<std::size_t> line_limit(const job_table& t);
/// `partition` of a sink table, checked as the sinks will check it ("../escape", "/abs" and
/// "./a" are refused at their place in the file, so `drover validate` refuses them too).
std::optional<std::string> partition_key(const job_table& t);
/// `timezone` of a sink table: a TZ database name the sink can load ("Asia/Seoul").
std::optional<std::string> timezone_key(const job_table& t);
/// `bad_values` of a sink table: "missing_partition" or "bad_records".
std::optional<bad_value_policy> bad_values_key(const job_table& t);
/// bad_value_policy as written in job files.
std::string_view to_string(bad_value_policy p);
/// A duration key that must be more than zero when present (host_pool_keys.cpp).
std::optional<duration> get_positive_duration(const job_table& t, std::string_view key);

/// The keys of host_pool_options (host_pool_keys.cpp): add them to check_keys. `check`
/// throws config_error for a host in the wrong format; `example` shows a good one.
extern const std::vector<std::string_view> host_pool_keys;
void read_host_pool(const job_table& t, host_pool_options& o, const std::function<void(const std::string&)>& check,
                    std::string_view example);
void describe_host_pool(const host_pool_options& o, boost::json::object& d);

/// Seconds as JSON, the way durations are shown (Python: float seconds).
double seconds(duration d);

}  // namespace drover::detail
