#pragma once
// The journal's schema (version 2; version 1 journals gain tasks.spec and tasks.parent). Documented for users in docs/workflows.md; keep both
// in step. Times are milliseconds since the Unix epoch (UTC).

namespace drover::detail {

inline constexpr int journal_schema_version = 2;

inline constexpr const char* journal_schema = R"sql(
CREATE TABLE IF NOT EXISTS meta(
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs(
  run_id          TEXT PRIMARY KEY,
  pid             INTEGER NOT NULL,
  started_ms      INTEGER NOT NULL,
  finished_ms     INTEGER,
  status          TEXT NOT NULL,        -- running, finished, cancelled, halted, interrupted
  total           INTEGER NOT NULL,
  resumed         INTEGER NOT NULL DEFAULT 0,
  succeeded       INTEGER,
  dead            INTEGER,
  upstream_failed INTEGER,
  skipped         INTEGER,
  records         INTEGER
);
CREATE TABLE IF NOT EXISTS tasks(
  task_id    TEXT PRIMARY KEY,
  state      TEXT NOT NULL,             -- pending, running, retry_wait, succeeded, dead, upstream_failed, skipped
  attempts   INTEGER NOT NULL DEFAULT 0, -- over all runs
  run_id     TEXT,                      -- the run that changed it last
  updated_ms INTEGER NOT NULL,
  failure    TEXT,                      -- failure class of the last attempt
  message    TEXT,
  spec       TEXT,                      -- a task that entered a run while it was going: its JSON,
                                        -- so a resumed run recreates it (NULL: the program gives it)
  parent     TEXT                       -- the task that fanned it out (NULL: none)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS attempts(
  run_id      TEXT NOT NULL,
  task_id     TEXT NOT NULL,
  attempt     INTEGER NOT NULL,         -- 1-based within the run
  executor    TEXT NOT NULL,
  started_ms  INTEGER NOT NULL,
  finished_ms INTEGER,                  -- NULL: running, or interrupted with its run
  failure     TEXT,                     -- none, exit_code, signal, timeout, ...
  exit_code   INTEGER,
  signal      INTEGER,
  message     TEXT,
  records     INTEGER,
  bad_records INTEGER,
  elapsed_ms  INTEGER,
  pgid        INTEGER,                  -- local attempts: the process group, NULL once finished
  started     TEXT,                     -- "BOOT_ID:TICKS" of the group's leader (process_ref)
  PRIMARY KEY(run_id, task_id, attempt)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outputs(
  task_id  TEXT NOT NULL,
  location TEXT NOT NULL,               -- what the sink published for the task's last success
  run_id   TEXT NOT NULL,
  attempt  INTEGER NOT NULL,
  PRIMARY KEY(task_id, location)
) WITHOUT ROWID;
)sql";

/// Columns added since version 1: (table, column, type), added to older journals on open.
inline constexpr const char* journal_added_columns[][3] = {{"tasks", "spec", "TEXT"},
                                                           {"tasks", "parent", "TEXT"},
                                                           {"attempts", "pgid", "INTEGER"},
                                                           {"attempts", "started", "TEXT"}};

/// After the added columns: attempts whose process group may still be alive (pgid is cleared
/// when the attempt finishes), found without scanning every attempt.
inline constexpr const char* journal_indexes =
    "CREATE INDEX IF NOT EXISTS attempts_live ON attempts(pgid) WHERE pgid IS NOT NULL;";

}  // namespace drover::detail
