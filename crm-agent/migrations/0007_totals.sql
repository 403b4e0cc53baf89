-- Per-organization totals of customers, leads and deals by the columns the stats and the
-- dashboard group on. Triggers keep them in the same transaction as every insert, update and
-- delete of the rows they count, so an organization-wide aggregate reads a few dozen rows here
-- instead of scanning hundreds of thousands of index entries. Groups that drop to zero stay
-- (with n = 0); readers skip them.
--
-- Migration 7 is this file followed by the triggers of the database at hand
-- (0007_totals_triggers.sqlite.sql or 0007_totals_triggers.postgres.sql): one transaction, so
-- no write can fall between the backfill below and the triggers.

CREATE TABLE customer_totals (
    organization_id TEXT NOT NULL,
    status          TEXT NOT NULL,
    customer_type   TEXT NOT NULL,
    n               BIGINT NOT NULL,
    PRIMARY KEY (organization_id, status, customer_type)
);

CREATE TABLE lead_totals (
    organization_id      TEXT NOT NULL,
    qualification_status TEXT NOT NULL,
    source               TEXT NOT NULL,
    converted            BOOLEAN NOT NULL,
    n                    BIGINT NOT NULL,
    score_sum            BIGINT NOT NULL,
    value_sum            BIGINT NOT NULL,
    PRIMARY KEY (organization_id, qualification_status, source, converted)
);

CREATE TABLE deal_totals (
    organization_id TEXT NOT NULL,
    stage_id        TEXT NOT NULL,
    status          TEXT NOT NULL,
    n               BIGINT NOT NULL,
    value_sum       BIGINT NOT NULL,
    -- Σ value × probability (cents × percent).
    weighted_sum    BIGINT NOT NULL,
    PRIMARY KEY (organization_id, stage_id, status)
);

INSERT INTO customer_totals
SELECT organization_id, status, customer_type, COUNT(*) FROM customers GROUP BY organization_id, status, customer_type;

INSERT INTO lead_totals
SELECT organization_id, qualification_status, source, converted, COUNT(*), SUM(score), SUM(COALESCE(estimated_value, 0))
FROM leads GROUP BY organization_id, qualification_status, source, converted;

INSERT INTO deal_totals
SELECT organization_id, stage_id, status, COUNT(*), SUM(value), SUM(value * probability)
FROM deals GROUP BY organization_id, stage_id, status;

