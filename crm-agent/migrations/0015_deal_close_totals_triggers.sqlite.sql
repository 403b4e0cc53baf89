-- The deal triggers of migration 15 on SQLite (see 0015_deal_close_totals.sql): each change of
-- a deal moves it out of its old group and into its new one.

CREATE TRIGGER deals_close_totals_insert AFTER INSERT ON deals BEGIN
    INSERT INTO deal_close_totals
    VALUES (NEW.organization_id, COALESCE(NEW.actual_close_date, ''), NEW.status, NEW.currency, 1, NEW.value)
    ON CONFLICT (organization_id, close_day, status, currency) DO UPDATE
    SET n = n + 1, value_sum = value_sum + excluded.value_sum;
END;

CREATE TRIGGER deals_close_totals_delete AFTER DELETE ON deals BEGIN
    UPDATE deal_close_totals SET n = n - 1, value_sum = value_sum - OLD.value
    WHERE organization_id = OLD.organization_id AND close_day = COALESCE(OLD.actual_close_date, '')
      AND status = OLD.status AND currency = OLD.currency;
END;

CREATE TRIGGER deals_close_totals_update
AFTER UPDATE OF organization_id, actual_close_date, status, currency, value ON deals BEGIN
    UPDATE deal_close_totals SET n = n - 1, value_sum = value_sum - OLD.value
    WHERE organization_id = OLD.organization_id AND close_day = COALESCE(OLD.actual_close_date, '')
      AND status = OLD.status AND currency = OLD.currency;
    INSERT INTO deal_close_totals
    VALUES (NEW.organization_id, COALESCE(NEW.actual_close_date, ''), NEW.status, NEW.currency, 1, NEW.value)
    ON CONFLICT (organization_id, close_day, status, currency) DO UPDATE
    SET n = n + 1, value_sum = value_sum + excluded.value_sum;
END;
