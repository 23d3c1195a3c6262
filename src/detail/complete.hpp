#pragma once
// Invoking a type-erased completion handler from inside drover's own async code.

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include <tuple>
#include <utility>

namespace drover::detail {

/// Calls `h(args...)` through its associated executor, never inline: first posted to
/// `io_ex`, then dispatched to the handler's own executor (a strand, a coroutine's, ...).
template <class IoExecutor, class Handler, class... Args>
void complete_later(const IoExecutor& io_ex, Handler h, Args... args) {
    boost::asio::post(io_ex, [io_ex, h = std::move(h), t = std::make_tuple(std::move(args)...)]() mutable {
        auto hex = boost::asio::get_associated_executor(h, io_ex);
        boost::asio::dispatch(hex, [h = std::move(h), t = std::move(t)]() mutable {
            std::apply([&](auto&&... a) { std::move(h)(std::move(a)...); }, std::move(t));
        });
    });
}

}  // namespace drover::detail
