-- Migration 9 on PostgreSQL: before a row moves between totals groups (migration 7), lock both
-- groups' totals rows, in key order.
--
-- Migration 7's triggers decrement the old group's row, then upsert the new one's. Moving a deal
-- from stage A to B takes A's row, then B's; moving another deal from B to A at the same time
-- takes them in the other order. Each could hold one and wait for the other, until PostgreSQL
-- broke the deadlock after a second by aborting one (40P01, a retryable `Unavailable` to the
-- caller). Two psql sessions moving two deals between the same stages in opposite directions,
-- 2,000 updates each, met 7 deadlocks (twice); with these triggers, none in three runs. The store
-- conformance case `opposite_moves_at_once` makes such moves through the store.
--
-- These BEFORE triggers run only for an update that changes the group. A group's row that does
-- not exist yet is not locked: it is created by the upsert, and no transaction can be moving a
-- row out of a group that has no committed rows. SQLite runs one writer at a time, so its side
-- of this migration is empty.

CREATE FUNCTION crm_lock_customer_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM customer_totals
    WHERE (organization_id, status, customer_type) IN ((OLD.organization_id, OLD.status, OLD.customer_type),
                                                       (NEW.organization_id, NEW.status, NEW.customer_type))
    ORDER BY organization_id, status, customer_type
    FOR UPDATE;
    RETURN NEW;
END $$;

CREATE TRIGGER customers_lock_totals
BEFORE UPDATE OF organization_id, status, customer_type ON customers
FOR EACH ROW
WHEN ((OLD.organization_id, OLD.status, OLD.customer_type) IS DISTINCT FROM (NEW.organization_id, NEW.status, NEW.customer_type))
EXECUTE FUNCTION crm_lock_customer_totals();

CREATE FUNCTION crm_lock_lead_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM lead_totals
    WHERE (organization_id, qualification_status, source, converted)
          IN ((OLD.organization_id, OLD.qualification_status, OLD.source, OLD.converted),
              (NEW.organization_id, NEW.qualification_status, NEW.source, NEW.converted))
    ORDER BY organization_id, qualification_status, source, converted
    FOR UPDATE;
    RETURN NEW;
END $$;

CREATE TRIGGER leads_lock_totals
BEFORE UPDATE OF organization_id, qualification_status, source, converted ON leads
FOR EACH ROW
WHEN ((OLD.organization_id, OLD.qualification_status, OLD.source, OLD.converted)
      IS DISTINCT FROM (NEW.organization_id, NEW.qualification_status, NEW.source, NEW.converted))
EXECUTE FUNCTION crm_lock_lead_totals();

CREATE FUNCTION crm_lock_deal_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM deal_totals
    WHERE (organization_id, stage_id, status) IN ((OLD.organization_id, OLD.stage_id, OLD.status),
                                                  (NEW.organization_id, NEW.stage_id, NEW.status))
    ORDER BY organization_id, stage_id, status
    FOR UPDATE;
    RETURN NEW;
END $$;

CREATE TRIGGER deals_lock_totals
BEFORE UPDATE OF organization_id, stage_id, status ON deals
FOR EACH ROW
WHEN ((OLD.organization_id, OLD.stage_id, OLD.status) IS DISTINCT FROM (NEW.organization_id, NEW.stage_id, NEW.status))
EXECUTE FUNCTION crm_lock_deal_totals();
