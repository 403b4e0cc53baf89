-- Rate budgets shared by every process on the database: one row per user and budget, holding
-- when the budget is next full minus what it may still spend (a leaky bucket kept as its
-- "ready at" time, in microseconds since the epoch).
CREATE TABLE rate_limits (
    organization_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    bucket TEXT NOT NULL,
    ready_at BIGINT NOT NULL,
    PRIMARY KEY (organization_id, user_id, bucket)
);
