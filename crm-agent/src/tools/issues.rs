//! Issue (support ticket) tools.
//!
//! Status moves only through `assign_issue`, `resolve_issue`, `reopen_issue` and `close_issue`,
//! so every transition follows the rules: assigning moves an open issue to in progress, resolving
//! needs notes, neither applies to a resolved or closed issue, only those two reopen, and any
//! issue can be closed. `update_issue` cannot touch the status.

use schemars::JsonSchema;
use serde::Deserialize;

use super::args::{NoArgs, Paging, ToolPage, required_text};
use super::dates::{Calendar, Changed, SortArg, sort_of};
use super::{Tool, ToolContext, Toolset};
use crate::context::Role;
use crate::domain::*;
use crate::error::{Error, Result};
use crate::policy::{Action, CustomerRecord, Permission, Resource};
use crate::store::StoreOp;

const fn issue(action: Action) -> Permission {
    Permission::new(Resource::Issue, action)
}

/// Arguments of `list_issues`.
#[derive(Debug, Deserialize, JsonSchema)]
struct ListIssues {
    #[serde(flatten)]
    filter: IssueFilter,
    #[serde(flatten)]
    changed: Changed,
    /// Only issues resolved on or after this day (`YYYY-MM-DD`) or time (RFC 3339).
    #[serde(default)]
    resolved_after: Option<String>,
    /// Only issues resolved on or before this day (`YYYY-MM-DD`) or before this time (RFC 3339).
    #[serde(default)]
    resolved_before: Option<String>,
    /// The order: a field, or `-` and a field for largest or latest first (default: newest first).
    #[serde(default)]
    sort: Option<SortArg<IssueSort>>,
    #[serde(flatten)]
    paging: Paging,
}

/// `aggregate_records`' filter of this kind: `list_issues`'s arguments without paging and order.
pub(super) async fn aggregate_filter(cx: &ToolContext, filter: serde_json::Value) -> Result<IssueFilter> {
    super::args::list_filter::<ListIssues>("list_issues", filter)?.filter(cx).await
}

impl ListIssues {
    /// The store's filter, with the date arguments turned into spans by the organization's
    /// calendar (read only when a date argument is given).
    async fn filter(self, cx: &ToolContext) -> Result<IssueFilter> {
        let calendar =
            Calendar::of(cx, self.changed.given() || self.resolved_after.is_some() || self.resolved_before.is_some())
                .await?;
        let mut filter = self.filter;
        (filter.created, filter.updated) = self.changed.spans(&calendar)?;
        filter.resolved =
            calendar.span(("resolved_after", &self.resolved_after), ("resolved_before", &self.resolved_before))?;
        filter.sort = sort_of(self.sort);
        Ok(filter)
    }
}

/// Arguments naming one issue.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct IssueRef {
    /// The issue's id (not its `ISS-` number).
    issue_id: IssueId,
}

/// Arguments of `create_issue`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CreateIssue {
    /// A short summary of the problem.
    title: String,
    /// The details of the problem.
    #[serde(default)]
    description: Option<String>,
    /// How urgent it is (default `medium`).
    #[serde(default)]
    priority: Option<Priority>,
    /// What it is about (default `general`).
    #[serde(default)]
    category: Option<IssueCategory>,
    /// The order it is about, if any.
    #[serde(default)]
    order_id: Option<OrderId>,
    /// The customer who raised it. Customers always raise issues for themselves.
    #[serde(default)]
    customer_id: Option<CustomerId>,
    /// The host's own fields, e.g. `{"tier": "gold"}` (staff only).
    #[serde(default)]
    custom_fields: CustomFields,
    /// Repeat a create safely: the same key (same user, within 24 hours) returns the first result.
    #[serde(default)]
    idempotency_key: Option<String>,
}

/// The fields `update_issue` may change. Status is not among them: it moves only through
/// assign/resolve/reopen/close, which enforce the transitions.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct UpdateIssueFields {
    /// New title.
    #[serde(default)]
    title: Option<String>,
    /// New description.
    #[serde(default)]
    description: Change<String>,
    /// New priority.
    #[serde(default)]
    priority: Option<Priority>,
    /// New category.
    #[serde(default)]
    category: Option<IssueCategory>,
    /// The order it is about.
    #[serde(default)]
    order_id: Change<OrderId>,
    /// New custom fields (replaces all of them).
    #[serde(default)]
    custom_fields: Option<CustomFields>,
}

impl UpdateIssueFields {
    fn into_patch(self) -> IssuePatch {
        IssuePatch {
            title: self.title,
            description: self.description,
            priority: self.priority,
            category: self.category,
            order_id: self.order_id,
            custom_fields: self.custom_fields,
            ..Default::default()
        }
    }
}

/// Arguments of `update_issue`.
#[derive(Debug, Deserialize, JsonSchema)]
struct UpdateIssue {
    /// The issue's id.
    issue_id: IssueId,
    #[serde(flatten)]
    changes: UpdateIssueFields,
}

/// Arguments of `assign_issue`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AssignIssue {
    /// The issue's id.
    issue_id: IssueId,
    /// The employee who will handle it (see list_employees).
    employee_id: EmployeeId,
}

/// Arguments of `resolve_issue`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ResolveIssue {
    /// The issue's id.
    issue_id: IssueId,
    /// How the issue was resolved.
    resolution_notes: String,
}

/// Arguments of `reopen_issue`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ReopenIssue {
    /// The issue's id.
    issue_id: IssueId,
    /// Why it is reopened (added as a comment the customer can see).
    #[serde(default)]
    reason: Option<String>,
}

/// Arguments of `add_issue_comment`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AddIssueComment {
    /// The issue's id.
    issue_id: IssueId,
    /// The comment text.
    body: String,
    /// A staff-only note, never shown to the customer (default false; needs `issue:update`).
    #[serde(default)]
    internal: bool,
}

/// Arguments of `list_issue_comments`.
#[derive(Debug, Deserialize, JsonSchema)]
struct ListIssueComments {
    /// The issue's id.
    issue_id: IssueId,
    #[serde(flatten)]
    paging: Paging,
}

pub(super) fn tools() -> Vec<Tool> {
    let sets = &[Toolset::Support];
    vec![
        Tool::builder("list_issues", "List support issues, newest first unless `sort` names another order. Filter by resolution time, creation or change date, status, priority, category, assignee, customer, order, custom fields, or search text in number, title and description. Dates are `YYYY-MM-DD` (a whole day in the organization's time zone) or RFC 3339. Returns total and next_cursor.")
            .permission(issue(Action::Read))
            .for_customers()
            .lists(CustomerRecord::Issue)
            .toolsets(sets)
            .needs(&[StoreOp::ReadIssues])
            .handler(|cx: ToolContext, args: ListIssues| async move {
                let page = args.paging.request()?;
                let filter = args.filter(&cx).await?;
                Ok(ToolPage::from(cx.store.list_issues(&cx.scope, &filter, &page).await?))
            }),
        Tool::builder("get_issue", "Get one support issue by id, with its number, status, priority, assignee and resolution.")
            .permission(issue(Action::Read))
            .for_customers()
            .shows(CustomerRecord::Issue)
            .toolsets(sets)
            .needs(&[StoreOp::ReadIssues])
            .handler(|cx: ToolContext, args: IssueRef| async move { cx.store.get_issue(&cx.scope, &args.issue_id).await }),
        Tool::builder("create_issue", "Open a support issue. Only `title` is required; priority defaults to medium and category to general. The issue gets an ISS- number and starts open.")
            .record(super::history::RecordKind::Issue)
            .permission(issue(Action::Create))
            .for_customers()
            .shows(CustomerRecord::Issue)
            .writes()
            .toolsets(sets)
            .needs(&[StoreOp::WriteIssues])
            .imports()
            .handler(|cx: ToolContext, args: CreateIssue| async move { create(&cx, args).await }),
        Tool::builder("update_issue", "Change an issue's title, description, priority, category, order or custom fields. Only the fields given change; name fields in `clear` to leave them without a value. To change status use assign_issue, resolve_issue, reopen_issue or close_issue.")
            .record(super::history::RecordKind::Issue)
            .permission(issue(Action::Update))
            .writes().idempotent()
            .toolsets(sets)
            .needs(&[StoreOp::WriteIssues])
            .handler(|cx: ToolContext, args: UpdateIssue| async move {
                cx.store.update_issue(&cx.scope, &args.issue_id, args.changes.into_patch()).await
            }),
        Tool::builder("assign_issue", "Assign an issue to an employee (see list_employees); an open issue becomes in_progress. Fails for a resolved or closed issue. Returns the issue.")
            .record(super::history::RecordKind::Issue)
            .permission(issue(Action::Update))
            .writes().idempotent()
            .toolsets(sets)
            .needs(&[StoreOp::ReadIssues, StoreOp::WriteIssues])
            .handler(|cx: ToolContext, args: AssignIssue| async move { assign(&cx, args).await }),
        Tool::builder("resolve_issue", "Mark an issue resolved with notes on how it was resolved. Fails if it is already resolved or closed. Returns the issue.")
            .record(super::history::RecordKind::Issue)
            .permission(issue(Action::Update))
            .writes()
            .toolsets(sets)
            .needs(&[StoreOp::ReadIssues, StoreOp::WriteIssues])
            .handler(|cx: ToolContext, args: ResolveIssue| async move { resolve(&cx, args).await }),
        Tool::builder("reopen_issue", "Reopen a resolved or closed issue, optionally with a reason (added as a comment). Returns the issue, now open.")
            .record(super::history::RecordKind::Issue)
            .permission(issue(Action::Update))
            .writes()
            .toolsets(sets)
            .needs(&[StoreOp::ReadIssues, StoreOp::WriteIssues])
            .handler(|cx: ToolContext, args: ReopenIssue| async move { reopen(&cx, args).await }),
        Tool::builder("close_issue", "Close an issue. Closing a closed issue changes nothing; a closed issue can be reopened with reopen_issue.")
            .record(super::history::RecordKind::Issue)
            .permission(issue(Action::Update))
            .destructive()
            .toolsets(sets)
            .needs(&[StoreOp::ReadIssues, StoreOp::WriteIssues])
            .handler(|cx: ToolContext, args: IssueRef| async move { close(&cx, &args.issue_id).await }),
        Tool::builder("add_issue_comment", "Add a comment to an issue. Set `internal` for a staff-only note that the customer never sees. Returns the comment.")
            .permission(issue(Action::Create))
            .for_customers()
            .writes()
            .toolsets(sets)
            .needs(&[StoreOp::ReadIssues, StoreOp::WriteIssues])
            .handler(|cx: ToolContext, args: AddIssueComment| async move { comment(&cx, args).await }),
        Tool::builder("list_issue_comments", "List the comments on an issue, oldest first. Returns total and next_cursor.")
            .permission(issue(Action::Read))
            .for_customers()
            .toolsets(sets)
            .needs(&[StoreOp::ReadIssues])
            .handler(|cx: ToolContext, args: ListIssueComments| async move { comments(&cx, args).await }),
        Tool::builder("get_issue_stats", "Count issues in total, by status, by priority and by category.")
            .permission(issue(Action::Read))
            .toolsets(&[Toolset::Support, Toolset::Analytics])
            .needs(&[StoreOp::ReadIssues])
            .handler(|cx: ToolContext, _: NoArgs| async move { cx.store.issue_stats(&cx.scope).await }),
    ]
}

async fn create(cx: &ToolContext, args: CreateIssue) -> Result<Issue> {
    let customer_id = raised_by(cx, args.customer_id)?;
    if cx.user.role == Role::Customer && !args.custom_fields.is_empty() {
        // Custom fields are the host's own data (tiers, flags); a customer must not set them.
        return Err(Error::PermissionDenied("customers cannot set `custom_fields`".into()));
    }
    let new = NewIssue {
        description: args.description,
        priority: args.priority.unwrap_or(Priority::Medium),
        category: args.category.unwrap_or(IssueCategory::General),
        customer_id,
        order_id: args.order_id,
        custom_fields: args.custom_fields,
        created_at: cx.created_at,
        ..NewIssue::titled(args.title)
    };
    super::idempotency::once(cx, "create_issue", args.idempotency_key.as_deref(), || async move {
        cx.store.create_issue(&cx.scope, new).await
    })
    .await
}

/// The customer an issue is raised for: a customer caller always raises it for themselves.
fn raised_by(cx: &ToolContext, requested: Option<CustomerId>) -> Result<Option<CustomerId>> {
    if cx.user.role != Role::Customer {
        return Ok(requested);
    }
    let own = cx
        .user
        .customer_id
        .clone()
        .ok_or_else(|| Error::PermissionDenied("this customer login is not linked to a customer record".into()))?;
    match requested {
        // "Not found", not "forbidden": another customer's existence is not confirmed.
        Some(other) if other != own => Err(Error::not_found("customer", other.0)),
        _ => Ok(Some(own)),
    }
}

async fn assign(cx: &ToolContext, args: AssignIssue) -> Result<Issue> {
    let current = cx.store.get_issue(&cx.scope, &args.issue_id).await?;
    if matches!(current.status, IssueStatus::Resolved | IssueStatus::Closed) {
        return Err(Error::conflict(format!(
            "issue {} is {}; reopen it before assigning it",
            current.number, current.status
        )));
    }
    let status = (current.status == IssueStatus::Open).then_some(IssueStatus::InProgress);
    let patch = IssuePatch { assigned_to: Change::Set(args.employee_id), status, ..Default::default() };
    cx.store.update_issue(&cx.scope, &args.issue_id, patch).await
}

async fn resolve(cx: &ToolContext, args: ResolveIssue) -> Result<Issue> {
    required_text("resolution_notes", &args.resolution_notes)?;
    let current = cx.store.get_issue(&cx.scope, &args.issue_id).await?;
    if matches!(current.status, IssueStatus::Resolved | IssueStatus::Closed) {
        return Err(Error::conflict(format!("issue {} is already {}", current.number, current.status)));
    }
    let patch = IssuePatch {
        status: Some(IssueStatus::Resolved),
        resolution_notes: Change::Set(args.resolution_notes),
        resolved_at: Change::Set(cx.now),
        resolved_by: Change::Set(cx.user.user_id.clone()),
        ..Default::default()
    };
    cx.store.update_issue(&cx.scope, &args.issue_id, patch).await
}

async fn reopen(cx: &ToolContext, args: ReopenIssue) -> Result<Issue> {
    let current = cx.store.get_issue(&cx.scope, &args.issue_id).await?;
    if !matches!(current.status, IssueStatus::Resolved | IssueStatus::Closed) {
        return Err(Error::conflict(format!(
            "issue {} is {}; only resolved or closed issues can be reopened",
            current.number, current.status
        )));
    }
    // The resolution notes stay: they record what was tried before.
    let patch = IssuePatch {
        status: Some(IssueStatus::Open),
        resolved_at: Change::Clear,
        resolved_by: Change::Clear,
        ..Default::default()
    };
    let reopened = cx.store.update_issue(&cx.scope, &args.issue_id, patch).await?;
    if let Some(reason) = args.reason.filter(|r| !r.trim().is_empty()) {
        cx.store
            .add_issue_comment(&cx.scope, new_comment(cx, &args.issue_id, format!("Reopened: {reason}"), false))
            .await?;
    }
    Ok(reopened)
}

async fn close(cx: &ToolContext, id: &IssueId) -> Result<Issue> {
    let current = cx.store.get_issue(&cx.scope, id).await?;
    if current.status == IssueStatus::Closed {
        return Ok(current);
    }
    let patch = IssuePatch { status: Some(IssueStatus::Closed), ..Default::default() };
    cx.store.update_issue(&cx.scope, id, patch).await
}

async fn comment(cx: &ToolContext, args: AddIssueComment) -> Result<IssueComment> {
    if args.internal {
        if cx.user.role == Role::Customer {
            return Err(Error::PermissionDenied("customers cannot write internal comments".into()));
        }
        cx.require(issue(Action::Update))?;
    }
    // Looked up first so a customer can only comment on an issue their scope shows them.
    cx.store.get_issue(&cx.scope, &args.issue_id).await?;
    cx.store.add_issue_comment(&cx.scope, new_comment(cx, &args.issue_id, args.body, args.internal)).await
}

fn new_comment(cx: &ToolContext, issue_id: &IssueId, body: String, internal: bool) -> NewIssueComment {
    NewIssueComment {
        issue_id: issue_id.clone(),
        author_user_id: cx.user.user_id.clone(),
        author_name: cx.user.display_name.clone().unwrap_or_else(|| cx.user.user_id.clone()),
        body,
        internal,
    }
}

async fn comments(cx: &ToolContext, args: ListIssueComments) -> Result<ToolPage<IssueComment>> {
    let page = args.paging.request()?;
    // Checked first so an unknown (or hidden) issue is an error rather than an empty list.
    cx.store.get_issue(&cx.scope, &args.issue_id).await?;
    // Staff who may read issues see internal notes; customers never do.
    let include_internal = cx.user.role != Role::Customer;
    Ok(ToolPage::from(cx.store.list_issue_comments(&cx.scope, &args.issue_id, include_internal, &page).await?))
}
