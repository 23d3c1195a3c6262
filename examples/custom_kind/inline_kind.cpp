#include "inline_kind.hpp"

#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include <charconv>
#include <string>

namespace inline_kind {

namespace json = boost::json;

void task_options::to_json(json::object& task) const { task["scale"] = scale; }

task_options task_options::from_json(const json::object& task, task_options base) {
    if (const auto* v = task.if_contains("scale")) {
        if (!v->is_int64() || v->get_int64() < 1) throw drover::config_error("scale: must be a whole number >= 1");
        base.scale = v->get_int64();
    }
    return base;
}

namespace {

// The function's argument N, or -1.
long long count_of(const std::vector<std::string>& argv) {
    long long n = -1;
    if (argv.size() != 2) return -1;
    auto [end, ec] = std::from_chars(argv[1].data(), argv[1].data() + argv[1].size(), n);
    return ec == std::errc() && end == argv[1].data() + argv[1].size() && n >= 0 ? n : -1;
}

drover::execution_result run(const drover::task_spec& t, drover::attempt_io& io) {
    const auto* ext = t.extension<task_options>();
    const std::int64_t scale = ext ? ext->scale : 1;
    const auto n = count_of(t.command);
    drover::execution_result r;
    if (n >= 0 && t.command[0] == "squares") {
        for (long long i = 1; i <= n; ++i)
            io.on_stdout_line(json::serialize(json::object{{"i", i}, {"square", i * i * scale}}));
        r.exit_code = 0;
    } else if (n >= 0 && t.command[0] == "split") {
        for (long long k = 1; k <= n; ++k) {
            auto id = "square-" + std::to_string(k);
            json::object child{{"id", id},
                               {"command", json::array{"squares", std::to_string(k)}},
                               {"params", json::object{{"n", id}}},
                               {"scale", 100}};  // the extension's key in a control line
            io.on_stdout_line(json::serialize(json::object{{"$drover", json::object{{"submit", child}}}}));
        }
        r.exit_code = 0;
    } else {
        io.on_stderr("inline: unknown function or bad argument (known: squares N, split N)\n");
        r.failure = drover::failure_class::exit_code;
        r.exit_code = 127;
    }
    return r;
}

}  // namespace

void executor::async_execute(boost::asio::any_io_executor io_ex, const drover::attempt_request& req,
                             drover::attempt_io& io, completion_handler handler) {
    // The contract: complete through io_ex, never inside async_execute; `io` stays valid until
    // the handler runs. The function is quick, so cancellation needs no hook.
    boost::asio::post(io_ex, [task = req.task, &io, handler = std::move(handler)]() mutable {
        std::move(handler)(run(task, io));
    });
}

void add_to(drover::kinds& k) {
    k.add_executor<options>("inline", {
        .read =
            [](const drover::job_table& t) {
                t.check_keys({"kind", "slots"});  // a typo is an error with a did-you-mean
                options o;
                if (auto v = t.get_int("slots", 1, 64)) o.slots = static_cast<std::size_t>(*v);
                return o;
            },
        .make = [](const options& o) { return std::make_shared<executor>(o); },
        .slots = [](const options& o) { return o.slots; },
        .describe = [](const options& o, json::object& d) { d["slots"] = o.slots; },
        .task_keys = {"scale"},
        .read_task =
            [](const drover::job_table& t, drover::task_spec& spec) {
                task_options o = spec.extension<task_options>() ? *spec.extension<task_options>() : task_options{};
                if (auto v = t.get_int("scale", 1, 1000)) o.scale = *v;
                spec.set_extension(o);
            },
    });
}

}  // namespace inline_kind
