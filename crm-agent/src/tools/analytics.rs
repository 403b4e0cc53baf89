//! Analytics tools: every number is computed by the store (SQL aggregates), never by loading rows.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::args::NoArgs;
use super::{Access, Tool, ToolContext, Toolset};
use crate::domain::*;
use crate::error::{Error, Result};
use crate::policy::{Action, CustomerRecord, Permission, Resource, check_customer_arguments, check_customer_field};
use crate::store::StoreOp;
use crate::store::aggregate::sort_performance;

const ANALYTICS: Permission = Permission::new(Resource::Analytics, Action::Read);

/// Arguments of `get_revenue_by_period`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RevenueArgs {
    /// Bucket size: day, week, month, quarter or year (default month).
    #[serde(default)]
    period: Option<PeriodName>,
    /// How many buckets, ending with the current one (1 to 60, default 12).
    #[serde(default)]
    #[schemars(range(min = 1, max = 60))]
    periods: Option<u32>,
}

/// The result of `get_revenue_by_period`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct RevenueByPeriod {
    /// The bucket size used.
    pub period: PeriodName,
    /// The buckets, oldest first.
    pub buckets: Vec<RevenueBucket>,
    /// Won value over all buckets, per currency (the organization's default first).
    pub total_won_value: Amounts,
    /// Deals won over all buckets.
    pub total_won_count: u64,
}

/// Arguments of `get_employee_performance`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct PerformanceArgs {
    /// Return only the top N employees by won revenue (1 to 100, default all).
    #[serde(default)]
    #[schemars(range(min = 1, max = 100))]
    limit: Option<u32>,
}

/// The caller's own numbers (`get_quick_stats`).
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct QuickStats {
    /// The caller's employee record, if they have one.
    pub employee_id: Option<EmployeeId>,
    /// Customers assigned to the caller.
    pub customers_assigned: u64,
    /// Leads assigned to the caller.
    pub leads_assigned: u64,
    /// Of those, converted.
    pub leads_converted: u64,
    /// The value of the open deals assigned to the caller, per currency.
    pub open_deals_value: Amounts,
    /// Deals the caller won.
    pub deals_won: u64,
    /// Value of the deals the caller won, per currency.
    pub won_revenue: Amounts,
    /// Issues assigned to the caller that are open or in progress.
    pub open_issues_assigned: u64,
    /// Activities assigned to the caller that are still scheduled.
    pub scheduled_activities: u64,
}

/// Arguments of `aggregate_records`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AggregateRecords {
    /// The kind of record.
    entity: AggregateEntity,
    /// What to compute over each group (default `count`).
    #[serde(default)]
    measure: Option<Measure>,
    /// The numeric field measured (not used by `count`): customers `credit_limit`; leads `score`,
    /// `estimated_value`; deals `value`, `probability`; orders `subtotal`, `tax`, `total`; payments
    /// `amount`; activities `duration_minutes`.
    #[serde(default)]
    field: Option<FieldName>,
    /// Up to 2 groups: a field such as `status`, `stage_id`, `priority`, `source`, `category`,
    /// `assigned_to`, `customer_id`, `currency`, `converted`; or `DATEFIELD:BUCKET`, BUCKET one of day,
    /// week, month, quarter, year (e.g. `actual_close_date:month`, `created_at:week`).
    #[serde(default)]
    #[schemars(length(max = 2))]
    group_by: Vec<GroupName>,
    /// Which records: the arguments of the entity's list tool without `limit`, `cursor` and `sort`
    /// (e.g. `{"status": "won", "closed_after": "2026-01-01"}`). Default: all that the user may see.
    #[serde(default)]
    filter: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A measurable field of some kind of record (which kind is checked against `entity`).
#[derive(Debug, Deserialize)]
#[serde(transparent)]
struct FieldName(String);

/// A `group_by` item of some kind of record (which kind is checked against `entity`).
#[derive(Debug, Deserialize)]
#[serde(transparent)]
struct GroupName(String);

/// Every distinct name of `names`, in first-seen order, as a string enum schema.
fn names_schema(names: impl Iterator<Item = String>) -> schemars::Schema {
    let mut seen: Vec<String> = Vec::new();
    for name in names {
        if !seen.contains(&name) {
            seen.push(name);
        }
    }
    schemars::json_schema!({ "type": "string", "enum": seen })
}

fn all_fields() -> impl Iterator<Item = AggregateField> {
    AggregateEntity::ALL.iter().flat_map(|entity| entity.fields().iter().copied())
}

impl JsonSchema for FieldName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AggregateFieldName".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let measurable = all_fields().filter(|f| matches!(f.kind, FieldKind::Money | FieldKind::Number));
        names_schema(measurable.map(|f| f.name.to_owned()))
    }
}

impl JsonSchema for GroupName {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AggregateGroupName".into()
    }
    fn inline_schema() -> bool {
        true
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let values = all_fields().filter(|f| matches!(f.kind, FieldKind::Category | FieldKind::Flag));
        let buckets = all_fields()
            .filter(|f| matches!(f.kind, FieldKind::Day | FieldKind::Instant))
            .flat_map(|f| Bucket::ALL.iter().map(move |b| format!("{}:{b}", f.name)));
        names_schema(values.map(|f| f.name.to_owned()).chain(buckets))
    }
}

/// The read permission of each kind of record `aggregate_records` measures.
fn read_permission(entity: AggregateEntity) -> Permission {
    let resource = match entity {
        AggregateEntity::Customers => Resource::Customer,
        AggregateEntity::Leads => Resource::Lead,
        AggregateEntity::Deals => Resource::Deal,
        AggregateEntity::Issues => Resource::Issue,
        AggregateEntity::Orders => Resource::Order,
        AggregateEntity::Payments => Resource::Payment,
        AggregateEntity::Activities => Resource::Activity,
    };
    Permission::new(resource, Action::Read)
}

async fn aggregate_records(cx: ToolContext, args: AggregateRecords) -> Result<AggregateAnswer> {
    cx.require(read_permission(args.entity))?;
    let filter = serde_json::Value::Object(args.filter.unwrap_or_default());
    if cx.scope.is_customer() {
        check_customer_aggregate(&cx, args.entity, args.field.as_ref(), &args.group_by, &filter).await?;
    }
    let filter = match args.entity {
        AggregateEntity::Customers => RecordFilter::Customers(super::customers::aggregate_filter(&cx, filter).await?),
        AggregateEntity::Leads => RecordFilter::Leads(super::leads::aggregate_filter(&cx, filter).await?),
        AggregateEntity::Deals => RecordFilter::Deals(super::deals::aggregate_filter(&cx, filter).await?),
        AggregateEntity::Issues => RecordFilter::Issues(super::issues::aggregate_filter(&cx, filter).await?),
        AggregateEntity::Orders => RecordFilter::Orders(super::orders::aggregate_filter(&cx, filter).await?),
        AggregateEntity::Payments => {
            RecordFilter::Payments(super::orders::aggregate_payment_filter(&cx, filter).await?)
        }
        AggregateEntity::Activities => {
            RecordFilter::Activities(super::activities::aggregate_filter(&cx, filter).await?)
        }
    };
    let group_by: Vec<String> = args.group_by.into_iter().map(|GroupName(name)| name).collect();
    let buckets = group_by.iter().any(|g| g.contains(':'));
    let time_zone = super::dates::Calendar::of(&cx, buckets).await?.zone();
    let field = args.field.map(|FieldName(name)| name);
    let query =
        AggregateQuery::new(filter, args.measure.unwrap_or(Measure::Count), field.as_deref(), &group_by, time_zone)?;
    cx.store.aggregate_records(&cx.scope, &query).await
}

/// A customer measures, groups and filters only by fields customers see (an aggregate of a
/// staff field would tell its values as well as reading it would).
async fn check_customer_aggregate(
    cx: &ToolContext,
    entity: AggregateEntity,
    field: Option<&FieldName>,
    group_by: &[GroupName],
    filter: &serde_json::Value,
) -> Result<()> {
    let kind = match entity {
        AggregateEntity::Customers => CustomerRecord::Customer,
        AggregateEntity::Issues => CustomerRecord::Issue,
        AggregateEntity::Orders => CustomerRecord::Order,
        AggregateEntity::Payments => CustomerRecord::Payment,
        // Customers hold no read permission on the others; `require` has refused them already.
        AggregateEntity::Leads | AggregateEntity::Deals | AggregateEntity::Activities => return Ok(()),
    };
    let visible = super::visible_custom_fields(&*cx.store, &cx.scope).await?;
    check_customer_arguments(kind, filter, &visible)?;
    let grouped = group_by.iter().map(|GroupName(name)| name.split(':').next().unwrap_or_default());
    for field in field.iter().map(|FieldName(name)| name.as_str()).chain(grouped) {
        check_customer_field(kind, field)?;
    }
    Ok(())
}

pub(super) fn tools() -> Vec<Tool> {
    let sets = &[Toolset::Analytics];
    let reads = [StoreOp::ReadCustomers, StoreOp::ReadLeads, StoreOp::ReadDeals, StoreOp::ReadIssues];
    let readable = [
        Resource::Customer,
        Resource::Lead,
        Resource::Deal,
        Resource::Issue,
        Resource::Order,
        Resource::Payment,
        Resource::Activity,
    ];
    vec![
        Tool::builder("aggregate_records", "Count, sum, average, minimum or maximum of one kind of record (customers, leads, deals, issues, orders, payments, activities), grouped by up to two fields or date buckets, over the same filters as that kind's list tool. Money is summed per currency. Answers {groups: [{key, count, value}], total_groups}.")
            .access(Access::Any(readable.map(|r| Permission::new(r, Action::Read)).to_vec()))
            .for_customers()
            .toolsets(&[Toolset::Analytics, Toolset::Customers, Toolset::Sales, Toolset::Support, Toolset::Activities])
            .handler(aggregate_records),
        Tool::builder("get_dashboard_stats", "Dashboard numbers: customers (total, active — status active or vip —, 30-day growth %), leads (total, qualified, conversion %), deals (open, won, lost, win rate), revenue (won, open pipeline, weighted pipeline; each per currency, the organization's default first) and open issues by priority.")
            .permission(ANALYTICS)
            .toolsets(sets)
            .needs(&reads)
            .handler(|cx: ToolContext, _: NoArgs| async move {
                let mut stats = cx.store.dashboard_stats(&cx.scope, cx.now).await?;
                stats.put_first(&default_currency(&cx).await?);
                Ok(stats)
            }),
        Tool::builder("get_sales_funnel", "The sales funnel: leads → qualified → converted → deals from converted leads → won, with each step's count, percent of leads and conversion from the previous step. Deals that did not come from a converted lead are counted beside it, in other_deals.")
            .permission(ANALYTICS)
            .toolsets(sets)
            .needs(&[StoreOp::ReadLeads, StoreOp::ReadDeals])
            .handler(|cx: ToolContext, _: NoArgs| async move { cx.store.sales_funnel(&cx.scope).await }),
        Tool::builder("get_revenue_by_period", "Won deal value (per currency) and count per day, week, month, quarter or year, for the last N periods (by actual close date).")
            .permission(ANALYTICS)
            .toolsets(sets)
            .needs(&[StoreOp::ReadDeals])
            .handler(|cx: ToolContext, args: RevenueArgs| async move { revenue(&cx, args).await }),
        Tool::builder("get_employee_performance", "Per employee: customers assigned, leads and their conversion, deals won and lost, win rate, won revenue and open pipeline (per currency); sorted by won revenue in the organization's default currency, then deals won.")
            .permission(ANALYTICS)
            .toolsets(sets)
            .needs(&[StoreOp::ReadEmployees, StoreOp::ReadCustomers, StoreOp::ReadLeads, StoreOp::ReadDeals])
            .handler(|cx: ToolContext, args: PerformanceArgs| async move {
                let currency = default_currency(&cx).await?;
                let mut rows = cx.store.employee_performance(&cx.scope).await?;
                sort_performance(&mut rows, &currency);
                if let Some(limit) = args.limit {
                    rows.truncate(limit as usize);
                }
                for row in &mut rows {
                    row.put_first(&currency);
                }
                Ok(rows)
            }),
        Tool::builder("get_quick_stats", "The caller's own numbers: their customers, leads, open and won deals, open issues and scheduled activities.")
            .access(Access::Staff)
            .toolsets(&[Toolset::Analytics, Toolset::General])
            .needs(&[StoreOp::ReadEmployees, StoreOp::ReadIssues, StoreOp::ReadActivities, StoreOp::ReadDeals])
            .handler(|cx: ToolContext, _: NoArgs| async move { quick_stats(&cx).await }),
    ]
}

/// The organization's default currency, which money per currency lists first.
pub(super) async fn default_currency(cx: &ToolContext) -> Result<String> {
    Ok(cx.store.get_organization(&cx.scope).await?.settings.default_currency().to_owned())
}

/// `amounts` (none: nothing) with `currency` first.
fn first(amounts: Option<Amounts>, currency: &str) -> Amounts {
    let mut amounts = amounts.unwrap_or_default();
    amounts.put_first(currency);
    amounts
}

async fn revenue(cx: &ToolContext, args: RevenueArgs) -> Result<RevenueByPeriod> {
    let name = args.period.unwrap_or(PeriodName::Month);
    let count = args.periods.unwrap_or(12);
    if !(1..=60).contains(&count) {
        return Err(Error::invalid(format!("`periods` must be between 1 and 60 (got {count})")));
    }
    let buckets = Period::from(name).buckets(cx.now.date_naive(), count);
    let currency = default_currency(cx).await?;
    let mut buckets = cx.store.revenue_by_period(&cx.scope, &buckets).await?;
    let mut total_won_value = Amounts::default();
    for bucket in &mut buckets {
        total_won_value.add_all(&bucket.won_value);
        bucket.put_first(&currency);
    }
    total_won_value.put_first(&currency);
    Ok(RevenueByPeriod {
        period: name,
        total_won_value,
        total_won_count: buckets.iter().map(|b| b.won_count).sum(),
        buckets,
    })
}

async fn quick_stats(cx: &ToolContext) -> Result<QuickStats> {
    let Some(me) = cx.user.employee_id.clone() else {
        return Err(Error::invalid("quick stats are per employee, and this user has no employee record"));
    };
    let one = PageRequest::first(1);
    let currency = default_currency(cx).await?;
    let performance = cx.store.employee_performance(&cx.scope).await?;
    let mine = performance.into_iter().find(|p| p.employee_id == me);
    let open_issues = cx
        .store
        .list_issues(
            &cx.scope,
            &IssueFilter { assigned_to: Some(me.clone()), status: Some(IssueStatus::Open), ..Default::default() },
            &one,
        )
        .await?
        .total
        + cx.store
            .list_issues(
                &cx.scope,
                &IssueFilter {
                    assigned_to: Some(me.clone()),
                    status: Some(IssueStatus::InProgress),
                    ..Default::default()
                },
                &one,
            )
            .await?
            .total;
    let scheduled = cx
        .store
        .list_activities(
            &cx.scope,
            &ActivityFilter {
                assigned_to: Some(me.clone()),
                status: Some(ActivityStatus::Scheduled),
                ..Default::default()
            },
            &one,
        )
        .await?
        .total;
    Ok(QuickStats {
        employee_id: Some(me),
        customers_assigned: mine.as_ref().map_or(0, |p| p.customers_assigned),
        leads_assigned: mine.as_ref().map_or(0, |p| p.leads_assigned),
        leads_converted: mine.as_ref().map_or(0, |p| p.leads_converted),
        open_deals_value: first(mine.as_ref().map(|p| p.open_pipeline.clone()), &currency),
        deals_won: mine.as_ref().map_or(0, |p| p.deals_won),
        won_revenue: first(mine.as_ref().map(|p| p.won_revenue.clone()), &currency),
        open_issues_assigned: open_issues,
        scheduled_activities: scheduled,
    })
}
