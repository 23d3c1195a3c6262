#include "scheduler/task_store.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstring>
#include <functional>

namespace drover::detail {

namespace {

// Blob layout: string = varint length, bytes, NUL; list = varint count, strings.
// Fields in order: id, command, env (key, value pairs), params (pairs), after.

std::size_t varint_size(std::size_t v) noexcept {
    std::size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}

char* put_varint(char* p, std::size_t v) noexcept {
    while (v >= 0x80) {
        *p++ = static_cast<char>((v & 0x7f) | 0x80);
        v >>= 7;
    }
    *p++ = static_cast<char>(v);
    return p;
}

std::size_t get_varint(const char*& p) noexcept {
    std::size_t v = 0;
    int shift = 0;
    for (;;) {
        auto b = static_cast<unsigned char>(*p++);
        v |= static_cast<std::size_t>(b & 0x7f) << shift;
        if (b < 0x80) return v;
        shift += 7;
    }
}

std::size_t string_size(std::string_view s) noexcept { return varint_size(s.size()) + s.size() + 1; }

char* put_string(char* p, std::string_view s) noexcept {
    p = put_varint(p, s.size());
    if (!s.empty()) std::memcpy(p, s.data(), s.size());
    p[s.size()] = '\0';
    return p + s.size() + 1;
}

std::string_view get_string(const char*& p) noexcept {
    auto n = get_varint(p);
    std::string_view s(p, n);
    p += n + 1;
    return s;
}

void skip_strings(const char*& p, std::size_t count) noexcept {
    for (std::size_t k = 0; k < count; ++k) get_string(p);
}

template <class T>
void put_raw(std::string& key, const T& v) {
    key.append(reinterpret_cast<const char*>(&v), sizeof v);
}

void put_key_string(std::string& key, const std::string& s) {
    put_raw(key, s.size());
    key += s;
}

// Extension values by type and JSON (json_of: the cached or serialized JSON of one value).
template <class JsonOf>
std::string policy_key(const task_spec& t, JsonOf&& json_of) {
    std::string key;
    put_raw(key, t.retries);
    put_raw(key, t.timeout.has_value());
    put_raw(key, t.timeout ? t.timeout->count() : duration::rep{0});
    put_raw(key, t.backoff.initial.count());
    put_raw(key, t.backoff.max.count());
    put_raw(key, t.backoff.multiplier);
    put_raw(key, t.backoff.jitter);
    put_key_string(key, t.pool);
    put_key_string(key, t.workdir);
    put_raw(key, t.control_lines);
    put_raw(key, t.speculate);
    for (const auto& e : t.extensions) {
        put_key_string(key, std::string(e.type->name));
        put_key_string(key, json_of(e));
    }
    return key;
}

std::string extension_json(const task_extensions::entry& e) {
    boost::json::object o;
    e.type->to_json(e.value.get(), o);
    return boost::json::serialize(o);
}

// The JSON of an extension value. Tasks of a job share their values, so each thread keeps the
// last one it serialized (holding the value, so its address cannot be reused meanwhile).
std::string cached_extension_json(const task_extensions::entry& e) {
    thread_local std::shared_ptr<const void> last_value;
    thread_local std::string last_json;
    if (e.value != last_value) {
        last_json = extension_json(e);
        last_value = e.value;
    }
    return last_json;
}

std::size_t hash_id(std::string_view id) noexcept { return std::hash<std::string_view>{}(id); }

}  // namespace

std::uint32_t task_store::intern(const encoded& e) {
    if (last_key_ && *last_key_ == e.policy_key) return last_policy_;
    auto it = policy_index_.find(e.policy_key);
    if (it == policy_index_.end()) {
        auto n = static_cast<std::uint32_t>(policies_.size());
        policies_.push_back(e.policy);
        it = policy_index_.emplace(e.policy_key, n).first;
    }
    last_key_ = &it->first;  // node-based map: the key does not move
    last_policy_ = it->second;
    return it->second;
}

task_store::encoded task_store::encode(const task_spec& t) {
    std::size_t n = string_size(t.id);
    n += varint_size(t.command.size());
    for (auto& a : t.command) n += string_size(a);
    n += varint_size(t.env.size());
    for (auto& [k, v] : t.env) n += string_size(k) + string_size(v);
    n += varint_size(t.params.size());
    for (auto& [k, v] : t.params) n += string_size(k) + string_size(v);
    n += varint_size(t.after.size());
    for (auto& a : t.after) n += string_size(a);

    encoded e;
    e.id = t.id;
    e.blob.resize(n);
    char* p = put_string(e.blob.data(), t.id);
    p = put_varint(p, t.command.size());
    for (auto& a : t.command) p = put_string(p, a);
    p = put_varint(p, t.env.size());
    for (auto& [k, v] : t.env) p = put_string(put_string(p, k), v);
    p = put_varint(p, t.params.size());
    for (auto& [k, v] : t.params) p = put_string(put_string(p, k), v);
    p = put_varint(p, t.after.size());
    for (auto& a : t.after) p = put_string(p, a);
    e.policy_key = policy_key(t, cached_extension_json);
    e.policy = {t.retries, t.timeout, t.backoff, t.pool, t.workdir, t.control_lines, t.speculate, t.extensions};
    return e;
}

std::uint32_t task_store::add(const encoded& e) {
    char* b = arena_.allocate(e.blob.size());
    std::memcpy(b, e.blob.data(), e.blob.size());
    auto policy = intern(e);
    auto i = static_cast<std::uint32_t>(blobs_.size());
    blobs_.push_back(b);
    policy_of_.push_back(policy);
    index_insert(i);
    return i;
}

std::string_view task_store::id(std::uint32_t i) const noexcept {
    const char* p = blob(i);
    return get_string(p);
}

// Position of the `after` list in a blob.
static const char* after_list(const char* p) noexcept {
    get_string(p);                       // id
    skip_strings(p, get_varint(p));      // command
    skip_strings(p, 2 * get_varint(p));  // env
    skip_strings(p, 2 * get_varint(p));  // params
    return p;
}

bool task_store::has_after(std::uint32_t i) const noexcept {
    const char* p = after_list(blob(i));
    return get_varint(p) != 0;
}

std::vector<std::string_view> task_store::after(std::uint32_t i) const {
    const char* p = after_list(blob(i));
    std::vector<std::string_view> out(get_varint(p));
    for (auto& a : out) a = get_string(p);
    return out;
}

namespace {
task_spec from_blob(const char* p, const task_policy& pol) {
    task_spec t;
    t.id = get_string(p);
    t.command.resize(get_varint(p));
    for (auto& a : t.command) a = get_string(p);
    for (auto n = get_varint(p); n > 0; --n) {
        auto k = get_string(p);
        t.env.emplace_hint(t.env.end(), k, get_string(p));
    }
    for (auto n = get_varint(p); n > 0; --n) {
        auto k = get_string(p);
        t.params.emplace_hint(t.params.end(), k, get_string(p));
    }
    t.after.resize(get_varint(p));
    for (auto& a : t.after) a = get_string(p);
    t.retries = pol.retries;
    t.timeout = pol.timeout;
    t.backoff = pol.backoff;
    t.pool = pol.pool;
    t.workdir = pol.workdir;
    t.control_lines = pol.control_lines;
    t.speculate = pol.speculate;
    t.extensions = pol.extensions;
    return t;
}
}  // namespace

task_spec task_store::spec(std::uint32_t i) const { return from_blob(blob(i), policy(i)); }

task_spec task_store::decode(const encoded& e) { return from_blob(e.blob.data(), e.policy); }

void task_store::grow_index() {
    std::vector<std::uint32_t> old(std::max<std::size_t>(16, index_.size() * 2), 0);
    old.swap(index_);
    const auto mask = index_.size() - 1;
    for (auto slot : old) {
        if (slot == 0) continue;
        auto h = hash_id(id(slot - 1)) & mask;
        while (index_[h] != 0) h = (h + 1) & mask;
        index_[h] = slot;
    }
}

void task_store::index_insert(std::uint32_t i) {
    if ((blobs_.size()) * 2 > index_.size()) grow_index();
    const auto mask = index_.size() - 1;
    auto h = hash_id(id(i)) & mask;
    while (index_[h] != 0) h = (h + 1) & mask;
    index_[h] = i + 1;
}

void task_store::truncate(std::size_t n) {
    if (n >= blobs_.size()) return;
    blobs_.resize(n);
    policy_of_.resize(n);
    index_.assign(index_.size(), 0);
    const auto mask = index_.size() - 1;
    for (std::uint32_t i = 0; i < n; ++i) {
        auto h = hash_id(id(i)) & mask;
        while (index_[h] != 0) h = (h + 1) & mask;
        index_[h] = i + 1;
    }
}

std::int64_t task_store::find(std::string_view key) const noexcept {
    if (index_.empty()) return -1;
    const auto mask = index_.size() - 1;
    for (auto h = hash_id(key) & mask; index_[h] != 0; h = (h + 1) & mask)
        if (id(index_[h] - 1) == key) return index_[h] - 1;
    return -1;
}

std::size_t task_store::memory_bytes() const noexcept {
    std::size_t n = arena_.bytes() + blobs_.capacity() * sizeof(const char*) +
                    policy_of_.capacity() * sizeof(std::uint32_t) + index_.capacity() * sizeof(std::uint32_t);
    for (const auto& [key, _] : policy_index_) n += key.capacity() + sizeof(task_policy) + 64;
    return n;
}

}  // namespace drover::detail
