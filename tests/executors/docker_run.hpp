#pragma once
// A scheduler over one Docker executor for the Docker executor's tests, with an event log and
// a host watch, and what the tests check afterwards.

#include "executors/fleet_watch.hpp"
#include "scheduler/fixture.hpp"
#include "services/dockerd.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <string>

namespace drover::test {

using docker_run = pool_run<drover::docker_executor>;


inline void check_no_containers(const dockerd_fleet& fleet, const std::string& run_id) {
    for (std::size_t i = 0; i < fleet.size(); ++i) {
        auto left = fleet.containers_of_run(i, run_id);
        std::string names;
        for (auto& n : left) names += n + " ";
        CHECK_MESSAGE(left.empty(), "daemon " << i << " still has containers of run " << run_id << ": " << names);
    }
}
}  // namespace drover::test
