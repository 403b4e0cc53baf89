-- The triggers of migration 7 on SQLite (see 0007_totals.sql): each change of a counted row
-- moves it out of its old group and into its new one.

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
