//! Record history: what each successful write changed, kept on its audit event, and
//! `get_record_history`, which reads one record's events back for whoever may read the record.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Access, Tool, ToolContext, Toolset};
use crate::domain::*;
use crate::error::{Error, Result};
use crate::policy::{Action, CustomerRecord, Permission, Resource};
use crate::store::{Scope, Store, StoreOp};

/// The kinds of record whose writes are kept with their changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RecordKind {
    Customer,
    Lead,
    Deal,
    Issue,
    Activity,
    Employee,
}

impl RecordKind {
    const ALL: [RecordKind; 6] = [
        RecordKind::Customer,
        RecordKind::Lead,
        RecordKind::Deal,
        RecordKind::Issue,
        RecordKind::Activity,
        RecordKind::Employee,
    ];

    /// The name on audit events (`record_type`).
    fn name(self) -> &'static str {
        match self {
            RecordKind::Customer => "customer",
            RecordKind::Lead => "lead",
            RecordKind::Deal => "deal",
            RecordKind::Issue => "issue",
            RecordKind::Activity => "activity",
            RecordKind::Employee => "employee",
        }
    }

    fn named(name: &str) -> Option<RecordKind> {
        RecordKind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// The argument that names the record a write changes (`deal_id`).
    fn id_argument(self) -> String {
        format!("{}_id", self.name())
    }

    fn resource(self) -> Resource {
        match self {
            RecordKind::Customer => Resource::Customer,
            RecordKind::Lead => Resource::Lead,
            RecordKind::Deal => Resource::Deal,
            RecordKind::Issue => Resource::Issue,
            RecordKind::Activity => Resource::Activity,
            RecordKind::Employee => Resource::Employee,
        }
    }

    /// The record as JSON, read in `scope` (so `NotFound` outside it).
    async fn fetch(self, store: &dyn Store, scope: &Scope, id: &str) -> Result<Value> {
        let json = |record: std::result::Result<Value, serde_json::Error>| {
            record.map_err(|e| Error::Internal(format!("a {} does not serialize: {e}", self.name())))
        };
        match self {
            RecordKind::Customer => {
                json(serde_json::to_value(store.get_customer(scope, &CustomerId(id.into())).await?))
            }
            RecordKind::Lead => json(serde_json::to_value(store.get_lead(scope, &LeadId(id.into())).await?)),
            RecordKind::Deal => json(serde_json::to_value(store.get_deal(scope, &DealId(id.into())).await?)),
            RecordKind::Issue => json(serde_json::to_value(store.get_issue(scope, &IssueId(id.into())).await?)),
            RecordKind::Activity => {
                json(serde_json::to_value(store.get_activity(scope, &ActivityId(id.into())).await?))
            }
            RecordKind::Employee => {
                json(serde_json::to_value(store.get_employee(scope, &EmployeeId(id.into())).await?))
            }
        }
    }

    /// Whether the caller may not see the values of `field` of this kind of record: an
    /// employee's pay and emergency contact without `employee:update` (as `get_employee` redacts
    /// them), and for a customer every field customers do not see (see
    /// [`CustomerRecord::visible_fields`]), custom fields included.
    fn hides(self, cx: &ToolContext, field: &str) -> bool {
        if cx.scope.is_customer() {
            let shown = match self {
                RecordKind::Customer => CustomerRecord::Customer.visible_fields(),
                RecordKind::Issue => CustomerRecord::Issue.visible_fields(),
                RecordKind::Lead | RecordKind::Deal | RecordKind::Activity | RecordKind::Employee => &[],
            };
            return field == "custom_fields" || !shown.contains(&field);
        }
        match self {
            RecordKind::Employee if !cx.can(Permission::new(Resource::Employee, Action::Update)) => {
                ["salary", "commission_rate", "emergency_contact"].contains(&field)
            }
            _ => false,
        }
    }
}

/// What the registry records of one successful write: the record and what changed.
pub(super) struct RecordTrail {
    pub(super) kind: RecordKind,
    pub(super) id: String,
    pub(super) changes: Vec<FieldChange>,
}

/// The record a write of `kind` is about to change, as it is before the write: `None` for
/// creations (no `…_id` argument) and when it cannot be read (the write will fail the same way).
pub(super) async fn before_write(kind: RecordKind, cx: &ToolContext, args: &Value) -> Option<(String, Value)> {
    let id = args.get(kind.id_argument())?.as_str()?.to_owned();
    let before = kind.fetch(&*cx.store, &cx.scope, &id).await.ok()?;
    Some((id, before))
}

/// The trail of a successful write: the record it changed (the `…_id` argument, else the id of
/// the record it answered) and the fields that differ from `before`. The answer is the record
/// itself for most writes; for the others the record is read again.
pub(super) async fn after_write(
    kind: RecordKind,
    cx: &ToolContext,
    before: Option<(String, Value)>,
    answer: &Value,
) -> Option<RecordTrail> {
    let answered_id = answer.get("id").and_then(Value::as_str);
    let Some((id, before)) = before else {
        // A creation: the answer is the new record.
        return answered_id.map(|id| RecordTrail { kind, id: id.to_owned(), changes: Vec::new() });
    };
    let after = if answered_id == Some(id.as_str()) {
        answer.clone()
    } else {
        kind.fetch(&*cx.store, &cx.scope, &id).await.ok()?
    };
    Some(RecordTrail { kind, changes: changed_fields(&before, &after), id })
}

/// The top-level fields whose values differ, in field order; bookkeeping times are left out.
fn changed_fields(before: &Value, after: &Value) -> Vec<FieldChange> {
    let empty = Map::new();
    let (before, after) = (before.as_object().unwrap_or(&empty), after.as_object().unwrap_or(&empty));
    let mut fields: Vec<&String> = before.keys().chain(after.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .filter(|field| !matches!(field.as_str(), "updated_at" | "created_at"))
        .filter_map(|field| {
            let (was, is) = (before.get(field).unwrap_or(&Value::Null), after.get(field).unwrap_or(&Value::Null));
            (was != is).then(|| FieldChange::between(field, was, is))
        })
        .collect()
}

impl RecordTrail {
    /// Puts the trail on its audit event.
    pub(super) fn mark(self, event: &mut NewAuditEvent) {
        event.record_type = Some(self.kind.name().to_owned());
        event.record_id = Some(self.id);
        event.changes = self.changes;
    }
}

/// Arguments of `get_record_history`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct HistoryArgs {
    /// The id of a customer, lead, deal, issue, activity or employee.
    record_id: String,
    /// How many events (1 to 100, default 20), newest first.
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    limit: Option<u32>,
    /// The `next_cursor` of the previous answer.
    #[serde(default)]
    cursor: Option<String>,
}

/// One write to the record.
#[derive(Debug, Serialize, JsonSchema)]
struct HistoryEvent {
    /// When.
    at: Timestamp,
    /// Who: the user id.
    user_id: String,
    /// What: the tool that wrote.
    action: String,
    /// The fields it changed, before → after (none for the creation).
    changes: Vec<FieldChange>,
}

/// The answer of `get_record_history`.
#[derive(Debug, Serialize, JsonSchema)]
struct RecordHistory {
    /// The record.
    record_id: String,
    /// Its kind: customer, lead, deal, issue, activity or employee.
    record_type: String,
    /// Its writes, newest first.
    events: Vec<HistoryEvent>,
    /// Pass as `cursor` for older events; absent on the last page.
    next_cursor: Option<String>,
}

async fn record_history(cx: ToolContext, args: HistoryArgs) -> Result<RecordHistory> {
    let limit = args.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(Error::invalid(format!("`limit` must be between 1 and 100 (got {limit})")));
    }
    let not_found = || Error::not_found("record with history", &args.record_id);
    // The audit log is the organization's; the record itself is read in the caller's scope
    // below, which is what decides whether they may see its history.
    let organization = Scope::organization(cx.scope.organization_id().clone());
    let filter = AuditFilter { record_id: Some(args.record_id.clone()), ..Default::default() };
    let page = PageRequest { limit, cursor: args.cursor.clone() };
    let events = cx.store.list_audit_events(&organization, &filter, &page).await?;
    let kind = events
        .items
        .iter()
        .find_map(|event| event.record_type.as_deref().and_then(RecordKind::named))
        .ok_or_else(not_found)?;
    cx.require(Permission::new(kind.resource(), Action::Read))?;
    kind.fetch(&*cx.store, &cx.scope, &args.record_id).await.map_err(|e| match e {
        Error::NotFound { .. } => not_found(),
        other => other,
    })?;
    let next_cursor = events.next_cursor;
    let events = events
        .items
        .into_iter()
        .map(|event| HistoryEvent {
            at: event.at,
            user_id: event.user_id,
            action: event.action,
            changes: event
                .changes
                .into_iter()
                .map(|change| match kind.hides(&cx, &change.field) {
                    true => FieldChange { field: change.field, before: None, after: None, hidden: true },
                    false => change,
                })
                .collect(),
        })
        .collect();
    Ok(RecordHistory { record_id: args.record_id, record_type: kind.name().to_owned(), events, next_cursor })
}

pub(super) fn tools() -> Vec<Tool> {
    let reads = RecordKind::ALL.map(|kind| Permission::new(kind.resource(), Action::Read));
    vec![
        Tool::builder("get_record_history", "Who changed one record (customer, lead, deal, issue, activity or employee) and when: its writes, newest first, each with the fields it changed as before → after. Fields the caller may not see show as changed, without values.")
            .access(Access::Any(reads.to_vec()))
            .for_customers()
            .toolsets(&[Toolset::General, Toolset::Customers, Toolset::Sales, Toolset::Support])
            .needs(&[StoreOp::Audit])
            .handler(record_history),
    ]
}
