//! What lists ask beyond equality filters: spans of time, spans of days, and an order.
//!
//! Stores receive these already resolved: a tool turns `created_after: 2026-12-01` into the
//! instant that day starts in the organization's time zone, so a store compares instants and
//! dates and needs no time-zone rules of its own.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{Date, Timestamp};

/// A span of time: from `after` (included) to `before` (excluded); either end may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    /// The earliest instant in the span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Timestamp>,
    /// The first instant past the span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Timestamp>,
}

impl TimeRange {
    /// Whether both ends are open (the span filters nothing).
    pub fn is_open(&self) -> bool {
        self.after.is_none() && self.before.is_none()
    }

    /// Whether `at` lies in the span. An open span contains everything; a record without the
    /// time lies in no span that has an end.
    pub fn contains(&self, at: Option<Timestamp>) -> bool {
        match at {
            None => self.is_open(),
            Some(at) => self.after.is_none_or(|after| at >= after) && self.before.is_none_or(|before| at < before),
        }
    }
}

/// A span of days, both ends included; either end may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateRange {
    /// The first day in the span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Date>,
    /// The last day in the span.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Date>,
}

impl DateRange {
    /// Whether both ends are open.
    pub fn is_open(&self) -> bool {
        self.from.is_none() && self.to.is_none()
    }

    /// Whether `day` lies in the span (a record without the date lies in no span with an end).
    pub fn contains(&self, day: Option<Date>) -> bool {
        match day {
            None => self.is_open(),
            Some(day) => self.from.is_none_or(|from| day >= from) && self.to.is_none_or(|to| day <= to),
        }
    }
}

/// The order of a list: one of the entity's sortable fields, ascending or descending. Records
/// without a value for the field come last either way; ties go by creation, in the same
/// direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(bound(deserialize = "F: DeserializeOwned"))]
pub struct Sort<F> {
    /// The field.
    pub field: F,
    /// Largest (or latest) first.
    #[serde(default)]
    pub descending: bool,
}

impl<F: Copy + std::fmt::Display> Sort<F> {
    /// The order as a list tool's `sort` argument spells it: `value`, `-value`.
    pub fn spelled(&self) -> String {
        if self.descending { format!("-{}", self.field) } else { self.field.to_string() }
    }
}

/// Whether a filter's sort is the default one (for `skip_serializing_if`).
pub(crate) fn is_default_sort<F>(sort: &Option<Sort<F>>) -> bool {
    sort.is_none()
}

super::string_enum! {
    /// The fields `list_customers` sorts by.
    CustomerSort { CreatedAt => "created_at", UpdatedAt => "updated_at", Name => "name" }
}

super::string_enum! {
    /// The fields `list_leads` sorts by.
    LeadSort {
        CreatedAt => "created_at",
        UpdatedAt => "updated_at",
        Name => "name",
        Score => "score",
        EstimatedValue => "estimated_value",
    }
}

super::string_enum! {
    /// The fields `list_deals` sorts by.
    DealSort {
        CreatedAt => "created_at",
        UpdatedAt => "updated_at",
        Title => "title",
        Value => "value",
        Probability => "probability",
        ExpectedCloseDate => "expected_close_date",
        ActualCloseDate => "actual_close_date",
    }
}

super::string_enum! {
    /// The fields `list_issues` sorts by.
    IssueSort { CreatedAt => "created_at", UpdatedAt => "updated_at", ResolvedAt => "resolved_at" }
}

super::string_enum! {
    /// The fields `list_orders` sorts by.
    OrderSort { CreatedAt => "created_at", UpdatedAt => "updated_at", OrderDate => "order_date", Total => "total" }
}

super::string_enum! {
    /// The fields `list_payments` sorts by.
    PaymentSort { CreatedAt => "created_at", PaymentDate => "payment_date", Amount => "amount" }
}

super::string_enum! {
    /// The fields `list_employees` sorts by.
    EmployeeSort { CreatedAt => "created_at", LastName => "last_name", HireDate => "hire_date" }
}

super::string_enum! {
    /// The fields `list_activities` sorts by.
    ActivitySort {
        CreatedAt => "created_at",
        UpdatedAt => "updated_at",
        ScheduledAt => "scheduled_at",
        DueDate => "due_date",
        CompletedAt => "completed_at",
    }
}

/// What makes an activity overdue, as of one moment: it is neither completed nor cancelled,
/// and its due date is before `today` or its scheduled time before `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overdue {
    /// The moment asked about.
    pub now: Timestamp,
    /// That moment's day in the organization's time zone.
    pub today: Date,
}
