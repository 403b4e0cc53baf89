//! Deal and pipeline tools.
//!
//! A deal's stage, status, probability and close date move together: a won stage makes the deal
//! `won` at probability 100, a lost stage `lost`, any other stage `open`; except when won, the
//! probability is the stage's. A won or lost stage sets the close date to today, any other stage
//! clears it. Every stage move goes through `stage_change`, so no tool can leave them inconsistent.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::args::{NoArgs, Paging, ToolPage, required_text};
use super::dates::{Calendar, Changed, SortArg, sort_of};
use super::{Tool, ToolContext, Toolset};
use crate::domain::*;
use crate::error::{Error, Result};
use crate::policy::{Action, Permission, Resource};
use crate::store::StoreOp;

const fn deal(action: Action) -> Permission {
    Permission::new(Resource::Deal, action)
}

/// Arguments of `list_deals`.
#[derive(Debug, Deserialize, JsonSchema)]
struct ListDeals {
    #[serde(flatten)]
    filter: DealFilter,
    #[serde(flatten)]
    changed: Changed,
    /// Only deals expected to close on or after this day (`YYYY-MM-DD`; a time stands for its day).
    #[serde(default)]
    expected_close_after: Option<String>,
    /// Only deals expected to close on or before this day (`YYYY-MM-DD`; a time stands for its day).
    #[serde(default)]
    expected_close_before: Option<String>,
    /// Only deals closed (won or lost) on or after this day (`YYYY-MM-DD`; a time stands for its day).
    #[serde(default)]
    closed_after: Option<String>,
    /// Only deals closed (won or lost) on or before this day (`YYYY-MM-DD`; a time stands for its day).
    #[serde(default)]
    closed_before: Option<String>,
    /// The order: a field, or `-` and a field for largest or latest first (default: newest first).
    #[serde(default)]
    sort: Option<SortArg<DealSort>>,
    #[serde(flatten)]
    paging: Paging,
}

/// `aggregate_records`' filter of this kind: `list_deals`'s arguments without paging and order.
pub(super) async fn aggregate_filter(cx: &ToolContext, filter: serde_json::Value) -> Result<DealFilter> {
    super::args::list_filter::<ListDeals>("list_deals", filter)?.filter(cx).await
}

impl ListDeals {
    /// The store's filter, with the date arguments turned into spans by the organization's
    /// calendar (read only when a date argument is given).
    async fn filter(self, cx: &ToolContext) -> Result<DealFilter> {
        let calendar = Calendar::of(
            cx,
            self.changed.given()
                || self.expected_close_after.is_some()
                || self.expected_close_before.is_some()
                || self.closed_after.is_some()
                || self.closed_before.is_some(),
        )
        .await?;
        let mut filter = self.filter;
        (filter.created, filter.updated) = self.changed.spans(&calendar)?;
        filter.expected_close = calendar.days(
            ("expected_close_after", &self.expected_close_after),
            ("expected_close_before", &self.expected_close_before),
        )?;
        filter.closed = calendar.days(("closed_after", &self.closed_after), ("closed_before", &self.closed_before))?;
        filter.sort = sort_of(self.sort);
        Ok(filter)
    }
}

/// Arguments naming one deal.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct DealRef {
    /// The deal's id.
    deal_id: DealId,
}

/// The result of `get_deal`.
#[derive(Debug, Serialize, JsonSchema)]
struct DealDetails {
    /// The deal.
    deal: Deal,
    /// Value × probability, to the cent.
    expected_revenue: Money,
    /// The name of the deal's current stage.
    stage_name: String,
}

/// Arguments of `create_deal`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CreateDeal {
    /// Title.
    title: String,
    /// The customer buying.
    #[serde(default)]
    customer_id: Option<CustomerId>,
    /// The lead it came from.
    #[serde(default)]
    lead_id: Option<LeadId>,
    /// The pipeline (default: the organization's default pipeline; see list_pipelines).
    #[serde(default)]
    pipeline_id: Option<PipelineId>,
    /// The stage within the pipeline (default: the pipeline's first open stage). Probability and status follow the stage.
    #[serde(default)]
    stage_id: Option<StageId>,
    /// Deal value.
    value: Money,
    /// ISO currency code (default `USD`).
    #[serde(default)]
    currency: Option<String>,
    /// Expected close date (YYYY-MM-DD).
    #[serde(default)]
    expected_close_date: Option<Date>,
    /// Priority (default `medium`).
    #[serde(default)]
    priority: Option<Priority>,
    /// The responsible employee.
    #[serde(default)]
    assigned_to: Option<EmployeeId>,
    /// Tags.
    #[serde(default)]
    tags: Vec<String>,
    /// Notes.
    #[serde(default)]
    notes: Option<String>,
    /// The host's own fields.
    #[serde(default)]
    custom_fields: CustomFields,
    /// Repeat a create safely: the same key (same user, within 24 hours) returns the first result.
    #[serde(default)]
    idempotency_key: Option<String>,
}

/// Arguments of `update_deal`.
#[derive(Debug, Deserialize, JsonSchema)]
struct UpdateDeal {
    /// The deal's id.
    deal_id: DealId,
    #[serde(flatten)]
    changes: UpdateDealFields,
}

/// The fields `update_deal` may change. Stage, status and probability are left out on purpose:
/// they only move through move_deal_to_stage, mark_deal_won and mark_deal_lost.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct UpdateDealFields {
    /// New value: title.
    #[serde(default)]
    title: Option<String>,
    /// New value: the customer buying.
    #[serde(default)]
    customer_id: Change<CustomerId>,
    /// New value: deal value.
    #[serde(default)]
    value: Option<Money>,
    /// New value: ISO currency code.
    #[serde(default)]
    currency: Option<String>,
    /// New value (YYYY-MM-DD): expected close date.
    #[serde(default)]
    expected_close_date: Change<Date>,
    /// New value: priority.
    #[serde(default)]
    priority: Option<Priority>,
    /// New value: the responsible employee.
    #[serde(default)]
    assigned_to: Change<EmployeeId>,
    /// New value: tags.
    #[serde(default)]
    tags: Option<Vec<String>>,
    /// New value: notes.
    #[serde(default)]
    notes: Change<String>,
    /// New value: the host's own fields.
    #[serde(default)]
    custom_fields: Option<CustomFields>,
}

impl From<UpdateDealFields> for DealPatch {
    fn from(f: UpdateDealFields) -> Self {
        DealPatch {
            title: f.title,
            customer_id: f.customer_id,
            value: f.value,
            currency: f.currency,
            expected_close_date: f.expected_close_date,
            priority: f.priority,
            assigned_to: f.assigned_to,
            tags: f.tags,
            notes: f.notes,
            custom_fields: f.custom_fields,
            ..Default::default()
        }
    }
}

/// Arguments of `move_deal_to_stage`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct MoveDeal {
    /// The deal's id.
    deal_id: DealId,
    /// A stage of the deal's pipeline (see list_pipelines).
    stage_id: StageId,
}

/// Arguments of `mark_deal_lost`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct MarkDealLost {
    /// The deal's id.
    deal_id: DealId,
    /// Why the deal was lost.
    reason: String,
}

pub(super) fn tools() -> Vec<Tool> {
    let sets = &[Toolset::Sales];
    vec![
        Tool::builder("list_deals", "List deals, newest first unless `sort` names another order. Filter by expected or actual close date, creation or change date, status, stage, pipeline, priority, assigned employee, customer, value range, custom fields, or search text in title and notes. Dates are `YYYY-MM-DD` (a whole day in the organization's time zone) or RFC 3339. Returns total and next_cursor.")
            .permission(deal(Action::Read))
            .toolsets(sets)
            .needs(&[StoreOp::ReadDeals])
            .handler(|cx: ToolContext, args: ListDeals| async move {
                let page = args.paging.request()?;
                let filter = args.filter(&cx).await?;
                Ok(ToolPage::from(cx.store.list_deals(&cx.scope, &filter, &page).await?))
            }),
        Tool::builder("get_deal", "Get one deal by id, with its stage name and expected revenue (value × probability).")
            .permission(deal(Action::Read))
            .toolsets(sets)
            .needs(&[StoreOp::ReadDeals, StoreOp::ReadPipelines])
            .handler(|cx: ToolContext, args: DealRef| async move { details(&cx, &args.deal_id).await }),
        Tool::builder("create_deal", "Create a deal. `title` and `value` are required; it goes into the default pipeline's first open stage unless a pipeline or stage is given, and its probability and status follow the stage.")
            .record(super::history::RecordKind::Deal)
            .permission(deal(Action::Create))
            .writes()
            .toolsets(sets)
            .needs(&[StoreOp::ReadPipelines, StoreOp::WriteDeals])
            .imports()
            .handler(|cx: ToolContext, args: CreateDeal| async move {
                let key = args.idempotency_key.clone();
                let new = new_deal(&cx, args).await?;
                super::idempotency::once(&cx, "create_deal", key.as_deref(), || {
                    let cx = cx.clone();
                    async move { cx.store.create_deal(&cx.scope, new).await }
                })
                .await
            }),
        Tool::builder("update_deal", "Change a deal's title, customer, value, currency, expected close date, priority, assignee, tags, notes or custom fields; name fields in `clear` to leave them without a value. Stage and status change only through move_deal_to_stage, mark_deal_won and mark_deal_lost.")
            .record(super::history::RecordKind::Deal)
            .permission(deal(Action::Update))
            .writes().idempotent()
            .toolsets(sets)
            .needs(&[StoreOp::WriteDeals])
            .handler(|cx: ToolContext, args: UpdateDeal| async move {
                cx.store.update_deal(&cx.scope, &args.deal_id, args.changes.into()).await
            }),
        Tool::builder("move_deal_to_stage", "Move a deal to another stage of its pipeline. Probability follows the stage; a closed-won stage wins the deal, a closed-lost stage loses it, and an open stage reopens a closed deal. Returns the deal.")
            .record(super::history::RecordKind::Deal)
            .permission(deal(Action::Update))
            .writes().idempotent()
            .toolsets(sets)
            .needs(&[StoreOp::ReadDeals, StoreOp::ReadPipelines, StoreOp::WriteDeals])
            .handler(|cx: ToolContext, args: MoveDeal| async move { move_to(&cx, &args.deal_id, &args.stage_id).await }),
        Tool::builder("mark_deal_won", "Mark a deal won: it moves to its pipeline's closed-won stage with probability 100 and today's close date. A deal already won is returned unchanged.")
            .record(super::history::RecordKind::Deal)
            .permission(deal(Action::Update))
            .writes().idempotent()
            .toolsets(sets)
            .needs(&[StoreOp::ReadDeals, StoreOp::ReadPipelines, StoreOp::WriteDeals])
            .handler(|cx: ToolContext, args: DealRef| async move { mark_won(&cx, &args.deal_id).await }),
        Tool::builder("mark_deal_lost", "Mark a deal lost with a reason: it moves to its pipeline's closed-lost stage with today's close date. Nothing is deleted; moving it to an open stage reopens it.")
            .record(super::history::RecordKind::Deal)
            .permission(deal(Action::Update))
            .destructive()
            .toolsets(sets)
            .needs(&[StoreOp::ReadDeals, StoreOp::ReadPipelines, StoreOp::WriteDeals])
            .handler(|cx: ToolContext, args: MarkDealLost| async move { mark_lost(&cx, args).await }),
        Tool::builder("get_deal_stats", "Count deals in total and by status, with win rate, total, won and open value, weighted pipeline, and count and value per stage; money per currency, the organization's default first.")
            .permission(deal(Action::Read))
            .toolsets(&[Toolset::Sales, Toolset::Analytics])
            .needs(&[StoreOp::ReadDeals, StoreOp::ReadPipelines])
            .handler(|cx: ToolContext, _: NoArgs| async move {
                let mut stats = cx.store.deal_stats(&cx.scope).await?;
                stats.put_first(&super::analytics::default_currency(&cx).await?);
                Ok(stats)
            }),
        Tool::builder("list_pipelines", "List the organization's sales pipelines with their stages in order: id, name, probability, and whether a stage is closed-won or closed-lost.")
            .permission(Permission::new(Resource::Pipeline, Action::Read))
            .toolsets(sets)
            .needs(&[StoreOp::ReadPipelines])
            .handler(|cx: ToolContext, _: NoArgs| async move { cx.store.list_pipelines(&cx.scope).await }),
    ]
}

/// The patch that puts a deal into `stage` of `pipeline`, keeping status, probability and close
/// date consistent with it.
fn stage_change(pipeline: &Pipeline, stage: &PipelineStage, today: Date) -> DealPatch {
    let (status, probability) = if stage.is_closed_won {
        (DealStatus::Won, 100)
    } else if stage.is_closed_lost {
        (DealStatus::Lost, stage.probability)
    } else {
        (DealStatus::Open, stage.probability)
    };
    DealPatch {
        pipeline_id: Some(pipeline.id.clone()),
        stage_id: Some(stage.id.clone()),
        status: Some(status),
        probability: Some(probability),
        actual_close_date: stage.is_closed().then_some(today).into(),
        // A lost deal keeps the reason its caller sets; anything else has no reason to be lost.
        lost_reason: if stage.is_closed_lost { Change::Keep } else { Change::Clear },
        ..Default::default()
    }
}

async fn find_pipeline(cx: &ToolContext, id: &PipelineId) -> Result<Pipeline> {
    cx.store
        .list_pipelines(&cx.scope)
        .await?
        .into_iter()
        .find(|p| p.id == *id)
        .ok_or_else(|| Error::not_found("pipeline", id.as_str()))
}

fn find_stage<'a>(pipeline: &'a Pipeline, id: &StageId) -> Result<&'a PipelineStage> {
    pipeline.stages.iter().find(|s| s.id == *id).ok_or_else(|| Error::not_found("pipeline stage", id.as_str()))
}

async fn details(cx: &ToolContext, id: &DealId) -> Result<DealDetails> {
    let deal = cx.store.get_deal(&cx.scope, id).await?;
    let pipeline = find_pipeline(cx, &deal.pipeline_id).await?;
    let stage_name =
        find_stage(&pipeline, &deal.stage_id).map_or_else(|_| deal.stage_id.to_string(), |s| s.name.clone());
    Ok(DealDetails { expected_revenue: deal.expected_revenue(), stage_name, deal })
}

/// The deal `args` describe, with the default pipeline and stage filled in.
async fn new_deal(cx: &ToolContext, args: CreateDeal) -> Result<NewDeal> {
    let pipelines = cx.store.list_pipelines(&cx.scope).await?;
    let pipeline = match &args.pipeline_id {
        Some(id) => pipelines.iter().find(|p| p.id == *id).ok_or_else(|| Error::not_found("pipeline", id.as_str()))?,
        None => pipelines
            .iter()
            .find(|p| p.is_default)
            .or_else(|| pipelines.first())
            .ok_or_else(|| Error::invalid("the organization has no pipeline to put the deal in"))?,
    };
    let stage = match &args.stage_id {
        Some(id) => find_stage(pipeline, id)?,
        None => pipeline.stages.iter().filter(|s| !s.is_closed()).min_by_key(|s| s.position).ok_or_else(|| {
            Error::invalid(format!("pipeline `{}` has no open stage; give `stage_id`", pipeline.name))
        })?,
    };
    let change = stage_change(pipeline, stage, cx.now.date_naive());
    let mut new = NewDeal::new(args.title, pipeline.id.clone(), stage.id.clone(), args.value);
    new.customer_id = args.customer_id;
    new.lead_id = args.lead_id;
    if let Some(currency) = args.currency {
        new.currency = currency;
    }
    new.probability = change.probability.unwrap_or(stage.probability);
    new.status = change.status.unwrap_or(DealStatus::Open);
    new.actual_close_date = change.actual_close_date.value().copied();
    new.expected_close_date = args.expected_close_date;
    if let Some(priority) = args.priority {
        new.priority = priority;
    }
    new.assigned_to = args.assigned_to;
    new.tags = args.tags;
    new.notes = args.notes;
    new.custom_fields = args.custom_fields;
    new.created_at = cx.created_at;
    Ok(new)
}

async fn move_to(cx: &ToolContext, id: &DealId, stage_id: &StageId) -> Result<Deal> {
    let current = cx.store.get_deal(&cx.scope, id).await?;
    if current.stage_id == *stage_id {
        return Ok(current);
    }
    let pipeline = find_pipeline(cx, &current.pipeline_id).await?;
    let patch = stage_change(&pipeline, find_stage(&pipeline, stage_id)?, cx.now.date_naive());
    cx.store.update_deal(&cx.scope, id, patch).await
}

async fn mark_won(cx: &ToolContext, id: &DealId) -> Result<Deal> {
    let current = cx.store.get_deal(&cx.scope, id).await?;
    if current.status == DealStatus::Won {
        return Ok(current);
    }
    let pipeline = find_pipeline(cx, &current.pipeline_id).await?;
    let won = pipeline
        .stages
        .iter()
        .find(|s| s.is_closed_won)
        .ok_or_else(|| Error::conflict(format!("pipeline `{}` has no closed-won stage", pipeline.name)))?;
    cx.store.update_deal(&cx.scope, id, stage_change(&pipeline, won, cx.now.date_naive())).await
}

async fn mark_lost(cx: &ToolContext, args: MarkDealLost) -> Result<Deal> {
    required_text("reason", &args.reason)?;
    let current = cx.store.get_deal(&cx.scope, &args.deal_id).await?;
    if current.status == DealStatus::Lost && current.lost_reason.as_deref() == Some(args.reason.as_str()) {
        return Ok(current);
    }
    let pipeline = find_pipeline(cx, &current.pipeline_id).await?;
    let lost = pipeline
        .stages
        .iter()
        .find(|s| s.is_closed_lost)
        .ok_or_else(|| Error::conflict(format!("pipeline `{}` has no closed-lost stage", pipeline.name)))?;
    let mut patch = stage_change(&pipeline, lost, cx.now.date_naive());
    if current.status == DealStatus::Lost {
        // Only the reason changes; the original close date stays.
        patch.actual_close_date = Change::Keep;
    }
    patch.lost_reason = Change::Set(args.reason);
    cx.store.update_deal(&cx.scope, &args.deal_id, patch).await
}
