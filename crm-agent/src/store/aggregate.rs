//! Aggregates computed from records in memory.
//!
//! These are the reference definitions of the stats and analytics. The default
//! [`Store`](super::Store) methods use them for small host stores; [`SqlStore`](super::SqlStore)
//! computes the same numbers with SQL, and the conformance suite checks the two agree.

use std::collections::HashMap;

use crate::domain::*;

fn bump(counts: &mut Counts, key: &str) {
    *counts.entry(key.to_owned()).or_default() += 1;
}

/// Customer totals.
pub(crate) fn customer_stats(customers: &[Customer]) -> CustomerStats {
    let mut stats = CustomerStats { total: customers.len() as u64, ..Default::default() };
    for c in customers {
        stats.active += u64::from(c.status.is_active());
        bump(&mut stats.by_status, c.status.as_str());
        bump(&mut stats.by_type, c.customer_type.as_str());
    }
    stats
}

/// Lead totals.
pub(crate) fn lead_stats(leads: &[Lead]) -> LeadStats {
    let mut stats = LeadStats { total: leads.len() as u64, ..Default::default() };
    let mut score_sum = 0u64;
    for l in leads {
        bump(&mut stats.by_status, l.qualification_status.as_str());
        bump(&mut stats.by_source, l.source.as_str());
        stats.converted += u64::from(l.converted);
        score_sum += u64::from(l.score);
        stats.total_estimated_value += l.estimated_value.unwrap_or_default();
    }
    stats.conversion_rate = percent(stats.converted, stats.total);
    stats.average_score =
        if leads.is_empty() { 0.0 } else { (score_sum as f64 * 100.0 / leads.len() as f64).round() / 100.0 };
    stats
}

/// Σ value × probability / 100 per currency, rounded to cents once at the end (as SQL does).
fn weighted(deals: &[&Deal]) -> Amounts {
    let mut sums = Amounts::default();
    for d in deals {
        sums.add(&d.currency, d.value * Money::from(d.probability));
    }
    sums.map(|sum| (sum / Money::from(100)).round_dp(2))
}

/// Deal totals and per-stage sums (stages of every pipeline, in pipeline then stage order).
pub(crate) fn deal_stats(deals: &[Deal], pipelines: &[Pipeline]) -> DealStats {
    let mut stats = DealStats { total: deals.len() as u64, ..Default::default() };
    let mut open = Vec::new();
    let mut per_stage: HashMap<&StageId, (u64, Amounts)> = HashMap::new();
    for d in deals {
        stats.total_value.add(&d.currency, d.value);
        match d.status {
            DealStatus::Open => {
                stats.open += 1;
                stats.open_value.add(&d.currency, d.value);
                open.push(d);
            }
            DealStatus::Won => {
                stats.won += 1;
                stats.won_value.add(&d.currency, d.value);
            }
            DealStatus::Lost => stats.lost += 1,
        }
        let entry = per_stage.entry(&d.stage_id).or_default();
        entry.0 += 1;
        entry.1.add(&d.currency, d.value);
    }
    stats.win_rate = percent(stats.won, stats.won + stats.lost);
    stats.weighted_pipeline = weighted(&open);
    for pipeline in pipelines {
        for stage in &pipeline.stages {
            let (count, value) = per_stage.remove(&stage.id).unwrap_or_default();
            stats.by_stage.push(StageTotal {
                stage_id: stage.id.clone(),
                stage_name: stage.name.clone(),
                count,
                value,
            });
        }
    }
    stats
}

/// Issue totals.
pub(crate) fn issue_stats(issues: &[Issue]) -> IssueStats {
    let mut stats = IssueStats { total: issues.len() as u64, ..Default::default() };
    for i in issues {
        bump(&mut stats.by_status, i.status.as_str());
        bump(&mut stats.by_priority, i.priority.as_str());
        bump(&mut stats.by_category, i.category.as_str());
    }
    stats
}

/// Activity totals.
pub(crate) fn activity_stats(activities: &[Activity]) -> ActivityStats {
    let mut stats = ActivityStats { total: activities.len() as u64, ..Default::default() };
    for a in activities {
        bump(&mut stats.by_type, a.activity_type.as_str());
        bump(&mut stats.by_status, a.status.as_str());
    }
    stats
}

/// Whether a lead counts as qualified in the dashboard and the funnel.
pub(crate) fn lead_is_qualified(lead: &Lead) -> bool {
    matches!(lead.qualification_status, QualificationStatus::Qualified | QualificationStatus::Converted)
        || lead.converted
}

/// The dashboard as of `now`.
pub(crate) fn dashboard(
    customers: &[Customer],
    leads: &[Lead],
    deals: &[Deal],
    issues: &[Issue],
    now: Timestamp,
) -> DashboardStats {
    let month_ago = now - chrono::Duration::days(30);
    let new_customers = customers.iter().filter(|c| c.created_at > month_ago && c.created_at <= now).count() as u64;
    let base = customers.len() as u64 - new_customers;
    let customers_summary = CustomerSummary {
        total: customers.len() as u64,
        active: customers.iter().filter(|c| c.status.is_active()).count() as u64,
        new_last_30_days: new_customers,
        growth_30d_percent: percent(new_customers, base),
    };
    let converted = leads.iter().filter(|l| l.converted).count() as u64;
    let leads_summary = LeadSummary {
        total: leads.len() as u64,
        qualified: leads.iter().filter(|l| lead_is_qualified(l)).count() as u64,
        converted,
        conversion_rate: percent(converted, leads.len() as u64),
    };
    let stats = deal_stats(deals, &[]);
    let deals_summary = DealSummary {
        total: stats.total,
        open: stats.open,
        won: stats.won,
        lost: stats.lost,
        win_rate: stats.win_rate,
    };
    let revenue = RevenueSummary {
        won_value: stats.won_value,
        open_pipeline_value: stats.open_value,
        weighted_pipeline: stats.weighted_pipeline,
    };
    let mut issues_summary = IssueSummary::default();
    for i in issues.iter().filter(|i| matches!(i.status, IssueStatus::Open | IssueStatus::InProgress)) {
        issues_summary.open += 1;
        bump(&mut issues_summary.open_by_priority, i.priority.as_str());
    }
    DashboardStats {
        customers: customers_summary,
        leads: leads_summary,
        deals: deals_summary,
        revenue,
        issues: issues_summary,
    }
}

/// leads → qualified → converted → deals from converted leads → won; other deals beside.
pub(crate) fn sales_funnel(leads: &[Lead], deals: &[Deal]) -> SalesFunnel {
    let converted: std::collections::HashSet<&LeadId> = leads.iter().filter(|l| l.converted).map(|l| &l.id).collect();
    let (funnel_deals, other_deals): (Vec<&Deal>, Vec<&Deal>) =
        deals.iter().partition(|d| d.lead_id.as_ref().is_some_and(|lead| converted.contains(lead)));
    let won = |deals: &[&Deal]| deals.iter().filter(|d| d.status == DealStatus::Won).count() as u64;
    SalesFunnel::from_counts(FunnelCounts {
        leads: leads.len() as u64,
        qualified: leads.iter().filter(|l| lead_is_qualified(l)).count() as u64,
        converted: converted.len() as u64,
        deals: funnel_deals.len() as u64,
        won: won(&funnel_deals),
        other_deals: other_deals.len() as u64,
        other_won: won(&other_deals),
    })
}

/// The value of `deals`, per currency.
fn amounts(deals: &[&Deal]) -> Amounts {
    let mut sums = Amounts::default();
    for d in deals {
        sums.add(&d.currency, d.value);
    }
    sums
}

/// Won value and count per bucket, by actual close date (deals won without one are left out).
pub(crate) fn revenue_by_period(deals: &[Deal], buckets: &[(Date, Date)]) -> Vec<RevenueBucket> {
    buckets
        .iter()
        .map(|&(start, end)| {
            let won: Vec<&Deal> = deals
                .iter()
                .filter(|d| d.status == DealStatus::Won && d.actual_close_date.is_some_and(|c| start <= c && c < end))
                .collect();
            RevenueBucket { start, end, won_value: amounts(&won), won_count: won.len() as u64 }
        })
        .collect()
}

/// Per-employee performance, by name (the tool orders it by revenue, see [`sort_performance`]).
pub(crate) fn employee_performance(
    employees: &[Employee],
    customers: &[Customer],
    leads: &[Lead],
    deals: &[Deal],
) -> Vec<EmployeePerformance> {
    let mut rows: Vec<EmployeePerformance> = employees
        .iter()
        .map(|e| {
            let mine = |assigned: &Option<EmployeeId>| assigned.as_ref() == Some(&e.id);
            let my_leads: Vec<&Lead> = leads.iter().filter(|l| mine(&l.assigned_to)).collect();
            let my_deals: Vec<&Deal> = deals.iter().filter(|d| mine(&d.assigned_to)).collect();
            let converted = my_leads.iter().filter(|l| l.converted).count() as u64;
            let won = my_deals.iter().filter(|d| d.status == DealStatus::Won).count() as u64;
            let lost = my_deals.iter().filter(|d| d.status == DealStatus::Lost).count() as u64;
            let with_status = |status| my_deals.iter().copied().filter(|d| d.status == status).collect::<Vec<_>>();
            EmployeePerformance {
                employee_id: e.id.clone(),
                name: e.full_name(),
                customers_assigned: customers.iter().filter(|c| mine(&c.assigned_to)).count() as u64,
                leads_assigned: my_leads.len() as u64,
                leads_converted: converted,
                lead_conversion_rate: percent(converted, my_leads.len() as u64),
                deals_won: won,
                deals_lost: lost,
                win_rate: percent(won, won + lost),
                won_revenue: amounts(&with_status(DealStatus::Won)),
                open_pipeline: amounts(&with_status(DealStatus::Open)),
            }
        })
        .collect();
    sort_by_name(&mut rows);
    rows
}

/// The order stores answer `employee_performance` in: name, then id.
pub(crate) fn sort_by_name(rows: &mut [EmployeePerformance]) {
    rows.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.employee_id.cmp(&b.employee_id)));
}

/// The order of `get_employee_performance`: won revenue in `currency` (the organization's
/// default; revenues in different currencies cannot be compared) descending, then deals won
/// descending, then name and id.
pub(crate) fn sort_performance(rows: &mut [EmployeePerformance], currency: &str) {
    rows.sort_by(|a, b| {
        b.won_revenue
            .get(currency)
            .cmp(&a.won_revenue.get(currency))
            .then_with(|| b.deals_won.cmp(&a.deals_won))
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.employee_id.cmp(&b.employee_id))
    });
}

// --- aggregate_records ---------------------------------------------------------------------

/// A group's key part before it is put in its bucket: SQL stores answer per day (dates) and per
/// slot of [`instant_slot_micros`] (instants), which [`finish_aggregate`] folds into buckets of
/// the organization's calendar.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum RawKey {
    Text(String),
    Day(Date),
    Instant(Timestamp),
    /// Sorts last.
    Null,
}

/// The measure's inputs over one group.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Partial {
    pub(crate) keys: Vec<RawKey>,
    pub(crate) count: u64,
    /// How many records of the group have the measured field.
    pub(crate) measured: u64,
    pub(crate) sum: Money,
    pub(crate) min: Option<Money>,
    pub(crate) max: Option<Money>,
}

impl Partial {
    fn add(&mut self, other: &Partial) {
        self.count += other.count;
        self.measured += other.measured;
        self.sum += other.sum;
        self.min = [self.min, other.min].into_iter().flatten().min();
        self.max = [self.max, other.max].into_iter().flatten().max();
    }
}

/// The grain at which instants are grouped before they are put in a day of `zone`: the largest
/// slot (an hour, a quarter of an hour, a minute) that the zone's midnights always fall on.
pub(crate) fn instant_slot_micros(zone: chrono_tz::Tz) -> i64 {
    use chrono::{Offset, TimeZone};
    let offsets = (1970..=2040).flat_map(|year| {
        [(1, 1), (7, 1)].map(|(month, day)| {
            let at = chrono::Utc.with_ymd_and_hms(year, month, day, 0, 0, 0).single().expect("a valid instant");
            i64::from(zone.offset_from_utc_datetime(&at.naive_utc()).fix().local_minus_utc())
        })
    });
    let seconds = offsets.fold(3600, |slot, offset| match slot {
        3600 if offset % 3600 == 0 => 3600,
        3600 | 900 if offset % 900 == 0 => 900,
        _ => 60,
    });
    seconds * 1_000_000
}

/// The partials of records given as JSON (as a list tool returns them): the reference definition
/// of `aggregate_records`, and how stores without their own answer it.
pub(crate) fn partials_of_records(
    query: &AggregateQuery,
    records: &[serde_json::Value],
) -> crate::Result<Vec<Partial>> {
    let mut groups: std::collections::BTreeMap<Vec<RawKey>, Partial> = std::collections::BTreeMap::new();
    for record in records {
        let keys =
            query.group_by.iter().map(|g| raw_key(g, &record[g.field().name])).collect::<crate::Result<Vec<_>>>()?;
        let group = groups.entry(keys.clone()).or_insert_with(|| Partial { keys, ..Default::default() });
        group.count += 1;
        if let Some(field) = query.field
            && let Some(value) = measured_value(field, &record[field.name])?
        {
            group.measured += 1;
            group.sum += value;
            group.min = Some(group.min.map_or(value, |m| m.min(value)));
            group.max = Some(group.max.map_or(value, |m| m.max(value)));
        }
    }
    Ok(groups.into_values().collect())
}

fn unreadable(field: &str, value: &serde_json::Value) -> crate::Error {
    crate::Error::store(format!("a record's `{field}` is not what its kind holds: {value}"))
}

fn raw_key(group: &GroupBy, value: &serde_json::Value) -> crate::Result<RawKey> {
    use serde_json::Value;
    let field = group.field();
    Ok(match (field.kind, value) {
        (_, Value::Null) => RawKey::Null,
        (FieldKind::Flag, Value::Bool(flag)) => RawKey::Text(flag.to_string()),
        (FieldKind::Day, Value::String(day)) => RawKey::Day(day.parse().map_err(|_| unreadable(field.name, value))?),
        (FieldKind::Instant, Value::String(at)) => RawKey::Instant(
            chrono::DateTime::parse_from_rfc3339(at).map_err(|_| unreadable(field.name, value))?.to_utc(),
        ),
        (_, Value::String(text)) => RawKey::Text(text.clone()),
        _ => return Err(unreadable(field.name, value)),
    })
}

fn measured_value(field: AggregateField, value: &serde_json::Value) -> crate::Result<Option<Money>> {
    use serde_json::Value;
    match value {
        Value::Null => Ok(None),
        Value::String(text) => text.parse().map(Some).map_err(|_| unreadable(field.name, value)),
        Value::Number(number) => number.to_string().parse().map(Some).map_err(|_| unreadable(field.name, value)),
        _ => Err(unreadable(field.name, value)),
    }
}

/// Most groups an answer lists; past it, the answer says how many there were.
pub(crate) const MAX_AGGREGATE_GROUPS: usize = 500;

/// The answer of `aggregate_records`: the partials put into their buckets, merged, in key order
/// (records without a value last).
pub(crate) fn finish_aggregate(query: &AggregateQuery, partials: Vec<Partial>) -> AggregateAnswer {
    let mut merged: std::collections::BTreeMap<Vec<RawKey>, Partial> = std::collections::BTreeMap::new();
    for partial in partials {
        let keys: Vec<RawKey> = query.group_by.iter().zip(&partial.keys).map(|(g, k)| bucketed(query, g, k)).collect();
        merged.entry(keys.clone()).or_insert_with(|| Partial { keys, ..Default::default() }).add(&partial);
    }
    let total_groups = merged.len() as u64;
    let groups = merged
        .into_values()
        .take(MAX_AGGREGATE_GROUPS)
        .map(|partial| AggregateGroup {
            key: query
                .group_by
                .iter()
                .zip(partial.keys.iter())
                .map(|(g, k)| {
                    let value = match k {
                        RawKey::Text(text) => serde_json::Value::String(text.clone()),
                        RawKey::Null => serde_json::Value::Null,
                        RawKey::Day(day) => serde_json::Value::String(day.to_string()),
                        RawKey::Instant(at) => serde_json::Value::String(at.to_rfc3339()),
                    };
                    (g.spelled(), value)
                })
                .collect(),
            count: partial.count,
            value: query.field.and_then(|field| measure_value(query.measure, field, &partial)),
        })
        .collect();
    AggregateAnswer { groups, total_groups }
}

/// A key part in its bucket: a day or an instant becomes the bucket's label
/// (`2026-12-03`, week `2026-11-30`, `2026-12`, `2026-Q4`, `2026`).
fn bucketed(query: &AggregateQuery, group: &GroupBy, key: &RawKey) -> RawKey {
    use chrono::Datelike;
    let GroupBy::Bucket(_, bucket) = group else { return key.clone() };
    let day = match key {
        RawKey::Day(day) => *day,
        RawKey::Instant(at) => at.with_timezone(&query.time_zone).date_naive(),
        other => return other.clone(),
    };
    RawKey::Text(match bucket {
        Bucket::Day => day.to_string(),
        Bucket::Week => (day - chrono::Duration::days(i64::from(day.weekday().num_days_from_monday()))).to_string(),
        Bucket::Month => format!("{:04}-{:02}", day.year(), day.month()),
        Bucket::Quarter => format!("{:04}-Q{}", day.year(), day.month0() / 3 + 1),
        Bucket::Year => format!("{:04}", day.year()),
    })
}

fn measure_value(measure: Measure, field: AggregateField, partial: &Partial) -> Option<String> {
    let value = match measure {
        Measure::Count => return None,
        Measure::Sum => Some(partial.sum),
        Measure::Min => partial.min,
        Measure::Max => partial.max,
        Measure::Avg => (partial.measured > 0).then(|| partial.sum / Money::from(partial.measured)),
    }?;
    Some(match (field.kind, measure) {
        (FieldKind::Money, _) => format!("{:.2}", value.round_dp(2)),
        (_, Measure::Avg) => value.round_dp(2).normalize().to_string(),
        _ => value.normalize().to_string(),
    })
}
