#pragma once
// The multipart upload as a sans-IO state machine: it says which S3 operation to run next
// (CreateMultipartUpload, UploadPart n, CompleteMultipartUpload, AbortMultipartUpload) and
// is told how each ended. A driver (src/s3/uploader.cpp) runs the operations, retrying
// transient failures itself; an error reported here is final for that operation.
//
// Rules:
// - parts are numbered from 1; every part is `part_size` bytes except the last;
//   at most `parallel` UploadPart run at once;
// - every part must come back with an ETag, else the upload fails;
// - once anything fails no new part starts; after the outstanding ones report, an upload
//   that was created is aborted (so no parts are left billed), then the machine fails
//   with the first error's message;
// - Complete lists every part with its ETag, in order.

#include <cstdint>
#include <string>
#include <vector>

namespace drover::s3 {

inline constexpr std::uint64_t min_part_size = 5ull << 20;
inline constexpr std::uint64_t max_parts = 10000;

/// Part size to use for `total` bytes: `wanted` (at least min_part_size), grown in whole
/// MiB when `total` would need more than max_parts parts.
std::uint64_t choose_part_size(std::uint64_t total, std::uint64_t wanted);

class multipart_fsm {
public:
    struct part {
        int number = 0;  ///< 1-based
        std::uint64_t offset = 0;
        std::uint64_t size = 0;
    };
    struct command {
        enum class kind { create, upload_part, complete, abort, wait, succeeded, failed };
        kind k = kind::wait;
        part p;                 ///< upload_part
        std::string upload_id;  ///< upload_part, complete, abort
        std::string body;       ///< complete: the request body
        std::string text;       ///< succeeded: the object's ETag; failed: the message
    };

    /// `total` > 0 bytes in parts of `part_size` (see choose_part_size), `parallel` >= 1.
    multipart_fsm(std::uint64_t total, std::uint64_t part_size, unsigned parallel);

    /// The next thing to do. upload_part may be returned several times in a row (one per
    /// free slot); `wait` means: report an outstanding operation first. After succeeded or
    /// failed, it keeps returning the same.
    command next();

    void on_created(std::string upload_id);
    void on_part_done(int number, std::string etag);
    void on_completed(std::string etag);
    void on_aborted();
    /// The operation currently reported on (create, part `number`, complete or abort)
    /// failed for good. `number` is ignored except for parts.
    void on_error(command::kind op, int number, std::string message);

    std::size_t part_count() const noexcept { return etags_.size(); }
    unsigned in_flight() const noexcept { return in_flight_; }

private:
    enum class phase { init, creating, uploading, completing, aborting, done, failed };
    std::uint64_t total_;
    std::uint64_t part_size_;
    unsigned parallel_;
    phase phase_ = phase::init;
    std::string upload_id_;
    std::vector<std::string> etags_;
    int next_part_ = 1;
    unsigned in_flight_ = 0;
    std::size_t done_parts_ = 0;
    bool failing_ = false;
    bool abort_sent_ = false;
    std::string error_;
    std::string etag_;
};

}  // namespace drover::s3
