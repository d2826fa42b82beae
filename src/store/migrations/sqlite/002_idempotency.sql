-- Idempotency-Key on POST /generate: the first request with a key is remembered with a
-- hash of its body, so a retry of the same request returns the same generation (no second
-- charge) and a different request under the same key is refused.
CREATE TABLE idempotency_keys (
  user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  key            TEXT NOT NULL,
  request_hash   TEXT NOT NULL,
  generation_id  TEXT NOT NULL,
  created_at     INTEGER NOT NULL,
  PRIMARY KEY (user_id, key)
);
