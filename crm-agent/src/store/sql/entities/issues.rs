//! Issues and their comments: the tables, columns, insert and patch values, filter, sort order and
//! references.

use super::customers::CUSTOMERS;
use super::employees::EMPLOYEES;
use super::orders::ORDERS;
use super::{Table, Values, set, table_ref, try_set};
use crate::domain::*;
use crate::error::Result;
use crate::store::sql::codec::{self, Row, SqlValue};
use crate::store::sql::query::{Reference, SortKey, SortOrder, TextSearch, Visibility, Where};

pub(crate) const ISSUES: Table = Table {
    name: "issues",
    entity: "issue",
    visibility: Visibility::CustomerOwned,
    columns: "id, organization_id, number, title, description, priority, category, status, customer_id, order_id, \
              assigned_to, resolution_notes, resolved_at, resolved_by, custom_fields, created_at, updated_at",
    id_prefix: "iss",
};

pub(crate) fn issue_from_row(r: &Row) -> Result<Issue> {
    Ok(Issue {
        id: r.id("id")?,
        organization_id: r.id("organization_id")?,
        number: r.text("number")?,
        title: r.text("title")?,
        description: r.opt_text("description")?,
        priority: r.parse("priority")?,
        category: r.parse("category")?,
        status: r.parse("status")?,
        customer_id: r.opt_id("customer_id")?,
        order_id: r.opt_id("order_id")?,
        assigned_to: r.opt_id("assigned_to")?,
        resolution_notes: r.opt_text("resolution_notes")?,
        resolved_at: r.opt_ts("resolved_at")?,
        resolved_by: r.opt_text("resolved_by")?,
        custom_fields: r.json("custom_fields")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub(crate) fn issue_insert(new: &NewIssue) -> Result<Values> {
    Ok(vec![
        ("title", (&new.title).into()),
        ("description", new.description.clone().into()),
        ("priority", codec::text(new.priority)),
        ("category", codec::text(new.category)),
        ("status", codec::text(new.status)),
        ("customer_id", codec::opt_text(new.customer_id.as_ref())),
        ("order_id", codec::opt_text(new.order_id.as_ref())),
        ("assigned_to", codec::opt_text(new.assigned_to.as_ref())),
        ("resolution_notes", SqlValue::Text(None)),
        ("resolved_at", SqlValue::Int(None)),
        ("resolved_by", SqlValue::Text(None)),
        ("custom_fields", codec::json(&new.custom_fields)?),
    ])
}

pub(crate) fn issue_patch(p: &IssuePatch) -> Result<Values> {
    let mut v = Values::new();
    set(&mut v, "title", p.title.clone(), SqlValue::from);
    set(&mut v, "description", p.description.clone(), SqlValue::from);
    set(&mut v, "priority", p.priority, codec::text);
    set(&mut v, "category", p.category, codec::text);
    set(&mut v, "status", p.status, codec::text);
    set(&mut v, "customer_id", p.customer_id.clone(), codec::opt_text);
    set(&mut v, "order_id", p.order_id.clone(), codec::opt_text);
    set(&mut v, "assigned_to", p.assigned_to.clone(), codec::opt_text);
    set(&mut v, "resolution_notes", p.resolution_notes.clone(), SqlValue::from);
    set(&mut v, "resolved_at", p.resolved_at, codec::opt_ts);
    set(&mut v, "resolved_by", p.resolved_by.clone(), SqlValue::from);
    try_set(&mut v, "custom_fields", p.custom_fields.as_ref(), codec::json)?;
    Ok(v)
}

pub(crate) const ISSUE_SEARCH: TextSearch =
    TextSearch { index: "issues_search", columns: &["number", "title", "description"] };

pub(crate) fn issue_filter(w: &mut Where, f: &IssueFilter) -> Result<()> {
    w.eq("status", f.status.map(codec::text));
    w.eq("priority", f.priority.map(codec::text));
    w.eq("category", f.category.map(codec::text));
    w.eq("assigned_to", f.assigned_to.as_ref().map(|e| e.as_str()));
    w.eq("customer_id", f.customer_id.as_ref().map(|c| c.as_str()));
    w.eq("order_id", f.order_id.as_ref().map(|o| o.as_str()));
    w.search(&ISSUE_SEARCH, f.search.as_deref());
    w.created(ISSUES.id_prefix, &f.created);
    w.time_range("updated_at", &f.updated);
    w.time_range("resolved_at", &f.resolved);
    w.custom_fields(&f.custom_fields)
}

pub(crate) fn issue_order(f: &IssueFilter) -> SortOrder {
    SortOrder::of(f.sort, |field| match field {
        IssueSort::CreatedAt => None,
        IssueSort::UpdatedAt => Some(SortKey::int("updated_at")),
        IssueSort::ResolvedAt => Some(SortKey::int("resolved_at").or_null()),
    })
}

pub(crate) fn issue_refs<'a>(
    customer: Option<&'a CustomerId>,
    order: Option<&'a OrderId>,
    assigned_to: Option<&'a EmployeeId>,
) -> Vec<Reference<'a>> {
    vec![
        table_ref(&CUSTOMERS, customer.map(CustomerId::as_str)),
        table_ref(&ORDERS, order.map(OrderId::as_str)),
        table_ref(&EMPLOYEES, assigned_to.map(EmployeeId::as_str)),
    ]
}

pub(crate) const COMMENTS: Table = Table {
    name: "issue_comments",
    entity: "issue comment",
    visibility: Visibility::IssueComment,
    columns: "id, organization_id, issue_id, author_user_id, author_name, body, internal, created_at",
    id_prefix: "com",
};

pub(crate) fn comment_from_row(r: &Row) -> Result<IssueComment> {
    Ok(IssueComment {
        id: r.text("id")?,
        organization_id: r.id("organization_id")?,
        issue_id: r.id("issue_id")?,
        author_user_id: r.text("author_user_id")?,
        author_name: r.text("author_name")?,
        body: r.text("body")?,
        internal: r.boolean("internal")?,
        created_at: r.ts("created_at")?,
    })
}
