//! Writes at once: numbering, totals kept by triggers, and multi-row writes that fail whole.

use super::*;

pub(super) async fn concurrent_numbers(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "num").await?;
    let buyer = customer(&*store, &scope, "Buyer").await?;
    let issues = (0..50).map(|i| {
        let store = store.clone();
        let scope = scope.clone();
        async move { store.create_issue(&scope, NewIssue::titled(format!("Concurrent {i}"))).await.map(|i| i.number) }
    });
    let orders = (0..50).map(|_| {
        let store = store.clone();
        let scope = scope.clone();
        let customer = buyer.id.clone();
        async move { store.create_order(&scope, new_order(&customer, &[(1, 100)])).await.map(|o| o.number) }
    });
    let (issue_numbers, order_numbers) = futures::join!(join_all(issues), join_all(orders));
    let year = Utc::now().year();
    for (numbers, kind) in [(issue_numbers, NumberKind::Issue), (order_numbers, NumberKind::Order)] {
        let numbers: BTreeSet<String> = numbers.into_iter().collect::<Result<_>>().step("concurrent create")?;
        let expected: BTreeSet<String> = (1..=50).map(|n| kind.format(year, n)).collect();
        ensure_eq!(numbers, expected);
    }
    Ok(())
}

/// A deal created closed on a day no deal closed on yet, while another deal is closed on that
/// day: the first creates the day's totals row, the second moves into the same stage totals.
/// Both must succeed: a store that keeps totals must take their rows in one order in every
/// write (on PostgreSQL, migration 15 creates and locks them in key order), or the two wait on
/// each other.
pub(super) async fn closing_on_a_new_day_at_once(store: Arc<dyn Store>) -> CheckResult {
    const DAYS: u32 = 150;
    let (_, scope) = tenant(&*store, "closings").await?;
    let pipe = pipeline(&*store, &scope).await?;
    let (open_stage, won) = (stage(&pipe, "Proposal")?.id.clone(), stage(&pipe, "Closed Won")?.id.clone());
    let first_day = chrono::NaiveDate::from_ymd_opt(2031, 1, 1).ok_or("a day")?;
    let day = move |n: u32| first_day + chrono::Days::new(u64::from(n));
    let open = NewDeal::new("Closer", pipe.id.clone(), open_stage.clone(), Money::new(500, 0));
    let closer = store.create_deal(&scope, open).await.step("create the closer")?.id;
    // Both start each day's write together, to meet inside the triggers as often as they can.
    let together = Arc::new(tokio::sync::Barrier::new(2));
    let creator = {
        let (store, scope, pipe, won) = (store.clone(), scope.clone(), pipe.id.clone(), won.clone());
        let together = together.clone();
        async move {
            // A failure is kept, not returned: the other side must not wait at the barrier forever.
            let mut first_failure = Ok(());
            for n in 0..DAYS {
                together.wait().await;
                let mut new = NewDeal::new(format!("Won {n}"), pipe.clone(), won.clone(), Money::new(100, 0));
                (new.status, new.probability, new.actual_close_date) = (DealStatus::Won, 100, Some(day(n)));
                if let Err(error) = store.create_deal(&scope, new).await {
                    first_failure = first_failure.and(Err(error));
                }
            }
            first_failure
        }
    };
    let closing = {
        let (store, scope, closer) = (store.clone(), scope.clone(), closer.clone());
        async move {
            let mut first_failure = Ok(());
            for n in 0..DAYS {
                together.wait().await;
                let close = DealPatch {
                    stage_id: Some(won.clone()),
                    status: Some(DealStatus::Won),
                    actual_close_date: Change::Set(day(n)),
                    ..Default::default()
                };
                let reopen = DealPatch {
                    stage_id: Some(open_stage.clone()),
                    status: Some(DealStatus::Open),
                    actual_close_date: Change::Clear,
                    ..Default::default()
                };
                let moved = match store.update_deal(&scope, &closer, close).await {
                    Ok(_) => store.update_deal(&scope, &closer, reopen).await.map(drop),
                    Err(error) => Err(error),
                };
                first_failure = first_failure.and(moved);
            }
            first_failure
        }
    };
    let (created, closed) = futures::join!(creator, closing);
    created.step("creating closed deals")?;
    closed.step("closing and reopening")?;
    let group_by = ["actual_close_date:year".to_owned(), "status".to_owned()];
    let query = AggregateQuery::new(
        RecordFilter::Deals(DealFilter::default()),
        Measure::Count,
        None,
        &group_by,
        chrono_tz::UTC,
    )
    .step("query")?;
    let answer = store.aggregate_records(&scope, &query).await.step("aggregate")?;
    let counts: Vec<(serde_json::Value, serde_json::Value, u64)> = answer
        .groups
        .iter()
        .map(|g| (g.key["actual_close_date:year"].clone(), g.key["status"].clone(), g.count))
        .collect();
    ensure_eq!(
        counts,
        vec![
            (serde_json::json!("2031"), serde_json::json!("won"), u64::from(DAYS)),
            (serde_json::Value::Null, serde_json::json!("open"), 1)
        ]
    );
    Ok(())
}

/// Two deals moved between the same two stages, and two customers between the same two
/// statuses, in opposite directions at once (as two people dragging cards across a pipeline
/// board do): every move succeeds, and the counts per group add up afterwards. A store that keeps
/// per-group totals must not deadlock on them here.
pub(super) async fn opposite_moves_at_once(store: Arc<dyn Store>) -> CheckResult {
    /// Round trips per mover. Without migration 9's ordered locks, PostgreSQL's totals
    /// triggers deadlocked within these in each of three runs.
    const ROUND_TRIPS: usize = 400;
    let (_, scope) = tenant(&*store, "moves").await?;
    let pipe = pipeline(&*store, &scope).await?;
    let stages = [stage(&pipe, "Lead")?.id.clone(), stage(&pipe, "Qualified")?.id.clone()];
    let statuses = [CustomerStatus::Active, CustomerStatus::Vip];
    let (mut deals, mut customers) = (Vec::new(), Vec::new());
    for i in 0..2 {
        let deal = NewDeal::new(format!("Mover {i}"), pipe.id.clone(), stages[i].clone(), Money::new(1_000, 0));
        deals.push(store.create_deal(&scope, deal).await.step("create deal")?.id);
        let mut customer = NewCustomer::named(format!("Mover {i}"));
        customer.status = statuses[i];
        customers.push(store.create_customer(&scope, customer).await.step("create customer")?.id);
    }
    // Mover i starts in group i and goes to the other group and back: the two always cross.
    let movers = (0..2).map(|i| {
        let (store, scope, stages) = (store.clone(), scope.clone(), stages.clone());
        let (deal, customer) = (deals[i].clone(), customers[i].clone());
        async move {
            for step in 0..2 * ROUND_TRIPS {
                let to = (i + step + 1) % 2;
                let patch = DealPatch { stage_id: Some(stages[to].clone()), ..Default::default() };
                store.update_deal(&scope, &deal, patch).await?;
                let patch = CustomerPatch { status: Some(statuses[to]), ..Default::default() };
                store.update_customer(&scope, &customer, patch).await?;
            }
            Result::Ok(())
        }
    });
    for moved in join_all(movers).await {
        moved.step("a move")?;
    }
    let page = PageRequest::first(10);
    for i in 0..2 {
        let filter = DealFilter { stage_id: Some(stages[i].clone()), ..Default::default() };
        let listed = store.list_deals(&scope, &filter, &page).await.step("deals by stage")?;
        ensure_eq!(
            (listed.total, listed.items.into_iter().map(|d| d.id).collect::<Vec<_>>()),
            (1, vec![deals[i].clone()])
        );
        let filter = CustomerFilter { status: Some(statuses[i]), ..Default::default() };
        let listed = store.list_customers(&scope, &filter, &page).await.step("customers by status")?;
        ensure_eq!(
            (listed.total, listed.items.into_iter().map(|c| c.id).collect::<Vec<_>>()),
            (1, vec![customers[i].clone()])
        );
    }
    Ok(())
}

pub(super) async fn failed_multi_row_writes_roll_back(store: Arc<dyn Store>) -> CheckResult {
    let (_, a) = tenant(&*store, "rb").await?;
    let (_, b) = tenant(&*store, "rb-other").await?;
    let foreign = employee(&*store, &b, "Foreign").await?;
    let foreign_stage = pipeline(&*store, &b).await?.stages[0].id.clone();
    let lead = store.create_lead(&a, NewLead::named("Rollback")).await.step("create lead")?;
    // Conversion claims the lead, then fails on the customer's foreign assignee: the claim must roll back.
    let mut customer = NewCustomer::named("Should not exist");
    customer.assigned_to = Some(foreign.id.clone());
    expect_kind(
        store.convert_lead(&a, &lead.id, customer).await,
        ErrorKind::NotFound,
        "conversion with a foreign assignee",
    )?;
    let after = store.get_lead(&a, &lead.id).await.step("lead after")?;
    ensure!(!after.converted && after.converted_customer_id.is_none(), "the lead is not half-converted");
    ensure_eq!(after, lead.clone());
    ensure_eq!(
        store.list_customers(&a, &CustomerFilter::default(), &PageRequest::default()).await.step("customers")?.total,
        0
    );
    // A lead update whose history entry is invalid leaves the lead unchanged.
    let history = NewLeadHistory {
        from_stage_id: None,
        to_stage_id: Some(foreign_stage),
        from_score: None,
        to_score: None,
        changed_by: "u".into(),
        note: None,
    };
    expect_kind(
        store
            .update_lead(&a, &lead.id, LeadPatch { name: Some("Renamed".into()), ..Default::default() }, Some(history))
            .await,
        ErrorKind::NotFound,
        "history with a foreign stage",
    )?;
    ensure_eq!(store.get_lead(&a, &lead.id).await.step("lead after")?.name, "Rollback".to_string());
    ensure!(store.lead_history(&a, &lead.id).await.step("history")?.is_empty(), "no history row was kept");
    // The conversion still works afterwards.
    ensure!(
        store.convert_lead(&a, &lead.id, NewCustomer::named("Real")).await.step("convert")?.newly_converted,
        "converts after the failure"
    );
    Ok(())
}
