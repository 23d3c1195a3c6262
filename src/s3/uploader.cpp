#include "s3/uploader.hpp"

#include "detail/fs.hpp"
#include "s3/multipart.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace drover::s3 {

namespace asio = boost::asio;
using kind = multipart_fsm::command::kind;

namespace {

std::string read_range(int fd, std::uint64_t offset, std::uint64_t size, const std::filesystem::path& p) {
    std::string out(size, '\0');
    std::uint64_t got = 0;
    while (got < size) {
        ssize_t n = ::pread(fd, out.data() + got, size - got, static_cast<off_t>(offset + got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) detail::throw_errno("cannot read", p, errno);
        if (n == 0) detail::throw_errno("unexpected end of", p, EIO);
        got += static_cast<std::uint64_t>(n);
    }
    return out;
}

}  // namespace

asio::awaitable<std::string> upload_file(api& s3, std::string bucket, std::string key, std::filesystem::path file,
                                         upload_options opts) {
    detail::unique_fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) detail::throw_errno("cannot open", file, errno);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) detail::throw_errno("cannot stat", file, errno);
    auto total = static_cast<std::uint64_t>(st.st_size);
    std::uint64_t part_size = choose_part_size(total, opts.part_size);

    if (total <= part_size)
        co_return co_await s3.put_object(bucket, key, read_range(fd.get(), 0, total, file), opts.if_none_match);

    multipart_fsm m(total, part_size, opts.parallel);
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer wake(ex, asio::steady_timer::time_point::max());
    std::size_t events = 0;  // reports since the driver last looked
    std::string upload_id;
    // Credentials that cannot be refreshed fail the upload as what they are (the sink halts
    // the run on them), not as one more S3 error.
    bool no_credentials = false;
    auto note = [&no_credentials](const std::exception& e) {
        if (dynamic_cast<const credential_error*>(&e)) no_credentials = true;
    };

    for (;;) {
        auto c = m.next();
        switch (c.k) {
        case kind::create:
            try {
                upload_id = co_await s3.create_multipart(bucket, key);
                m.on_created(upload_id);
            } catch (const std::exception& e) {
                note(e);
                m.on_error(kind::create, 0, e.what());
            }
            break;
        case kind::upload_part: {
            // Each part runs on its own; the machine (single-threaded here) hears back.
            auto p = c.p;
            asio::co_spawn(
                ex,
                [&, p, id = c.upload_id]() -> asio::awaitable<void> {
                    try {
                        std::string body = read_range(fd.get(), p.offset, p.size, file);
                        std::string etag = co_await s3.upload_part(bucket, key, id, p.number, std::move(body));
                        m.on_part_done(p.number, std::move(etag));
                    } catch (const std::exception& e) {
                        note(e);
                        m.on_error(kind::upload_part, p.number, e.what());
                    }
                    ++events;
                    wake.cancel();
                },
                asio::detached);
            break;
        }
        case kind::complete: {
            std::string error, code;
            try {
                m.on_completed(co_await s3.complete_multipart(bucket, key, c.upload_id, std::move(c.body)));
                break;
            } catch (const request_error& e) {
                error = e.what();
                code = e.code;
            } catch (const std::exception& e) {
                note(e);
                error = e.what();
            }
            // A retried Complete whose first try went through answers NoSuchUpload: the
            // object is there with a multipart ETag ("...-<parts>").
            if (code == "NoSuchUpload") {
                head_info h;
                try {
                    h = co_await s3.head_object(bucket, key);
                } catch (const std::exception&) {
                }
                std::string suffix = "-" + std::to_string(m.part_count()) + "\"";
                if (h.exists && h.size == total && h.etag.size() > suffix.size() &&
                    h.etag.compare(h.etag.size() - suffix.size(), suffix.size(), suffix) == 0) {
                    m.on_completed(h.etag);
                    break;
                }
            }
            m.on_error(kind::complete, 0, error);
            break;
        }
        case kind::abort:
            try {
                co_await s3.abort_multipart(bucket, key, c.upload_id);
                m.on_aborted();
            } catch (const std::exception& e) {
                m.on_error(kind::abort, 0, e.what());
            }
            break;
        case kind::wait:
            if (events == 0) {
                boost::system::error_code ec;
                wake.expires_at(asio::steady_timer::time_point::max());
                co_await wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            }
            events = 0;
            break;
        case kind::succeeded:
            co_return c.text;
        case kind::failed:
            if (no_credentials) throw credential_error(c.text);
            throw request_error(c.text, 0, "");
        }
    }
}

}  // namespace drover::s3
