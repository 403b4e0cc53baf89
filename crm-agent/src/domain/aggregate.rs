//! `aggregate_records`: counts, sums, averages, minimums and maximums of one kind of record,
//! grouped by up to two fields, over the same filters as that kind's list.
//!
//! Which fields can be measured and grouped by is fixed per kind ([`AggregateEntity::fields`]).
//! A date field groups by a bucket of the organization's calendar (`actual_close_date:month`);
//! instants (`created_at`) fall into the bucket of their day in the organization's time zone.
//! Money is never added across currencies: a money measure of a kind that has a `currency` is
//! grouped by `currency` too, whether or not it was asked for.

use serde::{Deserialize, Serialize};

use super::{
    ActivityFilter, CustomerFilter, DealFilter, IssueFilter, LeadFilter, OrderFilter, PaymentFilter, string_enum,
};
use crate::error::{Error, Result};

string_enum! {
    /// The kinds of record `aggregate_records` measures.
    AggregateEntity {
        Customers => "customers",
        Leads => "leads",
        Deals => "deals",
        Issues => "issues",
        Orders => "orders",
        Payments => "payments",
        Activities => "activities",
    }
}

string_enum! {
    /// What `aggregate_records` computes over each group.
    Measure { Count => "count", Sum => "sum", Avg => "avg", Min => "min", Max => "max" }
}

string_enum! {
    /// The span a date field is grouped by. Weeks start on Monday and are named by that day.
    Bucket { Day => "day", Week => "week", Month => "month", Quarter => "quarter", Year => "year" }
}

/// How a field's values are kept and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A text or id compared whole (statuses, ids, currencies).
    Category,
    /// `true` or `false`.
    Flag,
    /// An amount of money (two decimal places), in the record's `currency` where it has one.
    Money,
    /// A whole number (scores, probabilities, minutes).
    Number,
    /// A day (`YYYY-MM-DD`).
    Day,
    /// An instant.
    Instant,
}

/// One field of a kind of record that `aggregate_records` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AggregateField {
    /// Its name, as in the record and in `field` and `group_by`.
    pub name: &'static str,
    /// How its values are kept.
    pub kind: FieldKind,
    /// Whether a record may have no value for it.
    pub optional: bool,
}

const fn field(name: &'static str, kind: FieldKind) -> AggregateField {
    AggregateField { name, kind, optional: true }
}

/// A field every record has a value for.
const fn required(name: &'static str, kind: FieldKind) -> AggregateField {
    AggregateField { name, kind, optional: false }
}

use FieldKind::{Category, Day, Flag, Instant, Money as Amount, Number};

const CUSTOMER_FIELDS: &[AggregateField] = &[
    field("status", Category),
    field("customer_type", Category),
    field("assigned_to", Category),
    field("source", Category),
    field("country", Category),
    field("credit_limit", Amount),
    field("created_at", Instant),
];

const LEAD_FIELDS: &[AggregateField] = &[
    field("qualification_status", Category),
    field("source", Category),
    field("assigned_to", Category),
    field("stage_id", Category),
    field("converted", Flag),
    required("score", Number),
    field("estimated_value", Amount),
    field("created_at", Instant),
    field("converted_at", Instant),
];

const DEAL_FIELDS: &[AggregateField] = &[
    field("status", Category),
    field("stage_id", Category),
    field("pipeline_id", Category),
    field("priority", Category),
    field("assigned_to", Category),
    field("customer_id", Category),
    field("currency", Category),
    required("value", Amount),
    required("probability", Number),
    field("expected_close_date", Day),
    field("actual_close_date", Day),
    field("created_at", Instant),
];

const ISSUE_FIELDS: &[AggregateField] = &[
    field("status", Category),
    field("priority", Category),
    field("category", Category),
    field("assigned_to", Category),
    field("customer_id", Category),
    field("created_at", Instant),
    field("resolved_at", Instant),
];

const ORDER_FIELDS: &[AggregateField] = &[
    field("status", Category),
    field("order_type", Category),
    field("customer_id", Category),
    field("currency", Category),
    required("subtotal", Amount),
    required("tax", Amount),
    required("total", Amount),
    field("order_date", Day),
    field("created_at", Instant),
];

const PAYMENT_FIELDS: &[AggregateField] = &[
    field("status", Category),
    field("method", Category),
    field("payment_type", Category),
    field("customer_id", Category),
    field("currency", Category),
    required("amount", Amount),
    field("payment_date", Day),
    field("created_at", Instant),
];

const ACTIVITY_FIELDS: &[AggregateField] = &[
    field("activity_type", Category),
    field("status", Category),
    field("assigned_to", Category),
    field("customer_id", Category),
    field("duration_minutes", Number),
    field("due_date", Day),
    field("scheduled_at", Instant),
    field("completed_at", Instant),
    field("created_at", Instant),
];

impl AggregateEntity {
    /// The fields of this kind that can be measured or grouped by.
    pub fn fields(self) -> &'static [AggregateField] {
        match self {
            AggregateEntity::Customers => CUSTOMER_FIELDS,
            AggregateEntity::Leads => LEAD_FIELDS,
            AggregateEntity::Deals => DEAL_FIELDS,
            AggregateEntity::Issues => ISSUE_FIELDS,
            AggregateEntity::Orders => ORDER_FIELDS,
            AggregateEntity::Payments => PAYMENT_FIELDS,
            AggregateEntity::Activities => ACTIVITY_FIELDS,
        }
    }

    /// The field named `name`, or an error listing those of `kinds`.
    pub fn field(self, argument: &str, name: &str, kinds: &[FieldKind]) -> Result<AggregateField> {
        let allowed: Vec<&str> = self.fields().iter().filter(|f| kinds.contains(&f.kind)).map(|f| f.name).collect();
        self.fields().iter().find(|f| f.name == name && kinds.contains(&f.kind)).copied().ok_or_else(|| {
            Error::invalid(format!(
                "`{argument}` of {self} must be one of {} (got `{name}`)",
                if allowed.is_empty() { "nothing: use measure `count`".to_owned() } else { allowed.join(", ") }
            ))
        })
    }

    /// Whether records of this kind carry a `currency`.
    pub fn has_currency(self) -> bool {
        self.fields().iter().any(|f| f.name == "currency")
    }
}

/// One `group_by` item: a field's value, or the bucket of a date field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// Each value of the field (a category or flag).
    Value(AggregateField),
    /// The day, week, month, quarter or year of a date or instant field.
    Bucket(AggregateField, Bucket),
}

impl GroupBy {
    /// Reads `status` or `actual_close_date:month` for `entity`.
    pub fn parse(entity: AggregateEntity, text: &str) -> Result<GroupBy> {
        match text.split_once(':') {
            None => Ok(GroupBy::Value(entity.field("group_by", text, &[FieldKind::Category, FieldKind::Flag])?)),
            Some((name, bucket)) => {
                let field = entity.field("group_by", name, &[FieldKind::Day, FieldKind::Instant])?;
                let bucket = bucket.parse::<Bucket>().map_err(|_| {
                    Error::invalid(format!(
                        "`group_by`: `{text}` must be DATEFIELD:BUCKET with BUCKET one of {}",
                        Bucket::allowed()
                    ))
                })?;
                Ok(GroupBy::Bucket(field, bucket))
            }
        }
    }

    /// The field grouped by.
    pub fn field(&self) -> AggregateField {
        match self {
            GroupBy::Value(field) | GroupBy::Bucket(field, _) => *field,
        }
    }

    /// As given: `status`, `actual_close_date:month`.
    pub fn spelled(&self) -> String {
        match self {
            GroupBy::Value(field) => field.name.to_owned(),
            GroupBy::Bucket(field, bucket) => format!("{}:{bucket}", field.name),
        }
    }
}

/// The records an aggregate reads: one kind, with that kind's list filter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "entity", content = "filter", rename_all = "snake_case")]
pub enum RecordFilter {
    /// Customers.
    Customers(CustomerFilter),
    /// Leads.
    Leads(LeadFilter),
    /// Deals.
    Deals(DealFilter),
    /// Issues.
    Issues(IssueFilter),
    /// Orders.
    Orders(OrderFilter),
    /// Payments.
    Payments(PaymentFilter),
    /// Activities.
    Activities(ActivityFilter),
}

impl RecordFilter {
    /// The kind of record filtered.
    pub fn entity(&self) -> AggregateEntity {
        match self {
            RecordFilter::Customers(_) => AggregateEntity::Customers,
            RecordFilter::Leads(_) => AggregateEntity::Leads,
            RecordFilter::Deals(_) => AggregateEntity::Deals,
            RecordFilter::Issues(_) => AggregateEntity::Issues,
            RecordFilter::Orders(_) => AggregateEntity::Orders,
            RecordFilter::Payments(_) => AggregateEntity::Payments,
            RecordFilter::Activities(_) => AggregateEntity::Activities,
        }
    }
}

/// What a store computes for `aggregate_records`, checked by [`AggregateQuery::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct AggregateQuery {
    /// The records.
    pub filter: RecordFilter,
    /// What is computed.
    pub measure: Measure,
    /// The measured field (`None` for a count).
    pub field: Option<AggregateField>,
    /// The groups, in the order given; `currency` is added last to a money measure of a kind
    /// with a currency when it is not among them.
    pub group_by: Vec<GroupBy>,
    /// The organization's time zone, for buckets of instants.
    pub time_zone: chrono_tz::Tz,
}

/// Most `group_by` items a query takes.
pub const MAX_GROUP_BY: usize = 2;

impl AggregateQuery {
    /// Checks `measure`, `field` and `group_by` against the kind of record `filter` reads.
    pub fn new(
        filter: RecordFilter,
        measure: Measure,
        field: Option<&str>,
        group_by: &[String],
        time_zone: chrono_tz::Tz,
    ) -> Result<Self> {
        let entity = filter.entity();
        let field = match (measure, field) {
            (Measure::Count, None) => None,
            (Measure::Count, Some(_)) => {
                return Err(Error::invalid("`field` is not used by measure `count`: leave it out"));
            }
            (_, Some(name)) => Some(entity.field("field", name, &[FieldKind::Money, FieldKind::Number])?),
            (_, None) => {
                // Name the choices in the error `field` gives.
                entity.field("field", "", &[FieldKind::Money, FieldKind::Number])?;
                unreachable!("no field is named ``")
            }
        };
        if group_by.len() > MAX_GROUP_BY {
            return Err(Error::invalid(format!("`group_by` takes at most {MAX_GROUP_BY} items")));
        }
        let mut groups = group_by.iter().map(|g| GroupBy::parse(entity, g)).collect::<Result<Vec<_>>>()?;
        let named = |name: &str| groups.iter().any(|g| g.field().name == name);
        if groups.iter().enumerate().any(|(i, g)| groups[..i].contains(g)) {
            return Err(Error::invalid("`group_by` names the same group twice"));
        }
        if field.is_some_and(|f| f.kind == FieldKind::Money) && entity.has_currency() && !named("currency") {
            let currency = entity.field("group_by", "currency", &[FieldKind::Category])?;
            groups.push(GroupBy::Value(currency));
        }
        Ok(AggregateQuery { filter, measure, field, group_by: groups, time_zone })
    }
}

/// One group of an aggregate's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AggregateGroup {
    /// The group's value of each `group_by` item, named as given (`null` for records without
    /// one).
    pub key: serde_json::Map<String, serde_json::Value>,
    /// How many records are in the group.
    pub count: u64,
    /// The measure over the group's records that have the field, as a decimal string (money
    /// to the cent, averages to two decimals, other numbers exact). Absent for `count`, and
    /// when no record of the group has the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// What `aggregate_records` answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AggregateAnswer {
    /// The groups, in key order (records without a value last), at most 500.
    pub groups: Vec<AggregateGroup>,
    /// How many groups there are in all (more than listed when the answer is cut short).
    pub total_groups: u64,
}
