-- A user an administrator disabled (POST /admin/users/:id/disable): their tokens are revoked
-- at that moment and none of their tokens is taken while disabled_at is set.
ALTER TABLE users ADD COLUMN disabled_at bigint;
