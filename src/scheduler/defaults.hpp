#pragma once
// What a scheduler runs on and writes to when the program chose nothing: one local
// executor with a slot per core, and a file sink under <state_dir>/output. Made in
// src/defaults.cpp, so the scheduler core knows executors and sinks only by their interfaces.

#include <drover/executor.hpp>
#include <drover/sink.hpp>

#include <filesystem>
#include <memory>

namespace drover::detail {

std::shared_ptr<executor> default_executor();
std::shared_ptr<sink> default_sink(const std::filesystem::path& state_dir);

}  // namespace drover::detail
