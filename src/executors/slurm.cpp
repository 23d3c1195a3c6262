// The Slurm executor: attempts as batch jobs, one squeue per poll for all of them, output
// files tailed while the jobs run. Everything runs on the run's strand; sbatch, squeue and
// scancel run as child processes (command.hpp), never blocking it.

#include <drover/executors/slurm.hpp>

#include <drover/duration.hpp>
#include <drover/error.hpp>

#include "detail/complete.hpp"
#include "detail/fs.hpp"
#include "detail/line_splitter.hpp"
#include "executors/command.hpp"
#include "executors/run_lock.hpp"
#include "slurm/protocol.hpp"

#include <drover/executors/ssh.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <deque>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace drover {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr std::size_t stderr_tail_bytes = 8192;
constexpr std::size_t read_chunk = 1u << 16;
constexpr std::size_t max_read_per_poll = 16u << 20;  // per job and file; the rest next poll

// Reads what was appended to `path` since `offset`, up to `limit` bytes (all with limit 0).
template <class Sink>
void read_new(const fs::path& path, std::uint64_t& offset, std::size_t limit, Sink&& sink) {
    detail::unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return;  // not created yet (the job has not started)
    char buf[read_chunk];
    std::size_t total = 0;
    while (limit == 0 || total < limit) {
        ssize_t n = ::pread(fd.get(), buf, sizeof buf, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        offset += static_cast<std::uint64_t>(n);
        total += static_cast<std::size_t>(n);
        sink(std::string_view(buf, static_cast<std::size_t>(n)));
    }
}

// The first error line of sbatch's stderr, for messages.
std::string first_error(const detail::command_result& c) {
    std::string_view e = c.err;
    auto pos = e.find("error:");
    if (pos != std::string_view::npos) {
        auto start = e.rfind('\n', pos);
        e.remove_prefix(start == std::string_view::npos ? 0 : start + 1);
    }
    auto nl = e.find('\n');
    std::string line(e.substr(0, std::min<std::size_t>(nl == std::string_view::npos ? e.size() : nl, 300)));
    return line.empty() ? c.problem() : line;
}

}  // namespace

// One attempt: queued for sbatch, submitted, then watched until Slurm says it ended.
struct slurm_job {
    attempt_io& io;
    executor::completion_handler handler;
    asio::any_io_executor io_ex;
    std::string task_id;
    int attempt = 0;
    slurm_job_settings settings;
    slurm::submit_files files;
    std::string script_text;
    std::string id;                  // Slurm's, once sbatch answered
    std::uint64_t submitted_poll = 0;  // polls started after this one may list it
    int missing = 0;
    std::uint64_t out_off = 0, err_off = 0;
    detail::line_splitter lines;
    std::string err_tail;
    bool cancel_requested = false, scancel_sent = false, done = false;
    bool running = false;  // squeue listed it started: its timeout runs (attempt_io::on_running)

    slurm_job(attempt_io& io, executor::completion_handler h, asio::any_io_executor ex, std::size_t max_line)
        : io(io), handler(std::move(h)), io_ex(std::move(ex)), lines(max_line) {}
};

struct slurm_executor::impl : std::enable_shared_from_this<impl> {
    explicit impl(slurm_executor_options o)
        : opts(std::move(o)), runner(local_executor_options{.slots = 1, .kill_grace = duration(1000)}) {}

    slurm_executor_options opts;
    local_executor runner;
    executor_context ctx;
    std::optional<asio::steady_timer> timer;
    std::string label;
    detail::unique_fd run_lock;
    fs::path dir;  // this run's scripts and output
    bool started = false, stopped = false, ready = false, polling = false, poll_due = false;
    std::optional<std::string> fatal;
    bool controller_down = false;
    clock_type::time_point last_answer = clock_type::now();
    std::uint64_t poll_seq = 0, file_seq = 0;
    std::size_t submitting = 0;
    std::deque<std::shared_ptr<slurm_job>> to_submit;
    std::set<std::string> in_flight_comments;  // sbatch running: its job may be listed before it answers
    std::map<std::string, std::shared_ptr<slurm_job>> jobs;  // by Slurm job id
    std::set<std::string> to_cancel;  // ids to scancel when the controller answers (lost attempts, strays)

    void report(const std::string& s) const {
        if (ctx.report) ctx.report("slurm: " + s);
    }
    void capacity_changed() const {
        if (ctx.capacity_changed) ctx.capacity_changed();
    }

    void run(std::vector<std::string> argv, std::function<void(detail::command_result)> done) {
        detail::command_request req{std::move(argv), {}, opts.command_timeout};
        detail::run_command(runner, ctx.io_ex, std::move(req),
                            [weak = weak_from_this(), done = std::move(done)](detail::command_result r) {
                                if (auto self = weak.lock(); self && !self->stopped) done(std::move(r));
                            });
    }
    std::vector<std::string> squeue_argv() const {
        return {opts.squeue, "--noheader", "--me", "--states=all", "--Format=" + std::string(slurm::squeue_format)};
    }

    // ---- start: check the settings, cancel what dead runs left, then take attempts ----

    void start(const executor_context& c) {
        ctx = c;
        timer.emplace(ctx.io_ex);
        label = detail::state_label(ctx.state_dir);
        run_lock = detail::lock_run(ctx.state_dir, "slurm", ctx.run_id);
        fs::path base = opts.shared_dir.empty() ? ctx.state_dir / "slurm" : opts.shared_dir;
        dir = fs::absolute(base) / label / ctx.run_id;
        std::error_code ec;
        fs::create_directories(dir, ec);
        if (ec) throw executor_error(fmt::format("slurm executor: cannot create {}: {}", dir.string(), ec.message()));
        remove_dead_run_dirs();
        started = true;
        last_answer = clock_type::now();
        if (opts.check_settings) check_settings();
        else reap();
    }

    void remove_dead_run_dirs() {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(dir.parent_path(), ec)) {
            auto run = e.path().filename().string();
            if (run != ctx.run_id && !detail::run_live(ctx.state_dir, "slurm", run)) fs::remove_all(e.path(), ec);
        }
    }

    slurm::submit_files probe_files() const {
        return {"drover:check", slurm::job_comment(label, ctx.run_id, "check", 0), "", "", "", workdir()};
    }

    std::string workdir() const {
        if (!opts.workdir.empty()) return opts.workdir;
        std::error_code ec;
        auto cwd = fs::current_path(ec);
        return ec ? dir.string() : cwd.string();
    }

    void check_settings() {
        auto argv = slurm::sbatch_args(opts.defaults, probe_files(), true);
        argv.insert(argv.begin(), opts.sbatch);
        run(std::move(argv), [this](detail::command_result r) {
            if (r.ok()) return reap();
            if (r.result.failure == failure_class::spawn_error) return fail(fmt::format("cannot run {}: {}", opts.sbatch, r.result.message));
            if (r.timed_out || controller_problem(r)) return retry_start([this] { check_settings(); }, r);
            diagnose(0, first_error(r));
        });
    }

    // Finds which setting sbatch refuses: first none at all (then it is not the settings),
    // then each one alone, in the order of sbatch_args.
    void diagnose(std::size_t i, std::string whole) {
        auto all = slurm::sbatch_args(opts.defaults, probe_files(), true);
        std::vector<std::string> settings;
        for (const auto& a : all)
            if (!slurm::setting_key(opts.defaults, a).empty()) settings.push_back(a);
        if (i > settings.size()) return fail("sbatch --test-only refuses these settings together: " + whole);
        auto argv = slurm::sbatch_args({}, probe_files(), true);
        if (i > 0) argv.insert(argv.end() - 1, settings[i - 1]);
        argv.insert(argv.begin(), opts.sbatch);
        run(std::move(argv), [this, i, whole, arg = i > 0 ? settings[i - 1] : std::string()](detail::command_result r) {
            if (r.ok() || r.timed_out || controller_problem(r)) return diagnose(i + 1, whole);
            if (i == 0) return fail("sbatch cannot submit any job: " + first_error(r));
            fail(fmt::format("{} ({}) is refused by sbatch: {}", slurm::setting_key(opts.defaults, arg), arg, first_error(r)));
        });
    }

    void fail(std::string why) {
        fatal = "slurm executor: " + why;
        report(why);
        capacity_changed();
    }

    static bool controller_problem(const detail::command_result& r) {
        for (std::string_view m : {"Unable to contact slurm controller", "Socket timed out", "Connection refused",
                                   "Zero Bytes were transmitted", "Communication connection failure",
                                   "Slurm backup controller in standby mode", "Unable to establish controller"})
            if (r.err.find(m) != std::string::npos) return true;
        return false;
    }

    void retry_start(std::function<void()> again, const detail::command_result& r) {
        if (clock_type::now() - last_answer > opts.controller_timeout)
            return fail("the controller does not answer: " + r.problem());
        timer->expires_after(opts.poll_interval);
        timer->async_wait([weak = weak_from_this(), again = std::move(again)](boost::system::error_code ec) {
            if (auto self = weak.lock(); self && !ec && !self->stopped) again();
        });
    }

    void reap() {
        run(squeue_argv(), [this](detail::command_result r) {
            if (!r.ok()) return retry_start([this] { reap(); }, r);
            last_answer = clock_type::now();
            std::vector<slurm::job_status> list;
            try {
                list = slurm::parse_squeue(r.out);
            } catch (const slurm::protocol_error& e) {
                return fail(std::string("cannot read squeue's answer: ") + e.what());
            }
            std::vector<std::string> stray;
            std::set<std::string> runs;
            for (const auto& j : list) {
                auto c = slurm::parse_comment(j.comment);
                if (!c || c->state != label || c->run == ctx.run_id || slurm::is_final(j.state)) continue;
                if (detail::run_live(ctx.state_dir, "slurm", c->run)) continue;
                stray.push_back(j.id);
                runs.insert(c->run);
            }
            if (stray.empty()) return now_ready();
            report(fmt::format("cancelling {} job(s) left queued or running by {} earlier run(s) of this state directory",
                               stray.size(), runs.size()));
            std::vector<std::string> argv{opts.scancel};
            argv.insert(argv.end(), stray.begin(), stray.end());
            run(std::move(argv), [this, runs](detail::command_result s) {
                if (!s.ok()) return retry_start([this] { reap(); }, s);
                for (const auto& run : runs) detail::forget_run(ctx.state_dir, "slurm", run);
                now_ready();
            });
        });
    }

    void now_ready() {
        ready = true;
        capacity_changed();
        pump_submits();
    }

    // ---- submitting ----

    void execute(asio::any_io_executor io_ex, const attempt_request& req, attempt_io& io, completion_handler handler) {
        auto job = std::make_shared<slurm_job>(io, std::move(handler), io_ex, opts.max_line_bytes);
        job->task_id = req.task.id;
        job->attempt = req.attempt;
        try {
            job->script_text = slurm::job_script(req.task);
        } catch (const config_error& e) {
            return finish(job, {failure_class::spawn_error, -1, 0, e.what()});
        }
        job->settings = slurm::effective_settings(opts.defaults, req.task);
        auto n = ++file_seq;
        job->files = {"drover:" + slurm::safe_text(req.task.id, 100),
                      slurm::job_comment(label, ctx.run_id, req.task.id, req.attempt),
                      (dir / fmt::format("{}.sh", n)).string(),
                      (dir / fmt::format("{}.out", n)).string(),
                      (dir / fmt::format("{}.err", n)).string(),
                      workdir()};
        auto slot = asio::get_associated_cancellation_slot(job->handler);
        if (slot.is_connected())
            slot.assign([weak = weak_from_this(), job](asio::cancellation_type) {
                if (auto self = weak.lock()) self->cancel(job);
            });
        job->io.on_queued();  // the task's timeout counts from when Slurm starts the job
        to_submit.push_back(job);
        pump_submits();
    }

    void pump_submits() {
        while (ready && !controller_down && submitting < std::max<std::size_t>(1, opts.max_submits) && !to_submit.empty()) {
            auto job = to_submit.front();
            to_submit.pop_front();
            submit(job);
        }
    }

    void submit(const std::shared_ptr<slurm_job>& job) {
        {
            std::ofstream f(job->files.script, std::ios::trunc);
            ::chmod(job->files.script.c_str(), 0600);  // env values may be secrets
            f << job->script_text;
            if (!f.flush())
                return finish(job, {failure_class::spawn_error, -1, 0, "cannot write the job script " + job->files.script});
        }
        ++submitting;
        in_flight_comments.insert(job->files.comment);
        auto argv = slurm::sbatch_args(job->settings, job->files);
        argv.insert(argv.begin(), opts.sbatch);
        run(std::move(argv), [this, job](detail::command_result r) {
            --submitting;
            in_flight_comments.erase(job->files.comment);
            std::error_code ec;
            fs::remove(job->files.script, ec);  // Slurm keeps its own copy
            submitted(job, r);
            pump_submits();
        });
    }

    void submitted(const std::shared_ptr<slurm_job>& job, const detail::command_result& r) {
        if (!r.ok()) {
            if (r.result.failure == failure_class::spawn_error)
                return finish(job, {failure_class::spawn_error, -1, 0, "cannot run " + opts.sbatch + ": " + r.result.message});
            if (r.timed_out || controller_problem(r))  // it may exist: a later poll cancels it as a stray
                return finish(job, {failure_class::executor_lost, -1, 0, "sbatch: the controller does not answer: " + r.problem()});
            return finish(job, {failure_class::spawn_error, -1, 0, "sbatch refused the job: " + first_error(r)});
        }
        try {
            job->id = slurm::parse_job_id(r.out);
        } catch (const slurm::protocol_error& e) {
            return finish(job, {failure_class::executor_lost, -1, 0, e.what()});
        }
        last_answer = clock_type::now();
        job->submitted_poll = poll_seq;
        jobs[job->id] = job;
        if (job->cancel_requested) send_scancel({job->id});
        schedule_poll();
    }

    // ---- cancel ----

    void cancel(const std::shared_ptr<slurm_job>& job) {
        if (job->done || job->cancel_requested) return;
        job->cancel_requested = true;
        if (auto it = std::find(to_submit.begin(), to_submit.end(), job); it != to_submit.end()) {
            to_submit.erase(it);
            return finish(job, {failure_class::cancelled, -1, 0, "cancelled before it was submitted"});
        }
        if (!job->id.empty()) send_scancel({job->id});  // else when sbatch answers
    }

    void send_scancel(std::vector<std::string> ids) {
        std::vector<std::string> argv{opts.scancel};
        argv.insert(argv.end(), ids.begin(), ids.end());
        run(std::move(argv), [this, ids](detail::command_result r) {
            if (r.ok()) {
                for (const auto& id : ids) {
                    to_cancel.erase(id);
                    if (auto it = jobs.find(id); it != jobs.end()) it->second->scancel_sent = true;
                }
                return;
            }
            // A job that already ended is no error; anything else is tried again at the next poll.
            if (r.err.find("Invalid job id") != std::string::npos || r.err.find("already completing or completed") != std::string::npos) return;
            for (const auto& id : ids) to_cancel.insert(id);
            report(fmt::format("scancel {}: {} (trying again)", ids.front(), r.problem()));
        });
        schedule_poll();
    }

    // ---- polling ----

    bool work_left() const { return !jobs.empty() || !to_cancel.empty(); }

    void schedule_poll() {
        if (polling || poll_due || stopped || !work_left()) return;
        poll_due = true;
        timer->expires_after(opts.poll_interval);
        timer->async_wait([weak = weak_from_this()](boost::system::error_code ec) {
            auto self = weak.lock();
            if (!self || ec || self->stopped) return;
            self->poll_due = false;
            self->poll();
        });
    }

    void poll() {
        polling = true;
        auto seq = ++poll_seq;
        run(squeue_argv(), [this, seq](detail::command_result r) {
            polling = false;
            if (r.ok()) answered(r, seq);
            else unanswered(r);
            schedule_poll();
        });
    }

    void answered(const detail::command_result& r, std::uint64_t seq) {
        std::vector<slurm::job_status> list;
        try {
            list = slurm::parse_squeue(r.out);
        } catch (const slurm::protocol_error& e) {
            detail::command_result garbled;
            garbled.result.failure = failure_class::exit_code;
            garbled.result.message = e.what();
            return unanswered(garbled);
        }
        last_answer = clock_type::now();
        if (controller_down) {
            controller_down = false;
            report("the controller answers again");
            capacity_changed();
            pump_submits();
        }
        std::set<std::string> seen;
        std::vector<std::string> cancel_now;
        for (const auto& s : list) {
            seen.insert(s.id);
            if (to_cancel.count(s.id)) {
                if (slurm::is_final(s.state)) to_cancel.erase(s.id);
                else cancel_now.push_back(s.id);
                continue;
            }
            auto it = jobs.find(s.id);
            if (it == jobs.end()) {
                // A job of this run that no attempt owns (its sbatch timed out): cancel it.
                auto c = slurm::parse_comment(s.comment);
                if (c && c->state == label && c->run == ctx.run_id && !slurm::is_final(s.state) &&
                    !in_flight_comments.count(s.comment))
                    cancel_now.push_back(s.id);
                continue;
            }
            auto job = it->second;
            if (!job->running && !slurm::is_waiting(s.state)) {
                job->running = true;
                job->io.on_running();
            }
            tail(*job, slurm::is_final(s.state));
            if (slurm::is_final(s.state)) {
                jobs.erase(it);
                finish(job, slurm::job_outcome(s, job->cancel_requested, job->err_tail));
            } else if (job->cancel_requested && !job->scancel_sent) {
                cancel_now.push_back(s.id);
            }
        }
        for (auto it = jobs.begin(); it != jobs.end();) {
            auto job = it->second;
            if (seen.count(it->first) || job->submitted_poll >= seq || ++job->missing < 2) {
                ++it;
                continue;
            }
            it = jobs.erase(it);
            tail(*job, true);
            finish(job, job->cancel_requested
                            ? execution_result{failure_class::cancelled, -1, 0, "Slurm job " + job->id + " cancelled"}
                            : execution_result{failure_class::executor_lost, -1, 0,
                                               "Slurm job " + job->id + " is no longer listed by squeue"});
        }
        // Ids to cancel that squeue no longer lists have ended.
        for (auto it = to_cancel.begin(); it != to_cancel.end();) it = seen.count(*it) ? std::next(it) : to_cancel.erase(it);
        if (!cancel_now.empty()) send_scancel(std::move(cancel_now));
    }

    void unanswered(const detail::command_result& r) {
        auto silent = clock_type::now() - last_answer;
        if (controller_down || silent <= opts.controller_timeout) return;
        controller_down = true;
        report(fmt::format("the controller has not answered squeue for {}: {}; its {} job(s) are lost and will be "
                           "cancelled when it answers",
                           format_duration(std::chrono::duration_cast<duration>(silent)), r.problem(), jobs.size()));
        auto lost = std::move(jobs);
        jobs.clear();
        for (auto& [id, job] : lost) {
            to_cancel.insert(id);
            tail(*job, true);
            finish(job, job->cancel_requested
                            ? execution_result{failure_class::cancelled, -1, 0, "cancelled (the Slurm controller does not answer)"}
                            : execution_result{failure_class::executor_lost, -1, 0,
                                               "the Slurm controller does not answer: " + r.problem()});
        }
        capacity_changed();
    }

    // Reads what the job printed since the last poll (all of it when it has ended).
    void tail(slurm_job& job, bool final) {
        if (job.files.out.empty()) return;
        std::size_t limit = final ? 0 : max_read_per_poll;
        read_new(job.files.out, job.out_off, limit, [&](std::string_view data) {
            job.lines.feed(data, [&](std::string_view l) { job.io.on_stdout_line(l); },
                           [&](std::uint64_t len, std::string_view head) { job.io.on_stdout_oversized(len, head); });
        });
        read_new(job.files.err, job.err_off, limit, [&](std::string_view data) {
            job.io.on_stderr(data);
            job.err_tail.append(data);
            if (job.err_tail.size() > stderr_tail_bytes) job.err_tail.erase(0, job.err_tail.size() - stderr_tail_bytes);
        });
        if (final)
            job.lines.finish([&](std::string_view l) { job.io.on_stdout_line(l); },
                             [&](std::uint64_t len, std::string_view head) { job.io.on_stdout_oversized(len, head); });
    }

    void finish(const std::shared_ptr<slurm_job>& job, execution_result r) {
        if (job->done) return;
        job->done = true;
        std::error_code ec;
        for (const auto* p : {&job->files.script, &job->files.out, &job->files.err})
            if (!p->empty()) fs::remove(*p, ec);
        auto slot = asio::get_associated_cancellation_slot(job->handler);
        if (slot.is_connected()) slot.clear();
        detail::complete_later(job->io_ex, std::move(job->handler), std::move(r));
    }

    void stop() noexcept {
        if (!started || stopped) return;
        std::vector<std::string> left;
        for (const auto& [id, job] : jobs) left.push_back(id);
        left.insert(left.end(), to_cancel.begin(), to_cancel.end());
        stopped = true;
        if (timer) timer->cancel();
        if (!left.empty()) {  // the scheduler waits for its attempts; only lost ones can be here
            std::vector<std::string> argv{opts.scancel};
            argv.insert(argv.end(), left.begin(), left.end());
            std::string cmd;
            for (const auto& a : argv) cmd += shell_quote(a) + " ";
            (void)std::system((cmd + ">/dev/null 2>&1").c_str());
        }
        std::error_code ec;
        fs::remove_all(dir, ec);
        detail::unlock_run(run_lock, ctx.state_dir, "slurm", ctx.run_id);
        // The timer and the strand belong to the run's io_context, which may go before this
        // executor does (a scheduler is destroyed after its run): let go of them now.
        timer.reset();
        ctx = executor_context{};
        to_submit.clear();
        jobs.clear();
    }
};

slurm_executor::slurm_executor(slurm_executor_options opts) {
    if (opts.slots == 0) throw config_error("slurm executor: slots must be at least 1");
    if (opts.poll_interval.count() <= 0) throw config_error("slurm executor: poll_interval must be more than 0s");
    impl_ = std::make_shared<impl>(std::move(opts));
}
slurm_executor::~slurm_executor() {
    if (impl_) impl_->stop();
}
slurm_executor::slurm_executor(slurm_executor&&) noexcept = default;
slurm_executor& slurm_executor::operator=(slurm_executor&&) noexcept = default;

std::size_t slurm_executor::slots() const { return impl_->opts.slots; }
void slurm_executor::start(const executor_context& ctx) {
    executor_context helpers = ctx;  // sbatch & co.: no leftovers to kill (the local executor does)
    helpers.leftovers.clear();
    helpers.report = nullptr;
    impl_->runner.start(helpers);
    impl_->start(ctx);
}
void slurm_executor::stop() noexcept {
    impl_->stop();
    impl_->runner.stop();
}
bool slurm_executor::can_accept() const { return impl_->ready && !impl_->controller_down && !impl_->fatal; }
std::optional<std::string> slurm_executor::failed() const { return impl_->fatal; }
std::vector<const task_extension_type*> slurm_executor::task_extension_types() const {
    return {&task_extension_type_of<slurm_task_options>()};
}
void slurm_executor::async_execute(asio::any_io_executor io_ex, const attempt_request& req, attempt_io& io,
                                   completion_handler handler) {
    impl_->execute(std::move(io_ex), req, io, std::move(handler));
}

}  // namespace drover
