-- Each remote provider's health as its workers see it: the last success and failure, the
-- failures in a row, and until when its circuit is open (no requests are sent, generate
-- answers 503). Written by the workers, read by GET /providers and POST /generate.
CREATE TABLE provider_health (
  provider         text PRIMARY KEY,
  last_success_at  bigint NOT NULL DEFAULT 0,
  last_failure_at  bigint NOT NULL DEFAULT 0,
  last_failure     text,
  failures         integer NOT NULL DEFAULT 0,
  open_until       bigint NOT NULL DEFAULT 0
);
