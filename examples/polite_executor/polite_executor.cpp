#include "polite_executor.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include <cerrno>
#include <cstdio>
#include <charconv>
#include <cstring>
#include <fstream>
#include <functional>
#include <system_error>

namespace polite {

namespace asio = boost::asio;

std::optional<double> executor::read_load(const std::filesystem::path& file, std::string& error) {
    std::ifstream in(file);
    std::string first;
    if (!in || !(in >> first)) {
        error = "cannot read the load average from " + file.string() + ": " +
                (in.is_open() ? std::string("it is empty") : std::string(std::strerror(errno)));
        return std::nullopt;
    }
    double load = 0;
    auto [end, ec] = std::from_chars(first.data(), first.data() + first.size(), load);
    if (ec != std::errc() || end != first.data() + first.size() || load < 0) {
        error = file.string() + ": '" + first.substr(0, 40) + "' is not a load average";
        return std::nullopt;
    }
    return load;
}

// Lives on the run's strand (executor_context::io_ex), like every call the scheduler makes, so
// can_accept() reads it without a lock. The timer's handler holds only a weak_ptr: once stop()
// dropped the watch, a late tick does nothing.
struct executor::watch : std::enable_shared_from_this<watch> {
    watch(const drover::executor_context& ctx, const options& o)
        : timer(ctx.io_ex), opts(o), capacity_changed(ctx.capacity_changed), report(ctx.report) {}

    asio::steady_timer timer;
    options opts;
    std::function<void()> capacity_changed;
    std::function<void(std::string)> report;
    bool below = true;                 // the load was below max_load at the last check
    std::optional<std::string> error;  // the load file could not be read: the executor failed

    void check() {
        if (error) return;  // failed() is final: the scheduler has stopped using this executor
        std::string problem;
        auto load = read_load(opts.load_file, problem);
        if (!load) {
            error = std::move(problem);
            if (report) report("polite: " + *error);
            if (capacity_changed) capacity_changed();  // so the scheduler sees failed()
            return;
        }
        bool now_below = *load < opts.max_load;
        if (now_below == below) return;
        below = now_below;
        if (report)
            report(below ? describe(*load, "is below", "starting tasks again")
                         : describe(*load, "is not below", "holding new tasks"));
        if (below && capacity_changed) capacity_changed();  // can_accept() may be true again
    }

    std::string describe(double load, const char* rel, const char* action) const {
        char buf[160];
        std::snprintf(buf, sizeof buf, "polite: load %.2f %s max_load %.2f: %s", load, rel, opts.max_load, action);
        return buf;
    }

    void arm() {
        timer.expires_after(opts.check_interval);
        timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
            auto self = weak.lock();
            if (ec || !self) return;  // cancelled by stop(), or the watch is gone
            self->check();
            if (!self->error) self->arm();
        });
    }
};

executor::executor(options o)
    : opts_(std::move(o)), inner_(drover::local_executor_options{.slots = opts_.slots, .kill_grace = opts_.kill_grace}) {}

executor::~executor() = default;

void executor::start(const drover::executor_context& ctx) {
    inner_.start(ctx);  // the local executor kills what an earlier, crashed run left behind
    watch_ = std::make_shared<watch>(ctx, opts_);
    watch_->check();  // the first dispatch already sees the current load
    if (!watch_->error) watch_->arm();
}

void executor::stop() noexcept {
    if (watch_) {
        watch_->timer.cancel();
        watch_.reset();
    }
    inner_.stop();
}

bool executor::can_accept() const { return !watch_ || (watch_->below && !watch_->error); }

std::optional<std::string> executor::failed() const { return watch_ ? watch_->error : std::nullopt; }

void executor::async_execute(asio::any_io_executor io_ex, const drover::attempt_request& req, drover::attempt_io& io,
                             completion_handler handler) {
    // The scheduler cancels an attempt (its timeout, cancel_task, a cancelled run) by emitting
    // the cancellation slot associated with `handler`. The inner executor listens on a slot of
    // a signal of ours: forward one to the other, and disconnect before completing.
    auto forward = std::make_shared<asio::cancellation_signal>();
    auto slot = asio::get_associated_cancellation_slot(handler);
    if (slot.is_connected()) slot.assign([forward](asio::cancellation_type type) { forward->emit(type); });

    auto done = [forward, tempfail = opts_.tempfail_exit, handler = std::move(handler)](
                    drover::execution_result r) mutable {
        auto slot = asio::get_associated_cancellation_slot(handler);
        if (slot.is_connected()) slot.clear();
        if (r.failure == drover::failure_class::exit_code && r.exit_code == tempfail) {
            // Not the task's failure: requeued without spending a retry.
            r.failure = drover::failure_class::executor_lost;
            r.message = "exit " + std::to_string(tempfail) + ": the task cannot run here now; requeued";
        }
        // The inner executor completes through io_ex, so this is already on it: the contract
        // (complete through io_ex, never inside async_execute) holds.
        std::move(handler)(std::move(r));
    };
    inner_.async_execute(io_ex, req, io, asio::bind_cancellation_slot(forward->slot(), std::move(done)));
}

void add_to(drover::kinds& k) {
    k.add_executor<options>("polite", {
        .read =
            [](const drover::job_table& t) {
                t.check_keys({"kind", "slots", "max_load", "check_interval", "load_file", "tempfail_exit", "kill_grace"});
                options o;
                if (auto v = t.get_int("slots", 1, 1024)) o.slots = static_cast<std::size_t>(*v);
                if (auto v = t.get_number("max_load")) {
                    if (*v <= 0) t.fail("max_load", "must be above 0 (a load average, e.g. 1.5)");
                    o.max_load = *v;
                }
                if (auto v = t.get_duration("check_interval")) {
                    if (*v < drover::duration(10)) t.fail("check_interval", "must be at least 10ms");
                    o.check_interval = *v;
                }
                if (auto v = t.get_string("load_file")) {
                    if (v->empty()) t.fail("load_file", "must not be empty");
                    o.load_file = *v;
                }
                if (auto v = t.get_int("tempfail_exit", 1, 255)) o.tempfail_exit = static_cast<int>(*v);
                if (auto v = t.get_duration("kill_grace")) o.kill_grace = *v;
                return o;
            },
        .make = [](const options& o) { return std::make_shared<executor>(o); },
        .slots = [](const options& o) { return o.slots; },
        .describe =
            [](const options& o, boost::json::object& d) {
                d["slots"] = o.slots;
                d["max_load"] = o.max_load;
                d["load_file"] = o.load_file.string();
            },
    });
}

}  // namespace polite
