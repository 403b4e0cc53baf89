-- Idempotency keys of create tools (SPEC §3): the same key from the same user in the same
-- organization within 24 hours returns the first result and writes nothing.
CREATE TABLE idempotency_keys (
    organization_id TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    idem_key        TEXT NOT NULL,
    tool            TEXT NOT NULL,
    status          TEXT NOT NULL,
    result          TEXT,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (organization_id, user_id, idem_key)
);
