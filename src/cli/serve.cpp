// `drover serve`: drover::service until SIGINT or SIGTERM; its messages go to stderr.

#include "cli/serve.hpp"

#include <drover/service.hpp>

#include "detail/utf8.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>

#include <csignal>
#include <cstring>
#include <mutex>

namespace drover::cli {

int run_serve(const serve_args& a) {
    std::mutex log_mutex;
    service_options o;
    o.jobs_dir = a.jobs_dir;
    o.state_dir = a.state_dir;
    o.listen = a.listen;
    o.tokens_file = a.tokens_file;
    o.tls_cert_file = a.tls_cert;
    o.tls_key_file = a.tls_key;
    o.rate_limit = a.rate_limit;
    o.log = [&](std::string_view m) {
        std::lock_guard lock(log_mutex);
        fmt::print(stderr, "drover: {}\n", detail::terminal_safe(m));
        std::fflush(stderr);
    };
    boost::asio::io_context ctx;
    boost::asio::signal_set signals(ctx, SIGINT, SIGTERM, SIGHUP);
    service svc(o);
    svc.start();
    int sig = 0;
    signals.async_wait([&](boost::system::error_code ec, int s) {
        if (!ec) sig = s;
    });
    ctx.run();
    o.log(fmt::format("{} received: stopping (running runs are cancelled and resumed by the next start)",
                      sigabbrev_np(sig) ? sigabbrev_np(sig) : "signal"));
    svc.stop();
    return 0;
}

}  // namespace drover::cli
