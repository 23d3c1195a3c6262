// The API clients of bench/service_load.py: POLLERS keep-alive connections each asking for
// /api/v1/jobs and /api/v1/jobs/JOB/tasks?limit=100 in turn once a second (spread over the
// second), and STREAMS connections holding /api/v1/events open and reading what comes. One
// thread, one event loop: what the clients cost the machine they share with the service is
// small, and the benchmark measures it.
//
// Usage: http_clients PORT TOKEN POLLERS STREAMS JOB
// Prints "ready" once every connection polls. Then, on standard input: "count" prints the
// requests answered 200 so far; "stop" (or the end of input) prints "ANSWERED FAILED" and exits.
// A request answered with another status counts as failed; a connection lost ends the program
// with a message (the service must not drop its clients).

#include <boost/asio.hpp>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

namespace asio = boost::asio;
using asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

long answered = 0;
long failed = 0;
bool stopping = false;

[[noreturn]] void lost(const char* what, const boost::system::error_code& ec) {
    std::cerr << "http_clients: " << what << ": " << ec.message() << "\n";
    std::exit(1);
}

std::string request(const std::string& path, const std::string& token) {
    return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + token + "\r\n\r\n";
}

class poller : public std::enable_shared_from_this<poller> {
public:
    poller(asio::io_context& io, std::vector<std::string> requests, clock_type::time_point first)
        : socket_(io), timer_(io), requests_(std::move(requests)), next_(first) {}

    void start(const tcp::endpoint& to) {
        socket_.connect(to);
        socket_.set_option(tcp::no_delay(true));
        wait();
    }

private:
    void wait() {
        if (stopping) return;
        timer_.expires_at(next_);
        next_ += std::chrono::seconds(1);
        timer_.async_wait([self = shared_from_this()](auto ec) {
            if (!ec) self->ask();
        });
    }

    void ask() {
        const auto& r = requests_[n_++ % requests_.size()];
        asio::async_write(socket_, asio::buffer(r), [self = shared_from_this()](auto ec, std::size_t) {
            if (ec) lost("write", ec);
            asio::async_read_until(self->socket_, self->buf_, "\r\n\r\n",
                                   [self](auto ec, std::size_t head) { self->on_head(ec, head); });
        });
    }

    void on_head(const boost::system::error_code& ec, std::size_t head) {
        if (ec) lost("read", ec);
        std::string text(asio::buffers_begin(buf_.data()), asio::buffers_begin(buf_.data()) + head);
        buf_.consume(head);
        std::size_t length = 0;
        for (std::size_t at = text.find("\r\n"); at != std::string::npos; at = text.find("\r\n", at + 2)) {
            if (text.compare(at + 2, 15, "Content-Length:") == 0 || text.compare(at + 2, 15, "content-length:") == 0)
                length = std::stoul(text.substr(at + 17));
        }
        bool ok = text.compare(0, 12, "HTTP/1.1 200") == 0;
        auto have = std::min(length, buf_.size());
        buf_.consume(have);
        asio::async_read(socket_, buf_, asio::transfer_exactly(length - have),
                         [self = shared_from_this(), ok](auto ec, std::size_t n) {
                             if (ec) lost("read body", ec);
                             self->buf_.consume(n);
                             ++(ok ? answered : failed);
                             self->wait();
                         });
    }

    tcp::socket socket_;
    asio::steady_timer timer_;
    std::vector<std::string> requests_;
    clock_type::time_point next_;
    asio::streambuf buf_;
    std::size_t n_ = 0;
};

class stream : public std::enable_shared_from_this<stream> {
public:
    explicit stream(asio::io_context& io) : socket_(io) {}

    void start(const tcp::endpoint& to, const std::string& token) {
        socket_.connect(to);
        asio::write(socket_, asio::buffer(request("/api/v1/events", token)));
        read();
    }

    void close() { socket_.close(); }

private:
    void read() {
        socket_.async_read_some(asio::buffer(data_), [self = shared_from_this()](auto ec, std::size_t) {
            if (stopping || ec == asio::error::operation_aborted) return;
            if (ec) lost("event stream", ec);
            self->read();
        });
    }

    tcp::socket socket_;
    char data_[65536];
};

}  // namespace

int main(int argc, char** argv) {
    if (argc != 6) {
        std::cerr << "usage: http_clients PORT TOKEN POLLERS STREAMS JOB\n";
        return 2;
    }
    tcp::endpoint to(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::stoi(argv[1])));
    std::string token = argv[2];
    int pollers = std::stoi(argv[3]), streams = std::stoi(argv[4]);
    std::vector<std::string> requests{request("/api/v1/jobs", token),
                                      request(std::string("/api/v1/jobs/") + argv[5] + "/tasks?limit=100", token)};
    asio::io_context io;
    auto now = clock_type::now();
    for (int i = 0; i < pollers; ++i)
        std::make_shared<poller>(io, requests, now + std::chrono::milliseconds(10 * (i % 100)))->start(to);
    std::vector<std::shared_ptr<stream>> open;
    for (int i = 0; i < streams; ++i) {
        open.push_back(std::make_shared<stream>(io));
        open.back()->start(to, token);
    }
    asio::steady_timer ready(io, std::chrono::seconds(1));
    ready.async_wait([](auto) { std::cout << "ready" << std::endl; });

    asio::posix::stream_descriptor in(io, ::dup(0));
    asio::streambuf line;
    std::function<void()> command = [&] {
        asio::async_read_until(in, line, '\n', [&](auto ec, std::size_t n) {
            std::string what;
            if (!ec) {
                what.assign(asio::buffers_begin(line.data()), asio::buffers_begin(line.data()) + n);
                line.consume(n);
            }
            if (what == "count\n") {
                std::cout << answered << std::endl;
                command();
                return;
            }
            stopping = true;
            for (auto& s : open) s->close();
            std::cout << answered << " " << failed << std::endl;
            std::exit(0);
        });
    };
    command();
    io.run();
}
