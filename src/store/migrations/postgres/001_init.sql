-- vidgen schema, version 1 (PostgreSQL; the same tables, columns and rules as
-- migrations/sqlite/001_init.sql). Times are milliseconds since the Unix epoch (bigint);
-- ids are 26-character sortable random ids (util/id.h); credits are whole numbers; flags
-- are integer 0/1 as in SQLite. Ids and names compare byte by byte (COLLATE "C"), so pages
-- ordered by id and the '~' cursor sentinel sort as in SQLite whatever the database's locale.

CREATE TABLE users (
  id          text COLLATE "C" PRIMARY KEY,
  name        text COLLATE "C" NOT NULL UNIQUE,
  is_admin    integer NOT NULL DEFAULT 0,
  balance     bigint NOT NULL DEFAULT 0 CHECK (balance >= 0),
  created_at  bigint NOT NULL
);

-- Only a hash of each token is kept (BLAKE2b, hex): a leaked database leaks no token.
CREATE TABLE api_tokens (
  id          text COLLATE "C" PRIMARY KEY,
  user_id     text COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_hash  text COLLATE "C" NOT NULL UNIQUE,
  label       text NOT NULL DEFAULT '',
  created_at  bigint NOT NULL,
  revoked_at  bigint
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

-- Append-only: every change of a balance is one row here, written in the same transaction
-- as the balance, so at any time users.balance = sum(amount) of the user's rows.
CREATE TABLE credit_ledger (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id        text COLLATE "C" NOT NULL REFERENCES users(id),
  kind           text NOT NULL CHECK (kind IN ('grant', 'charge', 'refund', 'adjust')),
  amount         bigint NOT NULL,
  balance_after  bigint NOT NULL CHECK (balance_after >= 0),
  generation_id  text COLLATE "C",
  note           text NOT NULL DEFAULT '',
  created_at     bigint NOT NULL,
  CHECK ((kind = 'charge' AND amount < 0) OR (kind IN ('grant', 'refund') AND amount > 0) OR kind = 'adjust')
);
CREATE INDEX credit_ledger_user ON credit_ledger(user_id, id);
-- A generation is charged at most once and refunded at most once, whatever crashes.
CREATE UNIQUE INDEX credit_ledger_one_charge ON credit_ledger(generation_id) WHERE kind = 'charge';
CREATE UNIQUE INDEX credit_ledger_one_refund ON credit_ledger(generation_id) WHERE kind = 'refund';
-- SQLSTATE 23000 (integrity_constraint_violation), as SQLite's RAISE(ABORT) is a constraint.
CREATE FUNCTION credit_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'credit_ledger is append-only' USING ERRCODE = 'integrity_constraint_violation';
END;
$$;
CREATE TRIGGER credit_ledger_no_update BEFORE UPDATE ON credit_ledger
  FOR EACH ROW EXECUTE FUNCTION credit_ledger_append_only();
CREATE TRIGGER credit_ledger_no_delete BEFORE DELETE ON credit_ledger
  FOR EACH ROW EXECUTE FUNCTION credit_ledger_append_only();

CREATE TABLE projects (
  id           text COLLATE "C" PRIMARY KEY,
  user_id      text COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  name         text NOT NULL,
  description  text,
  created_at   bigint NOT NULL,
  updated_at   bigint NOT NULL
);
CREATE INDEX projects_user ON projects(user_id, id);

-- The seed's video_generations, with the worker's fields (DESIGN §4, §6).
CREATE TABLE generations (
  id                 text COLLATE "C" PRIMARY KEY,
  project_id         text COLLATE "C" NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  user_id            text COLLATE "C" NOT NULL REFERENCES users(id),
  provider           text NOT NULL,
  model_id           text NOT NULL,
  model_name         text NOT NULL,
  prompt             text NOT NULL,
  negative_prompt    text,
  start_image_path   text,
  end_image_path     text,
  resolution         text NOT NULL,
  duration           integer NOT NULL,
  aspect_ratio       text NOT NULL,
  generate_audio     integer NOT NULL DEFAULT 0,
  enhance_prompt     integer NOT NULL DEFAULT 0,
  credit_used        bigint NOT NULL,
  status             text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'cancelled')),
  phase              text NOT NULL DEFAULT 'queued',
  progress           integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
  attempts           integer NOT NULL DEFAULT 0,
  next_run_at        bigint NOT NULL,
  lease_owner        text,
  lease_until        bigint,
  cancel_requested   integer NOT NULL DEFAULT 0,
  output_path        text,
  thumbnail_path     text,
  error_message      text,
  provider_job_id    text,
  provider_response  text,
  video_width        integer,
  video_height       integer,
  video_seconds      double precision,
  created_at         bigint NOT NULL,
  updated_at         bigint NOT NULL,
  completed_at       bigint
);
-- Ids sort by creation time, so "newest first" pages walk these indexes by id.
CREATE INDEX generations_user ON generations(user_id, id);
CREATE INDEX generations_project ON generations(project_id, id);
CREATE INDEX generations_runnable ON generations(next_run_at) WHERE status IN ('pending', 'processing');
