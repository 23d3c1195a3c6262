// The S3 sink: a storage_sink over a bucket and prefix. Its spool (staging, chunks kept for
// the next run, manifests; storage_publish.hpp) is <state_dir>/s3-spool/; objects go up from
// the sink's publish threads through one I/O thread that runs the S3 client.
//
// Keys are `<prefix>/<name>` for the sink's names. Besides the manifests, a publish lists the
// partitions it wrote for the task's rotated chunks and segments that no manifest knew, so
// a lost state directory cannot leave stray rotated objects behind.

#include <drover/error.hpp>
#include <drover/sinks/s3.hpp>

#include "detail/thread_name.hpp"
#include "s3/uploader.hpp"
#include "s3/url.hpp"
#include "sinks/sink_options.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <optional>
#include <set>
#include <thread>

namespace drover {

namespace {

namespace asio = boost::asio;
namespace stdfs = std::filesystem;

// Errors no request can get past (S3's codes for bad credentials or a bucket that is not
// there): the run halts instead of failing task after task.
bool refuses_every_request(const std::exception& e) {
    if (dynamic_cast<const s3::credential_error*>(&e)) return true;  // the source cannot give credentials
    const auto* r = dynamic_cast<const s3::request_error*>(&e);
    if (!r) return false;
    static const std::set<std::string, std::less<>> codes = {
        "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "TokenRefreshRequired",
        "AccessDenied", "AllAccessDisabled", "AccountProblem", "NoSuchBucket", "InvalidBucketName",
        "PermanentRedirect", "AuthorizationHeaderMalformed"};
    return codes.contains(r->code) || (r->code.empty() && (r->status == 401 || r->status == 403));
}

class s3_storage final : public storage {
public:
    explicit s3_storage(const s3_sink_options& o) : opts_(o), where_(s3::parse_s3_url(o.url)) {  // config_error early
        if (opts_.part_size < (5ull << 20)) throw config_error("s3 sink: part_size must be at least 5 MiB");
        if (opts_.parallel_parts == 0) throw config_error("s3 sink: parallel_parts must be at least 1");
    }
    ~s3_storage() override { stop(); }

    std::string name() const override { return "s3"; }
    std::string describe() const override { return opts_.url; }

    stdfs::path start(const sink_context& ctx) override {
        if (ctx.state_dir.empty()) throw sink_error("s3 sink " + describe() + ": needs a state directory for its spool");
        auto api_opts = s3::make_api_options(opts_);  // config_error: no credentials
        ioc_.restart();
        api_ = std::make_unique<s3::api>(ioc_.get_executor(), std::move(api_opts));
        work_.emplace(ioc_.get_executor());
        thread_ = std::thread([this] {
            detail::name_this_thread("drover-s3");
            ioc_.run();
        });
        return stdfs::absolute(ctx.state_dir) / "s3-spool";
    }

    void stop() noexcept override {
        work_.reset();
        if (thread_.joinable()) thread_.join();
        api_.reset();
    }

    void put(const std::vector<staged_object>& objects) override {
        s3::upload_options uo{opts_.part_size, opts_.parallel_parts, opts_.if_none_match};
        for (const auto& o : objects)
            blocking([&]() -> asio::awaitable<void> {
                co_await s3::upload_file(*api_, where_.bucket, key(o.name), o.file, uo);
            });
    }

    void remove(const std::vector<std::string>& names) override {
        for (const auto& n : names)
            blocking([&]() -> asio::awaitable<void> { co_await api_->delete_object(where_.bucket, key(n)); });
    }

    std::vector<std::string> list(std::string_view prefix) override {
        std::vector<std::string> out;
        std::string full = key(std::string(prefix)), token;
        std::size_t strip = full.size() - prefix.size();  // "<prefix>/"
        do {
            s3::list_page page;
            blocking([&]() -> asio::awaitable<void> { page = co_await api_->list_objects(where_.bucket, full, token); });
            for (auto& o : page.objects)
                if (o.key.size() > strip) out.push_back(o.key.substr(strip));
            token = page.truncated ? page.next_token : std::string();
        } while (!token.empty());
        return out;
    }

    std::string location(std::string_view name) const override {
        return "s3://" + where_.bucket + "/" + key(std::string(name));
    }

private:
    std::string key(const std::string& name) const { return s3::join_key(where_.prefix, name); }

    // What a request came to, as plain data: an exception_ptr handed from the I/O thread to
    // the caller's would be released on either, behind refcounts ThreadSanitizer cannot see.
    struct outcome {
        enum { ok, unavailable, failed } kind = ok;
        std::string message{};
    };

    template <class F>
    static asio::awaitable<outcome> guarded(F& make) {
        try {
            co_await make();
            co_return outcome{};
        } catch (const std::exception& e) {
            co_return outcome{refuses_every_request(e) ? outcome::unavailable : outcome::failed, e.what()};
        }
    }

    // Runs a request on the I/O thread and waits for it; errors that no request can get
    // past become sink_unavailable.
    template <class F>
    void blocking(F make) {
        if (!api_) throw sink_error("s3 sink " + describe() + ": not started");
        auto r = asio::co_spawn(ioc_, guarded(make), asio::use_future).get();
        if (r.kind == outcome::unavailable) throw sink_unavailable(r.message);
        if (r.kind == outcome::failed) throw sink_error(r.message);
    }

    s3_sink_options opts_;
    s3::bucket_prefix where_;
    asio::io_context ioc_;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
    std::thread thread_;
    std::unique_ptr<s3::api> api_;
};

}  // namespace

// Eight publish threads: uploads of different tasks overlap (each waits on the network).
s3_sink::s3_sink(s3_sink_options opts)
    : storage_sink(std::make_shared<s3_storage>(opts), detail::storage_options_of(opts, 8)), opts_(std::move(opts)) {}

}  // namespace drover
