-- The record a write changed and its changed fields, on each audit event, so one record's
-- history (`get_record_history`) is a range of one index.
ALTER TABLE audit_events ADD COLUMN record_type TEXT;
ALTER TABLE audit_events ADD COLUMN record_id TEXT;
-- JSON: [{"field", "before", "after"}]; NULL when nothing changed (creations, failures).
ALTER TABLE audit_events ADD COLUMN changes TEXT;
CREATE INDEX audit_events_record ON audit_events (organization_id, record_id, id);
