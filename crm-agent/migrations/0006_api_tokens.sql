-- API tokens (SPEC §5): how MCP clients and other programs act as a user. Each belongs to one
-- user in one organization. Only the SHA-256 of the secret is kept; `find_api_token` looks a
-- token up by that hash on every request, through the index of its UNIQUE constraint. A user's
-- list filters by organization_id and user_id, newest first (ORDER BY id DESC).

CREATE TABLE api_tokens (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    name            TEXT NOT NULL,
    prefix          TEXT NOT NULL,
    secret_hash     TEXT NOT NULL UNIQUE,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT,
    revoked_at      BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens (organization_id, user_id, id);
