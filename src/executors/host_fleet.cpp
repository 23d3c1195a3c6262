#include "executors/host_fleet.hpp"

#include <drover/error.hpp>

#include "executors/host_source.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>

namespace drover::detail {

namespace asio = boost::asio;

struct host_fleet::timers {
    explicit timers(asio::any_io_executor e) : ex(std::move(e)), giveup(ex) {}
    asio::any_io_executor ex;
    asio::steady_timer giveup;
    std::vector<std::unique_ptr<asio::steady_timer>> probe;  // by host
    asio::steady_timer& of(std::uint32_t h) {
        while (probe.size() <= h) probe.push_back(std::make_unique<asio::steady_timer>(ex));
        return *probe[h];
    }
};

host_fleet::host_fleet(host_pool_options opts, pool_config cfg, std::weak_ptr<host_backend> backend)
    : opts_(std::move(opts)), backend_(std::move(backend)), machine_([&] {
          cfg.slots_per_host = opts_.slots_per_host;
          cfg.reprobe_initial = opts_.reprobe_initial;
          cfg.reprobe_max = opts_.reprobe_max;
          cfg.down_timeout = opts_.down_timeout;
          cfg.wait_for_hosts = opts_.wait_for_hosts || !opts_.hosts_file.empty() || !opts_.hosts_command.empty();
          return cfg;
      }()) {
    if (opts_.slots_per_host == 0) throw config_error("slots per host must be >= 1");
    for (auto& h : opts_.hosts)
        if (std::find(initial_.begin(), initial_.end(), h) == initial_.end()) initial_.push_back(h);
    pinned_.insert(initial_.begin(), initial_.end());
}

host_fleet::~host_fleet() = default;

void host_fleet::report(std::string msg) const {
    if (ctx_ && ctx_->report) ctx_->report(std::move(msg));
}

std::string host_fleet::check_line(const std::string& spec) const {
    auto b = backend_.lock();
    if (!b) return "the executor is gone";
    try {
        b->check_host(spec);
        return {};
    } catch (const std::exception& e) {
        return e.what();
    }
}

// ---- the run ----

void host_fleet::start(const executor_context& ctx) {
    std::vector<std::string> initial;
    {
        std::lock_guard lock(m_);
        ctx_ = ctx;
        running_ = true;
        failed_.reset();
        initial = initial_;
    }
    timers_ = std::make_unique<timers>(ctx.io_ex);
    listed_by_[0].clear();
    listed_by_[1].clear();
    std::weak_ptr<host_fleet> weak = weak_from_this();
    if (!opts_.hosts_file.empty())
        sources_[host_source::file] = std::make_unique<host_source>(host_source::file, weak, opts_, ctx.io_ex);
    if (!opts_.hosts_command.empty())
        sources_[host_source::command] = std::make_unique<host_source>(host_source::command, weak, opts_, ctx.io_ex);
    auto now = pool_clock::now();
    actions all;
    for (auto& spec : initial) {
        std::lock_guard lock(m_);
        auto a = machine_.add(spec, now, false);  // the run's own hosts: no news
        all.insert(all.end(), std::make_move_iterator(a.begin()), std::make_move_iterator(a.end()));
    }
    run(std::move(all));
    for (auto& s : sources_)
        if (s) s->start();  // the file's hosts join now, the command's when it answers
    actions begin;
    {
        std::lock_guard lock(m_);
        begin = machine_.begin(pool_clock::now());  // nothing listed, nothing alive: say so, start the clock
    }
    run(std::move(begin));
}

void host_fleet::stop() noexcept {
    if (!running_) return;
    for (auto& s : sources_)
        if (s) s->stop();
    actions a;
    {
        std::lock_guard lock(m_);
        running_ = false;
        failed_ = machine_.failed(pool_clock::now());  // still asked after the run
        auto listed = machine_.clear(a);
        // The next run starts with what is listed now, the sources' hosts excepted (read again).
        initial_.clear();
        for (auto& spec : listed)
            if (pinned_.count(spec)) initial_.push_back(spec);
    }
    auto backend = backend_.lock();
    for (auto& x : a)
        if (x.what == pool_action::close && backend) backend->close_host(x.host);
    if (timers_) {
        timers_->giveup.cancel();
        for (auto& t : timers_->probe) t->cancel();
    }
    timers_.reset();
    for (auto& s : sources_) s.reset();
    std::lock_guard lock(m_);
    ctx_.reset();
}

void host_fleet::run(actions list) {
    auto backend = backend_.lock();
    if (!backend || !timers_) return;
    bool capacity = false;
    for (std::size_t i = 0; i < list.size(); ++i) {  // (an action may append more)
        auto a = std::move(list[i]);
        switch (a.what) {
            case pool_action::open:
                try {
                    backend->open_host(a.host, spec(a.host));
                } catch (const std::exception& e) {
                    std::lock_guard lock(m_);
                    auto more = machine_.host_failed(a.host, true, e.what(), pool_clock::now());
                    list.insert(list.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
                }
                break;
            case pool_action::probe: backend->probe_host(a.host); break;
            case pool_action::probe_after: {
                auto& t = timers_->of(a.host);
                t.expires_after(a.delay);
                t.async_wait([weak = weak_from_this(), h = a.host](boost::system::error_code ec) {
                    auto self = weak.lock();
                    if (ec || !self || !self->running_) return;
                    actions next;
                    {
                        std::lock_guard lock(self->m_);
                        next = self->machine_.probe_due(h, pool_clock::now());
                    }
                    self->run(std::move(next));
                });
                break;
            }
            case pool_action::cancel_timer: timers_->of(a.host).cancel(); break;
            case pool_action::lose_attempts: backend->lose_attempts(a.host, a.text); break;
            case pool_action::reachable: backend->host_reachable(a.host); break;
            case pool_action::close:
                backend->close_host(a.host);
                host_changed(a.host, true);
                break;
            case pool_action::arm_giveup:
                timers_->giveup.expires_after(a.delay);
                timers_->giveup.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
                    auto self = weak.lock();
                    if (!ec && self && self->running_ && self->ctx_ && self->ctx_->capacity_changed)
                        self->ctx_->capacity_changed();  // failed() now says so
                });
                break;
            case pool_action::disarm_giveup: timers_->giveup.cancel(); break;
            case pool_action::report: report(std::move(a.text)); break;
            case pool_action::changed:
                capacity = true;
                if (machine_.listed(a.host)) host_changed(a.host, false);
                break;
        }
        if (!timers_) return;  // a backend call stopped the run
    }
    if (capacity && ctx_ && ctx_->capacity_changed) ctx_->capacity_changed();
}

void host_fleet::host_changed(std::uint32_t h, bool left) {
    if (!ctx_ || !ctx_->host_changed) return;
    pool_machine::view v;
    {
        std::lock_guard lock(m_);
        v = machine_.host(h);
    }
    ctx_->host_changed(info(v), left);
}

host_info host_fleet::info(const pool_machine::view& v) const {
    auto i = v.info;
    i.since = std::chrono::system_clock::now() -
              std::chrono::duration_cast<std::chrono::system_clock::duration>(pool_clock::now() - v.since);
    return i;
}

// ---- from the backend ----

void host_fleet::probe_done(std::uint32_t h, const probe_result& r) {
    if (!running_) return;
    actions a;
    {
        std::lock_guard lock(m_);
        a = r.ok ? machine_.probe_ok(h, pool_clock::now()) : machine_.host_failed(h, r.permanent, r.why, pool_clock::now());
    }
    run(std::move(a));
}

void host_fleet::host_failed(std::uint32_t h, bool permanent, const std::string& why) {
    probe_done(h, {false, permanent, why});
}

std::optional<std::uint32_t> host_fleet::take(std::string_view avoid) {
    std::lock_guard lock(m_);
    if (!running_) return std::nullopt;
    auto h = machine_.pick(avoid.empty() ? std::nullopt : machine_.find(avoid));
    if (h) machine_.attempt_started(*h);
    return h;
}

void host_fleet::attempt_ended(std::uint32_t h) {
    actions a;
    {
        std::lock_guard lock(m_);
        if (!running_) return;
        a = machine_.attempt_ended(h, pool_clock::now());
    }
    run(std::move(a));
    if (running_ && ctx_ && ctx_->capacity_changed) ctx_->capacity_changed();  // a slot is free again
}

std::string host_fleet::spec(std::uint32_t h) const {
    std::lock_guard lock(m_);
    return machine_.spec(h);
}

// ---- any thread ----

std::size_t host_fleet::slots() const {
    std::lock_guard lock(m_);
    if (running_) return machine_.slots();
    return initial_.size() * opts_.slots_per_host;
}

bool host_fleet::can_accept() const {
    std::lock_guard lock(m_);
    return running_ && machine_.can_accept();
}

std::optional<std::string> host_fleet::failed() const {
    std::lock_guard lock(m_);
    if (!running_) return failed_;
    return machine_.failed(pool_clock::now());
}

void host_fleet::on_strand(std::function<void(host_fleet&)> f) {
    std::unique_lock lock(m_);
    if (!running_) return;
    auto ex = ctx_->io_ex;
    lock.unlock();
    asio::post(ex, [weak = weak_from_this(), f = std::move(f)] {
        if (auto self = weak.lock(); self && self->running_) f(*self);
    });
}

void host_fleet::add_host(std::string spec) {
    if (auto why = check_line(spec); !why.empty()) throw config_error(why);
    change(std::move(spec), [](pool_machine& m, const std::string& s, auto t) { return m.add(s, t); }, true);
}

void host_fleet::drain_host(std::string spec) {
    change(std::move(spec), [](pool_machine& m, const std::string& s, auto t) { return m.drain(s, t); }, false);
}

void host_fleet::remove_host(std::string spec) {
    change(std::move(spec), [](pool_machine& m, const std::string& s, auto t) { return m.remove(s, t); }, false);
}

// Before a run: the list the next run starts with. During one: an event for the machine,
// on the strand. Hosts added by hand are pinned: a source that stops listing them does not
// drain them.
template <class Event>
void host_fleet::change(std::string spec, Event event, bool pin) {
    {
        std::lock_guard lock(m_);
        if (pin) pinned_.insert(spec);
        else pinned_.erase(spec);
        if (!running_) {
            std::erase(initial_, spec);
            if (pin) initial_.push_back(spec);
            return;
        }
    }
    on_strand([spec = std::move(spec), event](host_fleet& f) {
        actions a;
        {
            std::lock_guard lock(f.m_);
            a = event(f.machine_, spec, pool_clock::now());
        }
        f.run(std::move(a));
    });
}

std::vector<host_info> host_fleet::hosts() const {
    std::lock_guard lock(m_);
    std::vector<host_info> out;
    if (!running_) {
        for (auto& s : initial_) out.push_back({.spec = s, .state = host_state::probing});
        return out;
    }
    for (auto& v : machine_.hosts()) out.push_back(info(v));
    return out;
}

std::vector<std::pair<std::string, std::size_t>> host_fleet::attempts_per_host() const {
    std::lock_guard lock(m_);
    std::vector<std::pair<std::string, std::size_t>> out;
    for (std::uint32_t h = 0; h < machine_.size(); ++h) {
        auto v = machine_.host(h);
        auto i = std::find_if(out.begin(), out.end(), [&](auto& p) { return p.first == v.info.spec; });
        if (i == out.end()) out.emplace_back(v.info.spec, v.info.started);
        else i->second += v.info.started;
    }
    return out;
}

// ---- sources ----

void host_fleet::source_listed(int source, const std::vector<std::string>& specs) {
    if (!running_) return;
    std::set<std::string> now_listed(specs.begin(), specs.end());
    auto t = pool_clock::now();
    actions a;
    {
        std::lock_guard lock(m_);
        auto& before = listed_by_[source];
        auto& other = listed_by_[1 - source];
        // New in this source's list: join (or are taken back from draining). Hosts it still
        // lists are left alone: a host drained by hand, or rejected, stays so.
        for (auto& s : specs)
            if (!before.count(s)) {
                auto more = machine_.add(s, t);
                a.insert(a.end(), more.begin(), more.end());
            }
        for (auto& s : before)
            if (!now_listed.count(s) && !other.count(s) && !pinned_.count(s)) {
                auto more = machine_.drain(s, t);
                a.insert(a.end(), more.begin(), more.end());
            }
        before = std::move(now_listed);
    }
    run(std::move(a));
}

}  // namespace drover::detail
