#include "job/toml_table.hpp"

#include "job/toml_reader.hpp"

#include <algorithm>

namespace drover::detail {

namespace {

// The loader's typed reads (toml_reader.hpp), made public for one table.
class table_reader : public reader {
public:
    using reader::bool_of;
    using reader::check_keys;
    using reader::duration_of;
    using reader::expected;
    using reader::fail;
    using reader::int_of;
    using reader::number_of;
    using reader::reader;
    using reader::size_of;
    using reader::string_list;
    using reader::string_of;
    using reader::table_of;
};

}  // namespace

toml_table::toml_table(const std::string& file, const toml::table& t, std::string path)
    : file_(file), table_(t), path_(std::move(path)) {}

bool toml_table::contains(std::string_view key) const { return table_.contains(key); }

std::vector<std::string> toml_table::keys() const {
    std::vector<const toml::key*> ks;
    for (auto&& [k, v] : table_) ks.push_back(&k);
    std::sort(ks.begin(), ks.end(), [](const toml::key* a, const toml::key* b) {
        auto pa = a->source().begin, pb = b->source().begin;
        return std::pair{pa.line, pa.column} < std::pair{pb.line, pb.column};
    });
    std::vector<std::string> out;
    for (const auto* k : ks) out.emplace_back(k->str());
    return out;
}

std::optional<std::string> toml_table::get_string(std::string_view key) const {
    const auto* v = table_.get(key);
    if (!v) return std::nullopt;
    return table_reader(file_).string_of(*v, key_path(path_, key));
}

std::optional<std::int64_t> toml_table::get_int(std::string_view key, std::int64_t min, std::int64_t max) const {
    const auto* v = table_.get(key);
    if (!v) return std::nullopt;
    return table_reader(file_).int_of(*v, key_path(path_, key), min, max);
}

std::optional<double> toml_table::get_number(std::string_view key) const {
    const auto* v = table_.get(key);
    if (!v) return std::nullopt;
    return table_reader(file_).number_of(*v, key_path(path_, key));
}

std::optional<bool> toml_table::get_bool(std::string_view key) const {
    const auto* v = table_.get(key);
    if (!v) return std::nullopt;
    return table_reader(file_).bool_of(*v, key_path(path_, key));
}

std::optional<duration> toml_table::get_duration(std::string_view key) const {
    const auto* v = table_.get(key);
    if (!v) return std::nullopt;
    return table_reader(file_).duration_of(*v, key_path(path_, key));
}

std::optional<std::uint64_t> toml_table::get_size(std::string_view key) const {
    const auto* v = table_.get(key);
    if (!v) return std::nullopt;
    return table_reader(file_).size_of(*v, key_path(path_, key));
}

std::optional<std::vector<std::string>> toml_table::get_strings(std::string_view key) const {
    const auto* v = table_.get(key);
    if (!v) return std::nullopt;
    return table_reader(file_).string_list(*v, key_path(path_, key));
}

std::unique_ptr<job_table> toml_table::get_table(std::string_view key) const {
    const auto* v = table_.get(key);
    if (!v) return nullptr;
    std::string sub = key_path(path_, key);
    const auto& t = table_reader(file_).table_of(*v, sub);
    return std::make_unique<toml_table>(file_, t, std::move(sub));
}

void toml_table::check_keys(std::span<const std::string_view> known) const {
    table_reader(file_).check_keys(table_, path_, {}, known);
}

void toml_table::fail(std::string_view key, const std::string& problem) const {
    const auto* v = key.empty() ? nullptr : table_.get(key);
    std::string where = key.empty() ? path_ : key_path(path_, key);
    if (v) table_reader(file_).fail(*v, where, problem);
    table_reader(file_).fail(table_.source(), where, problem);
}

void toml_table::fail(std::string_view key, std::size_t index, const std::string& problem) const {
    std::string where = fmt::format("{}[{}]", key_path(path_, key), index);
    const auto* v = table_.get(key);
    const auto* arr = v ? v->as_array() : nullptr;
    if (arr && index < arr->size()) table_reader(file_).fail((*arr)[index], where, problem);
    fail(key, problem);
}

}  // namespace drover::detail
