#include "services/http_server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <atomic>
#include <csignal>
#include <mutex>
#include <pthread.h>
#include <thread>
#include <vector>

namespace drover::test {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

struct http_server::impl {
    handler h;
    asio::io_context ioc;
    tcp::acceptor acceptor{ioc};
    std::thread thread;
    std::mutex m;
    std::vector<std::thread> conns;
    std::vector<std::shared_ptr<tcp::socket>> socks;
    std::atomic<bool> stopping{false};

    void serve(tcp::socket& sock) {
        boost::beast::flat_buffer buf;
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(256u << 20);
            boost::system::error_code ec;
            http::read(sock, buf, parser, ec);
            if (ec) return;
            auto res = h(parser.get());
            if (!res) {
                sock.set_option(asio::socket_base::linger(true, 0), ec);  // RST
                std::lock_guard lock(m);  // the destructor shuts sockets down under it
                sock.close(ec);
                return;
            }
            res->keep_alive(parser.get().keep_alive());
            http::write(sock, *res, ec);
            if (ec || !res->keep_alive()) return;
        }
    }
};

http_server::http_server(handler h) : impl_(std::make_shared<impl>()) {
    auto& i = *impl_;
    i.h = std::move(h);
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    i.acceptor.open(ep.protocol());
    i.acceptor.set_option(asio::socket_base::reuse_address(true));
    i.acceptor.bind(ep);
    i.acceptor.listen();
    // The server's threads (and the connection threads they start) take no signals: a
    // SIGCHLD of the tests' tasks must not interrupt their blocking reads.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    i.thread = std::thread([&i] {
        for (;;) {
            auto s = std::make_shared<tcp::socket>(i.ioc);
            boost::system::error_code ec;
            i.acceptor.accept(*s, ec);
            if (ec || i.stopping) return;
            std::lock_guard lock(i.m);
            i.socks.push_back(s);
            i.conns.emplace_back([&i, s] { i.serve(*s); });
        }
    });
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

http_server::~http_server() {
    auto& i = *impl_;
    i.stopping = true;
    boost::system::error_code ec;
    // Wake the accept loop with a connection, then close everything.
    {
        tcp::socket poke(i.ioc);
        poke.connect(i.acceptor.local_endpoint(), ec);
    }
    i.thread.join();
    i.acceptor.close(ec);
    std::vector<std::thread> conns;
    {
        std::lock_guard lock(i.m);
        for (auto& s : i.socks) s->shutdown(tcp::socket::shutdown_both, ec);
        conns.swap(i.conns);
    }
    for (auto& t : conns) t.join();
}

int http_server::port() const { return impl_->acceptor.local_endpoint().port(); }

std::string http_server::endpoint() const { return "http://127.0.0.1:" + std::to_string(port()); }

}  // namespace drover::test
