// s3_reader: ListObjectsV2 (all pages) and GetObject streamed through zlib, line by line.

#include <drover/error.hpp>
#include <drover/sinks/s3.hpp>

#include "s3/api.hpp"
#include "s3/url.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <zlib.h>

#include <future>

namespace drover {

namespace asio = boost::asio;

struct s3_reader::impl {
    asio::io_context ioc;
    s3::bucket_prefix where;
    std::unique_ptr<s3::api> api;

    template <class T>
    T run(asio::awaitable<T> op) {
        auto f = asio::co_spawn(ioc, std::move(op), asio::use_future);
        ioc.restart();
        ioc.run();
        try {
            return f.get();
        } catch (const s3::request_error& e) {
            throw sink_error(e.what());
        } catch (const s3::xml_error& e) {
            throw sink_error(std::string("S3 at ") + api->describe() + ": " + e.what());
        }
    }
};

namespace {

// Gunzips a stream of pieces (several gzip members allowed) and splits it into lines.
class gunzip_lines {
public:
    explicit gunzip_lines(const std::function<void(std::string_view)>& on_line) : on_line_(on_line) {
        if (inflateInit2(&z_, 15 + 32) != Z_OK) throw sink_error("zlib: inflateInit2 failed");
    }
    ~gunzip_lines() { inflateEnd(&z_); }

    void feed(std::string_view in, const std::string& key) {
        z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
        z_.avail_in = static_cast<uInt>(in.size());
        if (!in.empty()) seen_ = true;
        char out[64 * 1024];
        while (z_.avail_in > 0) {
            if (ended_) {  // another gzip member follows
                if (inflateReset(&z_) != Z_OK) throw sink_error("zlib: inflateReset failed");
                ended_ = false;
            }
            z_.next_out = reinterpret_cast<Bytef*>(out);
            z_.avail_out = sizeof out;
            int rc = inflate(&z_, Z_NO_FLUSH);
            if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
                throw sink_error("s3 object " + key + ": corrupt gzip data (" + (z_.msg ? z_.msg : "zlib error") + ")");
            lines(std::string_view(out, sizeof out - z_.avail_out));
            if (rc == Z_STREAM_END) ended_ = true;
            if (rc == Z_BUF_ERROR && z_.avail_out != 0) break;
        }
    }

    void finish(const std::string& key) {
        if (!ended_ && seen_) throw sink_error("s3 object " + key + ": truncated gzip data");
        if (!partial_.empty()) on_line_(partial_);
        partial_.clear();
    }

private:
    void lines(std::string_view data) {
        while (!data.empty()) {
            auto nl = data.find('\n');
            if (nl == std::string_view::npos) {
                partial_.append(data);
                return;
            }
            if (partial_.empty()) {
                on_line_(data.substr(0, nl));
            } else {
                partial_.append(data.substr(0, nl));
                on_line_(partial_);
                partial_.clear();
            }
            data.remove_prefix(nl + 1);
        }
    }

    const std::function<void(std::string_view)>& on_line_;
    z_stream z_{};
    std::string partial_;
    bool ended_ = false;
    bool seen_ = false;
};

}  // namespace

s3_reader::s3_reader(const s3_sink_options& opts) : impl_(std::make_unique<impl>()) {
    impl_->where = s3::parse_s3_url(opts.url);
    impl_->api = std::make_unique<s3::api>(impl_->ioc.get_executor(), s3::make_api_options(opts));
}

s3_reader::~s3_reader() = default;

std::vector<s3_reader::object> s3_reader::list(std::string_view sub_prefix) {
    std::string prefix = impl_->where.prefix.empty() ? std::string(sub_prefix)
                                                      : impl_->where.prefix + "/" + std::string(sub_prefix);
    std::vector<object> out;
    std::string token;
    do {
        auto page = impl_->run(impl_->api->list_objects(impl_->where.bucket, prefix, token));
        for (auto& o : page.objects) out.push_back({std::move(o.key), o.size});
        token = page.truncated ? page.next_token : std::string();
    } while (!token.empty());
    return out;
}

void s3_reader::read_lines(const std::string& key, const std::function<void(std::string_view)>& on_line) {
    gunzip_lines g(on_line);
    std::exception_ptr err;
    impl_->run(impl_->api->get_object(impl_->where.bucket, key, [&](std::string_view piece) {
        try {
            g.feed(piece, key);
            return true;
        } catch (...) {
            err = std::current_exception();
            return false;
        }
    }));
    if (err) std::rethrow_exception(err);
    g.finish(key);
}

}  // namespace drover
