-- Claiming by index. A leased job's next_run_at is its lease's expiry (a claim and each
-- renewal set both), so "due" (next_run_at <= now) leaves out every job a live worker holds;
-- a claim then reads one range: the least recently served user with a due job of the kind
-- (users_last_claim, probing generations_due), then that user's oldest due job of the kind.
CREATE INDEX generations_due ON generations(user_id, (provider = 'local'), next_run_at)
  WHERE status IN ('pending', 'processing');
CREATE INDEX users_last_claim ON users(last_claim_at);
UPDATE generations SET next_run_at = lease_until
  WHERE lease_until > next_run_at AND status IN ('pending', 'processing');
