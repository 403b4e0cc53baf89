//! Stats and analytics as SQL aggregates: grouped counts and sums computed by the database,
//! never by loading rows. The conformance suite checks every one against the in-memory
//! reference definitions in `store::aggregate`.

use std::collections::HashMap;

use super::SqlStore;
use super::codec::{self, Row};
use super::entities as e;
use super::query::Where;
use crate::domain::*;
use crate::error::Result;
use crate::store::Scope;
use crate::store::aggregate::{Partial, RawKey, finish_aggregate, instant_slot_micros, sort_by_name};

/// `CAST(COALESCE(SUM(expr), 0) AS BIGINT)`: PostgreSQL's SUM(bigint) is NUMERIC; this keeps
/// both databases answering a 64-bit integer.
fn sum(expr: &str) -> String {
    format!("CAST(COALESCE(SUM({expr}), 0) AS BIGINT)")
}

/// [`CustomerStatus::is_active`] in SQL.
const ACTIVE_CUSTOMER: &str = "status IN ('active', 'vip')";

fn count_if(condition: &str) -> String {
    sum(&format!("CASE WHEN {condition} THEN 1 ELSE 0 END"))
}

/// Where an aggregate reads: the rows themselves, or the per-organization totals that
/// migrations 0007 and 0012 keep in step with them (`customer_totals`, `lead_totals`,
/// `deal_totals`: one row per group, with `n` and sums). Both give the same expressions, so
/// one SELECT list serves either.
struct Source {
    table: &'static str,
    totals: bool,
}

impl Source {
    /// The totals when they answer for `scope`: they count the whole organization, so they
    /// serve every principal but a customer (whose scope is narrower).
    fn for_scope(table: &e::Table, scope: &Scope) -> Source {
        let totals = match table.name {
            "customers" => Some("customer_totals"),
            "leads" => Some("lead_totals"),
            "deals" => Some("deal_totals"),
            _ => None,
        };
        match totals {
            Some(totals) if scope.customer_id().is_none() => Source { table: totals, totals: true },
            _ => Source::rows(table),
        }
    }

    fn rows(table: &e::Table) -> Source {
        Source { table: table.name, totals: false }
    }

    fn rows_counted(&self) -> &'static str {
        if self.totals { "n" } else { "1" }
    }

    /// `COUNT(*)`.
    fn count(&self) -> String {
        sum(self.rows_counted())
    }

    /// The number of rows where `condition` holds (on columns both sources have).
    fn count_if(&self, condition: &str) -> String {
        sum(&format!("CASE WHEN {condition} THEN {} ELSE 0 END", self.rows_counted()))
    }

    /// `SUM(row_expr)`; the totals keep it in `total_column`.
    fn sum(&self, row_expr: &str, total_column: &str) -> String {
        sum(if self.totals { total_column } else { row_expr })
    }

    /// `SUM(row_expr)` over the rows where `condition` holds.
    fn sum_if(&self, condition: &str, row_expr: &str, total_column: &str) -> String {
        let value = if self.totals { total_column } else { row_expr };
        sum(&format!("CASE WHEN {condition} THEN {value} ELSE 0 END"))
    }

    fn filter(&self, dialect: super::Dialect, scope: &Scope, table: &e::Table) -> Where {
        let mut filter = Where::scoped(dialect, scope, table.visibility);
        if self.totals {
            // Groups whose rows were all deleted or moved stay behind with n = 0.
            filter.push("n > 0", []);
        }
        filter
    }
}

/// The `WHERE` clause on `deal_close_totals` (migration 15: deals counted and their values
/// summed per organization, day of closing, status and currency) for `query`, when that table
/// answers it exactly: deals of the whole organization (not a customer's, whose scope is
/// narrower), filtered on status and close dates only, grouped by close date, status or
/// currency, measuring a count or the value's sum or average.
fn deal_close_rollup(dialect: super::Dialect, scope: &Scope, query: &AggregateQuery) -> Option<Where> {
    let RecordFilter::Deals(filter) = &query.filter else { return None };
    let DealFilter {
        status,
        stage_id: None,
        pipeline_id: None,
        priority: None,
        assigned_to: None,
        customer_id: None,
        min_value: None,
        max_value: None,
        search: None,
        custom_fields,
        created,
        updated,
        expected_close,
        closed,
        sort: _,
    } = filter
    else {
        return None;
    };
    let others_unset = custom_fields.is_empty() && created.is_open() && updated.is_open() && expected_close.is_open();
    let grouped_as_kept = query.group_by.iter().all(|group| match group {
        GroupBy::Bucket(field, _) => field.name == "actual_close_date",
        GroupBy::Value(field) => matches!(field.name, "status" | "currency"),
    });
    let measured_as_kept = match (query.measure, query.field) {
        (Measure::Count, None) => true,
        (Measure::Count | Measure::Sum | Measure::Avg, Some(field)) => field.name == "value",
        _ => false,
    };
    if scope.customer_id().is_some() || !others_unset || !grouped_as_kept || !measured_as_kept {
        return None;
    }
    let mut filter = Where::scoped(dialect, scope, e::DEALS.visibility);
    filter.eq("status", status.map(codec::text));
    if !closed.is_open() {
        // A deal that has not closed is kept under '', which sorts before every date.
        filter.push("close_day <> ''", []);
        filter.date_range("close_day", closed);
    }
    // Groups whose deals were all deleted or moved stay behind with n = 0.
    filter.push("n > 0", []);
    Some(filter)
}

/// Σ(value_cents × probability) per currency, summed exactly before it becomes money.
#[derive(Default)]
struct WeightedSums(std::collections::BTreeMap<String, i64>);

impl WeightedSums {
    fn add(&mut self, currency: &str, cents_times_percent: i64) {
        *self.0.entry(currency.to_owned()).or_default() += cents_times_percent;
    }

    /// As money: divide by 100 twice, round to cents.
    fn money(self) -> Amounts {
        let mut amounts = Amounts::default();
        for (currency, sum) in self.0 {
            amounts.add(&currency, Money::new(sum, 4).round_dp(2));
        }
        amounts
    }
}

fn add(counts: &mut Counts, key: String, n: u64) {
    *counts.entry(key).or_default() += n;
}

impl SqlStore {
    async fn grouped(
        &self,
        source: &Source,
        table: &e::Table,
        scope: &Scope,
        select: &str,
        group_by: &str,
    ) -> Result<Vec<Row>> {
        let filter = source.filter(self.dialect, scope, table);
        let sql = format!("SELECT {select} FROM {} WHERE {} GROUP BY {group_by}", source.table, filter.sql());
        self.read_scan(&sql, filter.args).await
    }

    /// `aggregate_records` in one grouped query: per day for dates and per slot of
    /// `instant_slot_micros` for instants, which `finish_aggregate` folds into the
    /// organization's buckets (a few thousand rows at most, where the table has hundreds of
    /// thousands).
    pub(super) async fn sql_aggregate_records(&self, scope: &Scope, query: &AggregateQuery) -> Result<AggregateAnswer> {
        let (table, filter, rollup) = match deal_close_rollup(self.dialect, scope, query) {
            Some(filter) => ("deal_close_totals", filter, true),
            None => {
                let (table, filter) = self.aggregate_source(scope, &query.filter)?;
                (table.name, filter, false)
            }
        };
        let slot = instant_slot_micros(query.time_zone);
        let mut select: Vec<String> = query
            .group_by
            .iter()
            .enumerate()
            .map(|(i, group)| {
                let field = group.field();
                let column = match field.name {
                    "actual_close_date" if rollup => "NULLIF(close_day, '')",
                    name => name,
                };
                let expression = match (group, field.kind) {
                    (_, FieldKind::Flag) => format!("CASE WHEN {column} THEN 'true' ELSE 'false' END"),
                    (GroupBy::Bucket(..), FieldKind::Instant) => format!("({column} / {slot}) * {slot}"),
                    _ => column.to_owned(),
                };
                format!("{expression} AS k{i}")
            })
            .collect();
        let count = if rollup { sum("n") } else { "COUNT(*)".to_owned() };
        select.push(format!("{count} AS n"));
        // Only what the measure needs: each aggregate is work on every row read.
        if let Some(field) = query.field {
            let column = if rollup { "value_sum" } else { field.name };
            // A field every record has is measured on every row counted.
            let measured = if field.optional { format!("COUNT({column})") } else { count };
            select.push(format!("{measured} AS m"));
            select.push(match query.measure {
                Measure::Count | Measure::Sum | Measure::Avg => format!("{} AS s", sum(column)),
                Measure::Min => format!("MIN({column}) AS lo"),
                Measure::Max => format!("MAX({column}) AS hi"),
            });
        }
        let mut sql = format!("SELECT {} FROM {table} WHERE {}", select.join(", "), filter.sql());
        if !query.group_by.is_empty() {
            let positions: Vec<String> = (1..=query.group_by.len()).map(|i| i.to_string()).collect();
            sql.push_str(&format!(" GROUP BY {}", positions.join(", ")));
        }
        let rows = self.read_scan(&sql, filter.args).await?;
        let number = |cents_or_units: i64, field: AggregateField| match field.kind {
            FieldKind::Money => codec::from_cents(cents_or_units),
            _ => Money::from(cents_or_units),
        };
        let mut partials = Vec::with_capacity(rows.len());
        for row in &rows {
            let count = row.count("n")?;
            if count == 0 {
                // An ungrouped aggregate of no rows still answers one row.
                continue;
            }
            let keys = query
                .group_by
                .iter()
                .enumerate()
                .map(|(i, group)| {
                    let column = format!("k{i}");
                    Ok(match (group, group.field().kind) {
                        (GroupBy::Bucket(..), FieldKind::Instant) => {
                            row.opt_ts(&column)?.map_or(RawKey::Null, RawKey::Instant)
                        }
                        (GroupBy::Bucket(..), _) => row.opt_date(&column)?.map_or(RawKey::Null, RawKey::Day),
                        _ => row.opt_text(&column)?.map_or(RawKey::Null, RawKey::Text),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let mut partial = Partial { keys, count, ..Default::default() };
            if let Some(field) = query.field {
                partial.measured = row.count("m")?;
                match query.measure {
                    Measure::Count => {}
                    Measure::Sum | Measure::Avg => partial.sum = number(row.int("s")?, field),
                    Measure::Min => partial.min = row.opt_int("lo")?.map(|v| number(v, field)),
                    Measure::Max => partial.max = row.opt_int("hi")?.map(|v| number(v, field)),
                }
            }
            partials.push(partial);
        }
        Ok(finish_aggregate(query, partials))
    }

    /// The table a record filter reads and its `WHERE` clause in `scope`.
    fn aggregate_source(&self, scope: &Scope, filter: &RecordFilter) -> Result<(&'static e::Table, Where)> {
        let scoped = |table: &'static e::Table| (table, Where::scoped(self.dialect, scope, table.visibility));
        Ok(match filter {
            RecordFilter::Customers(f) => {
                let (table, mut w) = scoped(&e::CUSTOMERS);
                e::customer_filter(&mut w, f)?;
                (table, w)
            }
            RecordFilter::Leads(f) => {
                let (table, mut w) = scoped(&e::LEADS);
                e::lead_filter(&mut w, f)?;
                (table, w)
            }
            RecordFilter::Deals(f) => {
                let (table, mut w) = scoped(&e::DEALS);
                e::deal_filter(&mut w, f)?;
                (table, w)
            }
            RecordFilter::Issues(f) => {
                let (table, mut w) = scoped(&e::ISSUES);
                e::issue_filter(&mut w, f)?;
                (table, w)
            }
            RecordFilter::Orders(f) => {
                let (table, mut w) = scoped(&e::ORDERS);
                e::order_filter(&mut w, f);
                (table, w)
            }
            RecordFilter::Payments(f) => {
                let (table, mut w) = scoped(&e::PAYMENTS);
                e::payment_filter(&mut w, f);
                (table, w)
            }
            RecordFilter::Activities(f) => {
                let (table, mut w) = scoped(&e::ACTIVITIES);
                e::activity_filter(&mut w, f);
                (table, w)
            }
        })
    }

    pub(super) async fn sql_customer_stats(&self, scope: &Scope) -> Result<CustomerStats> {
        let source = Source::for_scope(&e::CUSTOMERS, scope);
        let select = format!("status, customer_type, {} AS n", source.count());
        let rows = self.grouped(&source, &e::CUSTOMERS, scope, &select, "status, customer_type").await?;
        let mut stats = CustomerStats::default();
        for r in rows {
            let n = r.count("n")?;
            stats.total += n;
            if r.parse::<CustomerStatus>("status")?.is_active() {
                stats.active += n;
            }
            add(&mut stats.by_status, r.text("status")?, n);
            add(&mut stats.by_type, r.text("customer_type")?, n);
        }
        Ok(stats)
    }

    pub(super) async fn sql_lead_stats(&self, scope: &Scope) -> Result<LeadStats> {
        let source = Source::for_scope(&e::LEADS, scope);
        let select = format!(
            "qualification_status, source, {} AS n, {} AS converted_n, {} AS score_sum, {} AS value_sum",
            source.count(),
            source.count_if("converted"),
            source.sum("score", "score_sum"),
            source.sum("COALESCE(estimated_value, 0)", "value_sum")
        );
        let rows = self.grouped(&source, &e::LEADS, scope, &select, "qualification_status, source").await?;
        let mut stats = LeadStats::default();
        let mut score_sum = 0i64;
        let mut value_sum = 0i64;
        for r in rows {
            let n = r.count("n")?;
            stats.total += n;
            stats.converted += r.count("converted_n")?;
            score_sum += r.int("score_sum")?;
            value_sum += r.int("value_sum")?;
            add(&mut stats.by_status, r.text("qualification_status")?, n);
            add(&mut stats.by_source, r.text("source")?, n);
        }
        stats.conversion_rate = percent(stats.converted, stats.total);
        stats.average_score =
            if stats.total == 0 { 0.0 } else { (score_sum as f64 * 100.0 / stats.total as f64).round() / 100.0 };
        stats.total_estimated_value = codec::from_cents(value_sum);
        Ok(stats)
    }

    pub(super) async fn sql_deal_stats(&self, scope: &Scope) -> Result<DealStats> {
        let source = Source::for_scope(&e::DEALS, scope);
        let select = format!(
            "stage_id, status, currency, {} AS n, {} AS value_sum, {} AS weighted",
            source.count(),
            source.sum("value", "value_sum"),
            source.sum("value * probability", "weighted_sum")
        );
        let (rows, pipelines) = tokio::try_join!(
            self.grouped(&source, &e::DEALS, scope, &select, "stage_id, status, currency"),
            crate::store::Store::list_pipelines(self, scope)
        )?;
        let mut stats = DealStats::default();
        let mut per_stage: HashMap<String, (u64, Amounts)> = HashMap::new();
        let mut weighted = WeightedSums::default();
        for r in rows {
            let n = r.count("n")?;
            let (currency, value) = (r.text("currency")?, codec::from_cents(r.int("value_sum")?));
            stats.total += n;
            stats.total_value.add(&currency, value);
            match r.parse::<DealStatus>("status")? {
                DealStatus::Open => {
                    stats.open += n;
                    stats.open_value.add(&currency, value);
                    weighted.add(&currency, r.int("weighted")?);
                }
                DealStatus::Won => {
                    stats.won += n;
                    stats.won_value.add(&currency, value);
                }
                DealStatus::Lost => stats.lost += n,
            }
            let entry = per_stage.entry(r.text("stage_id")?).or_default();
            entry.0 += n;
            entry.1.add(&currency, value);
        }
        stats.win_rate = percent(stats.won, stats.won + stats.lost);
        stats.weighted_pipeline = weighted.money();
        for pipeline in &pipelines {
            for stage in &pipeline.stages {
                let (count, value) = per_stage.remove(stage.id.as_str()).unwrap_or_default();
                stats.by_stage.push(StageTotal {
                    stage_id: stage.id.clone(),
                    stage_name: stage.name.clone(),
                    count,
                    value,
                });
            }
        }
        Ok(stats)
    }

    pub(super) async fn sql_issue_stats(&self, scope: &Scope) -> Result<IssueStats> {
        let rows = self
            .grouped(
                &Source::rows(&e::ISSUES),
                &e::ISSUES,
                scope,
                "status, priority, category, COUNT(*) AS n",
                "status, priority, category",
            )
            .await?;
        let mut stats = IssueStats::default();
        for r in rows {
            let n = r.count("n")?;
            stats.total += n;
            add(&mut stats.by_status, r.text("status")?, n);
            add(&mut stats.by_priority, r.text("priority")?, n);
            add(&mut stats.by_category, r.text("category")?, n);
        }
        Ok(stats)
    }

    pub(super) async fn sql_activity_stats(&self, scope: &Scope) -> Result<ActivityStats> {
        let rows = self
            .grouped(
                &Source::rows(&e::ACTIVITIES),
                &e::ACTIVITIES,
                scope,
                "activity_type, status, COUNT(*) AS n",
                "activity_type, status",
            )
            .await?;
        let mut stats = ActivityStats::default();
        for r in rows {
            let n = r.count("n")?;
            stats.total += n;
            add(&mut stats.by_type, r.text("activity_type")?, n);
            add(&mut stats.by_status, r.text("status")?, n);
        }
        Ok(stats)
    }

    /// One row of aggregates (`select`) over `source`, narrowed by `extra` clauses.
    async fn one_row(
        &self,
        source: &Source,
        table: &e::Table,
        scope: &Scope,
        select: &str,
        extra: Where,
    ) -> Result<Row> {
        let mut filter = source.filter(self.dialect, scope, table);
        filter.and(extra);
        let sql = format!("SELECT {select} FROM {} WHERE {}", source.table, filter.sql());
        let mut rows = self.read_scan(&sql, filter.args).await?;
        Ok(rows.remove(0))
    }

    pub(super) async fn sql_dashboard(&self, scope: &Scope, now: Timestamp) -> Result<DashboardStats> {
        let month_ago = now - chrono::Duration::days(30);
        let (customers, leads, deals) = (
            Source::for_scope(&e::CUSTOMERS, scope),
            Source::for_scope(&e::LEADS, scope),
            Source::for_scope(&e::DEALS, scope),
        );
        let customer_select =
            format!("{} AS total, {} AS active", customers.count(), customers.count_if(ACTIVE_CUSTOMER));
        // Creation times are not in the totals: the recent ones are a range of the index
        // `customers_created` (organization_id, created_at).
        let mut recent_range = Where::new(self.dialect);
        recent_range.push("created_at > ? AND created_at <= ?", [codec::ts(month_ago), codec::ts(now)]);
        let lead_select = format!(
            "{} AS total, {} AS qualified, {} AS converted_n",
            leads.count(),
            leads.count_if("(qualification_status IN ('qualified', 'converted') OR converted)"),
            leads.count_if("converted")
        );
        let deal_select = format!(
            "currency, {} AS total, {} AS open_n, {} AS won_n, {} AS lost_n, {} AS won_value, {} AS open_value, \
             {} AS weighted",
            deals.count(),
            deals.count_if("status = 'open'"),
            deals.count_if("status = 'won'"),
            deals.count_if("status = 'lost'"),
            deals.sum_if("status = 'won'", "value", "value_sum"),
            deals.sum_if("status = 'open'", "value", "value_sum"),
            deals.sum_if("status = 'open'", "value * probability", "weighted_sum")
        );
        let issue_filter = {
            let mut w = Where::scoped(self.dialect, scope, e::ISSUES.visibility);
            w.push("status IN ('open', 'in_progress')", []);
            w
        };
        let issue_sql =
            format!("SELECT priority, COUNT(*) AS n FROM issues WHERE {} GROUP BY priority", issue_filter.sql());
        let rows = Source::rows(&e::CUSTOMERS);
        let (c, c_recent, l, d, issues) = tokio::try_join!(
            self.one_row(&customers, &e::CUSTOMERS, scope, &customer_select, Where::new(self.dialect)),
            self.one_row(&rows, &e::CUSTOMERS, scope, "COUNT(*) AS recent", recent_range),
            self.one_row(&leads, &e::LEADS, scope, &lead_select, Where::new(self.dialect)),
            self.grouped(&deals, &e::DEALS, scope, &deal_select, "currency"),
            self.read_scan(&issue_sql, issue_filter.args),
        )?;
        let total_customers = c.count("total")?;
        let recent = c_recent.count("recent")?;
        let leads_total = l.count("total")?;
        let converted = l.count("converted_n")?;
        let mut deal_summary = DealSummary::default();
        let mut revenue = RevenueSummary::default();
        let mut weighted = WeightedSums::default();
        for r in d {
            let currency = r.text("currency")?;
            let (open, won) = (r.count("open_n")?, r.count("won_n")?);
            deal_summary.total += r.count("total")?;
            deal_summary.open += open;
            deal_summary.won += won;
            deal_summary.lost += r.count("lost_n")?;
            if won > 0 {
                revenue.won_value.add(&currency, codec::from_cents(r.int("won_value")?));
            }
            if open > 0 {
                revenue.open_pipeline_value.add(&currency, codec::from_cents(r.int("open_value")?));
                weighted.add(&currency, r.int("weighted")?);
            }
        }
        deal_summary.win_rate = percent(deal_summary.won, deal_summary.won + deal_summary.lost);
        revenue.weighted_pipeline = weighted.money();
        let mut issue_summary = IssueSummary::default();
        for r in issues {
            let n = r.count("n")?;
            issue_summary.open += n;
            add(&mut issue_summary.open_by_priority, r.text("priority")?, n);
        }
        Ok(DashboardStats {
            customers: CustomerSummary {
                total: total_customers,
                active: c.count("active")?,
                new_last_30_days: recent,
                growth_30d_percent: percent(recent, total_customers - recent),
            },
            leads: LeadSummary {
                total: leads_total,
                qualified: l.count("qualified")?,
                converted,
                conversion_rate: percent(converted, leads_total),
            },
            deals: deal_summary,
            revenue,
            issues: issue_summary,
        })
    }

    pub(super) async fn sql_sales_funnel(&self, scope: &Scope) -> Result<SalesFunnel> {
        let leads = Source::for_scope(&e::LEADS, scope);
        let lead_select = format!(
            "{} AS total, {} AS qualified, {} AS converted_n",
            leads.count(),
            leads.count_if("(qualification_status IN ('qualified', 'converted') OR converted)"),
            leads.count_if("converted"),
        );
        // Which lead a deal came from is on the deal rows only (the totals do not keep it).
        let deals = Source::rows(&e::DEALS);
        let from_converted_lead = "lead_id IS NOT NULL AND EXISTS (SELECT 1 FROM leads l \
             WHERE l.id = deals.lead_id AND l.organization_id = deals.organization_id AND l.converted)";
        let deal_select = format!(
            "{} AS total, {} AS won_n, {} AS funnel_n, {} AS funnel_won",
            deals.count(),
            deals.count_if("status = 'won'"),
            deals.count_if(from_converted_lead),
            deals.count_if(&format!("status = 'won' AND {from_converted_lead}")),
        );
        let (l, d) = tokio::try_join!(
            self.one_row(&leads, &e::LEADS, scope, &lead_select, Where::new(self.dialect)),
            self.one_row(&deals, &e::DEALS, scope, &deal_select, Where::new(self.dialect)),
        )?;
        let (deal_count, won) = (d.count("total")?, d.count("won_n")?);
        let (funnel_deals, funnel_won) = (d.count("funnel_n")?, d.count("funnel_won")?);
        Ok(SalesFunnel::from_counts(FunnelCounts {
            leads: l.count("total")?,
            qualified: l.count("qualified")?,
            converted: l.count("converted_n")?,
            deals: funnel_deals,
            won: funnel_won,
            other_deals: deal_count - funnel_deals,
            other_won: won - funnel_won,
        }))
    }

    pub(super) async fn sql_revenue_by_period(
        &self,
        scope: &Scope,
        buckets: &[(Date, Date)],
    ) -> Result<Vec<RevenueBucket>> {
        let (Some(first), Some(last)) = (buckets.first(), buckets.last()) else { return Ok(Vec::new()) };
        let mut filter = Where::scoped(self.dialect, scope, e::DEALS.visibility);
        filter.push(
            "status = 'won' AND actual_close_date >= ? AND actual_close_date < ?",
            [codec::date(first.0), codec::date(last.1)],
        );
        let sql = format!(
            "SELECT actual_close_date, currency, COUNT(*) AS n, {} AS value_sum FROM deals WHERE {} \
             GROUP BY actual_close_date, currency",
            sum("value"),
            filter.sql()
        );
        let rows = self.read_scan(&sql, filter.args).await?;
        let mut result: Vec<RevenueBucket> = buckets
            .iter()
            .map(|&(start, end)| RevenueBucket { start, end, won_value: Amounts::default(), won_count: 0 })
            .collect();
        for r in rows {
            let day = r.date("actual_close_date")?;
            if let Some(bucket) = result.iter_mut().find(|b| b.start <= day && day < b.end) {
                bucket.won_count += r.count("n")?;
                bucket.won_value.add(&r.text("currency")?, codec::from_cents(r.int("value_sum")?));
            }
        }
        Ok(result)
    }

    pub(super) async fn sql_employee_performance(&self, scope: &Scope) -> Result<Vec<EmployeePerformance>> {
        let employee_filter = Where::scoped(self.dialect, scope, e::EMPLOYEES.visibility);
        let employee_sql = format!("SELECT id, first_name, last_name FROM employees WHERE {}", employee_filter.sql());
        let lead_select = format!("assigned_to, COUNT(*) AS n, {} AS converted_n", count_if("converted"));
        let deal_select = format!(
            "assigned_to, currency, {} AS open_n, {} AS won_n, {} AS lost_n, {} AS won_value, {} AS open_value",
            count_if("status = 'open'"),
            count_if("status = 'won'"),
            count_if("status = 'lost'"),
            sum("CASE WHEN status = 'won' THEN value ELSE 0 END"),
            sum("CASE WHEN status = 'open' THEN value ELSE 0 END")
        );
        // Per assignee: the totals do not split by assignee.
        let (customer_rows, lead_rows, deal_rows) =
            (Source::rows(&e::CUSTOMERS), Source::rows(&e::LEADS), Source::rows(&e::DEALS));
        let (employees, customers, leads, deals) = tokio::try_join!(
            self.read_scan(&employee_sql, employee_filter.args),
            self.grouped(&customer_rows, &e::CUSTOMERS, scope, "assigned_to, COUNT(*) AS n", "assigned_to"),
            self.grouped(&lead_rows, &e::LEADS, scope, &lead_select, "assigned_to"),
            self.grouped(&deal_rows, &e::DEALS, scope, &deal_select, "assigned_to, currency"),
        )?;
        let by_assignee = |rows: Vec<Row>| -> Result<HashMap<String, Row>> {
            let mut map = HashMap::new();
            for r in rows {
                if let Some(id) = r.opt_text("assigned_to")? {
                    map.insert(id, r);
                }
            }
            Ok(map)
        };
        let (customers, leads) = (by_assignee(customers)?, by_assignee(leads)?);
        // Per assignee: deals won and lost, and won and open value per currency.
        let mut deal_figures: HashMap<String, (u64, u64, Amounts, Amounts)> = HashMap::new();
        for d in deals {
            let Some(id) = d.opt_text("assigned_to")? else { continue };
            let currency = d.text("currency")?;
            let (open, won) = (d.count("open_n")?, d.count("won_n")?);
            let entry = deal_figures.entry(id).or_default();
            entry.0 += won;
            entry.1 += d.count("lost_n")?;
            if won > 0 {
                entry.2.add(&currency, codec::from_cents(d.int("won_value")?));
            }
            if open > 0 {
                entry.3.add(&currency, codec::from_cents(d.int("open_value")?));
            }
        }
        let mut result = Vec::with_capacity(employees.len());
        for r in employees {
            let id = r.text("id")?;
            let customers_assigned = customers.get(&id).map(|r| r.count("n")).transpose()?.unwrap_or(0);
            let (leads_assigned, leads_converted) = match leads.get(&id) {
                Some(l) => (l.count("n")?, l.count("converted_n")?),
                None => (0, 0),
            };
            let (won, lost, won_revenue, open_pipeline) = deal_figures.remove(&id).unwrap_or_default();
            result.push(EmployeePerformance {
                name: format!("{} {}", r.text("first_name")?, r.text("last_name")?),
                employee_id: EmployeeId(id),
                customers_assigned,
                leads_assigned,
                leads_converted,
                lead_conversion_rate: percent(leads_converted, leads_assigned),
                deals_won: won,
                deals_lost: lost,
                win_rate: percent(won, won + lost),
                won_revenue,
                open_pipeline,
            });
        }
        sort_by_name(&mut result);
        Ok(result)
    }
}
