//! Date arguments of the list tools and the order they list in.
//!
//! A date argument is either `YYYY-MM-DD`, a whole day in the organization's time zone (its
//! `settings.timezone`, UTC when unset), or an RFC 3339 time. `…_after` includes its day or
//! time; `…_before` includes its day, but not its time: `created_before: 2026-12-31` lists what
//! was created on New Year's Eve too, `created_before: 2026-12-31T00:00:00Z` does not. Fields that
//! hold a day (a close date, a due date) compare by day; a time given for one stands for its day.

use std::borrow::Cow;

use chrono::{Days, NaiveDate, TimeZone};
use chrono_tz::Tz;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer};

use super::ToolContext;
use crate::domain::{Date, DateRange, Overdue, Sort, TimeRange, Timestamp};
use crate::error::{Error, Result};

/// `created_after`, `created_before`, `updated_after` and `updated_before`, which every list tool
/// takes.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub(super) struct Changed {
    /// Only records created on or after this day (`YYYY-MM-DD`, in the organization's time
    /// zone) or time (RFC 3339).
    #[serde(default)]
    created_after: Option<String>,
    /// Only records created on or before this day (`YYYY-MM-DD`, the whole day included) or
    /// before this time (RFC 3339).
    #[serde(default)]
    created_before: Option<String>,
    /// Only records last changed on or after this day (`YYYY-MM-DD`) or time (RFC 3339).
    #[serde(default)]
    updated_after: Option<String>,
    /// Only records last changed on or before this day (`YYYY-MM-DD`, the whole day included)
    /// or before this time (RFC 3339).
    #[serde(default)]
    updated_before: Option<String>,
}

impl Changed {
    /// Whether any of the four is given.
    pub(super) fn given(&self) -> bool {
        [&self.created_after, &self.created_before, &self.updated_after, &self.updated_before]
            .iter()
            .any(|arg| arg.is_some())
    }

    /// The creation and change spans they ask for.
    pub(super) fn spans(&self, calendar: &Calendar) -> Result<(TimeRange, TimeRange)> {
        Ok((
            calendar.span(("created_after", &self.created_after), ("created_before", &self.created_before))?,
            calendar.span(("updated_after", &self.updated_after), ("updated_before", &self.updated_before))?,
        ))
    }
}

/// An argument's name and value, as the date arguments are passed around.
pub(super) type Arg<'a> = (&'static str, &'a Option<String>);

/// The organization's time zone and the call's time: what turns date arguments into spans.
pub(super) struct Calendar {
    zone: Tz,
    now: Timestamp,
}

impl Calendar {
    /// The calendar of the caller's organization. When `needed` is false no date argument was
    /// given, and the organization is not read.
    pub(super) async fn of(cx: &ToolContext, needed: bool) -> Result<Self> {
        let zone = match needed {
            true => cx.store.get_organization(&cx.scope).await?.settings.time_zone()?,
            false => chrono_tz::UTC,
        };
        Ok(Calendar { zone, now: cx.now })
    }

    /// The organization's time zone (UTC when the calendar was made without reading it).
    pub(super) fn zone(&self) -> Tz {
        self.zone
    }

    /// The instants from `after` (included) to `before` (see the module's rules).
    pub(super) fn span(&self, after: Arg<'_>, before: Arg<'_>) -> Result<TimeRange> {
        let start = after.1.as_deref().map(|text| self.start(after.0, text)).transpose()?;
        let end = before
            .1
            .as_deref()
            .map(|text| match parse(before.0, text)? {
                When::Day(day) => self.day_start(before.0, next_day(before.0, day)?),
                When::Instant(at) => Ok(at),
            })
            .transpose()?;
        if let (Some(start), Some(end)) = (start, end)
            && start >= end
        {
            return Err(empty_span(after.0, before.0));
        }
        Ok(TimeRange { after: start, before: end })
    }

    /// The days from `after` to `before`, both included.
    pub(super) fn days(&self, after: Arg<'_>, before: Arg<'_>) -> Result<DateRange> {
        let from = after
            .1
            .as_deref()
            .map(|text| {
                parse(after.0, text).map(|when| match when {
                    When::Day(day) => day,
                    When::Instant(at) => self.day_of(at),
                })
            })
            .transpose()?;
        let to = before
            .1
            .as_deref()
            .map(|text| {
                parse(before.0, text).map(|when| match when {
                    When::Day(day) => day,
                    // The last day before the time: its own, unless it is that day's first instant.
                    When::Instant(at) => self.day_of(at - chrono::Duration::microseconds(1)),
                })
            })
            .transpose()?;
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            return Err(empty_span(after.0, before.0));
        }
        Ok(DateRange { from, to })
    }

    /// What `overdue: true` compares with: now, and today in the organization's time zone.
    pub(super) fn overdue(&self) -> Overdue {
        Overdue { now: self.now, today: self.day_of(self.now) }
    }

    fn start(&self, field: &str, text: &str) -> Result<Timestamp> {
        match parse(field, text)? {
            When::Day(day) => self.day_start(field, day),
            When::Instant(at) => Ok(at),
        }
    }

    fn day_of(&self, at: Timestamp) -> Date {
        at.with_timezone(&self.zone).date_naive()
    }

    /// The first instant of `day` in the organization's time zone. Where a clock change skips
    /// midnight, the day starts at the first time that exists.
    fn day_start(&self, field: &str, day: Date) -> Result<Timestamp> {
        let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
        (0..=24 * 4)
            .map(|quarter| midnight + chrono::Duration::minutes(15 * quarter))
            .find_map(|local| self.zone.from_local_datetime(&local).earliest())
            .map(|start| start.with_timezone(&chrono::Utc))
            .ok_or_else(|| Error::invalid(format!("`{field}`: {day} has no start in {}", self.zone)))
    }
}

/// A date argument's value.
enum When {
    Day(Date),
    Instant(Timestamp),
}

fn parse(field: &str, text: &str) -> Result<When> {
    let text = text.trim();
    if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(When::Day(day));
    }
    chrono::DateTime::parse_from_rfc3339(text).map(|at| When::Instant(at.to_utc())).map_err(|_| {
        Error::invalid(format!(
            "`{field}` must be a day as `YYYY-MM-DD` or a time in RFC 3339 such as `2026-12-03T09:00:00Z` (got `{text}`)"
        ))
    })
}

fn next_day(field: &str, day: Date) -> Result<Date> {
    day.checked_add_days(Days::new(1)).ok_or_else(|| Error::invalid(format!("`{field}`: {day} is out of range")))
}

fn empty_span(after: &str, before: &str) -> Error {
    Error::invalid(format!("`{after}` must be earlier than `{before}`: nothing lies between them"))
}

/// A list tool's `sort` argument: one of the tool's sortable fields, with `-` in front for
/// largest (or latest) first, e.g. `-value`.
#[derive(Debug, Clone, Copy)]
pub(super) struct SortArg<F>(pub(super) Sort<F>);

/// The sortable fields of one list (implemented for each `…Sort` enum).
pub(super) trait SortField: Copy + std::fmt::Display + std::str::FromStr + 'static {
    /// Every field, in the order the schema lists them.
    fn all() -> &'static [Self];
    /// The schema's name for the argument.
    fn schema_name() -> &'static str;
}

macro_rules! sort_fields {
    ($($field:ident),+) => {
        $(impl SortField for crate::domain::$field {
            fn all() -> &'static [Self] {
                Self::ALL
            }
            fn schema_name() -> &'static str {
                stringify!($field)
            }
        })+
    };
}

sort_fields!(CustomerSort, LeadSort, DealSort, IssueSort, OrderSort, PaymentSort, EmployeeSort, ActivitySort);

/// Every spelling `sort` accepts: each field, then each with `-`.
fn spellings<F: SortField>() -> impl Iterator<Item = String> {
    F::all().iter().map(|f| f.to_string()).chain(F::all().iter().map(|f| format!("-{f}")))
}

impl<'de, F: SortField> Deserialize<'de> for SortArg<F> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let text = Cow::<str>::deserialize(deserializer)?;
        let (descending, name) = match text.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, text.as_ref()),
        };
        let field = name.parse::<F>().map_err(|_| {
            serde::de::Error::custom(format!(
                "`sort` must be one of {} (got `{text}`)",
                spellings::<F>().collect::<Vec<_>>().join(", ")
            ))
        })?;
        Ok(SortArg(Sort { field, descending }))
    }
}

impl<F: SortField> JsonSchema for SortArg<F> {
    fn schema_name() -> Cow<'static, str> {
        format!("{}Arg", F::schema_name()).into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let values: Vec<String> = spellings::<F>().collect();
        schemars::json_schema!({ "type": "string", "enum": values })
    }
}

/// A `sort` argument as the store's filter takes it.
pub(super) fn sort_of<F: Copy>(arg: Option<SortArg<F>>) -> Option<Sort<F>> {
    arg.map(|SortArg(sort)| sort)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn calendar(zone: &str) -> Calendar {
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap();
        Calendar { zone: zone.parse().unwrap(), now }
    }

    fn arg(text: &str) -> Option<String> {
        Some(text.to_owned())
    }

    #[test]
    fn a_day_is_the_whole_day_in_the_organizations_zone() {
        let berlin = calendar("Europe/Berlin");
        let span = berlin.span(("a", &arg("2026-12-01")), ("b", &arg("2026-12-31"))).unwrap();
        assert_eq!(span.after, Some(Utc.with_ymd_and_hms(2026, 11, 30, 23, 0, 0).unwrap()));
        assert_eq!(span.before, Some(Utc.with_ymd_and_hms(2026, 12, 31, 23, 0, 0).unwrap()));
        // The same day is one whole day, from either end.
        let one_day = berlin.span(("a", &arg("2026-12-01")), ("b", &arg("2026-12-01"))).unwrap();
        assert_eq!(one_day.before.unwrap() - one_day.after.unwrap(), chrono::Duration::hours(24));
    }

    #[test]
    fn a_time_is_exact_and_before_excludes_it() {
        let utc = calendar("UTC");
        let span = utc.span(("a", &None), ("b", &arg("2026-12-02T10:30:00+01:00"))).unwrap();
        assert_eq!(span.before, Some(Utc.with_ymd_and_hms(2026, 12, 2, 9, 30, 0).unwrap()));
        let days = utc.days(("a", &arg("2026-12-02T23:30:00-02:00")), ("b", &arg("2026-12-05T00:00:00Z"))).unwrap();
        assert_eq!(days.from, NaiveDate::from_ymd_opt(2026, 12, 3));
        assert_eq!(days.to, NaiveDate::from_ymd_opt(2026, 12, 4));
    }

    #[test]
    fn a_day_whose_midnight_is_skipped_starts_at_its_first_hour() {
        // Chile moved its clocks from 00:00 to 01:00 on 2026-09-06.
        let santiago = calendar("America/Santiago");
        let span = santiago.span(("a", &arg("2026-09-06")), ("b", &None)).unwrap();
        assert_eq!(span.after, Some(Utc.with_ymd_and_hms(2026, 9, 6, 4, 0, 0).unwrap()));
    }

    #[test]
    fn bad_dates_and_empty_spans_name_the_field() {
        let utc = calendar("UTC");
        let err = utc.span(("created_after", &arg("last week")), ("b", &None)).unwrap_err();
        assert!(err.to_string().contains("`created_after` must be a day as `YYYY-MM-DD`"), "{err}");
        let err = utc.days(("due_after", &arg("2026-12-05")), ("due_before", &arg("2026-12-04"))).unwrap_err();
        assert!(err.to_string().contains("`due_after` must be earlier than `due_before`"), "{err}");
    }

    #[test]
    fn overdue_uses_the_organizations_today() {
        // At 12:00 UTC it is already the 4th in Auckland.
        let auckland = calendar("Pacific/Auckland");
        assert_eq!(auckland.overdue().today, NaiveDate::from_ymd_opt(2026, 12, 4).unwrap());
    }

    #[test]
    fn sort_takes_a_field_or_a_minus_and_a_field() {
        use crate::domain::DealSort;
        let sort: SortArg<DealSort> = serde_json::from_value(serde_json::json!("-value")).unwrap();
        assert_eq!((sort.0.field, sort.0.descending), (DealSort::Value, true));
        let err = serde_json::from_value::<SortArg<DealSort>>(serde_json::json!("size")).unwrap_err();
        assert!(err.to_string().contains("-expected_close_date"), "{err}");
    }
}
