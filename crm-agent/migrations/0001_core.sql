-- crm-agent core schema. This DDL is valid on both SQLite and PostgreSQL: integers are BIGINT,
-- money is BIGINT minor units (cents), timestamps BIGINT microseconds since the epoch (UTC),
-- dates TEXT 'YYYY-MM-DD' (sortable), JSON values TEXT. Every tenant table carries
-- organization_id and every filter the tool catalogue offers has an (organization_id, …, id)
-- index so keyset pagination (ORDER BY id DESC) stays an index walk.

CREATE TABLE organizations (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    slug        TEXT NOT NULL UNIQUE,
    industry    TEXT,
    website     TEXT,
    settings    TEXT NOT NULL,
    active      BOOLEAN NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE members (
    organization_id TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    role            TEXT NOT NULL,
    employee_id     TEXT,
    customer_id     TEXT,
    display_name    TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);
CREATE INDEX members_user ON members (user_id);

CREATE TABLE roles (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    name            TEXT NOT NULL,
    description     TEXT,
    grants          TEXT NOT NULL,
    is_system       BOOLEAN NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (organization_id, name)
);

CREATE TABLE employees (
    id                TEXT PRIMARY KEY,
    organization_id   TEXT NOT NULL,
    user_id           TEXT,
    first_name        TEXT NOT NULL,
    last_name         TEXT NOT NULL,
    email             TEXT NOT NULL,
    phone             TEXT,
    job_title         TEXT,
    department        TEXT,
    employment_type   TEXT NOT NULL,
    status            TEXT NOT NULL,
    manager_id        TEXT,
    hire_date         TEXT,
    salary            BIGINT CHECK (salary >= 0),
    commission_rate   BIGINT CHECK (commission_rate >= 0),
    emergency_contact TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX employees_org ON employees (organization_id, id);
CREATE INDEX employees_status ON employees (organization_id, status, id);
CREATE INDEX employees_department ON employees (organization_id, department, id);

CREATE TABLE employee_roles (
    organization_id TEXT NOT NULL,
    employee_id     TEXT NOT NULL,
    role_id         TEXT NOT NULL,
    PRIMARY KEY (employee_id, role_id)
);

CREATE TABLE customers (
    id                  TEXT PRIMARY KEY,
    organization_id     TEXT NOT NULL,
    name                TEXT NOT NULL,
    customer_type       TEXT NOT NULL,
    company_name        TEXT,
    email               TEXT,
    phone               TEXT,
    address             TEXT,
    city                TEXT,
    state               TEXT,
    postal_code         TEXT,
    country             TEXT,
    industry            TEXT,
    website             TEXT,
    status              TEXT NOT NULL,
    assigned_to         TEXT,
    credit_limit        BIGINT CHECK (credit_limit >= 0),
    source              TEXT,
    tags                TEXT NOT NULL,
    notes               TEXT,
    converted_from_lead TEXT,
    user_id             TEXT,
    custom_fields       TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX customers_org ON customers (organization_id, id);
CREATE INDEX customers_status ON customers (organization_id, status, id);
CREATE INDEX customers_type ON customers (organization_id, customer_type, id);
CREATE INDEX customers_assigned ON customers (organization_id, assigned_to, id);
CREATE INDEX customers_created ON customers (organization_id, created_at);

CREATE TABLE pipelines (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    name            TEXT NOT NULL,
    is_default      BOOLEAN NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX pipelines_org ON pipelines (organization_id, id);

CREATE TABLE pipeline_stages (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    pipeline_id     TEXT NOT NULL,
    name            TEXT NOT NULL,
    position        BIGINT NOT NULL,
    probability     BIGINT NOT NULL CHECK (probability BETWEEN 0 AND 100),
    is_closed_won   BOOLEAN NOT NULL,
    is_closed_lost  BOOLEAN NOT NULL
);
CREATE INDEX pipeline_stages_pipeline ON pipeline_stages (organization_id, pipeline_id, position);

CREATE TABLE leads (
    id                    TEXT PRIMARY KEY,
    organization_id       TEXT NOT NULL,
    name                  TEXT NOT NULL,
    email                 TEXT,
    phone                 TEXT,
    company               TEXT,
    job_title             TEXT,
    source                TEXT NOT NULL,
    qualification_status  TEXT NOT NULL,
    score                 BIGINT NOT NULL CHECK (score BETWEEN 0 AND 100),
    estimated_value       BIGINT CHECK (estimated_value >= 0),
    assigned_to           TEXT,
    stage_id              TEXT,
    notes                 TEXT,
    tags                  TEXT NOT NULL,
    converted             BOOLEAN NOT NULL,
    converted_at          BIGINT,
    converted_customer_id TEXT,
    custom_fields         TEXT NOT NULL,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL
);
CREATE INDEX leads_org ON leads (organization_id, id);
CREATE INDEX leads_status ON leads (organization_id, qualification_status, id);
CREATE INDEX leads_source ON leads (organization_id, source, id);
CREATE INDEX leads_assigned ON leads (organization_id, assigned_to, id);
CREATE INDEX leads_stage ON leads (organization_id, stage_id, id);
CREATE INDEX leads_converted ON leads (organization_id, converted, id);
CREATE INDEX leads_score ON leads (organization_id, score);

CREATE TABLE lead_history (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    lead_id         TEXT NOT NULL,
    from_stage_id   TEXT,
    to_stage_id     TEXT,
    from_score      BIGINT,
    to_score        BIGINT,
    changed_by      TEXT NOT NULL,
    note            TEXT,
    changed_at      BIGINT NOT NULL
);
CREATE INDEX lead_history_lead ON lead_history (organization_id, lead_id, id);

CREATE TABLE deals (
    id                  TEXT PRIMARY KEY,
    organization_id     TEXT NOT NULL,
    title               TEXT NOT NULL,
    customer_id         TEXT,
    lead_id             TEXT,
    pipeline_id         TEXT NOT NULL,
    stage_id            TEXT NOT NULL,
    value               BIGINT NOT NULL CHECK (value >= 0),
    currency            TEXT NOT NULL,
    probability         BIGINT NOT NULL CHECK (probability BETWEEN 0 AND 100),
    expected_close_date TEXT,
    actual_close_date   TEXT,
    priority            TEXT NOT NULL,
    status              TEXT NOT NULL,
    lost_reason         TEXT,
    assigned_to         TEXT,
    tags                TEXT NOT NULL,
    notes               TEXT,
    custom_fields       TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX deals_org ON deals (organization_id, id);
CREATE INDEX deals_status ON deals (organization_id, status, id);
CREATE INDEX deals_stage ON deals (organization_id, stage_id, id);
CREATE INDEX deals_pipeline ON deals (organization_id, pipeline_id, id);
CREATE INDEX deals_priority ON deals (organization_id, priority, id);
CREATE INDEX deals_assigned ON deals (organization_id, assigned_to, id);
CREATE INDEX deals_customer ON deals (organization_id, customer_id, id);
CREATE INDEX deals_value ON deals (organization_id, value);
CREATE INDEX deals_closed ON deals (organization_id, status, actual_close_date);

CREATE TABLE orders (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    number          TEXT NOT NULL,
    customer_id     TEXT NOT NULL,
    order_type      TEXT NOT NULL,
    status          TEXT NOT NULL,
    currency        TEXT NOT NULL,
    subtotal        BIGINT NOT NULL CHECK (subtotal >= 0),
    tax             BIGINT NOT NULL CHECK (tax >= 0),
    total           BIGINT NOT NULL CHECK (total >= 0),
    order_date      TEXT NOT NULL,
    due_date        TEXT,
    notes           TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (organization_id, number)
);
CREATE INDEX orders_org ON orders (organization_id, id);
CREATE INDEX orders_status ON orders (organization_id, status, id);
CREATE INDEX orders_type ON orders (organization_id, order_type, id);
CREATE INDEX orders_customer ON orders (organization_id, customer_id, id);

CREATE TABLE order_items (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    order_id        TEXT NOT NULL,
    position        BIGINT NOT NULL,
    product         TEXT NOT NULL,
    sku             TEXT,
    quantity        BIGINT NOT NULL CHECK (quantity > 0),
    unit_price      BIGINT NOT NULL CHECK (unit_price >= 0),
    total           BIGINT NOT NULL CHECK (total >= 0)
);
CREATE INDEX order_items_order ON order_items (organization_id, order_id, position);

CREATE TABLE payments (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    number          TEXT NOT NULL,
    order_id        TEXT,
    customer_id     TEXT NOT NULL,
    amount          BIGINT NOT NULL CHECK (amount > 0),
    currency        TEXT NOT NULL,
    method          TEXT NOT NULL,
    payment_type    TEXT NOT NULL,
    status          TEXT NOT NULL,
    payment_date    TEXT,
    reference       TEXT,
    notes           TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (organization_id, number)
);
CREATE INDEX payments_org ON payments (organization_id, id);
CREATE INDEX payments_status ON payments (organization_id, status, id);
CREATE INDEX payments_method ON payments (organization_id, method, id);
CREATE INDEX payments_type ON payments (organization_id, payment_type, id);
CREATE INDEX payments_customer ON payments (organization_id, customer_id, id);
CREATE INDEX payments_order ON payments (organization_id, order_id, id);

CREATE TABLE issues (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL,
    number           TEXT NOT NULL,
    title            TEXT NOT NULL,
    description      TEXT,
    priority         TEXT NOT NULL,
    category         TEXT NOT NULL,
    status           TEXT NOT NULL,
    customer_id      TEXT,
    order_id         TEXT,
    assigned_to      TEXT,
    resolution_notes TEXT,
    resolved_at      BIGINT,
    resolved_by      TEXT,
    custom_fields    TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (organization_id, number)
);
CREATE INDEX issues_org ON issues (organization_id, id);
CREATE INDEX issues_status ON issues (organization_id, status, id);
CREATE INDEX issues_priority ON issues (organization_id, priority, id);
CREATE INDEX issues_category ON issues (organization_id, category, id);
CREATE INDEX issues_assigned ON issues (organization_id, assigned_to, id);
CREATE INDEX issues_customer ON issues (organization_id, customer_id, id);
CREATE INDEX issues_order ON issues (organization_id, order_id, id);

CREATE TABLE issue_comments (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    issue_id        TEXT NOT NULL,
    author_user_id  TEXT NOT NULL,
    author_name     TEXT NOT NULL,
    body            TEXT NOT NULL,
    internal        BOOLEAN NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX issue_comments_issue ON issue_comments (organization_id, issue_id, id);

CREATE TABLE activities (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL,
    activity_type    TEXT NOT NULL,
    title            TEXT NOT NULL,
    description      TEXT,
    customer_id      TEXT,
    lead_id          TEXT,
    deal_id          TEXT,
    status           TEXT NOT NULL,
    scheduled_at     BIGINT,
    completed_at     BIGINT,
    assigned_to      TEXT,
    duration_minutes BIGINT CHECK (duration_minutes >= 0),
    outcome          TEXT,
    location         TEXT,
    email_subject    TEXT,
    due_date         TEXT,
    created_by       TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL
);
CREATE INDEX activities_org ON activities (organization_id, id);
CREATE INDEX activities_type ON activities (organization_id, activity_type, id);
CREATE INDEX activities_status ON activities (organization_id, status, id);
CREATE INDEX activities_customer ON activities (organization_id, customer_id, id);
CREATE INDEX activities_lead ON activities (organization_id, lead_id, id);
CREATE INDEX activities_deal ON activities (organization_id, deal_id, id);
CREATE INDEX activities_assigned ON activities (organization_id, assigned_to, id);

CREATE TABLE audit_events (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    action          TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    error_kind      TEXT,
    duration_us     BIGINT NOT NULL,
    arguments       TEXT NOT NULL,
    at              BIGINT NOT NULL
);
CREATE INDEX audit_events_org ON audit_events (organization_id, id);
CREATE INDEX audit_events_user ON audit_events (organization_id, user_id, id);
CREATE INDEX audit_events_action ON audit_events (organization_id, action, id);

-- Per-organization document numbers (ISS-/ORD-/PAY-), one counter per kind and year,
-- bumped with INSERT … ON CONFLICT DO UPDATE … RETURNING inside the inserting transaction.
CREATE TABLE number_sequences (
    organization_id TEXT NOT NULL,
    kind            TEXT NOT NULL,
    year            BIGINT NOT NULL,
    last_value      BIGINT NOT NULL,
    PRIMARY KEY (organization_id, kind, year)
);
