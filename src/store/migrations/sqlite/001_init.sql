-- vidgen schema, version 1. Times are milliseconds since the Unix epoch; ids are
-- 26-character sortable random ids (util/id.h); credits are whole numbers.

CREATE TABLE users (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  is_admin    INTEGER NOT NULL DEFAULT 0,
  balance     INTEGER NOT NULL DEFAULT 0 CHECK (balance >= 0),
  created_at  INTEGER NOT NULL
);

-- Only a hash of each token is kept (BLAKE2b, hex): a leaked database leaks no token.
CREATE TABLE api_tokens (
  id          TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_hash  TEXT NOT NULL UNIQUE,
  label       TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  revoked_at  INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

-- Append-only: every change of a balance is one row here, written in the same transaction
-- as the balance, so at any time users.balance = sum(amount) of the user's rows.
CREATE TABLE credit_ledger (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id        TEXT NOT NULL REFERENCES users(id),
  kind           TEXT NOT NULL CHECK (kind IN ('grant', 'charge', 'refund', 'adjust')),
  amount         INTEGER NOT NULL,
  balance_after  INTEGER NOT NULL CHECK (balance_after >= 0),
  generation_id  TEXT,
  note           TEXT NOT NULL DEFAULT '',
  created_at     INTEGER NOT NULL,
  CHECK ((kind = 'charge' AND amount < 0) OR (kind IN ('grant', 'refund') AND amount > 0) OR kind = 'adjust')
);
CREATE INDEX credit_ledger_user ON credit_ledger(user_id, id);
-- A generation is charged at most once and refunded at most once, whatever crashes.
CREATE UNIQUE INDEX credit_ledger_one_charge ON credit_ledger(generation_id) WHERE kind = 'charge';
CREATE UNIQUE INDEX credit_ledger_one_refund ON credit_ledger(generation_id) WHERE kind = 'refund';
CREATE TRIGGER credit_ledger_no_update BEFORE UPDATE ON credit_ledger
BEGIN SELECT RAISE(ABORT, 'credit_ledger is append-only'); END;
CREATE TRIGGER credit_ledger_no_delete BEFORE DELETE ON credit_ledger
BEGIN SELECT RAISE(ABORT, 'credit_ledger is append-only'); END;

CREATE TABLE projects (
  id           TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  description  TEXT,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);
CREATE INDEX projects_user ON projects(user_id, id);

-- The seed's video_generations, with the worker's fields (DESIGN §4, §6).
CREATE TABLE generations (
  id                 TEXT PRIMARY KEY,
  project_id         TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  user_id            TEXT NOT NULL REFERENCES users(id),
  provider           TEXT NOT NULL,
  model_id           TEXT NOT NULL,
  model_name         TEXT NOT NULL,
  prompt             TEXT NOT NULL,
  negative_prompt    TEXT,
  start_image_path   TEXT,
  end_image_path     TEXT,
  resolution         TEXT NOT NULL,
  duration           INTEGER NOT NULL,
  aspect_ratio       TEXT NOT NULL,
  generate_audio     INTEGER NOT NULL DEFAULT 0,
  enhance_prompt     INTEGER NOT NULL DEFAULT 0,
  credit_used        INTEGER NOT NULL,
  status             TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'cancelled')),
  phase              TEXT NOT NULL DEFAULT 'queued',
  progress           INTEGER NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
  attempts           INTEGER NOT NULL DEFAULT 0,
  next_run_at        INTEGER NOT NULL,
  lease_owner        TEXT,
  lease_until        INTEGER,
  cancel_requested   INTEGER NOT NULL DEFAULT 0,
  output_path        TEXT,
  thumbnail_path     TEXT,
  error_message      TEXT,
  provider_job_id    TEXT,
  provider_response  TEXT,
  video_width        INTEGER,
  video_height       INTEGER,
  video_seconds      REAL,
  created_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  completed_at       INTEGER
);
-- Ids sort by creation time, so "newest first" pages walk these indexes by id.
CREATE INDEX generations_user ON generations(user_id, id);
CREATE INDEX generations_project ON generations(project_id, id);
CREATE INDEX generations_runnable ON generations(next_run_at) WHERE status IN ('pending', 'processing');
