//! Reading records back: dates and sorting, overdue activities, and aggregates that must equal
//! the in-memory reference (`store::aggregate`), before and after updates.

use super::*;

/// Customers listed by creation and change spans, and in each order the customer list offers:
/// pages chain under every order, ties go by creation, and a cursor of one order is refused by
/// another.
pub(super) async fn customer_dates_and_orders(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "order").await?;
    // Created a day apart from 1 January, in this name order: E, A, C, B, D.
    let mut made = Vec::new();
    for (i, name) in (0u32..).zip(["Cust E", "Cust A", "Cust C", "Cust B", "Cust D"]) {
        let mut new = NewCustomer::named(name);
        new.created_at = Some(day_2026(1, 1 + i, 6));
        made.push(store.create_customer(&scope, new).await.step("create")?);
    }
    let ids = |items: &[Customer]| items.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
    let names = |items: &[Customer]| items.iter().map(|c| c.name.clone()).collect::<Vec<_>>();

    let span = |after, before| TimeRange { after, before };
    let created =
        CustomerFilter { created: span(Some(day_2026(1, 2, 0)), Some(day_2026(1, 4, 0))), ..Default::default() };
    let page = store.list_customers(&scope, &created, &PageRequest::default()).await.step("created span")?;
    ensure_eq!(page.total, 2);
    ensure_eq!(ids(&page.items), vec![made[2].id.clone(), made[1].id.clone()]);
    // The span's ends: `after` is included, `before` is not.
    let exact =
        CustomerFilter { created: span(Some(made[1].created_at), Some(made[3].created_at)), ..Default::default() };
    let page = store.list_customers(&scope, &exact, &PageRequest::default()).await.step("exact span")?;
    ensure_eq!(ids(&page.items), vec![made[2].id.clone(), made[1].id.clone()]);

    let by = |field, descending| CustomerFilter { sort: Some(Sort { field, descending }), ..Default::default() };
    let ascending = all_pages!(store, list_customers, &scope, &by(CustomerSort::Name, false), 2);
    ensure_eq!(names(&ascending), vec!["Cust A", "Cust B", "Cust C", "Cust D", "Cust E"]);
    let descending = all_pages!(store, list_customers, &scope, &by(CustomerSort::Name, true), 2);
    ensure_eq!(names(&descending), vec!["Cust E", "Cust D", "Cust C", "Cust B", "Cust A"]);
    let oldest = all_pages!(store, list_customers, &scope, &by(CustomerSort::CreatedAt, false), 3);
    ensure_eq!(ids(&oldest), ids(&made));
    let newest = all_pages!(store, list_customers, &scope, &by(CustomerSort::CreatedAt, true), 3);
    ensure_eq!(ids(&newest), made.iter().rev().map(|c| c.id.clone()).collect::<Vec<_>>());
    ensure_eq!(ids(&all_pages!(store, list_customers, &scope, &CustomerFilter::default(), 3)), ids(&newest));

    // A change moves a customer to the end of the change order and into a later change span.
    let patch = CustomerPatch { phone: Change::Set("+1 555 0100".into()), ..Default::default() };
    let changed = store.update_customer(&scope, &made[0].id, patch).await.step("update")?;
    let by_change = all_pages!(store, list_customers, &scope, &by(CustomerSort::UpdatedAt, false), 2);
    ensure_eq!(by_change.last().map(|c| c.id.clone()), Some(changed.id.clone()));
    let recent = CustomerFilter { updated: span(Some(day_2026(1, 10, 0)), None), ..Default::default() };
    let page = store.list_customers(&scope, &recent, &PageRequest::default()).await.step("updated span")?;
    ensure_eq!(ids(&page.items), vec![changed.id.clone()]);
    ensure_eq!(page.total, 1);

    // Filters and an order together, over pages.
    let mut both = by(CustomerSort::Name, true);
    both.created = span(Some(day_2026(1, 2, 0)), None);
    ensure_eq!(
        names(&all_pages!(store, list_customers, &scope, &both, 1)),
        vec!["Cust D", "Cust C", "Cust B", "Cust A"]
    );

    let first =
        store.list_customers(&scope, &by(CustomerSort::Name, false), &PageRequest::first(2)).await.step("page")?;
    let cursor = first.next_cursor.ok_or("no next page")?;
    let err = store
        .list_customers(&scope, &by(CustomerSort::Name, true), &PageRequest::after(2, cursor))
        .await
        .expect_err("a cursor of another order");
    ensure_eq!(err.kind(), ErrorKind::InvalidArgument);
    Ok(())
}

/// Deals by close dates and value, where some deals have no expected close date: those list last
/// in either direction, by creation, and pages chain through them.
pub(super) async fn deal_dates_and_orders(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "dealorder").await?;
    let pipe = pipeline(&*store, &scope).await?;
    let proposal = stage(&pipe, "Proposal")?;
    let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 12, d);
    let mut made = Vec::new();
    for (i, (close, value)) in (0u32..).zip([(day(20), 500), (None, 900), (day(5), 100), (None, 300), (day(20), 700)]) {
        let mut new = NewDeal::new(format!("Deal {i}"), pipe.id.clone(), proposal.id.clone(), Money::new(value, 0));
        new.expected_close_date = close;
        new.created_at = Some(day_2026(2, 1 + i, 0));
        made.push(store.create_deal(&scope, new).await.step("create deal")?);
    }
    let ids = |items: &[Deal]| items.iter().map(|d| d.title.clone()).collect::<Vec<_>>();
    let by = |field, descending| DealFilter { sort: Some(Sort { field, descending }), ..Default::default() };
    let soonest = all_pages!(store, list_deals, &scope, &by(DealSort::ExpectedCloseDate, false), 2);
    ensure_eq!(ids(&soonest), vec!["Deal 2", "Deal 0", "Deal 4", "Deal 1", "Deal 3"]);
    let latest = all_pages!(store, list_deals, &scope, &by(DealSort::ExpectedCloseDate, true), 2);
    ensure_eq!(ids(&latest), vec!["Deal 4", "Deal 0", "Deal 2", "Deal 3", "Deal 1"]);
    let biggest = all_pages!(store, list_deals, &scope, &by(DealSort::Value, true), 2);
    ensure_eq!(ids(&biggest), vec!["Deal 1", "Deal 4", "Deal 0", "Deal 3", "Deal 2"]);

    let closing = |from, to| DealFilter { expected_close: DateRange { from, to }, ..Default::default() };
    let december = all_pages!(store, list_deals, &scope, &closing(day(1), day(31)), 10);
    ensure_eq!(ids(&december), vec!["Deal 4", "Deal 2", "Deal 0"]);
    let on_the_20th = all_pages!(store, list_deals, &scope, &closing(day(20), day(20)), 10);
    ensure_eq!(ids(&on_the_20th), vec!["Deal 4", "Deal 0"]);
    let mut top = closing(day(6), None);
    top.sort = Some(Sort { field: DealSort::Value, descending: true });
    ensure_eq!(ids(&all_pages!(store, list_deals, &scope, &top, 1)), vec!["Deal 4", "Deal 0"]);

    let patch = DealPatch { actual_close_date: Change::Set(day(7).ok_or("a day")?), ..Default::default() };
    store.update_deal(&scope, &made[2].id, patch).await.step("close")?;
    let closed = DealFilter { closed: DateRange { from: day(7), to: day(7) }, ..Default::default() };
    ensure_eq!(ids(&all_pages!(store, list_deals, &scope, &closed, 10)), vec!["Deal 2"]);
    Ok(())
}

/// `aggregate_records` agrees with its reference definition (the same records read through the
/// list), and with figures worked out by hand: money per currency, buckets of the organization's
/// calendar, records without a value last.
pub(super) async fn aggregate_records_match_reference(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "aggregate").await?;
    let pipe = pipeline(&*store, &scope).await?;
    let (proposal, won) = (stage(&pipe, "Proposal")?, stage(&pipe, "Closed Won")?);
    let day = |m: u32, d: u32| chrono::NaiveDate::from_ymd_opt(2026, m, d);
    // (value, currency, closed on, stage, created at 23:30 UTC on day n of March)
    let plan = [
        (Money::new(100_000, 2), "USD", day(1, 15), won, 1),
        (Money::new(250_050, 2), "USD", day(1, 31), won, 1),
        (Money::new(99_999, 2), "EUR", day(2, 1), won, 2),
        (Money::new(1_000_000, 0), "EUR", None, proposal, 3),
        (Money::new(5_000, 2), "USD", None, proposal, 3),
    ];
    for (i, (value, currency, closed, stage, created)) in plan.into_iter().enumerate() {
        let mut new = NewDeal::new(format!("Agg {i}"), pipe.id.clone(), stage.id.clone(), value);
        new.currency = currency.into();
        new.actual_close_date = closed;
        if stage.id == won.id {
            (new.status, new.probability) = (DealStatus::Won, 100);
        }
        new.created_at = Some(day_2026(3, created, 23) + chrono::Duration::minutes(30));
        store.create_deal(&scope, new).await.step("create deal")?;
    }
    let zone: chrono_tz::Tz = "Europe/Berlin".parse().expect("a zone");
    let query = |measure, field: Option<&str>, group_by: &[&str], filter: DealFilter| {
        let group_by: Vec<String> = group_by.iter().map(|g| g.to_string()).collect();
        AggregateQuery::new(RecordFilter::Deals(filter), measure, field, &group_by, zone)
    };
    let won_only = DealFilter { status: Some(DealStatus::Won), ..Default::default() };
    let closed = |from, to| DealFilter { closed: DateRange { from, to }, ..Default::default() };
    let queries = [
        query(Measure::Count, None, &["status"], DealFilter::default()),
        query(Measure::Sum, Some("value"), &["actual_close_date:month"], DealFilter::default()),
        query(Measure::Avg, Some("probability"), &["stage_id"], DealFilter::default()),
        query(Measure::Max, Some("value"), &[], DealFilter::default()),
        query(Measure::Min, Some("value"), &["currency", "actual_close_date:quarter"], won_only.clone()),
        query(Measure::Count, None, &["created_at:day"], DealFilter::default()),
        query(Measure::Sum, Some("value"), &["created_at:week", "status"], DealFilter::default()),
        // Shapes SQL stores may answer from per-day totals instead of the deals: each must
        // agree with the deals themselves, also after deals changed or went.
        query(Measure::Avg, Some("value"), &["currency"], won_only.clone()),
        query(Measure::Count, None, &["actual_close_date:year", "status"], closed(None, day(1, 31))),
        query(Measure::Sum, Some("value"), &[], closed(day(1, 20), None)),
        query(Measure::Count, None, &[], closed(day(1, 15), day(1, 31))),
    ];
    let queries = queries.into_iter().collect::<Result<Vec<_>>>().step("query")?;
    let check_all = async |when: &str| -> CheckResult {
        for query in &queries {
            let answer = store.aggregate_records(&scope, query).await.step("aggregate")?;
            let RecordFilter::Deals(filter) = &query.filter else { return Err("not deals".into()) };
            let deals: Vec<serde_json::Value> = all_pages!(store, list_deals, &scope, filter, 100)
                .into_iter()
                .map(|d| serde_json::to_value(d).expect("a deal is JSON"))
                .collect();
            let partials = aggregate::partials_of_records(query, &deals).step("reference")?;
            let expected = aggregate::finish_aggregate(query, partials);
            if answer != expected {
                return Err(format!("{when}: {query:?} answered {answer:?}, the deals say {expected:?}"));
            }
        }
        Ok(())
    };
    check_all("as created").await?;

    // By hand: won value per month, each currency on its own.
    let monthly = store
        .aggregate_records(
            &scope,
            &query(Measure::Sum, Some("value"), &["actual_close_date:month"], won_only).step("query")?,
        )
        .await
        .step("monthly")?;
    let rows: Vec<(serde_json::Value, serde_json::Value, u64, Option<String>)> = monthly
        .groups
        .iter()
        .map(|g| (g.key["actual_close_date:month"].clone(), g.key["currency"].clone(), g.count, g.value.clone()))
        .collect();
    ensure_eq!(
        rows,
        vec![
            (serde_json::json!("2026-01"), serde_json::json!("USD"), 2, Some("3500.50".to_owned())),
            (serde_json::json!("2026-02"), serde_json::json!("EUR"), 1, Some("999.99".to_owned())),
        ]
    );
    // Instants fall in the organization's day: 23:30 UTC on 1 March is 2 March in Berlin.
    let daily = store
        .aggregate_records(
            &scope,
            &query(Measure::Count, None, &["created_at:day"], DealFilter::default()).step("query")?,
        )
        .await
        .step("daily")?;
    let days: Vec<(serde_json::Value, u64)> =
        daily.groups.iter().map(|g| (g.key["created_at:day"].clone(), g.count)).collect();
    ensure_eq!(
        days,
        vec![
            (serde_json::json!("2026-03-02"), 2),
            (serde_json::json!("2026-03-03"), 1),
            (serde_json::json!("2026-03-04"), 2)
        ]
    );
    // Deals never closed are one group, after the others.
    let closed = store
        .aggregate_records(
            &scope,
            &query(Measure::Count, None, &["actual_close_date:year"], DealFilter::default()).step("query")?,
        )
        .await
        .step("yearly")?;
    let years: Vec<(serde_json::Value, u64)> =
        closed.groups.iter().map(|g| (g.key["actual_close_date:year"].clone(), g.count)).collect();
    ensure_eq!(years, vec![(serde_json::json!("2026"), 3), (serde_json::Value::Null, 2)]);
    ensure_eq!(closed.total_groups, 2);
    let deals = all_pages!(store, list_deals, &scope, &DealFilter::default(), 100);
    let moved = |close: Option<chrono::NaiveDate>, status| DealPatch {
        actual_close_date: close.map_or(Change::Clear, Change::Set),
        status: Some(status),
        value: Some(Money::new(12_345, 2)),
        ..Default::default()
    };
    // Reopened (no close date any more), closed on another day, and one of a new currency.
    store.update_deal(&scope, &deals[0].id, moved(None, DealStatus::Open)).await.step("reopen")?;
    store.update_deal(&scope, &deals[3].id, moved(day(2, 28), DealStatus::Lost)).await.step("close")?;
    let patch = DealPatch { currency: Some("GBP".into()), ..Default::default() };
    store.update_deal(&scope, &deals[1].id, patch).await.step("currency")?;
    check_all("after updates").await?;
    Ok(())
}

/// `overdue`: neither completed nor cancelled, and due before today or scheduled before now.
pub(super) async fn overdue_activities(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "overdue").await?;
    let now = day_2026(12, 3, 12);
    let today = now.date_naive();
    let make = |title: &str| NewActivity::new(ActivityType::Task, title);
    let mut late = make("due yesterday");
    late.due_date = today.pred_opt();
    let mut done = make("done yesterday");
    done.due_date = today.pred_opt();
    done.status = ActivityStatus::Completed;
    let mut missed = make("scheduled this morning");
    missed.scheduled_at = Some(now - chrono::Duration::hours(3));
    let mut today_due = make("due today");
    today_due.due_date = Some(today);
    let mut upcoming = make("scheduled tonight");
    upcoming.scheduled_at = Some(now + chrono::Duration::hours(6));
    let mut cancelled = make("cancelled");
    cancelled.scheduled_at = Some(now - chrono::Duration::days(2));
    cancelled.status = ActivityStatus::Cancelled;
    for new in [late, done, missed, today_due, upcoming, cancelled] {
        store.create_activity(&scope, new).await.step("create activity")?;
    }
    let filter = ActivityFilter { overdue: Some(Overdue { now, today }), ..Default::default() };
    let overdue = all_pages!(store, list_activities, &scope, &filter, 10);
    let mut titles: Vec<String> = overdue.into_iter().map(|a| a.title).collect();
    titles.sort();
    ensure_eq!(titles, vec!["due yesterday", "scheduled this morning"]);
    let due = ActivityFilter { due: DateRange { from: Some(today), to: None }, ..Default::default() };
    ensure_eq!(all_pages!(store, list_activities, &scope, &due, 10).len(), 1);
    Ok(())
}

pub(super) async fn aggregates_match_reference(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "agg").await?;
    populate(&*store, &scope, "agg").await?;
    let (_, noise) = tenant(&*store, "agg-noise").await?;
    populate(&*store, &noise, "noise").await?;
    let customers = all_pages!(store, list_customers, &scope, &CustomerFilter::default(), 100);
    let leads = all_pages!(store, list_leads, &scope, &LeadFilter::default(), 100);
    let deals = all_pages!(store, list_deals, &scope, &DealFilter::default(), 100);
    let issues = all_pages!(store, list_issues, &scope, &IssueFilter::default(), 100);
    let activities = all_pages!(store, list_activities, &scope, &ActivityFilter::default(), 100);
    let employees = all_pages!(store, list_employees, &scope, &EmployeeFilter::default(), 100);
    let pipelines = store.list_pipelines(&scope).await.step("pipelines")?;
    ensure_eq!(store.customer_stats(&scope).await.step("customer stats")?, aggregate::customer_stats(&customers));
    ensure_eq!(store.lead_stats(&scope).await.step("lead stats")?, aggregate::lead_stats(&leads));
    ensure_eq!(store.deal_stats(&scope).await.step("deal stats")?, aggregate::deal_stats(&deals, &pipelines));
    ensure_eq!(store.issue_stats(&scope).await.step("issue stats")?, aggregate::issue_stats(&issues));
    ensure_eq!(store.activity_stats(&scope).await.step("activity stats")?, aggregate::activity_stats(&activities));
    let now = Utc::now();
    ensure_eq!(
        store.dashboard_stats(&scope, now).await.step("dashboard")?,
        aggregate::dashboard(&customers, &leads, &deals, &issues, now)
    );
    ensure_eq!(store.sales_funnel(&scope).await.step("funnel")?, aggregate::sales_funnel(&leads, &deals));
    for period in [Period::Day, Period::Week, Period::Month, Period::Quarter, Period::Year] {
        let buckets = period.buckets(now.date_naive(), 8);
        ensure_eq!(
            store.revenue_by_period(&scope, &buckets).await.step("revenue")?,
            aggregate::revenue_by_period(&deals, &buckets)
        );
    }
    ensure_eq!(
        store.employee_performance(&scope).await.step("performance")?,
        aggregate::employee_performance(&employees, &customers, &leads, &deals)
    );
    // Sanity on the numbers themselves, so a store and the reference cannot agree on nonsense.
    let stats = store.deal_stats(&scope).await.step("deal stats")?;
    ensure_eq!((stats.total, stats.open, stats.won, stats.lost), (6, 3, 2, 1));
    // Deals 2 and 3 are won: 2 in USD, 3 in EUR; never added together.
    let amount = |currency: &str, times: i64| CurrencyAmount {
        currency: currency.into(),
        amount: Money::new(1_000_033 * times, 2),
    };
    ensure_eq!(stats.won_value, Amounts(vec![amount("EUR", 4), amount("USD", 3)]));
    ensure_eq!(stats.open_value, Amounts(vec![amount("EUR", 6), amount("USD", 1 + 2)]));
    ensure_eq!(stats.win_rate, 66.67);
    let dashboard = store.dashboard_stats(&scope, now).await.step("dashboard")?;
    ensure_eq!(dashboard.customers.total, 6);
    ensure_eq!(dashboard.issues.open, 3);
    ensure_eq!(dashboard.leads.converted, 1);
    // One definition of an active customer in every figure.
    let customer_stats = store.customer_stats(&scope).await.step("customer stats")?;
    ensure_eq!(customer_stats.active, dashboard.customers.active);
    ensure_eq!(customer_stats.active, customers.iter().filter(|c| c.status.is_active()).count() as u64);

    // The funnel's deal steps are the deals of converted leads; the others are beside it.
    let converted = leads.iter().find(|l| l.converted).ok_or("no converted lead")?;
    let pipe = pipeline(&*store, &scope).await?;
    let mut from_lead = NewDeal::new("From a lead", pipe.id.clone(), pipe.stages[0].id.clone(), Money::ONE);
    from_lead.lead_id = Some(converted.id.clone());
    store.create_deal(&scope, from_lead).await.step("deal from a lead")?;
    let funnel = store.sales_funnel(&scope).await.step("funnel")?;
    let names: Vec<&str> = funnel.steps.iter().map(|s| s.name.as_str()).collect();
    ensure_eq!(names, vec!["leads", "qualified", "converted", "deals", "won"]);
    let counts: Vec<u64> = funnel.steps.iter().map(|s| s.count).collect();
    ensure_eq!(counts[2..].to_vec(), vec![1, 1, 0]);
    ensure_eq!(funnel.other_deals, OtherDeals { count: 6, won: 2 });
    let deals = all_pages!(store, list_deals, &scope, &DealFilter::default(), 100);
    ensure_eq!(funnel, aggregate::sales_funnel(&leads, &deals));
    Ok(())
}

/// Stats stay true through updates: a store keeping running totals (the SQL store's
/// triggers) must move a record out of its old group and into its new one exactly once, and
/// keep sums of changed values (deal value and probability, lead score and estimate) right.
pub(super) async fn aggregates_follow_updates(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "agg-moves").await?;
    populate(&*store, &scope, "moves").await?;
    let pipe = pipeline(&*store, &scope).await?;
    let customers = all_pages!(store, list_customers, &scope, &CustomerFilter::default(), 100);
    let leads = all_pages!(store, list_leads, &scope, &LeadFilter::default(), 100);
    let deals = all_pages!(store, list_deals, &scope, &DealFilter::default(), 100);
    for (i, c) in customers.iter().take(3).enumerate() {
        let patch = CustomerPatch {
            status: Some([CustomerStatus::Vip, CustomerStatus::Inactive, CustomerStatus::Prospect][i]),
            customer_type: Some(if c.customer_type == CustomerType::Business {
                CustomerType::Individual
            } else {
                CustomerType::Business
            }),
            ..Default::default()
        };
        store.update_customer(&scope, &c.id, patch).await.step("update customer")?;
    }
    for (i, l) in (0u8..).zip(leads.iter().filter(|l| !l.converted).take(2)) {
        let patch = LeadPatch {
            score: Some(90 - i),
            estimated_value: if i == 0 { Change::Clear } else { Change::Set(Money::new(123_456, 2)) },
            qualification_status: Some(QualificationStatus::Qualified),
            source: Some(LeadSource::Partner),
            ..Default::default()
        };
        store.update_lead(&scope, &l.id, patch, None).await.step("update lead")?;
    }
    if let Some(l) = leads.iter().find(|l| !l.converted && l.qualification_status != QualificationStatus::Qualified) {
        store.convert_lead(&scope, &l.id, NewCustomer::named("From a lead")).await.step("convert lead")?;
    }
    let last = pipe.stages.last().ok_or("a pipeline without stages")?;
    for (i, d) in deals.iter().filter(|d| d.status == DealStatus::Open).enumerate() {
        let patch = match i {
            0 => {
                DealPatch { stage_id: Some(last.id.clone()), value: Some(Money::new(777_700, 2)), ..Default::default() }
            }
            1 => DealPatch { probability: Some(35), currency: Some("GBP".into()), ..Default::default() },
            _ => DealPatch { status: Some(DealStatus::Lost), ..Default::default() },
        };
        store.update_deal(&scope, &d.id, patch).await.step("update deal")?;
    }
    let customers = all_pages!(store, list_customers, &scope, &CustomerFilter::default(), 100);
    let leads = all_pages!(store, list_leads, &scope, &LeadFilter::default(), 100);
    let deals = all_pages!(store, list_deals, &scope, &DealFilter::default(), 100);
    let issues = all_pages!(store, list_issues, &scope, &IssueFilter::default(), 100);
    let pipelines = store.list_pipelines(&scope).await.step("pipelines")?;
    ensure_eq!(store.customer_stats(&scope).await.step("customer stats")?, aggregate::customer_stats(&customers));
    ensure_eq!(store.lead_stats(&scope).await.step("lead stats")?, aggregate::lead_stats(&leads));
    ensure_eq!(store.deal_stats(&scope).await.step("deal stats")?, aggregate::deal_stats(&deals, &pipelines));
    let now = Utc::now();
    ensure_eq!(
        store.dashboard_stats(&scope, now).await.step("dashboard")?,
        aggregate::dashboard(&customers, &leads, &deals, &issues, now)
    );
    ensure_eq!(store.sales_funnel(&scope).await.step("funnel")?, aggregate::sales_funnel(&leads, &deals));
    Ok(())
}
