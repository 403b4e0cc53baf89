-- The assistant's own records (SPEC §4): conversations, their messages, and the writes waiting
-- for a user's confirmation. Each belongs to one user in one organization; every query filters
-- by organization_id and user_id (messages through their conversation), so each access path has
-- an (organization_id, …, id) index and keyset pages (ORDER BY id DESC) stay index walks.

CREATE TABLE conversations (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    title           TEXT NOT NULL,
    message_count   BIGINT NOT NULL CHECK (message_count >= 0),
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX conversations_user ON conversations (organization_id, user_id, id);

-- `parts` are the model API's content parts, verbatim (a JSON array as TEXT). Ids increase in the
-- order messages were appended to their conversation.
CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('user', 'model', 'tool', 'system')),
    parts           TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX messages_conversation ON messages (organization_id, conversation_id, id);

-- Decisions are compare-and-set updates: `UPDATE … WHERE status = 'pending' AND expires_at > ?`.
CREATE TABLE pending_actions (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    conversation_id TEXT,
    tool            TEXT NOT NULL,
    arguments       TEXT NOT NULL,
    summary         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'executing', 'succeeded', 'failed', 'rejected')),
    outcome         TEXT,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    decided_at      BIGINT
);
CREATE INDEX pending_actions_user ON pending_actions (organization_id, user_id, id);
CREATE INDEX pending_actions_conversation ON pending_actions (organization_id, user_id, conversation_id, id);
CREATE INDEX pending_actions_status ON pending_actions (organization_id, user_id, status, id);
