#include <drover/error.hpp>
#include <drover/shared_pool.hpp>

#include <algorithm>
#include <deque>
#include <mutex>
#include <utility>
#include <vector>

namespace drover {

struct shared_pool::state {
    std::string name;
    std::size_t limit = 0;
    mutable std::mutex mutex;
    std::size_t in_use = 0;       // running, and handed to a waiter not yet taken
    std::deque<waiter*> line;     // waiting for a place, first come first

    // Under `mutex`: `n` places given back go to the waiters in line, the rest are freed.
    // Returns the waiters' callbacks, to be called once the mutex is let go.
    std::vector<std::function<void()>> give_back(std::size_t n);
};

class shared_pool::waiter {
public:
    waiter(std::weak_ptr<state> pool, std::function<void()> handed) : pool_(std::move(pool)), handed_(std::move(handed)) {}
    ~waiter();
    waiter(const waiter&) = delete;
    waiter& operator=(const waiter&) = delete;

private:
    friend class shared_pool;
    std::weak_ptr<state> pool_;
    std::function<void()> handed_;
    std::size_t places = 0;  // handed to it, not taken yet (under the pool's mutex)
    bool in_line = false;
};

namespace {

void call_all(const std::vector<std::function<void()>>& fns) {
    for (const auto& f : fns)
        if (f) f();
}

}  // namespace

std::vector<std::function<void()>> shared_pool::state::give_back(std::size_t n) {
    std::vector<std::function<void()>> wake;
    for (; n > 0 && !line.empty(); --n) {
        auto* w = line.front();
        line.pop_front();
        w->in_line = false;
        ++w->places;  // still counted in in_use: nobody else takes it
        wake.push_back(w->handed_);
    }
    in_use -= std::min(n, in_use);
    return wake;
}

shared_pool::waiter::~waiter() {
    auto s = pool_.lock();
    if (!s) return;
    std::vector<std::function<void()>> wake;
    {
        std::lock_guard lock(s->mutex);
        if (in_line) std::erase(s->line, this);
        wake = s->give_back(std::exchange(places, 0));
    }
    call_all(wake);
}

shared_pool::shared_pool(std::string name, std::size_t limit) : s_(std::make_shared<state>()) {
    if (name.empty()) throw config_error("shared pool: the name must not be empty");
    if (limit == 0) throw config_error("shared pool '" + name + "': the limit must be at least 1");
    s_->name = std::move(name);
    s_->limit = limit;
}

shared_pool::~shared_pool() = default;

const std::string& shared_pool::name() const noexcept { return s_->name; }
std::size_t shared_pool::limit() const noexcept { return s_->limit; }

std::size_t shared_pool::in_use() const {
    std::lock_guard lock(s_->mutex);
    return s_->in_use;
}

std::size_t shared_pool::waiting() const {
    std::lock_guard lock(s_->mutex);
    return s_->line.size();
}

std::shared_ptr<shared_pool::waiter> shared_pool::join(std::function<void()> handed) {
    return std::make_shared<waiter>(s_, std::move(handed));
}

bool shared_pool::try_acquire(waiter* w) {
    std::lock_guard lock(s_->mutex);
    if (w && w->places > 0) {
        --w->places;
        return true;
    }
    // A free place exists only while nobody waits (release hands it to the first in line).
    if (s_->in_use < s_->limit && s_->line.empty()) {
        ++s_->in_use;
        return true;
    }
    if (w && !w->in_line) {
        s_->line.push_back(w);
        w->in_line = true;
    }
    return false;
}

void shared_pool::release() {
    std::vector<std::function<void()>> wake;
    {
        std::lock_guard lock(s_->mutex);
        wake = s_->give_back(1);
    }
    call_all(wake);
}

void shared_pool::decline(waiter& w) {
    std::vector<std::function<void()>> wake;
    {
        std::lock_guard lock(s_->mutex);
        wake = s_->give_back(std::exchange(w.places, 0));
    }
    call_all(wake);
}

}  // namespace drover
