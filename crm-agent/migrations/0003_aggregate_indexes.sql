-- Covering indexes for the aggregates (stats, dashboard, funnel, performance): every column
-- those GROUP BY queries read is in the index, so the database scans the index alone instead
-- of visiting each row of the table.
CREATE INDEX deals_aggregate ON deals (organization_id, status, stage_id, assigned_to, value, probability, actual_close_date);
CREATE INDEX customers_aggregate ON customers (organization_id, status, customer_type, assigned_to, created_at);
CREATE INDEX leads_aggregate ON leads (organization_id, qualification_status, source, converted, assigned_to, score, estimated_value);
CREATE INDEX issues_aggregate ON issues (organization_id, status, priority, category);
CREATE INDEX activities_aggregate ON activities (organization_id, activity_type, status, assigned_to);
