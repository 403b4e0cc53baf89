-- The deal triggers of migration 12 on SQLite (see 0012_deal_totals_by_currency.sql): each
-- change of a deal moves it out of its old group and into its new one.

DROP TRIGGER deals_totals_insert;
DROP TRIGGER deals_totals_delete;
DROP TRIGGER deals_totals_update;

CREATE TRIGGER deals_totals_insert AFTER INSERT ON deals BEGIN
    INSERT INTO deal_totals
    VALUES (NEW.organization_id, NEW.stage_id, NEW.status, NEW.currency, 1, NEW.value, NEW.value * NEW.probability)
    ON CONFLICT (organization_id, stage_id, status, currency) DO UPDATE
    SET n = n + 1, value_sum = value_sum + excluded.value_sum, weighted_sum = weighted_sum + excluded.weighted_sum;
END;

CREATE TRIGGER deals_totals_delete AFTER DELETE ON deals BEGIN
    UPDATE deal_totals
    SET n = n - 1, value_sum = value_sum - OLD.value, weighted_sum = weighted_sum - OLD.value * OLD.probability
    WHERE organization_id = OLD.organization_id AND stage_id = OLD.stage_id AND status = OLD.status
      AND currency = OLD.currency;
END;

CREATE TRIGGER deals_totals_update
AFTER UPDATE OF organization_id, stage_id, status, currency, value, probability ON deals BEGIN
    UPDATE deal_totals
    SET n = n - 1, value_sum = value_sum - OLD.value, weighted_sum = weighted_sum - OLD.value * OLD.probability
    WHERE organization_id = OLD.organization_id AND stage_id = OLD.stage_id AND status = OLD.status
      AND currency = OLD.currency;
    INSERT INTO deal_totals
    VALUES (NEW.organization_id, NEW.stage_id, NEW.status, NEW.currency, 1, NEW.value, NEW.value * NEW.probability)
    ON CONFLICT (organization_id, stage_id, status, currency) DO UPDATE
    SET n = n + 1, value_sum = value_sum + excluded.value_sum, weighted_sum = weighted_sum + excluded.weighted_sum;
END;
