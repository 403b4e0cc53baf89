//! The CRM records: customers, leads and their conversion, deals and pipelines, issues and
//! their comments, orders and payments, activities.

use super::*;

pub(super) async fn customers_crud_and_filters(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "cust").await?;
    let rep = employee(&*store, &scope, "Avery").await?;
    let mut gold = NewCustomer::named("Zephyr Gold Ltd");
    gold.customer_type = CustomerType::Business;
    gold.email = Some("hello@zephyr.example".into());
    gold.status = CustomerStatus::Vip;
    gold.assigned_to = Some(rep.id.clone());
    gold.credit_limit = Some(Money::new(1_250_050, 2));
    gold.tags = vec!["key".into()];
    gold.custom_fields.insert("tier".into(), serde_json::json!("gold"));
    gold.custom_fields.insert("seats".into(), serde_json::json!(12));
    gold.custom_fields.insert("verified".into(), serde_json::json!(true));
    gold.custom_fields.insert("discount".into(), serde_json::json!(0.25));
    let gold = store.create_customer(&scope, gold).await.step("create gold")?;
    let plain = customer(&*store, &scope, "Plain Person").await?;
    ensure_eq!(store.get_customer(&scope, &gold.id).await.step("get")?, gold.clone());
    ensure_eq!(gold.credit_limit, Some(Money::new(1_250_050, 2)));
    ensure_eq!(gold.custom_fields.get("tier"), Some(&serde_json::json!("gold")));

    let everyone = CustomerFilter::default();
    let list = store.list_customers(&scope, &everyone, &PageRequest::default()).await.step("list")?;
    ensure_eq!(list.total, 2);
    ensure_eq!(list.items.first().map(|c| c.id.clone()), Some(plain.id.clone()));
    let by = |f: CustomerFilter| {
        let store = store.clone();
        let scope = scope.clone();
        async move {
            store
                .list_customers(&scope, &f, &PageRequest::default())
                .await
                .map(|p| p.items.into_iter().map(|c| c.id).collect::<Vec<_>>())
        }
    };
    ensure_eq!(
        by(CustomerFilter { status: Some(CustomerStatus::Vip), ..Default::default() }).await.step("status")?,
        vec![gold.id.clone()]
    );
    ensure_eq!(
        by(CustomerFilter { customer_type: Some(CustomerType::Individual), ..Default::default() })
            .await
            .step("type")?,
        vec![plain.id.clone()]
    );
    ensure_eq!(
        by(CustomerFilter { assigned_to: Some(rep.id.clone()), ..Default::default() }).await.step("assigned")?,
        vec![gold.id.clone()]
    );
    ensure_eq!(
        by(CustomerFilter { search: Some("zEpHyR".into()), ..Default::default() }).await.step("search name")?,
        vec![gold.id.clone()]
    );
    ensure_eq!(
        by(CustomerFilter { search: Some("HELLO@".into()), ..Default::default() }).await.step("search email")?,
        vec![gold.id.clone()]
    );
    ensure_eq!(
        by(CustomerFilter { search: Some("%".into()), ..Default::default() }).await.step("search wildcard")?,
        Vec::<CustomerId>::new()
    );
    let mut custom = CustomerFilter::default();
    custom.custom_fields.insert("tier".into(), serde_json::json!("gold"));
    ensure_eq!(by(custom.clone()).await.step("custom string")?, vec![gold.id.clone()]);
    custom.custom_fields.insert("seats".into(), serde_json::json!(12));
    ensure_eq!(by(custom.clone()).await.step("custom number")?, vec![gold.id.clone()]);
    // Types are compared as PostgreSQL's jsonb does: `true` is not 1, 0.25 is a number.
    for (key, value, matches) in [
        ("verified", serde_json::json!(true), true),
        ("verified", serde_json::json!(1), false),
        ("seats", serde_json::json!(true), false),
        ("discount", serde_json::json!(0.25), true),
        ("discount", serde_json::json!(0.5), false),
        ("seats", serde_json::json!(12.0), true),
        ("seats", serde_json::json!("12"), false),
    ] {
        let mut filter = CustomerFilter::default();
        filter.custom_fields.insert(key.into(), value.clone());
        let expected = if matches { vec![gold.id.clone()] } else { Vec::new() };
        ensure_eq!(by(filter).await.step("custom typed")?, expected, "custom field {key} = {value}");
    }
    custom.custom_fields.insert("seats".into(), serde_json::json!(13));
    ensure_eq!(by(custom).await.step("custom mismatch")?, Vec::<CustomerId>::new());
    ensure_eq!(
        by(CustomerFilter {
            status: Some(CustomerStatus::Vip),
            customer_type: Some(CustomerType::Individual),
            ..Default::default()
        })
        .await
        .step("AND")?,
        Vec::<CustomerId>::new()
    );

    let patched = store
        .update_customer(
            &scope,
            &gold.id,
            CustomerPatch {
                email: Change::Clear,
                status: Some(CustomerStatus::Inactive),
                assigned_to: Change::Clear,
                ..Default::default()
            },
        )
        .await
        .step("patch")?;
    ensure_eq!(patched.email, None);
    ensure_eq!(patched.status, CustomerStatus::Inactive);
    ensure_eq!(patched.assigned_to, None);
    ensure_eq!(patched.name, gold.name);
    ensure!(patched.updated_at >= gold.updated_at, "updated_at moves forward");

    // Search follows writes: a cleared email no longer matches, a new name does, and the text is
    // matched literally (quotes, spaces, `%`), in any case, at any length.
    ensure_eq!(
        by(CustomerFilter { search: Some("HELLO@".into()), ..Default::default() }).await.step("search old email")?,
        Vec::<CustomerId>::new()
    );
    let renamed = CustomerPatch { name: Some("Quill & \"Sons\" 100% Ltd".into()), ..Default::default() };
    store.update_customer(&scope, &gold.id, renamed).await.step("rename")?;
    for (text, expected) in [
        ("zephyr", vec![]),
        ("\"sons\"", vec![gold.id.clone()]),
        ("l & \"s", vec![gold.id.clone()]),
        ("100% ltd", vec![gold.id.clone()]),
        ("0%", vec![gold.id.clone()]),
        ("PL", vec![plain.id.clone()]),
        ("n p", vec![plain.id.clone()]),
        ("son\"s", vec![]),
    ] {
        let found = by(CustomerFilter { search: Some(text.into()), ..Default::default() }).await.step("search")?;
        ensure_eq!(found, expected, "search {text:?}");
    }

    // Bad input: typed errors, nothing written.
    let mut negative = NewCustomer::named("Negative");
    negative.credit_limit = Some(Money::new(-1, 0));
    expect_kind(store.create_customer(&scope, negative).await, ErrorKind::InvalidArgument, "negative money")?;
    expect_kind(
        store.create_customer(&scope, NewCustomer::named("x".repeat(MAX_SHORT_TEXT + 1))).await,
        ErrorKind::InvalidArgument,
        "oversized name",
    )?;
    let mut bad_email = NewCustomer::named("Bad Email");
    bad_email.email = Some("not-an-email".into());
    expect_kind(store.create_customer(&scope, bad_email).await, ErrorKind::InvalidArgument, "bad email")?;
    let mut ghost = NewCustomer::named("Ghost Owner");
    ghost.assigned_to = Some(EmployeeId::from("emp_does_not_exist"));
    expect_kind(store.create_customer(&scope, ghost).await, ErrorKind::NotFound, "unknown assignee")?;
    expect_kind(store.get_customer(&scope, &CustomerId::from("cus_missing")).await, ErrorKind::NotFound, "unknown id")?;
    expect_kind(
        store.update_customer(&scope, &CustomerId::from("cus_missing"), CustomerPatch::default()).await,
        ErrorKind::NotFound,
        "update unknown id",
    )?;
    ensure_eq!(store.list_customers(&scope, &everyone, &PageRequest::default()).await.step("count")?.total, 2);
    Ok(())
}

pub(super) async fn pagination_totals(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "page").await?;
    for i in 0..45 {
        let mut new = NewCustomer::named(format!("Customer {i:02}"));
        new.status = if i % 3 == 0 { CustomerStatus::Prospect } else { CustomerStatus::Active };
        store.create_customer(&scope, new).await.step("create")?;
    }
    let all = all_pages!(store, list_customers, &scope, &CustomerFilter::default(), 20);
    ensure_eq!(all.len(), 45);
    ensure_eq!(ids(&all, |c| c.id.0.clone()).len(), 45);
    ensure!(all.windows(2).all(|w| w[0].created_at >= w[1].created_at), "newest first");
    let first =
        store.list_customers(&scope, &CustomerFilter::default(), &PageRequest::first(20)).await.step("first page")?;
    ensure_eq!((first.items.len(), first.total), (20, 45));
    ensure!(first.next_cursor.is_some(), "a full page has a next cursor");
    let prospects = all_pages!(
        store,
        list_customers,
        &scope,
        &CustomerFilter { status: Some(CustomerStatus::Prospect), ..Default::default() },
        7
    );
    ensure_eq!(prospects.len(), 15);
    let exact = all_pages!(store, list_customers, &scope, &CustomerFilter::default(), 15);
    ensure_eq!(exact.len(), 45);
    expect_kind(
        store.list_customers(&scope, &CustomerFilter::default(), &PageRequest::after(20, "not a cursor")).await,
        ErrorKind::InvalidArgument,
        "garbage cursor",
    )?;
    Ok(())
}

pub(super) async fn leads_history_and_conversion(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "lead").await?;
    let rep = employee(&*store, &scope, "Blake").await?;
    let pipe = pipeline(&*store, &scope).await?;
    let (lead_stage, qualified) = (stage(&pipe, "Lead")?, stage(&pipe, "Qualified")?);
    let mut hot = NewLead::named("Hot Lead");
    hot.company = Some("Quartz Ltd".into());
    hot.score = 90;
    hot.source = LeadSource::Referral;
    hot.assigned_to = Some(rep.id.clone());
    hot.stage_id = Some(lead_stage.id.clone());
    hot.estimated_value = Some(Money::new(5_000, 0));
    let hot = store.create_lead(&scope, hot).await.step("create hot")?;
    let mut cold = NewLead::named("Cold Lead");
    cold.score = 10;
    let cold = store.create_lead(&scope, cold).await.step("create cold")?;
    ensure_eq!(store.get_lead(&scope, &hot.id).await.step("get")?, hot.clone());

    let list = |f: LeadFilter| {
        let store = store.clone();
        let scope = scope.clone();
        async move {
            store
                .list_leads(&scope, &f, &PageRequest::default())
                .await
                .map(|p| p.items.into_iter().map(|l| l.id).collect::<Vec<_>>())
        }
    };
    ensure_eq!(
        list(LeadFilter { min_score: Some(50), ..Default::default() }).await.step("min score")?,
        vec![hot.id.clone()]
    );
    ensure_eq!(
        list(LeadFilter { max_score: Some(50), ..Default::default() }).await.step("max score")?,
        vec![cold.id.clone()]
    );
    ensure_eq!(
        list(LeadFilter { source: Some(LeadSource::Referral), ..Default::default() }).await.step("source")?,
        vec![hot.id.clone()]
    );
    ensure_eq!(
        list(LeadFilter { stage_id: Some(lead_stage.id.clone()), ..Default::default() }).await.step("stage")?,
        vec![hot.id.clone()]
    );
    ensure_eq!(
        list(LeadFilter { assigned_to: Some(rep.id.clone()), ..Default::default() }).await.step("assigned")?,
        vec![hot.id.clone()]
    );
    ensure_eq!(
        list(LeadFilter { search: Some("quartz".into()), ..Default::default() }).await.step("search")?,
        vec![hot.id.clone()]
    );

    let moved = store
        .update_lead(
            &scope,
            &hot.id,
            LeadPatch {
                stage_id: Change::Set(qualified.id.clone()),
                qualification_status: Some(QualificationStatus::Qualified),
                ..Default::default()
            },
            Some(NewLeadHistory {
                from_stage_id: Some(lead_stage.id.clone()),
                to_stage_id: Some(qualified.id.clone()),
                from_score: None,
                to_score: None,
                changed_by: "u-1".into(),
                note: Some("call went well".into()),
            }),
        )
        .await
        .step("move stage")?;
    ensure_eq!(moved.stage_id.as_ref(), Some(&qualified.id));
    let history = store.lead_history(&scope, &hot.id).await.step("history")?;
    ensure_eq!(history.len(), 1);
    ensure_eq!(history[0].to_stage_id.as_ref(), Some(&qualified.id));
    ensure_eq!(history[0].note.as_deref(), Some("call went well"));
    ensure_eq!(history[0].from_stage_id.as_ref(), Some(&lead_stage.id));
    // The store takes "from" values from the row it replaces, not from the caller.
    let stale = NewLeadHistory {
        from_stage_id: None,
        to_stage_id: Some(lead_stage.id.clone()),
        from_score: Some(1),
        to_score: None,
        changed_by: "u-1".into(),
        note: None,
    };
    store
        .update_lead(
            &scope,
            &hot.id,
            LeadPatch { stage_id: Change::Set(lead_stage.id.clone()), ..Default::default() },
            Some(stale),
        )
        .await
        .step("move back")?;
    let history = store.lead_history(&scope, &hot.id).await.step("history")?;
    ensure_eq!(history[1].from_stage_id.as_ref(), Some(&qualified.id));
    store
        .update_lead(
            &scope,
            &hot.id,
            LeadPatch { stage_id: Change::Set(qualified.id.clone()), ..Default::default() },
            None,
        )
        .await
        .step("forward again")?;
    ensure_eq!(
        store.lead_history(&scope, &hot.id).await.step("history")?.len(),
        2,
        "an update without history appends none"
    );
    expect_kind(
        store.lead_history(&scope, &LeadId::from("led_missing")).await,
        ErrorKind::NotFound,
        "history of unknown lead",
    )?;
    let bad_score = LeadPatch { score: Some(101), ..Default::default() };
    expect_kind(
        store.update_lead(&scope, &hot.id, bad_score, None).await,
        ErrorKind::InvalidArgument,
        "score over 100",
    )?;

    let first = store.convert_lead(&scope, &hot.id, NewCustomer::named("Quartz Ltd")).await.step("convert")?;
    ensure!(first.newly_converted, "first conversion converts");
    ensure!(first.lead.converted, "lead is marked converted");
    ensure_eq!(first.lead.qualification_status, QualificationStatus::Converted);
    ensure_eq!(first.lead.converted_customer_id.as_ref(), Some(&first.customer.id));
    ensure_eq!(first.customer.converted_from_lead.as_ref(), Some(&hot.id));
    let second = store.convert_lead(&scope, &hot.id, NewCustomer::named("Quartz Again")).await.step("convert again")?;
    ensure!(!second.newly_converted, "second conversion is a no-op");
    ensure_eq!(second.customer.id, first.customer.id);
    ensure_eq!(
        store
            .list_customers(&scope, &CustomerFilter::default(), &PageRequest::default())
            .await
            .step("customers")?
            .total,
        1
    );
    ensure_eq!(
        list(LeadFilter { converted: Some(true), ..Default::default() }).await.step("converted filter")?,
        vec![hot.id.clone()]
    );
    expect_kind(
        store
            .update_lead(
                &scope,
                &hot.id,
                LeadPatch { qualification_status: Some(QualificationStatus::Qualified), ..Default::default() },
                None,
            )
            .await,
        ErrorKind::Conflict,
        "requalifying a converted lead",
    )?;
    expect_kind(
        store.convert_lead(&scope, &LeadId::from("led_missing"), NewCustomer::named("x")).await,
        ErrorKind::NotFound,
        "convert unknown lead",
    )?;
    Ok(())
}

pub(super) async fn concurrent_conversion_is_idempotent(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "conv").await?;
    let lead = store.create_lead(&scope, NewLead::named("Race")).await.step("create lead")?;
    let attempts = (0..8).map(|i| {
        let store = store.clone();
        let scope = scope.clone();
        let id = lead.id.clone();
        async move { store.convert_lead(&scope, &id, NewCustomer::named(format!("Race {i}"))).await }
    });
    let results = join_all(attempts).await;
    let mut customers = BTreeSet::new();
    let mut newly = 0;
    for r in results {
        let r = r.step("concurrent convert")?;
        newly += usize::from(r.newly_converted);
        customers.insert(r.customer.id.0);
    }
    ensure_eq!(newly, 1);
    ensure_eq!(customers.len(), 1);
    ensure_eq!(
        store
            .list_customers(&scope, &CustomerFilter::default(), &PageRequest::default())
            .await
            .step("customers")?
            .total,
        1
    );
    Ok(())
}

pub(super) async fn deals_and_pipelines(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "deal").await?;
    let pipe = pipeline(&*store, &scope).await?;
    ensure_eq!(pipe.name.as_str(), "Sales Pipeline");
    let names: Vec<&str> = pipe.stages.iter().map(|s| s.name.as_str()).collect();
    ensure_eq!(names, vec!["Lead", "Qualified", "Proposal", "Negotiation", "Closed Won", "Closed Lost"]);
    let probabilities: Vec<u8> = pipe.stages.iter().map(|s| s.probability).collect();
    ensure_eq!(probabilities, vec![10, 25, 50, 75, 100, 0]);
    let (proposal, won) = (stage(&pipe, "Proposal")?, stage(&pipe, "Closed Won")?);
    let buyer = customer(&*store, &scope, "Buyer").await?;
    let mut big = NewDeal::new("Big deal", pipe.id.clone(), proposal.id.clone(), Money::new(50_000, 0));
    big.probability = 50;
    big.customer_id = Some(buyer.id.clone());
    big.priority = Priority::High;
    let big = store.create_deal(&scope, big).await.step("create big")?;
    ensure_eq!(big.expected_revenue(), Money::new(25_000, 0));
    let small = store
        .create_deal(&scope, NewDeal::new("Small deal", pipe.id.clone(), proposal.id.clone(), Money::new(99_99, 2)))
        .await
        .step("create small")?;
    ensure_eq!(store.get_deal(&scope, &small.id).await.step("get")?.value, Money::new(9_999, 2));

    let list = |f: DealFilter| {
        let store = store.clone();
        let scope = scope.clone();
        async move {
            store
                .list_deals(&scope, &f, &PageRequest::default())
                .await
                .map(|p| p.items.into_iter().map(|d| d.id).collect::<Vec<_>>())
        }
    };
    ensure_eq!(
        list(DealFilter { min_value: Some(Money::new(1_000, 0)), ..Default::default() }).await.step("min value")?,
        vec![big.id.clone()]
    );
    ensure_eq!(
        list(DealFilter { max_value: Some(Money::new(100, 0)), ..Default::default() }).await.step("max value")?,
        vec![small.id.clone()]
    );
    ensure_eq!(
        list(DealFilter { priority: Some(Priority::High), ..Default::default() }).await.step("priority")?,
        vec![big.id.clone()]
    );
    ensure_eq!(
        list(DealFilter { customer_id: Some(buyer.id.clone()), ..Default::default() }).await.step("customer")?,
        vec![big.id.clone()]
    );
    ensure_eq!(
        list(DealFilter { search: Some("BIG".into()), ..Default::default() }).await.step("search")?,
        vec![big.id.clone()]
    );
    ensure_eq!(
        list(DealFilter {
            pipeline_id: Some(pipe.id.clone()),
            stage_id: Some(proposal.id.clone()),
            ..Default::default()
        })
        .await
        .step("stage")?
        .len(),
        2
    );

    let closed = store
        .update_deal(
            &scope,
            &big.id,
            DealPatch {
                stage_id: Some(won.id.clone()),
                status: Some(DealStatus::Won),
                probability: Some(100),
                actual_close_date: Change::Set(Utc::now().date_naive()),
                ..Default::default()
            },
        )
        .await
        .step("win")?;
    ensure_eq!(closed.status, DealStatus::Won);
    ensure_eq!(
        list(DealFilter { status: Some(DealStatus::Won), ..Default::default() }).await.step("won")?,
        vec![big.id.clone()]
    );

    // A stage of another pipeline is "not found" for this pipeline.
    let other = store
        .create_pipeline(
            &scope,
            NewPipeline {
                name: "Renewals".into(),
                is_default: false,
                stages: vec![NewPipelineStage {
                    name: "Due".into(),
                    position: 1,
                    probability: 50,
                    is_closed_won: false,
                    is_closed_lost: false,
                }],
            },
        )
        .await
        .step("second pipeline")?;
    ensure_eq!(store.list_pipelines(&scope).await.step("pipelines")?.len(), 2);
    expect_kind(
        store
            .create_deal(&scope, NewDeal::new("Mismatch", pipe.id.clone(), other.stages[0].id.clone(), Money::ONE))
            .await,
        ErrorKind::NotFound,
        "stage of another pipeline",
    )?;
    expect_kind(
        store
            .update_deal(
                &scope,
                &small.id,
                DealPatch { stage_id: Some(other.stages[0].id.clone()), ..Default::default() },
            )
            .await,
        ErrorKind::NotFound,
        "move to a foreign stage",
    )?;
    let mut negative = NewDeal::new("Negative", pipe.id.clone(), proposal.id.clone(), Money::ZERO);
    negative.value = Money::new(-5, 0);
    expect_kind(store.create_deal(&scope, negative).await, ErrorKind::InvalidArgument, "negative value")?;
    Ok(())
}

pub(super) async fn issues_numbers_and_comments(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "iss").await?;
    let agent = employee(&*store, &scope, "Casey").await?;
    let buyer = customer(&*store, &scope, "Buyer").await?;
    let year = Utc::now().year();
    let mut first = NewIssue::titled("Broken widget");
    first.customer_id = Some(buyer.id.clone());
    first.priority = Priority::Urgent;
    first.category = IssueCategory::Quality;
    let first = store.create_issue(&scope, first).await.step("create first")?;
    let second = store.create_issue(&scope, NewIssue::titled("Late delivery")).await.step("create second")?;
    ensure_eq!(first.number, format!("ISS-{year}-0001"));
    ensure_eq!(second.number, format!("ISS-{year}-0002"));
    // Numbers are per organization: another tenant starts at 1 again.
    let (_, other) = tenant(&*store, "iss-other").await?;
    ensure_eq!(
        store.create_issue(&other, NewIssue::titled("Elsewhere")).await.step("other org")?.number,
        format!("ISS-{year}-0001")
    );

    let list = |f: IssueFilter| {
        let store = store.clone();
        let scope = scope.clone();
        async move {
            store
                .list_issues(&scope, &f, &PageRequest::default())
                .await
                .map(|p| p.items.into_iter().map(|i| i.id).collect::<Vec<_>>())
        }
    };
    ensure_eq!(
        list(IssueFilter { priority: Some(Priority::Urgent), ..Default::default() }).await.step("priority")?,
        vec![first.id.clone()]
    );
    ensure_eq!(
        list(IssueFilter { category: Some(IssueCategory::Quality), ..Default::default() }).await.step("category")?,
        vec![first.id.clone()]
    );
    ensure_eq!(
        list(IssueFilter { customer_id: Some(buyer.id.clone()), ..Default::default() }).await.step("customer")?,
        vec![first.id.clone()]
    );
    ensure_eq!(
        list(IssueFilter { search: Some(format!("ISS-{year}-0002")), ..Default::default() })
            .await
            .step("search number")?,
        vec![second.id.clone()]
    );

    let assigned = store
        .update_issue(
            &scope,
            &first.id,
            IssuePatch {
                assigned_to: Change::Set(agent.id.clone()),
                status: Some(IssueStatus::InProgress),
                ..Default::default()
            },
        )
        .await
        .step("assign")?;
    ensure_eq!(assigned.status, IssueStatus::InProgress);
    ensure_eq!(
        list(IssueFilter {
            assigned_to: Some(agent.id.clone()),
            status: Some(IssueStatus::InProgress),
            ..Default::default()
        })
        .await
        .step("assigned")?,
        vec![first.id.clone()]
    );
    ensure_eq!(assigned.number, first.number, "number never changes");

    let public = NewIssueComment {
        issue_id: first.id.clone(),
        author_user_id: "u-1".into(),
        author_name: "Casey".into(),
        body: "On it".into(),
        internal: false,
    };
    store.add_issue_comment(&scope, public).await.step("public comment")?;
    let internal = NewIssueComment {
        issue_id: first.id.clone(),
        author_user_id: "u-1".into(),
        author_name: "Casey".into(),
        body: "Customer is grumpy".into(),
        internal: true,
    };
    store.add_issue_comment(&scope, internal).await.step("internal comment")?;
    let with = store
        .list_issue_comments(&scope, &first.id, true, &PageRequest::default())
        .await
        .step("comments with internal")?;
    ensure_eq!(with.total, 2);
    ensure_eq!(with.items[0].body.as_str(), "On it", "comments are oldest first");
    let without = store
        .list_issue_comments(&scope, &first.id, false, &PageRequest::default())
        .await
        .step("comments without internal")?;
    ensure_eq!(without.items.len(), 1);
    let orphan = NewIssueComment {
        issue_id: IssueId::from("iss_missing"),
        author_user_id: "u".into(),
        author_name: "U".into(),
        body: "x".into(),
        internal: false,
    };
    expect_kind(store.add_issue_comment(&scope, orphan).await, ErrorKind::NotFound, "comment on unknown issue")?;
    Ok(())
}

pub(super) async fn orders_and_payments(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "ord").await?;
    let buyer = customer(&*store, &scope, "Buyer").await?;
    let year = Utc::now().year();
    let mut new = new_order(&buyer.id, &[(2, 1_050), (1, 99_99)]);
    new.tax = Money::new(500, 2);
    let order = store.create_order(&scope, new).await.step("create order")?;
    ensure_eq!(order.number, format!("ORD-{year}-0001"));
    ensure_eq!(order.items.len(), 2);
    ensure_eq!(order.subtotal, Money::new(12_099, 2));
    ensure_eq!(order.total, Money::new(12_599, 2));
    ensure_eq!(order.items[0].total, Money::new(2_100, 2));
    ensure_eq!(store.get_order(&scope, &order.id).await.step("get order")?, order.clone());
    let listed =
        store.list_orders(&scope, &OrderFilter::default(), &PageRequest::default()).await.step("list orders")?;
    ensure_eq!(listed.total, 1);
    ensure_eq!(
        store
            .list_orders(
                &scope,
                &OrderFilter { status: Some(OrderStatus::Completed), ..Default::default() },
                &PageRequest::default()
            )
            .await
            .step("status")?
            .total,
        0
    );
    expect_kind(
        store.create_order(&scope, new_order(&buyer.id, &[])).await,
        ErrorKind::InvalidArgument,
        "order without items",
    )?;
    expect_kind(
        store.create_order(&scope, new_order(&CustomerId::from("cus_missing"), &[(1, 100)])).await,
        ErrorKind::NotFound,
        "order for unknown customer",
    )?;

    let payment = store.create_payment(&scope, new_payment(&buyer.id, Some(&order.id), 12_599)).await.step("pay")?;
    ensure_eq!(payment.number, format!("PAY-{year}-0001"));
    ensure_eq!(payment.amount, order.total);
    ensure_eq!(store.get_payment(&scope, &payment.id).await.step("get payment")?, payment.clone());
    let by_order = store
        .list_payments(
            &scope,
            &PaymentFilter { order_id: Some(order.id.clone()), ..Default::default() },
            &PageRequest::default(),
        )
        .await
        .step("by order")?;
    ensure_eq!(by_order.total, 1);
    expect_kind(
        store.create_payment(&scope, new_payment(&buyer.id, None, 0)).await,
        ErrorKind::InvalidArgument,
        "zero payment",
    )?;
    // An order named together with a customer must be that customer's.
    let stranger = customer(&*store, &scope, "Stranger").await?;
    expect_kind(
        store.create_payment(&scope, new_payment(&stranger.id, Some(&order.id), 100)).await,
        ErrorKind::InvalidArgument,
        "payment for another customer's order",
    )?;
    let mut mixed = NewIssue::titled("Mixed up");
    mixed.customer_id = Some(stranger.id.clone());
    mixed.order_id = Some(order.id.clone());
    expect_kind(
        store.create_issue(&scope, mixed).await,
        ErrorKind::InvalidArgument,
        "issue about another customer's order",
    )?;
    // A failed write consumed no number: the next one is 0002.
    ensure_eq!(
        store.create_order(&scope, new_order(&buyer.id, &[(1, 100)])).await.step("second order")?.number,
        format!("ORD-{year}-0002")
    );
    Ok(())
}

pub(super) async fn activities_crud(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "act").await?;
    let rep = employee(&*store, &scope, "Dana").await?;
    let buyer = customer(&*store, &scope, "Buyer").await?;
    let mut call = NewActivity::new(ActivityType::Call, "Intro call");
    call.customer_id = Some(buyer.id.clone());
    call.assigned_to = Some(rep.id.clone());
    call.duration_minutes = Some(30);
    let call = store.create_activity(&scope, call).await.step("create call")?;
    let note = store
        .create_activity(&scope, NewActivity::new(ActivityType::Note, "Remember the budget"))
        .await
        .step("create note")?;
    ensure_eq!(store.get_activity(&scope, &call.id).await.step("get")?, call.clone());
    let calls = store
        .list_activities(
            &scope,
            &ActivityFilter { activity_type: Some(ActivityType::Call), ..Default::default() },
            &PageRequest::default(),
        )
        .await
        .step("calls")?;
    ensure_eq!(calls.items.iter().map(|a| a.id.clone()).collect::<Vec<_>>(), vec![call.id.clone()]);
    let done = store
        .update_activity(
            &scope,
            &note.id,
            ActivityPatch {
                status: Some(ActivityStatus::Completed),
                completed_at: Change::Set(Utc::now()),
                ..Default::default()
            },
        )
        .await
        .step("complete")?;
    ensure_eq!(done.status, ActivityStatus::Completed);
    ensure!(done.completed_at.is_some(), "completed_at set");
    let mut bad = NewActivity::new(ActivityType::Meeting, "Too long");
    bad.duration_minutes = Some(1_000_000);
    expect_kind(store.create_activity(&scope, bad).await, ErrorKind::InvalidArgument, "absurd duration")?;
    let mut foreign = NewActivity::new(ActivityType::Task, "Ghost deal");
    foreign.deal_id = Some(DealId::from("dea_missing"));
    expect_kind(store.create_activity(&scope, foreign).await, ErrorKind::NotFound, "unknown deal")?;
    Ok(())
}
