#include "s3/multipart.hpp"

#include "s3/xml.hpp"

#include <stdexcept>

namespace drover::s3 {

std::uint64_t choose_part_size(std::uint64_t total, std::uint64_t wanted) {
    std::uint64_t size = std::max(wanted, min_part_size);
    if (total > size * max_parts) {
        constexpr std::uint64_t mib = 1ull << 20;
        std::uint64_t need = (total + max_parts - 1) / max_parts;
        size = (need + mib - 1) / mib * mib;
    }
    return size;
}

multipart_fsm::multipart_fsm(std::uint64_t total, std::uint64_t part_size, unsigned parallel)
    : total_(total), part_size_(part_size), parallel_(parallel == 0 ? 1 : parallel) {
    if (total == 0) throw std::invalid_argument("multipart upload of 0 bytes");
    if (part_size < min_part_size) throw std::invalid_argument("multipart part size below 5 MiB");
    std::uint64_t n = (total + part_size - 1) / part_size;
    if (n > max_parts) throw std::invalid_argument("multipart upload needs more than 10000 parts");
    etags_.resize(n);
}

multipart_fsm::command multipart_fsm::next() {
    using k = command::kind;
    command c;
    switch (phase_) {
    case phase::init:
        phase_ = phase::creating;
        c.k = k::create;
        return c;
    case phase::creating:
    case phase::completing:
        return c;  // wait
    case phase::aborting:
        if (!abort_sent_) {
            abort_sent_ = true;
            c.k = k::abort;
            c.upload_id = upload_id_;
        }
        return c;
    case phase::uploading:
        if (failing_) {
            if (in_flight_ > 0) return c;  // wait for outstanding parts
            phase_ = phase::aborting;
            return next();
        }
        if (static_cast<std::size_t>(next_part_) <= etags_.size() && in_flight_ < parallel_) {
            c.k = k::upload_part;
            c.upload_id = upload_id_;
            c.p.number = next_part_;
            c.p.offset = static_cast<std::uint64_t>(next_part_ - 1) * part_size_;
            c.p.size = std::min(part_size_, total_ - c.p.offset);
            ++next_part_;
            ++in_flight_;
            return c;
        }
        if (done_parts_ == etags_.size()) {
            phase_ = phase::completing;
            c.k = k::complete;
            c.upload_id = upload_id_;
            c.body = complete_body(etags_);
            return c;
        }
        return c;  // wait
    case phase::done:
        c.k = k::succeeded;
        c.text = etag_;
        return c;
    case phase::failed:
        c.k = k::failed;
        c.text = error_;
        return c;
    }
    return c;
}

void multipart_fsm::on_created(std::string upload_id) {
    if (phase_ != phase::creating) throw std::logic_error("multipart: unexpected CreateMultipartUpload result");
    if (upload_id.empty()) {
        phase_ = phase::failed;
        error_ = "CreateMultipartUpload returned no UploadId";
        return;
    }
    upload_id_ = std::move(upload_id);
    phase_ = phase::uploading;
}

void multipart_fsm::on_part_done(int number, std::string etag) {
    if (phase_ != phase::uploading || in_flight_ == 0 || number < 1 || number >= next_part_ ||
        static_cast<std::size_t>(number) > etags_.size())
        throw std::logic_error("multipart: unexpected UploadPart result");
    --in_flight_;
    if (failing_) return;
    if (etag.empty()) {
        failing_ = true;
        error_ = "UploadPart " + std::to_string(number) + " returned no ETag";
        return;
    }
    if (!etags_[number - 1].empty()) throw std::logic_error("multipart: part reported twice");
    etags_[number - 1] = std::move(etag);
    ++done_parts_;
}

void multipart_fsm::on_completed(std::string etag) {
    if (phase_ != phase::completing) throw std::logic_error("multipart: unexpected CompleteMultipartUpload result");
    etag_ = std::move(etag);
    phase_ = phase::done;
}

void multipart_fsm::on_aborted() {
    if (phase_ != phase::aborting) throw std::logic_error("multipart: unexpected AbortMultipartUpload result");
    phase_ = phase::failed;
}

void multipart_fsm::on_error(command::kind op, int number, std::string message) {
    using k = command::kind;
    switch (op) {
    case k::create:
        if (phase_ != phase::creating) throw std::logic_error("multipart: unexpected create error");
        phase_ = phase::failed;
        error_ = std::move(message);
        return;
    case k::upload_part:
        if (phase_ != phase::uploading || in_flight_ == 0 || number < 1 || number >= next_part_)
            throw std::logic_error("multipart: unexpected part error");
        --in_flight_;
        if (!failing_) {
            failing_ = true;
            error_ = std::move(message);
        }
        return;
    case k::complete:
        if (phase_ != phase::completing) throw std::logic_error("multipart: unexpected complete error");
        error_ = std::move(message);
        phase_ = phase::aborting;
        return;
    case k::abort:
        if (phase_ != phase::aborting) throw std::logic_error("multipart: unexpected abort error");
        error_ += " (and AbortMultipartUpload failed: " + message + ")";
        phase_ = phase::failed;
        return;
    default:
        throw std::logic_error("multipart: error for a non-operation");
    }
}

}  // namespace drover::s3
