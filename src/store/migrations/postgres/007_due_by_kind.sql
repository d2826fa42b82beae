-- The worker's next wake-up reads, per kind it has room for, the earliest next_run_at of
-- that kind: one probe of this index each (generations_runnable served min() over all
-- kinds, so a full kind made the loop spin on the other's due rows).
DROP INDEX generations_runnable;
CREATE INDEX generations_due_kind ON generations((provider = 'local'), next_run_at)
  WHERE status IN ('pending', 'processing');
