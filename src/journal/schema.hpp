#pragma once
// The journal's schema (version 4: checkpoints). Documented for users in docs/workflows.md; keep both in
// step. Times are milliseconds since the Unix epoch (UTC). Older journals are brought up to
// date when opened (schema_db::migrate in journal.cpp): version 2 kept the process groups in
// attempts.pgid/started and the JSON of submitted tasks in tasks.spec/parent; they are in
// tables of their own now.
//
// Keep the tables every task writes (tasks, attempts) narrow, and every WITHOUT ROWID table at
// 13 columns or fewer: past that SQLite compares keys with its generic record comparison
// instead of the string/integer fast paths. With attempts at 15 columns and tasks at 9 the
// journal writer spent 7% more instructions per task (bench/journal_bench, part A).

namespace drover::detail {

inline constexpr int journal_schema_version = 4;

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
  state      TEXT NOT NULL,             -- pending, running, retry_wait, succeeded, dead, upstream_failed, skipped, cancelled
  attempts   INTEGER NOT NULL DEFAULT 0, -- over all runs
  run_id     TEXT,                      -- the run that changed it last
  updated_ms INTEGER NOT NULL,
  failure    TEXT,                      -- failure class of the last attempt
  message    TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS task_specs(  -- tasks that entered a run while it was going
  task_id    TEXT PRIMARY KEY,
  spec       TEXT NOT NULL,             -- its JSON, so a resumed run recreates it
  parent     TEXT                       -- the task that fanned it out (NULL: submitted)
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
  PRIMARY KEY(run_id, task_id, attempt)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS attempt_processes(  -- attempts whose process group may still run
  run_id   TEXT NOT NULL,
  task_id  TEXT NOT NULL,
  attempt  INTEGER NOT NULL,
  pgid     INTEGER NOT NULL,            -- local attempts: the process group; the row goes when
  started  TEXT NOT NULL,               -- the attempt ends. "BOOT_ID:TICKS" of its leader
  PRIMARY KEY(run_id, task_id, attempt)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outputs(
  task_id  TEXT NOT NULL,
  location TEXT NOT NULL,               -- what the sink published for the task's last success
  run_id   TEXT NOT NULL,
  attempt  INTEGER NOT NULL,
  PRIMARY KEY(task_id, location)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints(  -- the last published checkpoint of a task not yet succeeded
  task_id      TEXT PRIMARY KEY,
  token        TEXT NOT NULL,           -- DROVER_CHECKPOINT of its next attempt
  next_segment INTEGER NOT NULL,        -- the segment that attempt publishes first
  run_id       TEXT NOT NULL,
  attempt      INTEGER NOT NULL,
  updated_ms   INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

/// Version 2 to 3: the JSON of submitted tasks moves out of tasks (run when tasks.spec exists).
inline constexpr const char* journal_move_specs = R"sql(
INSERT OR REPLACE INTO task_specs(task_id,spec,parent)
  SELECT task_id,spec,parent FROM tasks WHERE spec IS NOT NULL;
ALTER TABLE tasks DROP COLUMN spec;
ALTER TABLE tasks DROP COLUMN parent;
)sql";

/// Version 2 to 3: the process groups move out of attempts (run when attempts.pgid exists).
inline constexpr const char* journal_move_processes = R"sql(
INSERT OR REPLACE INTO attempt_processes(run_id,task_id,attempt,pgid,started)
  SELECT run_id,task_id,attempt,pgid,started FROM attempts WHERE pgid IS NOT NULL AND started IS NOT NULL;
DROP INDEX IF EXISTS attempts_live;
ALTER TABLE attempts DROP COLUMN pgid;
ALTER TABLE attempts DROP COLUMN started;
)sql";

}  // namespace drover::detail
