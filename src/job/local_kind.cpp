// `[[executors]] kind = "local"`: slots, kill_grace, max_line_bytes.

#include "job/builtin_kinds.hpp"

#include <boost/json/value.hpp>

#include <algorithm>
#include <thread>

namespace drover::detail {

executor_kind<local_executor_options> local_kind() {
    return {
        .read =
            [](const job_table& t) {
                t.check_keys({"kind", "slots", "kill_grace", "max_line_bytes"});
                local_executor_options o;
                if (auto v = t.get_int("slots", 1)) o.slots = static_cast<std::size_t>(*v);
                if (auto v = t.get_duration("kill_grace")) o.kill_grace = *v;
                if (auto v = line_limit(t)) o.max_line_bytes = *v;
                return o;
            },
        .make = [](const local_executor_options& o) { return std::make_shared<local_executor>(o); },
        .slots = [](const local_executor_options& o) -> std::size_t {
            return o.slots ? o.slots : std::max(1u, std::thread::hardware_concurrency());
        },
        .describe =
            [](const local_executor_options& o, boost::json::object& d) {
                d["slots"] = o.slots;
                d["kill_grace"] = seconds(o.kill_grace);
                d["max_line_bytes"] = o.max_line_bytes;
                d["hold_stdin"] = o.hold_stdin;
                d["kill_leftovers"] = o.kill_leftovers;
            },
    };
}

}  // namespace drover::detail
