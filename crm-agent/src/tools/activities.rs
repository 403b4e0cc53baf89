//! Activity tools: calls, emails, meetings, notes and tasks.

use schemars::JsonSchema;
use serde::Deserialize;

use super::args::{NoArgs, Paging, ToolPage};
use super::dates::{Calendar, Changed, SortArg, sort_of};
use super::{Tool, ToolContext, Toolset};
use crate::domain::*;
use crate::error::{Error, Result};
use crate::policy::{Action, Permission, Resource};
use crate::store::StoreOp;

const fn activity(action: Action) -> Permission {
    Permission::new(Resource::Activity, action)
}

/// Arguments of `list_activities`.
#[derive(Debug, Deserialize, JsonSchema)]
struct ListActivities {
    #[serde(flatten)]
    filter: ActivityFilter,
    #[serde(flatten)]
    changed: Changed,
    /// Only activities scheduled on or after this day (`YYYY-MM-DD`) or time (RFC 3339).
    #[serde(default)]
    scheduled_after: Option<String>,
    /// Only activities scheduled on or before this day (`YYYY-MM-DD`) or before this time (RFC 3339).
    #[serde(default)]
    scheduled_before: Option<String>,
    /// Only activities due on or after this day (`YYYY-MM-DD`; a time stands for its day).
    #[serde(default)]
    due_after: Option<String>,
    /// Only activities due on or before this day (`YYYY-MM-DD`; a time stands for its day).
    #[serde(default)]
    due_before: Option<String>,
    /// `true`: only activities not completed or cancelled whose due date or scheduled time is past.
    #[serde(default)]
    overdue: Option<bool>,
    /// The order: a field, or `-` and a field for largest or latest first (default: newest first).
    #[serde(default)]
    sort: Option<SortArg<ActivitySort>>,
    #[serde(flatten)]
    paging: Paging,
}

/// `aggregate_records`' filter of this kind: `list_activities`'s arguments without paging and order.
pub(super) async fn aggregate_filter(cx: &ToolContext, filter: serde_json::Value) -> Result<ActivityFilter> {
    super::args::list_filter::<ListActivities>("list_activities", filter)?.filter(cx).await
}

impl ListActivities {
    /// The store's filter, with the date arguments turned into spans by the organization's
    /// calendar (read only when a date argument is given).
    async fn filter(self, cx: &ToolContext) -> Result<ActivityFilter> {
        let calendar = Calendar::of(
            cx,
            self.changed.given()
                || self.scheduled_after.is_some()
                || self.scheduled_before.is_some()
                || self.due_after.is_some()
                || self.due_before.is_some()
                || self.overdue == Some(true),
        )
        .await?;
        let mut filter = self.filter;
        (filter.created, filter.updated) = self.changed.spans(&calendar)?;
        filter.scheduled =
            calendar.span(("scheduled_after", &self.scheduled_after), ("scheduled_before", &self.scheduled_before))?;
        filter.due = calendar.days(("due_after", &self.due_after), ("due_before", &self.due_before))?;
        filter.overdue = (self.overdue == Some(true)).then(|| calendar.overdue());
        filter.sort = sort_of(self.sort);
        Ok(filter)
    }
}

/// Arguments naming one activity.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ActivityRef {
    /// The activity's id.
    activity_id: ActivityId,
}

/// Arguments of `create_activity`.
#[derive(Debug, Deserialize, JsonSchema)]
struct CreateActivity {
    #[serde(flatten)]
    activity: NewActivity,
    /// Repeat a create safely: the same key (same user, within 24 hours) returns the first result.
    #[serde(default)]
    idempotency_key: Option<String>,
}

/// Arguments of `update_activity`.
#[derive(Debug, Deserialize, JsonSchema)]
struct UpdateActivity {
    /// The activity's id.
    activity_id: ActivityId,
    #[serde(flatten)]
    changes: ActivityPatch,
}

/// Arguments of `complete_activity`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CompleteActivity {
    /// The activity's id.
    activity_id: ActivityId,
    /// What came of it (e.g. the outcome of a call).
    #[serde(default)]
    outcome: Option<String>,
}

pub(super) fn tools() -> Vec<Tool> {
    let sets = &[Toolset::Activities];
    vec![
        Tool::builder("list_activities", "List activities (calls, emails, meetings, notes, tasks), newest first unless `sort` names another order. Filter by scheduled time, due date, overdue, creation or change date, type, status, customer, lead, deal, assignee, or search text in title and description. Dates are `YYYY-MM-DD` (a whole day in the organization's time zone) or RFC 3339. Returns total and next_cursor.")
            .permission(activity(Action::Read))
            .toolsets(sets)
            .needs(&[StoreOp::ReadActivities])
            .handler(|cx: ToolContext, args: ListActivities| async move {
                let page = args.paging.request()?;
                let filter = args.filter(&cx).await?;
                Ok(ToolPage::from(cx.store.list_activities(&cx.scope, &filter, &page).await?))
            }),
        Tool::builder("get_activity", "Get one activity by id, with its type, status, schedule, links to customer, lead or deal, and type-specific fields.")
            .permission(activity(Action::Read))
            .toolsets(sets)
            .needs(&[StoreOp::ReadActivities])
            .handler(|cx: ToolContext, args: ActivityRef| async move { cx.store.get_activity(&cx.scope, &args.activity_id).await }),
        Tool::builder("create_activity", "Log or schedule an activity. `activity_type` and `title` are required; status defaults to scheduled. Link it to a customer, lead or deal by id.")
            .record(super::history::RecordKind::Activity)
            .permission(activity(Action::Create))
            .writes()
            .toolsets(sets)
            .needs(&[StoreOp::WriteActivities])
            .imports()
            .handler(|cx: ToolContext, args: CreateActivity| async move { create(&cx, args).await }),
        Tool::builder("update_activity", "Change an activity's fields. Only the fields given change; name fields in `clear` to leave them without a value. To mark one done use complete_activity.")
            .record(super::history::RecordKind::Activity)
            .permission(activity(Action::Update))
            .writes().idempotent()
            .toolsets(sets)
            .needs(&[StoreOp::WriteActivities])
            .handler(|cx: ToolContext, args: UpdateActivity| async move {
                cx.store.update_activity(&cx.scope, &args.activity_id, args.changes).await
            }),
        Tool::builder("complete_activity", "Mark an activity completed now, optionally with its outcome. Completing a completed activity changes nothing; a cancelled one cannot be completed. Returns the activity.")
            .record(super::history::RecordKind::Activity)
            .permission(activity(Action::Update))
            .writes().idempotent()
            .toolsets(sets)
            .needs(&[StoreOp::ReadActivities, StoreOp::WriteActivities])
            .handler(|cx: ToolContext, args: CompleteActivity| async move { complete(&cx, args).await }),
        Tool::builder("get_activity_stats", "Count activities in total, by type and by status.")
            .permission(activity(Action::Read))
            .toolsets(&[Toolset::Activities, Toolset::Analytics])
            .needs(&[StoreOp::ReadActivities])
            .handler(|cx: ToolContext, _: NoArgs| async move { cx.store.activity_stats(&cx.scope).await }),
    ]
}

async fn create(cx: &ToolContext, args: CreateActivity) -> Result<Activity> {
    let mut new = args.activity;
    new.created_at = cx.created_at;
    // The logger is the caller unless an importer says otherwise.
    new.created_by.get_or_insert_with(|| cx.user.user_id.clone());
    // An activity logged as already done gets a completion time, so it counts as done "now".
    if new.status == ActivityStatus::Completed && new.completed_at.is_none() {
        new.completed_at = Some(cx.now);
    }
    super::idempotency::once(cx, "create_activity", args.idempotency_key.as_deref(), || async move {
        cx.store.create_activity(&cx.scope, new).await
    })
    .await
}

async fn complete(cx: &ToolContext, args: CompleteActivity) -> Result<Activity> {
    let current = cx.store.get_activity(&cx.scope, &args.activity_id).await?;
    match current.status {
        ActivityStatus::Completed => return Ok(current),
        ActivityStatus::Cancelled => {
            return Err(Error::conflict(format!(
                "activity `{}` was cancelled and cannot be completed",
                args.activity_id
            )));
        }
        ActivityStatus::Scheduled | ActivityStatus::InProgress => {}
    }
    let patch = ActivityPatch {
        status: Some(ActivityStatus::Completed),
        completed_at: Change::Set(cx.now),
        outcome: args.outcome.map_or(Change::Keep, Change::Set),
        ..Default::default()
    };
    cx.store.update_activity(&cx.scope, &args.activity_id, patch).await
}
