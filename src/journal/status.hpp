#pragma once
// read_journal_status's queries on a connection the caller holds (the service keeps one open
// per journal, with its statements prepared, instead of opening the file per request).

#include <drover/journal.hpp>

#include "journal/sqlite.hpp"

#include <filesystem>
#include <functional>
#include <string_view>

namespace drover::detail {

/// True when a drover process holds `state_dir`'s lock (a run is writing its journal).
bool journal_locked(const std::filesystem::path& state_dir);

/// Fills `s` (its state_dir and live set by the caller) from the journal in one read
/// transaction: `prepare` gives a statement for a query (a new one or a cached one, reset),
/// `exec` runs BEGIN and COMMIT. Throws drover::error as read_journal_status does.
void read_journal_status(journal_status& s, const std::function<sql::statement&(std::string_view)>& prepare,
                         const std::function<void(std::string_view)>& exec);

}  // namespace drover::detail
