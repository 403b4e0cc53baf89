-- Indexes for the list orders and date filters: each is `(organization_id, key, id)`, the
-- keyset a page continues from, so a sorted or date-bounded page reads one index range.
-- `leads_score` and `deals_value` lacked the id and are replaced. Two more cover common
-- questions whole: open deals by expected close date (a count, or the top ones by value, read the
-- index alone), and money
-- by close date and currency (what `aggregate_records` groups a sum of value by).
DROP INDEX leads_score;
DROP INDEX deals_value;
CREATE INDEX customers_name ON customers (organization_id, name, id);
CREATE INDEX customers_updated ON customers (organization_id, updated_at, id);
CREATE INDEX leads_score ON leads (organization_id, score, id);
CREATE INDEX leads_updated ON leads (organization_id, updated_at, id);
CREATE INDEX deals_value ON deals (organization_id, value, id);
CREATE INDEX deals_updated ON deals (organization_id, updated_at, id);
CREATE INDEX deals_expected_close ON deals (organization_id, expected_close_date, id);
CREATE INDEX deals_actual_close ON deals (organization_id, actual_close_date, id);
CREATE INDEX issues_resolved ON issues (organization_id, resolved_at, id);
CREATE INDEX orders_date ON orders (organization_id, order_date, id);
CREATE INDEX payments_date ON payments (organization_id, payment_date, id);
CREATE INDEX activities_due ON activities (organization_id, due_date, id);
CREATE INDEX activities_scheduled ON activities (organization_id, scheduled_at, id);
CREATE INDEX employees_last_name ON employees (organization_id, last_name, id);
CREATE INDEX deals_status_expected_close ON deals (organization_id, status, expected_close_date, value, id);
CREATE INDEX deals_close_currency_value ON deals (organization_id, actual_close_date, currency, value);
