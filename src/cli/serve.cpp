// `drover serve`: drover::service until SIGINT or SIGTERM; its messages go to stderr.

#include "cli/serve.hpp"

#include <drover/service.hpp>

#include "detail/utf8.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>

#include <charconv>
#include <functional>
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
    for (const auto& p : a.pools) {
        auto eq = p.find('=');
        std::size_t n = 0;
        auto digits = eq == std::string::npos ? std::string_view{} : std::string_view(p).substr(eq + 1);
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
        if (eq == 0 || digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() || n == 0)
            throw config_error("--pool '" + p + "': give NAME=N with N at least 1");
        if (!o.pools.emplace(p.substr(0, eq), n).second) throw config_error("--pool: '" + p.substr(0, eq) + "' given twice");
    }
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
    // SIGHUP, as for other daemons, reads the jobs directory now (added, changed and removed
    // files) instead of at the next reload_interval; SIGINT and SIGTERM stop.
    std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code ec, int s) {
        if (ec) return;
        if (s != SIGHUP) {
            sig = s;
            return;
        }
        o.log("HUP received: reading the jobs directory now");
        svc.reload();
        signals.async_wait(on_signal);
    };
    signals.async_wait(on_signal);
    ctx.run();
    o.log(fmt::format("{} received: stopping (running runs are cancelled and resumed by the next start)",
                      sigabbrev_np(sig) ? sigabbrev_np(sig) : "signal"));
    svc.stop();
    return 0;
}

}  // namespace drover::cli
