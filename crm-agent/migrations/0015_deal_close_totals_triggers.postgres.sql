-- The deal triggers of migration 15 on PostgreSQL (see 0015_deal_close_totals.sql): each change
-- of a deal moves it out of its old group and into its new one, after locking both groups'
-- rows in key order (as migration 9 explains) so concurrent moves cannot deadlock.

CREATE FUNCTION crm_deal_close_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE deal_close_totals SET n = n - 1, value_sum = value_sum - OLD.value
        WHERE organization_id = OLD.organization_id AND close_day = COALESCE(OLD.actual_close_date, '')
          AND status = OLD.status AND currency = OLD.currency;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO deal_close_totals AS t
        VALUES (NEW.organization_id, COALESCE(NEW.actual_close_date, ''), NEW.status, NEW.currency, 1, NEW.value)
        ON CONFLICT (organization_id, close_day, status, currency) DO UPDATE
        SET n = t.n + 1, value_sum = t.value_sum + excluded.value_sum;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER deals_close_totals
AFTER INSERT OR DELETE OR UPDATE OF organization_id, actual_close_date, status, currency, value ON deals
FOR EACH ROW EXECUTE FUNCTION crm_deal_close_totals();

CREATE FUNCTION crm_lock_deal_close_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM deal_close_totals
    WHERE (organization_id, close_day, status, currency)
          IN ((OLD.organization_id, COALESCE(OLD.actual_close_date, ''), OLD.status, OLD.currency),
              (NEW.organization_id, COALESCE(NEW.actual_close_date, ''), NEW.status, NEW.currency))
    ORDER BY organization_id, close_day, status, currency
    FOR UPDATE;
    RETURN NEW;
END $$;

CREATE TRIGGER deals_lock_close_totals
BEFORE UPDATE OF organization_id, actual_close_date, status, currency ON deals
FOR EACH ROW
WHEN ((OLD.organization_id, OLD.actual_close_date, OLD.status, OLD.currency)
      IS DISTINCT FROM (NEW.organization_id, NEW.actual_close_date, NEW.status, NEW.currency))
EXECUTE FUNCTION crm_lock_deal_close_totals();
