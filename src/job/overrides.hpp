#pragma once
// job_load_options::params (`drover run --param name=value`): values given to the loader that
// replace a task entry's foreach values or params. Errors are config_errors without a
// location; the job loader locates them at the variable or param they replace.

#include "job/expand.hpp"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace drover::detail {

class param_overrides {
public:
    explicit param_overrides(const std::map<std::string, std::vector<std::string>>& values) : values_(values) {}

    /// Replaces the axis's values when they are overridden; each value is checked against
    /// the axis's kind (a date for a date range, ...).
    void apply(foreach_axis& axis);
    /// The value of param `name` when it is overridden (one value, else config_error).
    const std::string* param(const std::string& name);
    /// Throws for an override that names nothing the entries seen have, or has no value.
    void check_used() const;

private:
    const std::map<std::string, std::vector<std::string>>& values_;
    std::set<std::string> seen_;  // every param and foreach name of the entries seen
};

}  // namespace drover::detail
