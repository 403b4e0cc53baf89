-- The deal triggers of migration 12 on PostgreSQL (see 0012_deal_totals_by_currency.sql):
-- each change of a deal moves it out of its old group and into its new one, after locking
-- both groups' rows in key order (as migration 9 does) so concurrent moves cannot deadlock.

CREATE OR REPLACE FUNCTION crm_deal_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE deal_totals
        SET n = n - 1, value_sum = value_sum - OLD.value, weighted_sum = weighted_sum - OLD.value * OLD.probability
        WHERE organization_id = OLD.organization_id AND stage_id = OLD.stage_id AND status = OLD.status
          AND currency = OLD.currency;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO deal_totals AS t VALUES (NEW.organization_id, NEW.stage_id, NEW.status, NEW.currency, 1,
                                             NEW.value, NEW.value * NEW.probability)
        ON CONFLICT (organization_id, stage_id, status, currency) DO UPDATE
        SET n = t.n + 1, value_sum = t.value_sum + excluded.value_sum, weighted_sum = t.weighted_sum + excluded.weighted_sum;
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER deals_totals ON deals;
CREATE TRIGGER deals_totals
AFTER INSERT OR DELETE OR UPDATE OF organization_id, stage_id, status, currency, value, probability ON deals
FOR EACH ROW EXECUTE FUNCTION crm_deal_totals();

CREATE OR REPLACE FUNCTION crm_lock_deal_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM deal_totals
    WHERE (organization_id, stage_id, status, currency)
          IN ((OLD.organization_id, OLD.stage_id, OLD.status, OLD.currency),
              (NEW.organization_id, NEW.stage_id, NEW.status, NEW.currency))
    ORDER BY organization_id, stage_id, status, currency
    FOR UPDATE;
    RETURN NEW;
END $$;

DROP TRIGGER deals_lock_totals ON deals;
CREATE TRIGGER deals_lock_totals
BEFORE UPDATE OF organization_id, stage_id, status, currency ON deals
FOR EACH ROW
WHEN ((OLD.organization_id, OLD.stage_id, OLD.status, OLD.currency)
      IS DISTINCT FROM (NEW.organization_id, NEW.stage_id, NEW.status, NEW.currency))
EXECUTE FUNCTION crm_lock_deal_totals();
