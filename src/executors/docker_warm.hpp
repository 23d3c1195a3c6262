#pragma once
// The warm containers of one Docker host (docker_executor_options::reuse = slot): at most one
// per slot, each for one key (image and container settings, docker::warm_key). Bookkeeping
// only, without I/O: the executor creates, uses and removes the containers.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace drover::detail {

struct warm_container {
    std::string key;
    std::string name;
    std::string id;     ///< empty until its first attempt created it
    bool busy = false;
};

class warm_pool {
public:
    warm_pool() = default;
    explicit warm_pool(std::size_t slots) : slots_(slots) {}

    struct lease {
        std::string name;
        std::string id;                        ///< empty: create the container first
        std::optional<warm_container> evicted; ///< an idle container of another key to remove
    };
    /// A container for an attempt with `key`: an idle one with that key; else a new one
    /// (named by `make_name`), making room by evicting an idle container of another key when
    /// every slot has one. Never more containers than slots, as long as no more attempts run
    /// than slots.
    lease acquire(const std::string& key, const std::function<std::string()>& make_name);
    /// The attempt in container `name` ended: with `kept_id`, the container is idle and ready
    /// for the next attempt of its key; without, it is gone (or being removed) and forgotten.
    void release(const std::string& name, const std::optional<std::string>& kept_id);
    /// Forgets the idle containers and returns them (to remove, or to leave to the reaper).
    std::vector<warm_container> take_idle();

    std::size_t size() const noexcept { return containers_.size(); }
    const std::vector<warm_container>& containers() const noexcept { return containers_; }

private:
    std::size_t slots_ = 1;
    std::vector<warm_container> containers_;
};

}  // namespace drover::detail
