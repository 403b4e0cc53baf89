-- The triggers of migration 7 on PostgreSQL (see 0007_totals.sql): each change of a counted
-- row moves it out of its old group and into its new one.

CREATE FUNCTION crm_customer_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE customer_totals SET n = n - 1
        WHERE organization_id = OLD.organization_id AND status = OLD.status AND customer_type = OLD.customer_type;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO customer_totals AS t VALUES (NEW.organization_id, NEW.status, NEW.customer_type, 1)
        ON CONFLICT (organization_id, status, customer_type) DO UPDATE SET n = t.n + 1;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER customers_totals
AFTER INSERT OR DELETE OR UPDATE OF organization_id, status, customer_type ON customers
FOR EACH ROW EXECUTE FUNCTION crm_customer_totals();

CREATE FUNCTION crm_lead_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE lead_totals
        SET n = n - 1, score_sum = score_sum - OLD.score, value_sum = value_sum - COALESCE(OLD.estimated_value, 0)
        WHERE organization_id = OLD.organization_id AND qualification_status = OLD.qualification_status
          AND source = OLD.source AND converted = OLD.converted;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO lead_totals AS t VALUES (NEW.organization_id, NEW.qualification_status, NEW.source, NEW.converted, 1,
                                             NEW.score, COALESCE(NEW.estimated_value, 0))
        ON CONFLICT (organization_id, qualification_status, source, converted) DO UPDATE
        SET n = t.n + 1, score_sum = t.score_sum + excluded.score_sum, value_sum = t.value_sum + excluded.value_sum;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER leads_totals
AFTER INSERT OR DELETE OR UPDATE OF organization_id, qualification_status, source, converted, score, estimated_value ON leads
FOR EACH ROW EXECUTE FUNCTION crm_lead_totals();

CREATE FUNCTION crm_deal_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE deal_totals
        SET n = n - 1, value_sum = value_sum - OLD.value, weighted_sum = weighted_sum - OLD.value * OLD.probability
        WHERE organization_id = OLD.organization_id AND stage_id = OLD.stage_id AND status = OLD.status;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO deal_totals AS t VALUES (NEW.organization_id, NEW.stage_id, NEW.status, 1, NEW.value,
                                             NEW.value * NEW.probability)
        ON CONFLICT (organization_id, stage_id, status) DO UPDATE
        SET n = t.n + 1, value_sum = t.value_sum + excluded.value_sum, weighted_sum = t.weighted_sum + excluded.weighted_sum;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER deals_totals
AFTER INSERT OR DELETE OR UPDATE OF organization_id, stage_id, status, value, probability ON deals
FOR EACH ROW EXECUTE FUNCTION crm_deal_totals();
