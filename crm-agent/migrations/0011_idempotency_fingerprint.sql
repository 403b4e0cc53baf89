-- The fingerprint of the arguments a key was first used with: the same key with other arguments
-- is refused instead of answering with the first request's result. NULL for keys claimed before.
ALTER TABLE idempotency_keys ADD COLUMN request_hash TEXT;
