-- Every attempt of a generation at a provider (a submit, or a local render), in order: the
-- route it took, the provider's job id, when it began and ended, how it ended and why. A
-- model served by several providers (its catalog route list) tries them in order; the
-- generation is charged once, and this history says which providers were tried.
CREATE TABLE generation_attempts (
  generation_id   text COLLATE "C" NOT NULL REFERENCES generations(id) ON DELETE CASCADE,
  n               integer NOT NULL CHECK (n >= 1),
  provider        text NOT NULL,
  model           text NOT NULL,
  provider_job_id text,
  started_at      bigint NOT NULL,
  ended_at        bigint,
  -- NULL while under way; then completed, failed, cancelled, retried (the same route again),
  -- fell_back (the next route took over) or interrupted (its worker stopped)
  outcome         text CHECK (outcome IN ('completed', 'failed', 'cancelled', 'retried', 'fell_back',
                                          'interrupted')),
  error           text,
  http_status     integer,
  PRIMARY KEY (generation_id, n)
);
