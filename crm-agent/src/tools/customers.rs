//! Customer tools.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::args::{Paging, ToolPage, append_note};
use super::dates::{Calendar, Changed, SortArg, sort_of};
use super::{Tool, ToolContext, Toolset};
use crate::domain::*;
use crate::error::Result;
use crate::policy::{Action, CustomerRecord, Permission, Resource};
use crate::store::StoreOp;

const fn customer(action: Action) -> Permission {
    Permission::new(Resource::Customer, action)
}

/// Arguments of `list_customers`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct ListCustomers {
    #[serde(flatten)]
    filter: CustomerFilter,
    #[serde(flatten)]
    changed: Changed,
    /// The order: a field, or `-` and a field for largest or latest first (default: newest first).
    #[serde(default)]
    sort: Option<SortArg<CustomerSort>>,
    #[serde(flatten)]
    paging: Paging,
}

/// `aggregate_records`' filter of this kind: `list_customers`'s arguments without paging and order.
pub(super) async fn aggregate_filter(cx: &ToolContext, filter: serde_json::Value) -> Result<CustomerFilter> {
    super::args::list_filter::<ListCustomers>("list_customers", filter)?.filter(cx).await
}

impl ListCustomers {
    /// The store's filter, with the date arguments turned into spans by the organization's
    /// calendar (read only when a date argument is given).
    async fn filter(self, cx: &ToolContext) -> Result<CustomerFilter> {
        let calendar = Calendar::of(cx, self.changed.given()).await?;
        let mut filter = self.filter;
        (filter.created, filter.updated) = self.changed.spans(&calendar)?;
        filter.sort = sort_of(self.sort);
        Ok(filter)
    }
}

/// Arguments naming one customer.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct CustomerRef {
    /// The customer's id.
    pub customer_id: CustomerId,
}

/// Arguments of `create_customer`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct CreateCustomer {
    #[serde(flatten)]
    customer: NewCustomer,
    /// Repeat a create safely: the same key (same user, within 24 hours) returns the first result.
    #[serde(default)]
    idempotency_key: Option<String>,
}

/// Arguments of `update_customer`.
#[derive(Debug, Deserialize, JsonSchema)]
pub(super) struct UpdateCustomer {
    /// The customer's id.
    customer_id: CustomerId,
    #[serde(flatten)]
    changes: CustomerPatch,
}

/// Arguments of `deactivate_customer`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct DeactivateCustomer {
    /// The customer's id.
    customer_id: CustomerId,
    /// Why (kept in the customer's notes).
    #[serde(default)]
    reason: Option<String>,
}

/// The result of `deactivate_customer`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct Deactivated {
    /// The customer, now inactive.
    pub customer: Customer,
    /// False when it was inactive already.
    pub changed: bool,
}

pub(super) fn tools() -> Vec<Tool> {
    let sets = &[Toolset::Customers];
    vec![
        Tool::builder("list_customers", "List customers, newest first unless `sort` names another order. Filter by creation or change date, status, type, assigned employee, custom fields, or search text in name, company, email and phone. Dates are `YYYY-MM-DD` (a whole day in the organization's time zone) or RFC 3339. Returns total and next_cursor.")
            .permission(customer(Action::Read))
            .for_customers()
            .lists(CustomerRecord::Customer)
            .toolsets(sets)
            .needs(&[StoreOp::ReadCustomers])
            .handler(|cx: ToolContext, args: ListCustomers| async move {
                let page = args.paging.request()?;
                let filter = args.filter(&cx).await?;
                Ok(ToolPage::from(cx.store.list_customers(&cx.scope, &filter, &page).await?))
            }),
        Tool::builder("get_customer", "Get one customer by id, with contact details, status, assignee, tags and custom fields.")
            .permission(customer(Action::Read))
            .for_customers()
            .shows(CustomerRecord::Customer)
            .toolsets(sets)
            .needs(&[StoreOp::ReadCustomers])
            .handler(|cx: ToolContext, args: CustomerRef| async move { cx.store.get_customer(&cx.scope, &args.customer_id).await }),
        Tool::builder("create_customer", "Create a customer. Only `name` is required; type defaults to individual and status to active.")
            .record(super::history::RecordKind::Customer)
            .permission(customer(Action::Create))
            .writes()
            .toolsets(sets)
            .needs(&[StoreOp::WriteCustomers])
            .imports()
            .handler(|cx: ToolContext, args: CreateCustomer| async move {
                super::idempotency::once(&cx, "create_customer", args.idempotency_key.as_deref(), || {
                    let (cx, mut customer) = (cx.clone(), args.customer.clone());
                    customer.created_at = cx.created_at;
                    async move { cx.store.create_customer(&cx.scope, customer).await }
                })
                .await
            }),
        Tool::builder("update_customer", "Change a customer's fields. Only the fields given change; name fields in `clear` to leave them without a value.")
            .record(super::history::RecordKind::Customer)
            .permission(customer(Action::Update))
            .writes().idempotent()
            .toolsets(sets)
            .needs(&[StoreOp::WriteCustomers])
            .handler(|cx: ToolContext, args: UpdateCustomer| async move {
                cx.store.update_customer(&cx.scope, &args.customer_id, args.changes).await
            }),
        Tool::builder("deactivate_customer", "Deactivate a customer (status becomes inactive). Nothing is deleted; the customer can be reactivated with update_customer.")
            .record(super::history::RecordKind::Customer)
            .permission(customer(Action::Delete))
            .destructive()
            .toolsets(sets)
            .needs(&[StoreOp::ReadCustomers, StoreOp::WriteCustomers])
            .handler(|cx: ToolContext, args: DeactivateCustomer| async move { deactivate(&cx, args).await }),
        Tool::builder("get_customer_stats", "Count customers in total, active (status active or vip), by status and by type.")
            .permission(customer(Action::Read))
            .toolsets(&[Toolset::Customers, Toolset::Analytics])
            .needs(&[StoreOp::ReadCustomers])
            .handler(|cx: ToolContext, _: super::args::NoArgs| async move { cx.store.customer_stats(&cx.scope).await }),
    ]
}

async fn deactivate(cx: &ToolContext, args: DeactivateCustomer) -> Result<Deactivated> {
    let current = cx.store.get_customer(&cx.scope, &args.customer_id).await?;
    if current.status == CustomerStatus::Inactive {
        return Ok(Deactivated { customer: current, changed: false });
    }
    let notes =
        args.reason.as_deref().map_or(Change::Keep, |reason| append_note(&current.notes, "Deactivated", reason));
    let patch = CustomerPatch { status: Some(CustomerStatus::Inactive), notes, ..Default::default() };
    let customer = cx.store.update_customer(&cx.scope, &args.customer_id, patch).await?;
    Ok(Deactivated { customer, changed: true })
}
