#pragma once
// Where a fleet's hosts come from besides the static list: a file re-read when it changes, or
// a command run every hosts_refresh. Each reports its current list to the host_fleet; a
// source that fails (file missing, command failing or hanging) is reported and its last good
// list stays.

#include <drover/executors/host_pool.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace drover::detail {

class host_fleet;

struct host_list {
    struct error {
        std::size_t line = 0;  // 1-based
        std::string message;
    };
    std::vector<std::string> hosts;  // in order, without duplicates
    std::vector<error> errors;
};

/// Hosts separated by spaces, tabs or newlines; '#' at the start of a word starts a comment
/// that runs to the end of the line. `check` returns why a word is not a host (empty: it is).
host_list parse_host_list(std::string_view text, const std::function<std::string(const std::string&)>& check);

/// The last non-empty line of a program's output (for messages: ssh's or a command's error).
std::string last_line(std::string_view text);

class host_source : public std::enable_shared_from_this<host_source> {
public:
    enum kind { file = 0, command = 1 };
    host_source(kind k, std::weak_ptr<host_fleet> fleet, const host_pool_options& opts, boost::asio::any_io_executor ex);
    ~host_source();
    /// The file is read before start returns; the command's first run starts.
    void start();
    void stop() noexcept;
    /// "hosts file PATH" or "hosts_command NAME": for messages.
    std::string name() const;

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace drover::detail
