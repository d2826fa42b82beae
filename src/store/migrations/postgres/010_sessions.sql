-- Accounts in the browser: a password per user (Argon2id, libsodium's crypto_pwhash_str
-- string: algorithm, limits and salt travel with the hash) and login sessions. Like API
-- tokens, a session is kept only as the hash of its cookie value: a leaked database logs
-- nobody in. A session ends at expires_at, or earlier when revoked (logout, a new password).

ALTER TABLE users ADD COLUMN password_hash text;

CREATE TABLE sessions (
  id          text COLLATE "C" PRIMARY KEY,
  user_id     text COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  token_hash  text COLLATE "C" NOT NULL UNIQUE,
  created_at  bigint NOT NULL,
  expires_at  bigint NOT NULL,
  revoked_at  bigint
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expiry ON sessions(expires_at);
