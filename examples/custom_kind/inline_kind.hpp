#pragma once
// A program's own executor kind: "inline" runs tasks as C++ functions inside the program
// (command[0] names the function). Registered in a drover::kinds, it is usable from job
// files like the built-in kinds, with its own [[executors]] keys and its own task key.

#include <drover/drover.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace inline_kind {

/// `[[executors]] kind = "inline"`: how many functions run at once (on the run's strand,
/// one after another: they are quick).
struct options {
    std::size_t slots = 1;
};

/// The kind's task key `scale` (in [defaults] and [[tasks]], and "scale" in task JSON), as a
/// task extension: drover's task_spec knows nothing about it.
struct task_options {
    std::int64_t scale = 1;
    bool operator==(const task_options&) const = default;

    static constexpr std::string_view extension_name = "inline";
    static constexpr std::array<std::string_view, 1> json_keys{"scale"};
    void to_json(boost::json::object& task) const;
    static task_options from_json(const boost::json::object& task, task_options base);
};

/// Functions:
///   squares N   prints {"i": i, "square": i*i*scale} for i = 1..N
///   split N     fans out tasks square-1 .. square-N (control lines), each `squares k` with
///               scale 100, and prints no record itself
/// Any other name fails the attempt (exit code 127).
class executor final : public drover::executor {
public:
    explicit executor(options o) : opts_(o) {}
    std::string name() const override { return "inline"; }
    std::size_t slots() const override { return opts_.slots; }
    std::vector<const drover::task_extension_type*> task_extension_types() const override {
        return {&drover::task_extension_type_of<task_options>()};
    }
    void async_execute(boost::asio::any_io_executor io_ex, const drover::attempt_request& req, drover::attempt_io& io,
                       completion_handler handler) override;

private:
    options opts_;
};

/// Registers the kind as "inline" in `k`.
void add_to(drover::kinds& k);

}  // namespace inline_kind
