#pragma once
// Hosts of a running run's fleet executors (host_pool_executor: ssh, docker), as the service
// lists, adds and drains them. Pure functions over the scheduler's executors.

#include <drover/executor.hpp>
#include <drover/service.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace drover::detail {

using executor_list = std::vector<std::shared_ptr<executor>>;

std::vector<service_host> list_hosts(const executor_list& executors);
/// `executor`: a position in `executors`; without one, the only fleet executor. Throws
/// config_error (no fleet executor, several without a choice, not a fleet executor, a bad spec).
void add_fleet_host(const executor_list& executors, std::string_view spec, std::optional<std::size_t> executor,
                    std::string_view job);
/// Throws not_found_error when no fleet executor has the host.
void drain_fleet_host(const executor_list& executors, std::string_view spec, bool remove, std::string_view job);

}  // namespace drover::detail
