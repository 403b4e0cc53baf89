//! Activities: their table, columns, insert and patch values, filter, sort order and references.

use super::customers::CUSTOMERS;
use super::deals::DEALS;
use super::employees::EMPLOYEES;
use super::leads::LEADS;
use super::{Table, Values, set, table_ref};
use crate::domain::*;
use crate::error::Result;
use crate::store::sql::codec::{self, Row, SqlValue};
use crate::store::sql::query::{Reference, SortKey, SortOrder, TextSearch, Visibility, Where};

pub(crate) const ACTIVITIES: Table = Table {
    name: "activities",
    entity: "activity",
    visibility: Visibility::Internal,
    columns: "id, organization_id, activity_type, title, description, customer_id, lead_id, deal_id, status, \
              scheduled_at, completed_at, assigned_to, duration_minutes, outcome, location, email_subject, due_date, \
              created_by, created_at, updated_at",
    id_prefix: "act",
};

pub(crate) fn activity_from_row(r: &Row) -> Result<Activity> {
    Ok(Activity {
        id: r.id("id")?,
        organization_id: r.id("organization_id")?,
        activity_type: r.parse("activity_type")?,
        title: r.text("title")?,
        description: r.opt_text("description")?,
        customer_id: r.opt_id("customer_id")?,
        lead_id: r.opt_id("lead_id")?,
        deal_id: r.opt_id("deal_id")?,
        status: r.parse("status")?,
        scheduled_at: r.opt_ts("scheduled_at")?,
        completed_at: r.opt_ts("completed_at")?,
        assigned_to: r.opt_id("assigned_to")?,
        duration_minutes: r.opt_u32("duration_minutes")?,
        outcome: r.opt_text("outcome")?,
        location: r.opt_text("location")?,
        email_subject: r.opt_text("email_subject")?,
        due_date: r.opt_date("due_date")?,
        created_by: r.opt_text("created_by")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub(crate) fn activity_insert(new: &NewActivity) -> Values {
    vec![
        ("activity_type", codec::text(new.activity_type)),
        ("title", (&new.title).into()),
        ("description", new.description.clone().into()),
        ("customer_id", codec::opt_text(new.customer_id.as_ref())),
        ("lead_id", codec::opt_text(new.lead_id.as_ref())),
        ("deal_id", codec::opt_text(new.deal_id.as_ref())),
        ("status", codec::text(new.status)),
        ("scheduled_at", codec::opt_ts(new.scheduled_at)),
        ("completed_at", codec::opt_ts(new.completed_at)),
        ("assigned_to", codec::opt_text(new.assigned_to.as_ref())),
        ("duration_minutes", SqlValue::Int(new.duration_minutes.map(i64::from))),
        ("outcome", new.outcome.clone().into()),
        ("location", new.location.clone().into()),
        ("email_subject", new.email_subject.clone().into()),
        ("due_date", codec::opt_date(new.due_date)),
        ("created_by", new.created_by.clone().into()),
    ]
}

pub(crate) fn activity_patch(p: &ActivityPatch) -> Values {
    let mut v = Values::new();
    set(&mut v, "activity_type", p.activity_type, codec::text);
    set(&mut v, "title", p.title.clone(), SqlValue::from);
    set(&mut v, "description", p.description.clone(), SqlValue::from);
    set(&mut v, "customer_id", p.customer_id.clone(), codec::opt_text);
    set(&mut v, "lead_id", p.lead_id.clone(), codec::opt_text);
    set(&mut v, "deal_id", p.deal_id.clone(), codec::opt_text);
    set(&mut v, "status", p.status, codec::text);
    set(&mut v, "scheduled_at", p.scheduled_at, codec::opt_ts);
    set(&mut v, "completed_at", p.completed_at, codec::opt_ts);
    set(&mut v, "assigned_to", p.assigned_to.clone(), codec::opt_text);
    set(&mut v, "duration_minutes", p.duration_minutes, |d| SqlValue::Int(d.map(i64::from)));
    set(&mut v, "outcome", p.outcome.clone(), SqlValue::from);
    set(&mut v, "location", p.location.clone(), SqlValue::from);
    set(&mut v, "email_subject", p.email_subject.clone(), SqlValue::from);
    set(&mut v, "due_date", p.due_date, codec::opt_date);
    v
}

pub(crate) const ACTIVITY_SEARCH: TextSearch =
    TextSearch { index: "activities_search", columns: &["title", "description"] };

pub(crate) fn activity_filter(w: &mut Where, f: &ActivityFilter) {
    w.eq("activity_type", f.activity_type.map(codec::text));
    w.eq("status", f.status.map(codec::text));
    w.eq("customer_id", f.customer_id.as_ref().map(|c| c.as_str()));
    w.eq("lead_id", f.lead_id.as_ref().map(|l| l.as_str()));
    w.eq("deal_id", f.deal_id.as_ref().map(|d| d.as_str()));
    w.eq("assigned_to", f.assigned_to.as_ref().map(|e| e.as_str()));
    w.search(&ACTIVITY_SEARCH, f.search.as_deref());
    w.created(ACTIVITIES.id_prefix, &f.created);
    w.time_range("updated_at", &f.updated);
    w.time_range("scheduled_at", &f.scheduled);
    w.date_range("due_date", &f.due);
    if let Some(overdue) = &f.overdue {
        w.push(
            "status NOT IN ('completed', 'cancelled') AND (due_date < ? OR scheduled_at < ?)",
            [codec::date(overdue.today), codec::ts(overdue.now)],
        );
    }
}

pub(crate) fn activity_order(f: &ActivityFilter) -> SortOrder {
    SortOrder::of(f.sort, |field| match field {
        ActivitySort::CreatedAt => None,
        ActivitySort::UpdatedAt => Some(SortKey::int("updated_at")),
        ActivitySort::ScheduledAt => Some(SortKey::int("scheduled_at").or_null()),
        ActivitySort::DueDate => Some(SortKey::text("due_date").or_null()),
        ActivitySort::CompletedAt => Some(SortKey::int("completed_at").or_null()),
    })
}

pub(crate) fn activity_refs<'a>(
    customer: Option<&'a CustomerId>,
    lead: Option<&'a LeadId>,
    deal: Option<&'a DealId>,
    assigned_to: Option<&'a EmployeeId>,
) -> Vec<Reference<'a>> {
    vec![
        table_ref(&CUSTOMERS, customer.map(CustomerId::as_str)),
        table_ref(&LEADS, lead.map(LeadId::as_str)),
        table_ref(&DEALS, deal.map(DealId::as_str)),
        table_ref(&EMPLOYEES, assigned_to.map(EmployeeId::as_str)),
    ]
}
