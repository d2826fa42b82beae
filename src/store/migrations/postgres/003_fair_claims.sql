-- Fair claiming: a worker takes the due job of the user it served least recently, so one
-- user's 200 queued generations do not hold back another user's first one.
ALTER TABLE users ADD COLUMN last_claim_at bigint NOT NULL DEFAULT 0;

-- Jobs at a provider (submitted, not ended): counted before each submit against the
-- provider's cap, which keeps this index small.
CREATE INDEX generations_in_flight ON generations(provider)
  WHERE status = 'processing' AND provider_job_id IS NOT NULL;
