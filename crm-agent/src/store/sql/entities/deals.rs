//! Deals and the pipeline stages they sit in: the tables, columns, insert and patch values, filter,
//! sort order, and counts read from `deal_totals`.

use super::{Table, Values, set, try_set};
use crate::domain::*;
use crate::error::Result;
use crate::store::Scope;
use crate::store::sql::codec::{self, Row, SqlValue};
use crate::store::sql::query::{SortKey, SortOrder, TextSearch, Visibility, Where};

pub(crate) const STAGE_COLUMNS: &str = "id, pipeline_id, name, position, probability, is_closed_won, is_closed_lost";

pub(crate) fn stage_from_row(r: &Row) -> Result<PipelineStage> {
    let id = r.id("id")?;
    let position = r.int("position")?;
    let position = i32::try_from(position)
        .map_err(|_| crate::Error::store(format!("stage {id} holds the position {position}, out of range")))?;
    Ok(PipelineStage {
        id,
        pipeline_id: r.id("pipeline_id")?,
        name: r.text("name")?,
        position,
        probability: r.small("probability")?,
        is_closed_won: r.boolean("is_closed_won")?,
        is_closed_lost: r.boolean("is_closed_lost")?,
    })
}

pub(crate) const DEALS: Table = Table {
    name: "deals",
    entity: "deal",
    visibility: Visibility::Internal,
    columns: "id, organization_id, title, customer_id, lead_id, pipeline_id, stage_id, value, currency, probability, \
              expected_close_date, actual_close_date, priority, status, lost_reason, assigned_to, tags, notes, \
              custom_fields, created_at, updated_at",
    id_prefix: "dea",
};

pub(crate) fn deal_from_row(r: &Row) -> Result<Deal> {
    Ok(Deal {
        id: r.id("id")?,
        organization_id: r.id("organization_id")?,
        title: r.text("title")?,
        customer_id: r.opt_id("customer_id")?,
        lead_id: r.opt_id("lead_id")?,
        pipeline_id: r.id("pipeline_id")?,
        stage_id: r.id("stage_id")?,
        value: r.money("value")?,
        currency: r.text("currency")?,
        probability: r.small("probability")?,
        expected_close_date: r.opt_date("expected_close_date")?,
        actual_close_date: r.opt_date("actual_close_date")?,
        priority: r.parse("priority")?,
        status: r.parse("status")?,
        lost_reason: r.opt_text("lost_reason")?,
        assigned_to: r.opt_id("assigned_to")?,
        tags: r.json("tags")?,
        notes: r.opt_text("notes")?,
        custom_fields: r.json("custom_fields")?,
        created_at: r.ts("created_at")?,
        updated_at: r.ts("updated_at")?,
    })
}

pub(crate) fn deal_insert(new: &NewDeal) -> Result<Values> {
    Ok(vec![
        ("title", (&new.title).into()),
        ("customer_id", codec::opt_text(new.customer_id.as_ref())),
        ("lead_id", codec::opt_text(new.lead_id.as_ref())),
        ("pipeline_id", codec::text(&new.pipeline_id)),
        ("stage_id", codec::text(&new.stage_id)),
        ("value", codec::money(new.value)?),
        ("currency", (&new.currency).into()),
        ("probability", i64::from(new.probability).into()),
        ("expected_close_date", codec::opt_date(new.expected_close_date)),
        ("actual_close_date", codec::opt_date(new.actual_close_date)),
        ("priority", codec::text(new.priority)),
        ("status", codec::text(new.status)),
        ("lost_reason", new.lost_reason.clone().into()),
        ("assigned_to", codec::opt_text(new.assigned_to.as_ref())),
        ("tags", codec::json(&new.tags)?),
        ("notes", new.notes.clone().into()),
        ("custom_fields", codec::json(&new.custom_fields)?),
    ])
}

pub(crate) fn deal_patch(p: &DealPatch) -> Result<Values> {
    let mut v = Values::new();
    set(&mut v, "title", p.title.clone(), SqlValue::from);
    set(&mut v, "customer_id", p.customer_id.clone(), codec::opt_text);
    set(&mut v, "lead_id", p.lead_id.clone(), codec::opt_text);
    set(&mut v, "pipeline_id", p.pipeline_id.clone(), codec::text);
    set(&mut v, "stage_id", p.stage_id.clone(), codec::text);
    try_set(&mut v, "value", p.value, codec::money)?;
    set(&mut v, "currency", p.currency.clone(), SqlValue::from);
    set(&mut v, "probability", p.probability, |s| i64::from(s).into());
    set(&mut v, "expected_close_date", p.expected_close_date, codec::opt_date);
    set(&mut v, "actual_close_date", p.actual_close_date, codec::opt_date);
    set(&mut v, "priority", p.priority, codec::text);
    set(&mut v, "status", p.status, codec::text);
    set(&mut v, "lost_reason", p.lost_reason.clone(), SqlValue::from);
    set(&mut v, "assigned_to", p.assigned_to.clone(), codec::opt_text);
    try_set(&mut v, "tags", p.tags.as_ref(), codec::json)?;
    set(&mut v, "notes", p.notes.clone(), SqlValue::from);
    try_set(&mut v, "custom_fields", p.custom_fields.as_ref(), codec::json)?;
    Ok(v)
}

pub(crate) const DEAL_SEARCH: TextSearch = TextSearch { index: "deals_search", columns: &["title", "notes"] };

pub(crate) fn deal_filter(w: &mut Where, f: &DealFilter) -> Result<()> {
    w.eq("status", f.status.map(codec::text));
    w.eq("stage_id", f.stage_id.as_ref().map(|s| s.as_str()));
    w.eq("pipeline_id", f.pipeline_id.as_ref().map(|s| s.as_str()));
    w.eq("priority", f.priority.map(codec::text));
    w.eq("assigned_to", f.assigned_to.as_ref().map(|e| e.as_str()));
    w.eq("customer_id", f.customer_id.as_ref().map(|c| c.as_str()));
    w.cmp("value", ">=", f.min_value.map(codec::cents).transpose()?);
    w.cmp("value", "<=", f.max_value.map(codec::cents).transpose()?);
    w.search(&DEAL_SEARCH, f.search.as_deref());
    w.created(DEALS.id_prefix, &f.created);
    w.time_range("updated_at", &f.updated);
    w.date_range("expected_close_date", &f.expected_close);
    w.date_range("actual_close_date", &f.closed);
    w.custom_fields(&f.custom_fields)
}

pub(crate) fn deal_order(f: &DealFilter) -> SortOrder {
    SortOrder::of(f.sort, |field| match field {
        DealSort::CreatedAt => None,
        DealSort::UpdatedAt => Some(SortKey::int("updated_at")),
        DealSort::Title => Some(SortKey::text("title")),
        DealSort::Value => Some(SortKey::int("value")),
        DealSort::Probability => Some(SortKey::int("probability")),
        DealSort::ExpectedCloseDate => Some(SortKey::text("expected_close_date").or_null()),
        DealSort::ActualCloseDate => Some(SortKey::text("actual_close_date").or_null()),
    })
}

/// Counts what `f` lists from `deal_totals` when it filters on their groups only.
pub(crate) fn deal_totals(w: &mut Where, scope: &Scope, f: &DealFilter) {
    let DealFilter {
        status,
        stage_id,
        pipeline_id,
        priority,
        assigned_to,
        customer_id,
        min_value,
        max_value,
        search,
        custom_fields,
        created,
        updated,
        expected_close,
        closed,
        sort: _,
    } = f;
    let others_unset = created.is_open()
        && updated.is_open()
        && expected_close.is_open()
        && closed.is_open()
        && pipeline_id.is_none()
        && priority.is_none()
        && assigned_to.is_none()
        && customer_id.is_none()
        && min_value.is_none()
        && max_value.is_none()
        && search.is_none()
        && custom_fields.is_empty();
    if scope.customer_id().is_none() && others_unset {
        w.count_from_totals("deal_totals", scope, |t| {
            t.eq("status", status.map(codec::text));
            t.eq("stage_id", stage_id.as_ref().map(|s| s.as_str()));
        });
    }
}
