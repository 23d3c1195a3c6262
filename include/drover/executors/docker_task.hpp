#pragma once
/// @file
/// The Docker executor's settings of a task: a task extension (task_extension.hpp).

#include <drover/export.hpp>

#include <boost/json/fwd.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace drover {

/// Where a container attempt may reach (Docker executor). Never Docker's bridge networks.
enum class container_network {
    none,  ///< no network at all (the default)
    host,  ///< the daemon host's network namespace (e.g. to reach a loopback server)
};

/// When the Docker executor pulls a task's image.
enum class pull_policy {
    never,    ///< the image must already be on the daemon (the default): a missing image fails the attempt
    missing,  ///< pull it (POST /images/create) when the daemon does not have it
};

/// Container settings of a task.
struct DROVER_API container_options {
    std::uint64_t memory = 0;                           ///< bytes (HostConfig.Memory, no swap on top); 0 = no limit
    double cpus = 0;                                    ///< CPUs (HostConfig.NanoCpus); 0 = no limit
    container_network network = container_network::none;
    pull_policy pull = pull_policy::never;

    bool operator==(const container_options&) const = default;
};

/// What the Docker executor reads of a task; only it does. A task without it runs with the
/// defaults below.
///
/// @code
/// drover::task_spec t{.id = "crawl-1", .command = {"news_crawler", "--page", "1"}};
/// t.set_extension(drover::docker_task_options{.image = "news-crawler", .container = {.memory = 256u << 20}});
/// @endcode
///
/// Job files: the keys image, memory, cpus, network and pull of [defaults] and [[tasks]].
/// Task JSON (control lines, the journal): "image" and "container" {"memory", "cpus",
/// "network", "pull"}.
struct DROVER_API docker_task_options {
    std::string image{};            ///< empty = the Docker executor's default_image
    container_options container{};  ///< limits, network and pull policy

    bool operator==(const docker_task_options&) const = default;

    static constexpr std::string_view extension_name = "docker";
    static constexpr std::array<std::string_view, 2> json_keys{"image", "container"};
    void to_json(boost::json::object& task) const;
    static docker_task_options from_json(const boost::json::object& task, docker_task_options base);
};

}  // namespace drover
