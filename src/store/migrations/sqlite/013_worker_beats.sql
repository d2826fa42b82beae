-- Remote jobs held under their worker's heartbeat. A worker that keeps thousands of remote
-- jobs claimed between polls renewed each one's lease every third of a lease: one statement
-- rewriting every held row and two index entries of each (57 ms for 10,000 jobs, on the
-- worker's loop). Now each worker beats in one row of worker_beats, and a job it claims for a
-- remote provider names it in lease_worker, with lease_until and next_run_at at their
-- largest value ("held while the worker beats"). When a worker's beat lapses, the next
-- worker's round (store.h, workers_reap) turns its jobs back into expired leases, due now.
CREATE TABLE worker_beats (
  name        TEXT PRIMARY KEY,   -- the worker's owner name, HOST:PID:TAG (worker/owner.h)
  alive_until INTEGER NOT NULL    -- ms since the epoch
);
ALTER TABLE generations ADD COLUMN lease_worker TEXT;
-- A reap finds a lapsed worker's jobs by this index.
CREATE INDEX generations_lease_worker ON generations(lease_worker) WHERE lease_worker IS NOT NULL;
-- A beat reads its jobs with news (a cancel, a provider's callback) without reading the rest.
CREATE INDEX generations_news ON generations(lease_worker) WHERE cancel_requested <> 0 OR webhook_woken <> 0;
