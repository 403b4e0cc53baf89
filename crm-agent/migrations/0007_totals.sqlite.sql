-- Per-organization totals of customers, leads and deals by the columns the stats and the
-- dashboard group on. Triggers keep them in the same transaction as every insert, update and
-- delete of the rows they count, so an organization-wide aggregate reads a few dozen rows here
-- instead of scanning hundreds of thousands of index entries. Groups that drop to zero stay
-- (with n = 0); readers skip them.
-- The PostgreSQL twin of this file is 0007_totals.postgres.sql: same tables, same rules.

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

CREATE TRIGGER customers_totals_insert AFTER INSERT ON customers BEGIN
    INSERT INTO customer_totals VALUES (NEW.organization_id, NEW.status, NEW.customer_type, 1)
    ON CONFLICT (organization_id, status, customer_type) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER customers_totals_delete AFTER DELETE ON customers BEGIN
    UPDATE customer_totals SET n = n - 1
    WHERE organization_id = OLD.organization_id AND status = OLD.status AND customer_type = OLD.customer_type;
END;

CREATE TRIGGER customers_totals_update AFTER UPDATE OF organization_id, status, customer_type ON customers BEGIN
    UPDATE customer_totals SET n = n - 1
    WHERE organization_id = OLD.organization_id AND status = OLD.status AND customer_type = OLD.customer_type;
    INSERT INTO customer_totals VALUES (NEW.organization_id, NEW.status, NEW.customer_type, 1)
    ON CONFLICT (organization_id, status, customer_type) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER leads_totals_insert AFTER INSERT ON leads BEGIN
    INSERT INTO lead_totals VALUES (NEW.organization_id, NEW.qualification_status, NEW.source, NEW.converted, 1,
                                    NEW.score, COALESCE(NEW.estimated_value, 0))
    ON CONFLICT (organization_id, qualification_status, source, converted) DO UPDATE
    SET n = n + 1, score_sum = score_sum + excluded.score_sum, value_sum = value_sum + excluded.value_sum;
END;

CREATE TRIGGER leads_totals_delete AFTER DELETE ON leads BEGIN
    UPDATE lead_totals
    SET n = n - 1, score_sum = score_sum - OLD.score, value_sum = value_sum - COALESCE(OLD.estimated_value, 0)
    WHERE organization_id = OLD.organization_id AND qualification_status = OLD.qualification_status
      AND source = OLD.source AND converted = OLD.converted;
END;

CREATE TRIGGER leads_totals_update
AFTER UPDATE OF organization_id, qualification_status, source, converted, score, estimated_value ON leads BEGIN
    UPDATE lead_totals
    SET n = n - 1, score_sum = score_sum - OLD.score, value_sum = value_sum - COALESCE(OLD.estimated_value, 0)
    WHERE organization_id = OLD.organization_id AND qualification_status = OLD.qualification_status
      AND source = OLD.source AND converted = OLD.converted;
    INSERT INTO lead_totals VALUES (NEW.organization_id, NEW.qualification_status, NEW.source, NEW.converted, 1,
                                    NEW.score, COALESCE(NEW.estimated_value, 0))
    ON CONFLICT (organization_id, qualification_status, source, converted) DO UPDATE
    SET n = n + 1, score_sum = score_sum + excluded.score_sum, value_sum = value_sum + excluded.value_sum;
END;

CREATE TRIGGER deals_totals_insert AFTER INSERT ON deals BEGIN
    INSERT INTO deal_totals VALUES (NEW.organization_id, NEW.stage_id, NEW.status, 1, NEW.value, NEW.value * NEW.probability)
    ON CONFLICT (organization_id, stage_id, status) DO UPDATE
    SET n = n + 1, value_sum = value_sum + excluded.value_sum, weighted_sum = weighted_sum + excluded.weighted_sum;
END;

CREATE TRIGGER deals_totals_delete AFTER DELETE ON deals BEGIN
    UPDATE deal_totals
    SET n = n - 1, value_sum = value_sum - OLD.value, weighted_sum = weighted_sum - OLD.value * OLD.probability
    WHERE organization_id = OLD.organization_id AND stage_id = OLD.stage_id AND status = OLD.status;
END;

CREATE TRIGGER deals_totals_update AFTER UPDATE OF organization_id, stage_id, status, value, probability ON deals BEGIN
    UPDATE deal_totals
    SET n = n - 1, value_sum = value_sum - OLD.value, weighted_sum = weighted_sum - OLD.value * OLD.probability
    WHERE organization_id = OLD.organization_id AND stage_id = OLD.stage_id AND status = OLD.status;
    INSERT INTO deal_totals VALUES (NEW.organization_id, NEW.stage_id, NEW.status, 1, NEW.value, NEW.value * NEW.probability)
    ON CONFLICT (organization_id, stage_id, status) DO UPDATE
    SET n = n + 1, value_sum = value_sum + excluded.value_sum, weighted_sum = weighted_sum + excluded.weighted_sum;
END;
