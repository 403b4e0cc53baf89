-- The deal triggers of migration 15 on PostgreSQL (see 0015_deal_close_totals.sql): each change
-- of a deal moves it out of its old group and into its new one, once the BEFORE trigger at the
-- end of this file has created and locked the rows it needs, so that concurrent writes cannot
-- deadlock.

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

-- Before a deal is written, the rows of the groups it goes into exist in both totals tables
-- (created empty if need be), and an update has locked its old and new close-day rows in key
-- order. Both tables' rows are thus always taken in one order: a write's new rows first (in
-- this trigger), then its close-day rows, then its `deal_totals` rows (migration 12's lock
-- trigger, which runs after this one by name), then the AFTER triggers, which only touch rows
-- already created. Were a new group's row created by the AFTER trigger instead, a deal created
-- on a new close day would hold that row while waiting for the stage's `deal_totals` row,
-- which a concurrent close into the same stage holds while waiting for the new row.

CREATE FUNCTION crm_prepare_deal_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO deal_close_totals
    VALUES (NEW.organization_id, COALESCE(NEW.actual_close_date, ''), NEW.status, NEW.currency, 0, 0)
    ON CONFLICT DO NOTHING;
    INSERT INTO deal_totals VALUES (NEW.organization_id, NEW.stage_id, NEW.status, NEW.currency, 0, 0, 0)
    ON CONFLICT DO NOTHING;
    IF TG_OP = 'UPDATE' THEN
        PERFORM 1 FROM deal_close_totals
        WHERE (organization_id, close_day, status, currency)
              IN ((OLD.organization_id, COALESCE(OLD.actual_close_date, ''), OLD.status, OLD.currency),
                  (NEW.organization_id, COALESCE(NEW.actual_close_date, ''), NEW.status, NEW.currency))
        ORDER BY organization_id, close_day, status, currency
        FOR UPDATE;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER deals_lock_close_totals
BEFORE INSERT OR UPDATE OF organization_id, actual_close_date, status, currency, stage_id ON deals
FOR EACH ROW EXECUTE FUNCTION crm_prepare_deal_totals();
