#include <drover/sink.hpp>
#include <drover/error.hpp>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/execution/blocking.hpp>
#include <boost/asio/prefer.hpp>

namespace drover {

void sink_writer::async_commit(commit_handler h) {
    std::exception_ptr error;
    committed_output out;
    try {
        out = commit();
    } catch (...) {
        error = std::current_exception();
    }
    // Never inline: the handler may destroy this writer.
    auto ex = boost::asio::prefer(boost::asio::get_associated_executor(h), boost::asio::execution::blocking.never);
    ex.execute([h = std::move(h), error, out = std::move(out)]() mutable { std::move(h)(error, std::move(out)); });
}

void sink_writer::async_checkpoint(commit_handler h) {
    auto error = std::make_exception_ptr(sink_error("this sink does not publish at checkpoints"));
    auto ex = boost::asio::prefer(boost::asio::get_associated_executor(h), boost::asio::execution::blocking.never);
    ex.execute([h = std::move(h), error]() mutable { std::move(h)(error, committed_output{}); });
}

}  // namespace drover
