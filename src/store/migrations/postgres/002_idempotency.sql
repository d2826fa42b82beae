-- Idempotency-Key on POST /generate: the first request with a key is remembered with a
-- hash of its body, so a retry of the same request returns the same generation (no second
-- charge) and a different request under the same key is refused.
CREATE TABLE idempotency_keys (
  user_id        text COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  key            text COLLATE "C" NOT NULL,
  request_hash   text NOT NULL,
  generation_id  text COLLATE "C" NOT NULL,
  created_at     bigint NOT NULL,
  PRIMARY KEY (user_id, key)
);
