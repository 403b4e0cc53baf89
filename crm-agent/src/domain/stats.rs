//! Aggregates: per-entity stats and the analytics (dashboard, sales funnel, revenue by period,
//! employee performance).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Date, EmployeeId, Money, StageId};

/// Counts keyed by an enum's wire spelling (e.g. `{"active": 10, "vip": 2}`).
pub type Counts = BTreeMap<String, u64>;

/// An amount of money in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CurrencyAmount {
    /// ISO currency code.
    pub currency: String,
    /// The amount, a decimal string.
    pub amount: Money,
}

/// Money per currency, one entry per currency: amounts in different currencies are never
/// added together. A currency is listed when something counted in the figure is in it. Stores
/// list them by currency code; the analytics tools then put the organization's default currency
/// first, with `0.00` when nothing counted is in it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct Amounts(pub Vec<CurrencyAmount>);

impl Amounts {
    /// Adds `amount` to `currency`'s entry, creating it in code order.
    pub fn add(&mut self, currency: &str, amount: Money) {
        match self.0.binary_search_by(|entry| entry.currency.as_str().cmp(currency)) {
            Ok(at) => self.0[at].amount += amount,
            Err(at) => self.0.insert(at, CurrencyAmount { currency: currency.to_owned(), amount }),
        }
    }

    /// Adds every entry of `other`.
    pub fn add_all(&mut self, other: &Amounts) {
        for entry in &other.0 {
            self.add(&entry.currency, entry.amount);
        }
    }

    /// The amount in `currency` (zero when it is not listed).
    pub fn get(&self, currency: &str) -> Money {
        self.0.iter().find(|entry| entry.currency == currency).map_or(Money::ZERO, |entry| entry.amount)
    }

    /// Moves `currency` to the front, listing it with zero when it is absent.
    pub fn put_first(&mut self, currency: &str) {
        let entry = match self.0.iter().position(|entry| entry.currency == currency) {
            Some(at) => self.0.remove(at),
            None => CurrencyAmount { currency: currency.to_owned(), amount: Money::ZERO },
        };
        self.0.insert(0, entry);
    }

    /// Applies `f` to every amount (e.g. rounding).
    pub fn map(mut self, f: impl Fn(Money) -> Money) -> Amounts {
        for entry in &mut self.0 {
            entry.amount = f(entry.amount);
        }
        self
    }
}

/// Figures that report money per currency: [`put_first`](PutCurrencyFirst::put_first) lists the
/// organization's default currency first in each of them.
pub trait PutCurrencyFirst {
    /// Puts `currency` first in every [`Amounts`] of `self`.
    fn put_first(&mut self, currency: &str);
}

/// A ratio as a percentage rounded to two decimals; 0 when the denominator is 0.
pub fn percent(numerator: u64, denominator: u64) -> f64 {
    if denominator == 0 { 0.0 } else { (numerator as f64 * 10_000.0 / denominator as f64).round() / 100.0 }
}

/// `get_customer_stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CustomerStats {
    /// Every customer.
    pub total: u64,
    /// Active customers: status `active` or `vip` (see [`CustomerStatus::is_active`](super::CustomerStatus::is_active)).
    pub active: u64,
    /// By status.
    pub by_status: Counts,
    /// By customer type.
    pub by_type: Counts,
}

/// `get_lead_stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LeadStats {
    /// Every lead.
    pub total: u64,
    /// By qualification status.
    pub by_status: Counts,
    /// By source.
    pub by_source: Counts,
    /// Leads converted to customers.
    pub converted: u64,
    /// Converted / total, in percent.
    pub conversion_rate: f64,
    /// Mean score, rounded to two decimals.
    pub average_score: f64,
    /// Sum of estimated values. A lead's estimate has no currency of its own: it is read in
    /// the organization's default currency.
    pub total_estimated_value: Money,
}

/// Deals in one pipeline stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StageTotal {
    /// The stage.
    pub stage_id: StageId,
    /// Its name.
    pub stage_name: String,
    /// How many deals are in it.
    pub count: u64,
    /// Their total value, per currency.
    pub value: Amounts,
}

/// `get_deal_stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DealStats {
    /// Every deal.
    pub total: u64,
    /// Open deals.
    pub open: u64,
    /// Won deals.
    pub won: u64,
    /// Lost deals.
    pub lost: u64,
    /// won / (won + lost), in percent.
    pub win_rate: f64,
    /// Value of every deal, per currency.
    pub total_value: Amounts,
    /// Value of won deals, per currency.
    pub won_value: Amounts,
    /// Value of open deals, per currency.
    pub open_value: Amounts,
    /// Σ value × probability of open deals, per currency.
    pub weighted_pipeline: Amounts,
    /// Per stage, in pipeline order.
    pub by_stage: Vec<StageTotal>,
}

/// `get_issue_stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IssueStats {
    /// Every issue.
    pub total: u64,
    /// By status.
    pub by_status: Counts,
    /// By priority.
    pub by_priority: Counts,
    /// By category.
    pub by_category: Counts,
}

/// `get_activity_stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ActivityStats {
    /// Every activity.
    pub total: u64,
    /// By type.
    pub by_type: Counts,
    /// By status.
    pub by_status: Counts,
}

/// The customer part of the dashboard.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CustomerSummary {
    /// Every customer.
    pub total: u64,
    /// Customers with status `active` or `vip`.
    pub active: u64,
    /// Customers created in the last 30 days.
    pub new_last_30_days: u64,
    /// Growth of the customer base over the last 30 days, in percent of the base 30 days ago.
    pub growth_30d_percent: f64,
}

/// The lead part of the dashboard.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LeadSummary {
    /// Every lead.
    pub total: u64,
    /// Leads qualified or converted.
    pub qualified: u64,
    /// Leads converted to customers.
    pub converted: u64,
    /// Converted / total, in percent.
    pub conversion_rate: f64,
}

/// The deal part of the dashboard.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DealSummary {
    /// Every deal.
    pub total: u64,
    /// Open deals.
    pub open: u64,
    /// Won deals.
    pub won: u64,
    /// Lost deals.
    pub lost: u64,
    /// won / (won + lost), in percent.
    pub win_rate: f64,
}

/// The revenue part of the dashboard.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RevenueSummary {
    /// Value of won deals, per currency.
    pub won_value: Amounts,
    /// Value of open deals, per currency.
    pub open_pipeline_value: Amounts,
    /// Σ value × probability of open deals, per currency.
    pub weighted_pipeline: Amounts,
}

/// The issue part of the dashboard.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IssueSummary {
    /// Issues open or in progress.
    pub open: u64,
    /// Open or in-progress issues by priority.
    pub open_by_priority: Counts,
}

/// `get_dashboard_stats`: customers, leads, deals, revenue and issues at a glance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DashboardStats {
    /// Customers.
    pub customers: CustomerSummary,
    /// Leads.
    pub leads: LeadSummary,
    /// Deals.
    pub deals: DealSummary,
    /// Revenue.
    pub revenue: RevenueSummary,
    /// Issues.
    pub issues: IssueSummary,
}

/// One step of the sales funnel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FunnelStep {
    /// `leads`, `qualified`, `converted`, `deals` or `won`.
    pub name: String,
    /// How many records reached this step.
    pub count: u64,
    /// count / leads, in percent.
    pub percent_of_leads: f64,
    /// count / previous step's count, in percent (100 for the first step).
    pub step_conversion: f64,
}

/// `get_sales_funnel`: leads → qualified → converted → deals from converted leads → won. The
/// lead steps count leads, each within the one before; the deal steps count the deals of
/// converted leads (a lead may bring more than one) and the won ones among them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SalesFunnel {
    /// The five steps in order.
    pub steps: Vec<FunnelStep>,
    /// Deals that did not come from a converted lead (entered directly), beside the funnel.
    pub other_deals: OtherDeals,
}

/// The deals outside the funnel: those without a converted lead behind them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OtherDeals {
    /// How many.
    pub count: u64,
    /// How many of them are won.
    pub won: u64,
}

/// The raw counts of the funnel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FunnelCounts {
    /// Every lead.
    pub leads: u64,
    /// Leads qualified or converted.
    pub qualified: u64,
    /// Leads converted to customers.
    pub converted: u64,
    /// Deals whose lead is converted.
    pub deals: u64,
    /// Of those, the won ones.
    pub won: u64,
    /// Deals without a converted lead.
    pub other_deals: u64,
    /// Of those, the won ones.
    pub other_won: u64,
}

impl SalesFunnel {
    /// Builds the funnel from its raw counts.
    pub fn from_counts(counts: FunnelCounts) -> Self {
        let FunnelCounts { leads, qualified, converted, deals, won, other_deals, other_won } = counts;
        let mut steps = Vec::with_capacity(5);
        let mut previous = None;
        let named =
            [("leads", leads), ("qualified", qualified), ("converted", converted), ("deals", deals), ("won", won)];
        for (name, count) in named {
            steps.push(FunnelStep {
                name: name.into(),
                count,
                percent_of_leads: percent(count, leads),
                step_conversion: previous.map_or(100.0, |p| percent(count, p)),
            });
            previous = Some(count);
        }
        SalesFunnel { steps, other_deals: OtherDeals { count: other_deals, won: other_won } }
    }
}

/// The bucket width of `get_revenue_by_period`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// Calendar days.
    Day,
    /// ISO weeks starting Monday.
    Week,
    /// Calendar months.
    Month,
    /// Calendar quarters.
    Quarter,
    /// Calendar years.
    Year,
}

super::string_enum! {
    /// Wire spelling of [`Period`] (kept separate so `Period` stays a plain Copy enum).
    PeriodName { Day => "day", Week => "week", Month => "month", Quarter => "quarter", Year => "year" }
}

impl From<PeriodName> for Period {
    fn from(name: PeriodName) -> Self {
        match name {
            PeriodName::Day => Period::Day,
            PeriodName::Week => Period::Week,
            PeriodName::Month => Period::Month,
            PeriodName::Quarter => Period::Quarter,
            PeriodName::Year => Period::Year,
        }
    }
}

impl Period {
    /// The first day of the bucket containing `date`.
    pub fn start_of(self, date: Date) -> Date {
        use chrono::Datelike;
        match self {
            Period::Day => date,
            Period::Week => date - chrono::Duration::days(date.weekday().num_days_from_monday().into()),
            Period::Month => date.with_day(1).expect("day 1 exists"),
            Period::Quarter => {
                let month = (date.month0() / 3) * 3 + 1;
                Date::from_ymd_opt(date.year(), month, 1).expect("quarter start exists")
            }
            Period::Year => Date::from_ymd_opt(date.year(), 1, 1).expect("1 January exists"),
        }
    }

    /// The first day of the bucket after the one starting at `start`.
    pub fn next_start(self, start: Date) -> Date {
        match self {
            Period::Day => start + chrono::Duration::days(1),
            Period::Week => start + chrono::Duration::days(7),
            Period::Month => start + chrono::Months::new(1),
            Period::Quarter => start + chrono::Months::new(3),
            Period::Year => start + chrono::Months::new(12),
        }
    }

    /// The `count` buckets ending with the one that contains `today`, oldest first,
    /// as half-open `[start, end)` date ranges.
    pub fn buckets(self, today: Date, count: u32) -> Vec<(Date, Date)> {
        let mut starts = Vec::with_capacity(count as usize);
        let mut start = self.start_of(today);
        for _ in 0..count {
            starts.push(start);
            // The start of the previous bucket: step back one day into it.
            start = self.start_of(start - chrono::Duration::days(1));
        }
        starts.reverse();
        starts.into_iter().map(|s| (s, self.next_start(s))).collect()
    }
}

/// One bucket of `get_revenue_by_period`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RevenueBucket {
    /// First day of the bucket.
    pub start: Date,
    /// First day after the bucket.
    pub end: Date,
    /// Value of deals won (by actual close date) in the bucket, per currency.
    pub won_value: Amounts,
    /// How many deals were won in the bucket.
    pub won_count: u64,
}

/// One row of `get_employee_performance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EmployeePerformance {
    /// The employee.
    pub employee_id: EmployeeId,
    /// Their full name.
    pub name: String,
    /// Customers assigned to them.
    pub customers_assigned: u64,
    /// Leads assigned to them.
    pub leads_assigned: u64,
    /// Of those, converted.
    pub leads_converted: u64,
    /// Converted / assigned, in percent.
    pub lead_conversion_rate: f64,
    /// Deals won.
    pub deals_won: u64,
    /// Deals lost.
    pub deals_lost: u64,
    /// won / (won + lost), in percent.
    pub win_rate: f64,
    /// Value of deals won, per currency.
    pub won_revenue: Amounts,
    /// Value of their open deals, per currency.
    pub open_pipeline: Amounts,
}

impl PutCurrencyFirst for DealStats {
    fn put_first(&mut self, currency: &str) {
        for amounts in [&mut self.total_value, &mut self.won_value, &mut self.open_value, &mut self.weighted_pipeline] {
            amounts.put_first(currency);
        }
        for stage in &mut self.by_stage {
            stage.value.put_first(currency);
        }
    }
}

impl PutCurrencyFirst for DashboardStats {
    fn put_first(&mut self, currency: &str) {
        let revenue = &mut self.revenue;
        for amounts in [&mut revenue.won_value, &mut revenue.open_pipeline_value, &mut revenue.weighted_pipeline] {
            amounts.put_first(currency);
        }
    }
}

impl PutCurrencyFirst for EmployeePerformance {
    fn put_first(&mut self, currency: &str) {
        self.won_revenue.put_first(currency);
        self.open_pipeline.put_first(currency);
    }
}

impl PutCurrencyFirst for RevenueBucket {
    fn put_first(&mut self, currency: &str) {
        self.won_value.put_first(currency);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> Date {
        Date::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn buckets_are_contiguous_and_end_with_today() {
        for period in [Period::Day, Period::Week, Period::Month, Period::Quarter, Period::Year] {
            let buckets = period.buckets(d(2026, 3, 31), 5);
            assert_eq!(buckets.len(), 5);
            assert!(buckets.last().unwrap().0 <= d(2026, 3, 31) && d(2026, 3, 31) < buckets.last().unwrap().1);
            for pair in buckets.windows(2) {
                assert_eq!(pair[0].1, pair[1].0, "{period:?}");
            }
        }
        assert_eq!(
            Period::Quarter.buckets(d(2026, 5, 2), 2),
            vec![(d(2026, 1, 1), d(2026, 4, 1)), (d(2026, 4, 1), d(2026, 7, 1))]
        );
        assert_eq!(Period::Week.start_of(d(2026, 11, 23)), d(2026, 11, 23)); // a Monday
    }

    #[test]
    fn funnel_percentages() {
        let counts =
            FunnelCounts { leads: 200, qualified: 50, converted: 20, deals: 10, won: 5, other_deals: 7, other_won: 1 };
        let funnel = SalesFunnel::from_counts(counts);
        assert_eq!(funnel.steps[1].percent_of_leads, 25.0);
        assert_eq!(funnel.steps[3].step_conversion, 50.0);
        assert_eq!(funnel.steps[4].step_conversion, 50.0);
        assert_eq!(funnel.other_deals, OtherDeals { count: 7, won: 1 });
        assert_eq!(SalesFunnel::from_counts(FunnelCounts::default()).steps[2].percent_of_leads, 0.0);
    }
}
