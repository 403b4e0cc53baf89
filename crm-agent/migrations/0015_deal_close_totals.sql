-- Deal counts and values per organization, day of closing, status and currency, so that
-- `aggregate_records` over deals by close date (revenue per month, wins per quarter…) reads a
-- few hundred rows per organization instead of every deal. The store answers from this table
-- only queries it holds exactly: no filter but status and close dates, grouped by close date
-- buckets, status or currency, measuring count, sum or average of the value.
--
-- `close_day` is `actual_close_date`, or '' for a deal without one (a key column cannot be
-- NULL, and '' sorts before every date, which range filters exclude explicitly).
--
-- Migration 15 is this file followed by the triggers of the database at hand
-- (0015_deal_close_totals_triggers.sqlite.sql or ….postgres.sql): one transaction, so no write
-- can fall between the backfill below and the triggers.

CREATE TABLE deal_close_totals (
    organization_id TEXT NOT NULL,
    close_day       TEXT NOT NULL,
    status          TEXT NOT NULL,
    currency        TEXT NOT NULL,
    n               BIGINT NOT NULL,
    value_sum       BIGINT NOT NULL,
    PRIMARY KEY (organization_id, close_day, status, currency)
);

INSERT INTO deal_close_totals
SELECT organization_id, COALESCE(actual_close_date, ''), status, currency, COUNT(*), SUM(value)
FROM deals GROUP BY organization_id, COALESCE(actual_close_date, ''), status, currency;
