-- Provider callbacks (webhooks): each submit that gives a provider a callback URL makes an
-- unguessable token for it (core/webhook.h), kept here only as its hash (BLAKE2b, hex), so a
-- leaked database leaks no callback URL. A callback with a known token makes its job due at
-- once (the worker polls: the callback itself is never trusted). webhook_woken remembers one
-- that came while a worker held the job, so that the worker's release does not push the next
-- poll back past it.
ALTER TABLE generations ADD COLUMN webhook_hash text;
ALTER TABLE generations ADD COLUMN webhook_woken integer NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX generations_webhook ON generations(webhook_hash) WHERE webhook_hash IS NOT NULL;
