//! Lead tools.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::args::{NoArgs, Paging, ToolPage, append_note, required_text};
use super::dates::{Calendar, Changed, SortArg, sort_of};
use super::{Tool, ToolContext, Toolset};
use crate::domain::*;
use crate::error::{Error, Result};
use crate::policy::{Action, Permission, Resource};
use crate::store::StoreOp;

const fn lead(action: Action) -> Permission {
    Permission::new(Resource::Lead, action)
}

/// Arguments of `list_leads`.
#[derive(Debug, Deserialize, JsonSchema)]
struct ListLeads {
    #[serde(flatten)]
    filter: LeadFilter,
    #[serde(flatten)]
    changed: Changed,
    /// The order: a field, or `-` and a field for largest or latest first (default: newest first).
    #[serde(default)]
    sort: Option<SortArg<LeadSort>>,
    #[serde(flatten)]
    paging: Paging,
}

/// `aggregate_records`' filter of this kind: `list_leads`'s arguments without paging and order.
pub(super) async fn aggregate_filter(cx: &ToolContext, filter: serde_json::Value) -> Result<LeadFilter> {
    super::args::list_filter::<ListLeads>("list_leads", filter)?.filter(cx).await
}

impl ListLeads {
    /// The store's filter, with the date arguments turned into spans by the organization's
    /// calendar (read only when a date argument is given).
    async fn filter(self, cx: &ToolContext) -> Result<LeadFilter> {
        let calendar = Calendar::of(cx, self.changed.given()).await?;
        let mut filter = self.filter;
        (filter.created, filter.updated) = self.changed.spans(&calendar)?;
        filter.sort = sort_of(self.sort);
        Ok(filter)
    }
}

/// Arguments naming one lead.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct LeadRef {
    /// The lead's id.
    lead_id: LeadId,
}

/// The result of `get_lead`.
#[derive(Debug, Serialize, JsonSchema)]
struct LeadDetails {
    /// The lead.
    lead: Lead,
    /// The most recent stage change, if the lead ever changed stage.
    last_stage_change: Option<LeadHistory>,
}

/// Arguments of `create_lead`.
#[derive(Debug, Deserialize, JsonSchema)]
struct CreateLead {
    #[serde(flatten)]
    lead: NewLead,
    /// Repeat a create safely: the same key (same user, within 24 hours) returns the first result.
    #[serde(default)]
    idempotency_key: Option<String>,
}

/// Arguments of `update_lead`.
#[derive(Debug, Deserialize, JsonSchema)]
struct UpdateLead {
    /// The lead's id.
    lead_id: LeadId,
    #[serde(flatten)]
    changes: LeadPatch,
}

/// Arguments of `qualify_lead`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct QualifyLead {
    /// The lead's id.
    lead_id: LeadId,
    /// Why it is qualified (kept in the lead's notes).
    #[serde(default)]
    note: Option<String>,
}

/// Arguments of `disqualify_lead`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct DisqualifyLead {
    /// The lead's id.
    lead_id: LeadId,
    /// Why it is disqualified (kept in the lead's notes).
    reason: String,
}

/// Arguments of `update_lead_score`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct UpdateLeadScore {
    /// The lead's id.
    lead_id: LeadId,
    /// The new score, 0 to 100.
    #[schemars(range(min = 0, max = 100))]
    score: u8,
    /// Why the score changes (kept in the lead's history).
    reason: String,
}

/// Arguments of `assign_lead`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AssignLead {
    /// The lead's id.
    lead_id: LeadId,
    /// The employee who becomes responsible for the lead.
    employee_id: EmployeeId,
}

/// Arguments of `move_lead_stage`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct MoveLeadStage {
    /// The lead's id.
    lead_id: LeadId,
    /// The pipeline stage to move the lead to (see list_pipelines).
    stage_id: StageId,
    /// Why (kept in the lead's stage history).
    #[serde(default)]
    note: Option<String>,
}

/// Arguments of `convert_lead_to_customer`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ConvertLead {
    /// The lead's id.
    lead_id: LeadId,
    /// The new customer's type (default `business` when the lead has a company, else `individual`).
    #[serde(default)]
    customer_type: Option<CustomerType>,
}

pub(super) fn tools() -> Vec<Tool> {
    let sets = &[Toolset::Sales];
    vec![
        Tool::builder("list_leads", "List leads, newest first unless `sort` names another order. Filter by creation or change date, qualification status, source, score range, assigned employee, stage, converted, custom fields, or search text in name, email and company. Dates are `YYYY-MM-DD` (a whole day in the organization's time zone) or RFC 3339. Returns total and next_cursor.")
            .permission(lead(Action::Read))
            .toolsets(sets)
            .needs(&[StoreOp::ReadLeads])
            .handler(|cx: ToolContext, args: ListLeads| async move {
                let page = args.paging.request()?;
                let filter = args.filter(&cx).await?;
                Ok(ToolPage::from(cx.store.list_leads(&cx.scope, &filter, &page).await?))
            }),
        Tool::builder("get_lead", "Get one lead by id, with contact details, status, score, stage, assignee, and its most recent stage change.")
            .permission(lead(Action::Read))
            .toolsets(sets)
            .needs(&[StoreOp::ReadLeads])
            .handler(|cx: ToolContext, args: LeadRef| async move { details(&cx, &args.lead_id).await }),
        Tool::builder("create_lead", "Create a lead. Only `name` is required; source defaults to other, status to new and score to 0.")
            .record(super::history::RecordKind::Lead)
            .permission(lead(Action::Create))
            .writes()
            .toolsets(sets)
            .needs(&[StoreOp::WriteLeads])
            .imports()
            .handler(|cx: ToolContext, args: CreateLead| async move {
                super::idempotency::once(&cx, "create_lead", args.idempotency_key.as_deref(), || {
                    let (cx, mut lead) = (cx.clone(), args.lead.clone());
                    lead.created_at = cx.created_at;
                    async move { cx.store.create_lead(&cx.scope, lead).await }
                })
                .await
            }),
        Tool::builder("update_lead", "Change a lead's fields. Only the fields given change; name fields in `clear` to leave them without a value. Stage and score changes are kept in the lead's history. To convert a lead use convert_lead_to_customer.")
            .record(super::history::RecordKind::Lead)
            .permission(lead(Action::Update))
            .writes().idempotent()
            .toolsets(sets)
            .needs(&[StoreOp::ReadLeads, StoreOp::WriteLeads])
            .handler(|cx: ToolContext, args: UpdateLead| async move { update(&cx, args).await }),
        Tool::builder("qualify_lead", "Mark a lead as qualified, optionally with a note. Fails for a lead already converted to a customer. Returns the lead.")
            .record(super::history::RecordKind::Lead)
            .permission(lead(Action::Update))
            .writes()
            .toolsets(sets)
            .needs(&[StoreOp::ReadLeads, StoreOp::WriteLeads])
            .handler(|cx: ToolContext, args: QualifyLead| async move { qualify(&cx, args).await }),
        Tool::builder("disqualify_lead", "Mark a lead as unqualified, with the reason added to its notes. Fails for a lead already converted to a customer. Returns the lead.")
            .record(super::history::RecordKind::Lead)
            .permission(lead(Action::Update))
            .writes()
            .toolsets(sets)
            .needs(&[StoreOp::ReadLeads, StoreOp::WriteLeads])
            .handler(|cx: ToolContext, args: DisqualifyLead| async move { disqualify(&cx, args).await }),
        Tool::builder("update_lead_score", "Set a lead's score (0 to 100) with a reason; the old and new score and the reason are kept in the lead's history. Returns the lead.")
            .record(super::history::RecordKind::Lead)
            .permission(lead(Action::Update))
            .writes()
            .toolsets(sets)
            .needs(&[StoreOp::ReadLeads, StoreOp::WriteLeads])
            .handler(|cx: ToolContext, args: UpdateLeadScore| async move { rescore(&cx, args).await }),
        Tool::builder("assign_lead", "Assign a lead to an employee (see list_employees). Returns the lead.")
            .record(super::history::RecordKind::Lead)
            .permission(lead(Action::Update))
            .writes().idempotent()
            .toolsets(sets)
            .needs(&[StoreOp::WriteLeads])
            .handler(|cx: ToolContext, args: AssignLead| async move {
                let patch = LeadPatch { assigned_to: Change::Set(args.employee_id), ..Default::default() };
                cx.store.update_lead(&cx.scope, &args.lead_id, patch, None).await
            }),
        Tool::builder("move_lead_stage", "Move a lead to another pipeline stage, optionally with a note; the change is kept in the lead's stage history. Moving to the stage it is already in changes nothing. Returns the lead.")
            .record(super::history::RecordKind::Lead)
            .permission(lead(Action::Update))
            .writes().idempotent()
            .toolsets(sets)
            .needs(&[StoreOp::ReadLeads, StoreOp::WriteLeads])
            .handler(|cx: ToolContext, args: MoveLeadStage| async move { move_stage(&cx, args).await }),
        Tool::builder("get_lead_stage_history", "Get a lead's history of stage and score changes, oldest first: from, to, who, when and note.")
            .permission(lead(Action::Read))
            .toolsets(sets)
            .needs(&[StoreOp::ReadLeads])
            .handler(|cx: ToolContext, args: LeadRef| async move {
                // Checked first so an unknown lead is an error rather than an empty history.
                cx.store.get_lead(&cx.scope, &args.lead_id).await?;
                cx.store.lead_history(&cx.scope, &args.lead_id).await
            }),
        Tool::builder("convert_lead_to_customer", "Convert a lead into a new customer (contact details, assignee, source and tags are copied) and mark the lead converted. Calling it again returns the same customer with newly_converted false.")
            .record(super::history::RecordKind::Lead)
            .access(super::Access::All(vec![lead(Action::Update), Permission::new(Resource::Customer, Action::Create)]))
            .writes().idempotent()
            .toolsets(sets)
            .needs(&[StoreOp::ReadLeads, StoreOp::ConvertLeads])
            .handler(|cx: ToolContext, args: ConvertLead| async move { convert(&cx, args).await }),
        Tool::builder("get_lead_stats", "Count leads in total, by qualification status and by source, with the number converted, conversion rate, average score and total estimated value.")
            .permission(lead(Action::Read))
            .toolsets(&[Toolset::Sales, Toolset::Analytics])
            .needs(&[StoreOp::ReadLeads])
            .handler(|cx: ToolContext, _: NoArgs| async move { cx.store.lead_stats(&cx.scope).await }),
    ]
}

async fn details(cx: &ToolContext, id: &LeadId) -> Result<LeadDetails> {
    let lead = cx.store.get_lead(&cx.scope, id).await?;
    let history = cx.store.lead_history(&cx.scope, id).await?;
    let last_stage_change = history.into_iter().rev().find(|h| h.to_stage_id.is_some());
    Ok(LeadDetails { lead, last_stage_change })
}

async fn update(cx: &ToolContext, args: UpdateLead) -> Result<Lead> {
    if args.changes.qualification_status == Some(QualificationStatus::Converted) {
        return Err(Error::invalid(
            "`qualification_status` cannot be set to `converted` directly; use convert_lead_to_customer",
        ));
    }
    let UpdateLead { lead_id, changes } = args;
    let history = if !changes.stage_id.is_keep() || changes.score.is_some() {
        let current = cx.store.get_lead(&cx.scope, &lead_id).await?;
        // Only real changes go into the history; re-sending the current value is not one.
        let stage = match changes.stage_id.clone().into_update() {
            Some(stage) if stage != current.stage_id => Change::from(stage),
            _ => Change::Keep,
        };
        let score = changes.score.filter(|s| *s != current.score);
        (!stage.is_keep() || score.is_some()).then(|| history_entry(cx, &current, stage, score, None))
    } else {
        None
    };
    cx.store.update_lead(&cx.scope, &lead_id, changes, history).await
}

async fn qualify(cx: &ToolContext, args: QualifyLead) -> Result<Lead> {
    let current = open_lead(cx, &args.lead_id).await?;
    if current.qualification_status == QualificationStatus::Qualified && args.note.is_none() {
        return Ok(current);
    }
    let notes = args.note.as_deref().map_or(Change::Keep, |note| append_note(&current.notes, "Qualified", note));
    let patch = LeadPatch { qualification_status: Some(QualificationStatus::Qualified), notes, ..Default::default() };
    cx.store.update_lead(&cx.scope, &args.lead_id, patch, None).await
}

async fn disqualify(cx: &ToolContext, args: DisqualifyLead) -> Result<Lead> {
    required_text("reason", &args.reason)?;
    let current = open_lead(cx, &args.lead_id).await?;
    let patch = LeadPatch {
        qualification_status: Some(QualificationStatus::Unqualified),
        notes: append_note(&current.notes, "Disqualified", &args.reason),
        ..Default::default()
    };
    cx.store.update_lead(&cx.scope, &args.lead_id, patch, None).await
}

async fn rescore(cx: &ToolContext, args: UpdateLeadScore) -> Result<Lead> {
    if args.score > 100 {
        return Err(Error::invalid(format!("`score` must be between 0 and 100 (got {})", args.score)));
    }
    required_text("reason", &args.reason)?;
    let current = cx.store.get_lead(&cx.scope, &args.lead_id).await?;
    // Recorded even when the score stays the same: the reason is still a reviewed judgement.
    let history = history_entry(cx, &current, Change::Keep, Some(args.score), Some(args.reason));
    let patch = LeadPatch { score: Some(args.score), ..Default::default() };
    cx.store.update_lead(&cx.scope, &args.lead_id, patch, Some(history)).await
}

async fn move_stage(cx: &ToolContext, args: MoveLeadStage) -> Result<Lead> {
    let current = cx.store.get_lead(&cx.scope, &args.lead_id).await?;
    if current.stage_id.as_ref() == Some(&args.stage_id) {
        return Ok(current);
    }
    let stage = Change::Set(args.stage_id);
    let history = history_entry(cx, &current, stage.clone(), None, args.note);
    let patch = LeadPatch { stage_id: stage, ..Default::default() };
    cx.store.update_lead(&cx.scope, &args.lead_id, patch, Some(history)).await
}

async fn convert(cx: &ToolContext, args: ConvertLead) -> Result<LeadConversion> {
    let lead = cx.store.get_lead(&cx.scope, &args.lead_id).await?;
    let customer = customer_from(&lead, args.customer_type);
    cx.store.convert_lead(&cx.scope, &args.lead_id, customer).await
}

/// The customer a lead becomes: a business when it has a company, unless `customer_type` says
/// otherwise.
fn customer_from(lead: &Lead, customer_type: Option<CustomerType>) -> NewCustomer {
    let company = lead.company.clone().filter(|c| !c.trim().is_empty());
    let default_type = if company.is_some() { CustomerType::Business } else { CustomerType::Individual };
    NewCustomer {
        customer_type: customer_type.unwrap_or(default_type),
        company_name: company.clone(),
        email: lead.email.clone(),
        phone: lead.phone.clone(),
        assigned_to: lead.assigned_to.clone(),
        source: Some(lead.source.as_str().into()),
        tags: lead.tags.clone(),
        converted_from_lead: Some(lead.id.clone()),
        ..NewCustomer::named(company.unwrap_or_else(|| lead.name.clone()))
    }
}

/// The lead, unless it was converted: a converted lead's status belongs to the conversion.
async fn open_lead(cx: &ToolContext, id: &LeadId) -> Result<Lead> {
    let lead = cx.store.get_lead(&cx.scope, id).await?;
    if lead.converted || lead.qualification_status == QualificationStatus::Converted {
        return Err(Error::conflict(format!(
            "lead `{id}` was already converted to a customer; its status cannot change"
        )));
    }
    Ok(lead)
}

/// A history entry for `lead`: the `from` side is filled only for what changes.
fn history_entry(
    cx: &ToolContext,
    lead: &Lead,
    to_stage: Change<StageId>,
    to_score: Option<u8>,
    note: Option<String>,
) -> NewLeadHistory {
    NewLeadHistory {
        from_stage_id: if to_stage.is_keep() { None } else { lead.stage_id.clone() },
        to_stage_id: to_stage.into_update().flatten(),
        from_score: to_score.map(|_| lead.score),
        to_score,
        changed_by: cx.user.user_id.clone(),
        note,
    }
}
