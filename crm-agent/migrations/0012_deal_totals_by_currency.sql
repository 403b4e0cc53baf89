-- Deal totals split by currency: deal values in different currencies are never added
-- together, so every sum the analytics read from the totals has to be per currency.
--
-- Migration 12 is this file followed by the triggers of the database at hand
-- (0012_deal_totals_by_currency_triggers.sqlite.sql or ….postgres.sql): one transaction, so no
-- write can fall between the backfill below and the triggers.

DROP TABLE deal_totals;

CREATE TABLE deal_totals (
    organization_id TEXT NOT NULL,
    stage_id        TEXT NOT NULL,
    status          TEXT NOT NULL,
    currency        TEXT NOT NULL,
    n               BIGINT NOT NULL,
    value_sum       BIGINT NOT NULL,
    -- Σ value × probability (cents × percent).
    weighted_sum    BIGINT NOT NULL,
    PRIMARY KEY (organization_id, stage_id, status, currency)
);

INSERT INTO deal_totals
SELECT organization_id, stage_id, status, currency, COUNT(*), SUM(value), SUM(value * probability)
FROM deals GROUP BY organization_id, stage_id, status, currency;
