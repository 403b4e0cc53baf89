//! Leads and their history: the table, columns, insert and patch values, filter, sort order,
//! counts read from `lead_totals`, and references.

use super::employees::EMPLOYEES;
use super::{Table, Values, set, stage_ref, table_ref, try_set};
use crate::domain::*;
use crate::error::Result;
use crate::store::Scope;
use crate::store::sql::codec::{self, Row, SqlValue};
use crate::store::sql::query::{Reference, SortKey, SortOrder, TextSearch, Visibility, Where};

pub(crate) const LEADS: Table = Table {
    name: "leads",
    entity: "lead",
    visibility: Visibility::Internal,
    columns: "id, organization_id, name, email, phone, company, job_title, source, qualification_status, score, \
              estimated_value, assigned_to, stage_id, notes, tags, converted, converted_at, converted_customer_id, \
              custom_fields, created_at, updated_at",
    id_prefix: "led",
};

pub(crate) fn lead_from_row(r: &Row) -> Result<Lead> {
    Ok(Lead {
        id: r.id("id")?,
        organization_id: r.id("organization_id")?,
        name: r.text("name")?,
        email: r.opt_text("email")?,
        phone: r.opt_text("phone")?,
        company: r.opt_text("company")?,
        job_title: r.opt_text("job_title")?,
        source: r.parse("source")?,
        qualification_status: r.parse("qualification_status")?,
        score: r.small("score")?,
        estimated_value: r.opt_money("estimated_value")?,
        assigned_to: r.opt_id("assigned_to")?,
        stage_id: r.opt_id("stage_id")?,
        notes: r.opt_text("notes")?,
        tags: r.json("tags")?,
        converted: r.boolean("converted")?,
        converted_at: r.opt_ts("converted_at")?,
        converted_customer_id: r.opt_id("converted_customer_id")?,
        custom_fields: r.json("custom_fields")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub(crate) fn lead_insert(new: &NewLead) -> Result<Values> {
    Ok(vec![
        ("name", (&new.name).into()),
        ("email", new.email.clone().into()),
        ("phone", new.phone.clone().into()),
        ("company", new.company.clone().into()),
        ("job_title", new.job_title.clone().into()),
        ("source", codec::text(new.source)),
        ("qualification_status", codec::text(new.qualification_status)),
        ("score", i64::from(new.score).into()),
        ("estimated_value", codec::opt_money(new.estimated_value)?),
        ("assigned_to", codec::opt_text(new.assigned_to.as_ref())),
        ("stage_id", codec::opt_text(new.stage_id.as_ref())),
        ("notes", new.notes.clone().into()),
        ("tags", codec::json(&new.tags)?),
        ("converted", false.into()),
        ("converted_at", SqlValue::Int(None)),
        ("converted_customer_id", SqlValue::Text(None)),
        ("custom_fields", codec::json(&new.custom_fields)?),
    ])
}

pub(crate) fn lead_patch(p: &LeadPatch) -> Result<Values> {
    let mut v = Values::new();
    set(&mut v, "name", p.name.clone(), SqlValue::from);
    set(&mut v, "email", p.email.clone(), SqlValue::from);
    set(&mut v, "phone", p.phone.clone(), SqlValue::from);
    set(&mut v, "company", p.company.clone(), SqlValue::from);
    set(&mut v, "job_title", p.job_title.clone(), SqlValue::from);
    set(&mut v, "source", p.source, codec::text);
    set(&mut v, "qualification_status", p.qualification_status, codec::text);
    set(&mut v, "score", p.score, |s| i64::from(s).into());
    try_set(&mut v, "estimated_value", p.estimated_value, codec::opt_money)?;
    set(&mut v, "assigned_to", p.assigned_to.clone(), codec::opt_text);
    set(&mut v, "stage_id", p.stage_id.clone(), codec::opt_text);
    set(&mut v, "notes", p.notes.clone(), SqlValue::from);
    try_set(&mut v, "tags", p.tags.as_ref(), codec::json)?;
    try_set(&mut v, "custom_fields", p.custom_fields.as_ref(), codec::json)?;
    Ok(v)
}

pub(crate) const LEAD_SEARCH: TextSearch = TextSearch { index: "leads_search", columns: &["name", "email", "company"] };

pub(crate) fn lead_filter(w: &mut Where, f: &LeadFilter) -> Result<()> {
    w.eq("qualification_status", f.qualification_status.map(codec::text));
    w.eq("source", f.source.map(codec::text));
    w.cmp("score", ">=", f.min_score.map(i64::from));
    w.cmp("score", "<=", f.max_score.map(i64::from));
    w.eq("assigned_to", f.assigned_to.as_ref().map(|e| e.as_str()));
    w.eq("stage_id", f.stage_id.as_ref().map(|s| s.as_str()));
    w.eq("converted", f.converted);
    w.search(&LEAD_SEARCH, f.search.as_deref());
    w.created(LEADS.id_prefix, &f.created);
    w.time_range("updated_at", &f.updated);
    w.custom_fields(&f.custom_fields)
}

pub(crate) fn lead_order(f: &LeadFilter) -> SortOrder {
    SortOrder::of(f.sort, |field| match field {
        LeadSort::CreatedAt => None,
        LeadSort::UpdatedAt => Some(SortKey::int("updated_at")),
        LeadSort::Name => Some(SortKey::text("name")),
        LeadSort::Score => Some(SortKey::int("score")),
        LeadSort::EstimatedValue => Some(SortKey::int("estimated_value").or_null()),
    })
}

/// Counts what `f` lists from `lead_totals` when it filters on their groups only.
pub(crate) fn lead_totals(w: &mut Where, scope: &Scope, f: &LeadFilter) {
    let LeadFilter {
        qualification_status,
        source,
        min_score,
        max_score,
        assigned_to,
        stage_id,
        converted,
        search,
        custom_fields,
        created,
        updated,
        sort: _,
    } = f;
    let others_unset = created.is_open()
        && updated.is_open()
        && min_score.is_none()
        && max_score.is_none()
        && assigned_to.is_none()
        && stage_id.is_none()
        && search.is_none()
        && custom_fields.is_empty();
    if scope.customer_id().is_none() && others_unset {
        w.count_from_totals("lead_totals", scope, |t| {
            t.eq("qualification_status", qualification_status.map(codec::text));
            t.eq("source", source.map(codec::text));
            t.eq("converted", *converted);
        });
    }
}

pub(crate) fn lead_refs<'a>(assigned_to: Option<&'a EmployeeId>, stage: Option<&'a StageId>) -> Vec<Reference<'a>> {
    vec![table_ref(&EMPLOYEES, assigned_to.map(EmployeeId::as_str)), stage_ref(stage.map(StageId::as_str))]
}

pub(crate) const LEAD_HISTORY_COLUMNS: &str =
    "id, organization_id, lead_id, from_stage_id, to_stage_id, from_score, to_score, changed_by, note, changed_at";

pub(crate) fn lead_history_from_row(r: &Row) -> Result<LeadHistory> {
    Ok(LeadHistory {
        id: r.text("id")?,
        organization_id: r.id("organization_id")?,
        lead_id: r.id("lead_id")?,
        from_stage_id: r.opt_id("from_stage_id")?,
        to_stage_id: r.opt_id("to_stage_id")?,
        from_score: r.opt_small("from_score")?,
        to_score: r.opt_small("to_score")?,
        changed_by: r.text("changed_by")?,
        note: r.opt_text("note")?,
        changed_at: r.ts("changed_at")?,
    })
}
