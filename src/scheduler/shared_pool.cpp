#include <drover/error.hpp>
#include <drover/shared_pool.hpp>

#include <list>
#include <mutex>
#include <vector>

namespace drover {

struct shared_pool::state {
    std::string name;
    std::size_t limit = 0;
    mutable std::mutex mutex;
    std::size_t in_use = 0;
    std::list<std::shared_ptr<std::function<void()>>> waiters;
};

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

bool shared_pool::try_acquire() {
    std::lock_guard lock(s_->mutex);
    if (s_->in_use >= s_->limit) return false;
    ++s_->in_use;
    return true;
}

void shared_pool::release() {
    std::vector<std::shared_ptr<std::function<void()>>> wake;
    {
        std::lock_guard lock(s_->mutex);
        if (s_->in_use > 0) --s_->in_use;
        wake.assign(s_->waiters.begin(), s_->waiters.end());
    }
    for (auto& w : wake) (*w)();
}

std::shared_ptr<void> shared_pool::on_release(std::function<void()> wake) {
    auto fn = std::make_shared<std::function<void()>>(std::move(wake));
    std::list<std::shared_ptr<std::function<void()>>>::iterator it;
    {
        std::lock_guard lock(s_->mutex);
        it = s_->waiters.insert(s_->waiters.end(), fn);
    }
    std::weak_ptr<state> weak = s_;
    return std::shared_ptr<void>(nullptr, [weak, it](void*) {
        if (auto s = weak.lock()) {
            std::lock_guard lock(s->mutex);
            s->waiters.erase(it);
        }
    });
}

}  // namespace drover
