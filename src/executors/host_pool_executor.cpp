#include <drover/executors/host_pool.hpp>

#include "executors/host_fleet.hpp"

namespace drover {

host_pool_executor::host_pool_executor(std::shared_ptr<detail::host_backend> backend)
    : backend_(std::move(backend)), fleet_(backend_->make_fleet()) {}
host_pool_executor::~host_pool_executor() {
    if (backend_) backend_->stop_run();
}

void host_pool_executor::start(const executor_context& ctx) { backend_->start_run(ctx); }
void host_pool_executor::stop() noexcept { backend_->stop_run(); }
void host_pool_executor::async_execute(boost::asio::any_io_executor io_ex, const attempt_request& req, attempt_io& io,
                                       completion_handler handler) {
    backend_->execute(std::move(io_ex), req, io, std::move(handler));
}

std::size_t host_pool_executor::slots() const { return fleet_->slots(); }
bool host_pool_executor::can_accept() const { return fleet_->can_accept(); }
std::optional<std::string> host_pool_executor::failed() const { return fleet_->failed(); }
void host_pool_executor::add_host(std::string spec) { fleet_->add_host(std::move(spec)); }
void host_pool_executor::drain_host(std::string_view spec) { fleet_->drain_host(std::string(spec)); }
void host_pool_executor::remove_host(std::string_view spec) { fleet_->remove_host(std::string(spec)); }
std::vector<host_info> host_pool_executor::hosts() const { return fleet_->hosts(); }
std::vector<std::pair<std::string, std::size_t>> host_pool_executor::attempts_per_host() const {
    return fleet_->attempts_per_host();
}

}  // namespace drover
