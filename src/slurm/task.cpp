// slurm_task_options as task JSON: "slurm" {partition, account, qos, time_limit (seconds),
// memory (bytes), cpus, gres, sbatch_args}.

#include <drover/error.hpp>
#include <drover/executors/slurm.hpp>

#include "detail/json_fields.hpp"
#include "slurm/protocol.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cmath>
#include <limits>

namespace drover {

namespace json = boost::json;

namespace {

using detail::json_fields::bad;
using detail::json_fields::kind_of;
using detail::json_fields::number_of;
using detail::json_fields::string_of;

void read_settings(const json::value& v, slurm_job_settings& s) {
    if (!v.is_object()) bad("slurm", "must be an object, not " + std::string(kind_of(v)));
    for (const auto& [k, x] : v.get_object()) {
        if (k == "partition") s.partition = string_of(x, "slurm.partition");
        else if (k == "account") s.account = string_of(x, "slurm.account");
        else if (k == "qos") s.qos = string_of(x, "slurm.qos");
        else if (k == "gres") s.gres = string_of(x, "slurm.gres");
        else if (k == "time_limit")
            s.time_limit = duration(static_cast<std::int64_t>(std::llround(number_of(x, "slurm.time_limit", 0, 3.2e9) * 1000)));
        else if (k == "memory")
            s.memory = static_cast<std::uint64_t>(number_of(x, "slurm.memory", 0, 9.0e18));
        else if (k == "cpus") s.cpus = static_cast<int>(number_of(x, "slurm.cpus", 0, 1 << 20));
        else if (k == "sbatch_args") {
            if (!x.is_array()) bad("slurm.sbatch_args", "must be an array of strings, not " + std::string(kind_of(x)));
            s.sbatch_args.clear();
            for (const auto& a : x.get_array()) {
                auto arg = string_of(a, "slurm.sbatch_args");
                if (auto problem = slurm::sbatch_arg_problem(arg)) bad("slurm.sbatch_args", *problem);
                s.sbatch_args.push_back(std::move(arg));
            }
        } else {
            bad("slurm." + std::string(k),
                "unknown key (known: partition, account, qos, time_limit, memory, cpus, gres, sbatch_args)");
        }
    }
}

}  // namespace

void slurm_task_options::to_json(json::object& task) const {
    json::array args;
    for (const auto& a : job.sbatch_args) args.emplace_back(a);
    task["slurm"] = {{"partition", job.partition},
                     {"account", job.account},
                     {"qos", job.qos},
                     {"time_limit", static_cast<double>(job.time_limit.count()) / 1000.0},
                     {"memory", job.memory},
                     {"cpus", job.cpus},
                     {"gres", job.gres},
                     {"sbatch_args", std::move(args)}};
}

slurm_task_options slurm_task_options::from_json(const json::object& task, slurm_task_options base) {
    if (const auto* v = task.if_contains("slurm")) read_settings(*v, base.job);
    return base;
}

}  // namespace drover
