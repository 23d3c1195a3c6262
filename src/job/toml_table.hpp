#pragma once
// job_table over toml++: what executor and sink kinds read, with the loader's messages and
// locations (toml_reader.hpp). Valid while the parsed TOML document lives.

#include <drover/job_table.hpp>

#include <toml++/toml.h>

#include <string>

namespace drover::detail {

class toml_table final : public job_table {
public:
    toml_table(const std::string& file, const toml::table& t, std::string path);

    const std::string& path() const noexcept override { return path_; }
    bool contains(std::string_view key) const override;
    std::vector<std::string> keys() const override;
    std::optional<std::string> get_string(std::string_view key) const override;
    std::optional<std::int64_t> get_int(std::string_view key, std::int64_t min, std::int64_t max) const override;
    std::optional<double> get_number(std::string_view key) const override;
    std::optional<bool> get_bool(std::string_view key) const override;
    std::optional<duration> get_duration(std::string_view key) const override;
    std::optional<std::uint64_t> get_size(std::string_view key) const override;
    std::optional<std::vector<std::string>> get_strings(std::string_view key) const override;
    std::unique_ptr<job_table> get_table(std::string_view key) const override;
    void check_keys(std::span<const std::string_view> known) const override;
    using job_table::check_keys;
    [[noreturn]] void fail(std::string_view key, const std::string& problem) const override;
    [[noreturn]] void fail(std::string_view key, std::size_t index, const std::string& problem) const override;

private:
    const std::string& file_;
    const toml::table& table_;
    std::string path_;
};

}  // namespace drover::detail
