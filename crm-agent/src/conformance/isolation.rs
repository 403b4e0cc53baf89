//! Tenant and customer isolation: nothing of another organization, or of another customer,
//! is ever read, listed, counted or changed.

use super::*;

/// Serializes anything for leak checks.
mod erased {
    pub(super) trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}

/// Every way organization A could see or touch organization B's data.
pub(super) async fn tenant_isolation(store: Arc<dyn Store>) -> CheckResult {
    let (org_a, a) = tenant(&*store, "iso-a").await?;
    let (org_b, b) = tenant(&*store, "iso-b").await?;
    populate(&*store, &a, "alpha").await?;
    populate(&*store, &b, "bravo").await?;
    let page = PageRequest::first(100);
    let b_customers = store.list_customers(&b, &CustomerFilter::default(), &page).await.step("b customers")?.items;
    let b_leads = store.list_leads(&b, &LeadFilter::default(), &page).await.step("b leads")?.items;
    let b_deals = store.list_deals(&b, &DealFilter::default(), &page).await.step("b deals")?.items;
    let b_issues = store.list_issues(&b, &IssueFilter::default(), &page).await.step("b issues")?.items;
    let b_orders = store.list_orders(&b, &OrderFilter::default(), &page).await.step("b orders")?.items;
    let b_payments = store.list_payments(&b, &PaymentFilter::default(), &page).await.step("b payments")?.items;
    let b_activities = store.list_activities(&b, &ActivityFilter::default(), &page).await.step("b activities")?.items;
    let b_employees = store.list_employees(&b, &EmployeeFilter::default(), &page).await.step("b employees")?.items;
    let b_roles = store.list_roles(&b).await.step("b roles")?;
    let b_pipeline = pipeline(&*store, &b).await?;

    // Lists and searches from A show nothing of B.
    let leak = |json: String| -> CheckResult {
        ensure!(
            !json.contains("bravo") && !json.contains(org_b.id.as_str()),
            "organization A saw B's data: {}",
            &json[..json.len().min(300)]
        );
        Ok(())
    };
    let text = |v: &dyn erased::Json| v.json();
    leak(text(
        &store
            .list_customers(&a, &CustomerFilter { search: Some("bravo".into()), ..Default::default() }, &page)
            .await
            .step("search")?,
    ))?;
    leak(text(&store.list_customers(&a, &CustomerFilter::default(), &page).await.step("list")?))?;
    leak(text(&store.list_leads(&a, &LeadFilter::default(), &page).await.step("list")?))?;
    leak(text(&store.list_deals(&a, &DealFilter::default(), &page).await.step("list")?))?;
    leak(text(&store.list_issues(&a, &IssueFilter::default(), &page).await.step("list")?))?;
    leak(text(&store.list_orders(&a, &OrderFilter::default(), &page).await.step("list")?))?;
    leak(text(&store.list_payments(&a, &PaymentFilter::default(), &page).await.step("list")?))?;
    leak(text(&store.list_activities(&a, &ActivityFilter::default(), &page).await.step("list")?))?;
    leak(text(&store.list_employees(&a, &EmployeeFilter::default(), &page).await.step("list")?))?;
    leak(text(&store.list_roles(&a).await.step("roles")?))?;
    leak(text(&store.list_pipelines(&a).await.step("pipelines")?))?;
    leak(text(&store.list_audit_events(&a, &AuditFilter::default(), &page).await.step("audit")?))?;
    leak(text(&store.employee_performance(&a).await.step("performance")?))?;
    ensure_eq!(store.deal_stats(&a).await.step("deal stats")?.total, 6);
    ensure_eq!(store.get_organization(&a).await.step("org")?.id, org_a.id);
    // Filters naming B's ids find nothing.
    ensure_eq!(
        store
            .list_deals(&a, &DealFilter { customer_id: Some(b_customers[0].id.clone()), ..Default::default() }, &page)
            .await
            .step("foreign filter")?
            .total,
        0
    );
    ensure_eq!(
        store
            .list_customers(
                &a,
                &CustomerFilter { assigned_to: Some(b_employees[0].id.clone()), ..Default::default() },
                &page
            )
            .await
            .step("foreign filter")?
            .total,
        0
    );
    // Aggregates of A equal A's alone (B was populated identically, so any leak doubles them).
    ensure_eq!(store.customer_stats(&a).await.step("stats")?.total, 6);
    ensure_eq!(store.dashboard_stats(&a, Utc::now()).await.step("dashboard")?.deals.total, 6);

    // Reads of B's ids from A are "not found".
    let nf = ErrorKind::NotFound;
    expect_kind(store.get_customer(&a, &b_customers[0].id).await, nf, "get foreign customer")?;
    expect_kind(store.get_lead(&a, &b_leads[0].id).await, nf, "get foreign lead")?;
    expect_kind(store.lead_history(&a, &b_leads[0].id).await, nf, "foreign lead history")?;
    expect_kind(store.get_deal(&a, &b_deals[0].id).await, nf, "get foreign deal")?;
    expect_kind(store.get_issue(&a, &b_issues[0].id).await, nf, "get foreign issue")?;
    expect_kind(store.list_issue_comments(&a, &b_issues[0].id, true, &page).await, nf, "foreign comments")?;
    expect_kind(store.get_order(&a, &b_orders[0].id).await, nf, "get foreign order")?;
    expect_kind(store.get_payment(&a, &b_payments[0].id).await, nf, "get foreign payment")?;
    expect_kind(store.get_activity(&a, &b_activities[0].id).await, nf, "get foreign activity")?;
    expect_kind(store.get_employee(&a, &b_employees[0].id).await, nf, "get foreign employee")?;
    store
        .put_member(
            &b,
            NewMember {
                user_id: "bravo-user".into(),
                role: crate::Role::Customer,
                employee_id: None,
                customer_id: Some(b_customers[0].id.clone()),
                display_name: "B".into(),
            },
        )
        .await
        .step("b member")?;
    expect_kind(store.get_member(&a, "bravo-user").await, nf, "foreign member")?;

    // Writes to B's ids from A are "not found" and change nothing.
    expect_kind(
        store
            .update_customer(
                &a,
                &b_customers[0].id,
                CustomerPatch { name: Some("hijacked".into()), ..Default::default() },
            )
            .await,
        nf,
        "update foreign customer",
    )?;
    expect_kind(
        store
            .update_lead(&a, &b_leads[0].id, LeadPatch { name: Some("hijacked".into()), ..Default::default() }, None)
            .await,
        nf,
        "update foreign lead",
    )?;
    expect_kind(
        store.convert_lead(&a, &b_leads[0].id, NewCustomer::named("hijacked")).await,
        nf,
        "convert foreign lead",
    )?;
    expect_kind(
        store.update_deal(&a, &b_deals[0].id, DealPatch { title: Some("hijacked".into()), ..Default::default() }).await,
        nf,
        "update foreign deal",
    )?;
    expect_kind(
        store
            .update_issue(&a, &b_issues[0].id, IssuePatch { title: Some("hijacked".into()), ..Default::default() })
            .await,
        nf,
        "update foreign issue",
    )?;
    expect_kind(
        store
            .update_activity(
                &a,
                &b_activities[0].id,
                ActivityPatch { title: Some("hijacked".into()), ..Default::default() },
            )
            .await,
        nf,
        "update foreign activity",
    )?;
    expect_kind(
        store
            .update_employee(
                &a,
                &b_employees[0].id,
                EmployeePatch { first_name: Some("hijacked".into()), ..Default::default() },
            )
            .await,
        nf,
        "update foreign employee",
    )?;
    expect_kind(
        store
            .update_role(
                &a,
                &b_roles[0].id,
                RoleDefinitionPatch { description: Change::Set("hijacked".into()), grants: None },
            )
            .await,
        nf,
        "update foreign role",
    )?;
    expect_kind(
        store
            .add_issue_comment(
                &a,
                NewIssueComment {
                    issue_id: b_issues[0].id.clone(),
                    author_user_id: "x".into(),
                    author_name: "x".into(),
                    body: "hijacked".into(),
                    internal: false,
                },
            )
            .await,
        nf,
        "comment on foreign issue",
    )?;
    // References from A's writes to B's records are "not found".
    let a_employee =
        store.list_employees(&a, &EmployeeFilter::default(), &page).await.step("a employees")?.items[0].id.clone();
    let a_role = store.list_roles(&a).await.step("a roles")?[0].id.clone();
    let a_pipeline = pipeline(&*store, &a).await?;
    let mut c = NewCustomer::named("hijacked");
    c.assigned_to = Some(b_employees[0].id.clone());
    expect_kind(store.create_customer(&a, c).await, nf, "assign to foreign employee")?;
    expect_kind(store.assign_role(&a, &a_employee, &b_roles[0].id).await, nf, "assign foreign role")?;
    expect_kind(store.assign_role(&a, &b_employees[0].id, &a_role).await, nf, "role to foreign employee")?;
    let mut l = NewLead::named("hijacked");
    l.stage_id = Some(b_pipeline.stages[0].id.clone());
    expect_kind(store.create_lead(&a, l).await, nf, "lead in foreign stage")?;
    expect_kind(
        store
            .create_deal(
                &a,
                NewDeal::new("hijacked", b_pipeline.id.clone(), b_pipeline.stages[0].id.clone(), Money::ONE),
            )
            .await,
        nf,
        "deal in foreign pipeline",
    )?;
    let mut d = NewDeal::new("hijacked", a_pipeline.id.clone(), a_pipeline.stages[0].id.clone(), Money::ONE);
    d.customer_id = Some(b_customers[0].id.clone());
    expect_kind(store.create_deal(&a, d).await, nf, "deal for foreign customer")?;
    let mut i = NewIssue::titled("hijacked");
    i.order_id = Some(b_orders[0].id.clone());
    expect_kind(store.create_issue(&a, i).await, nf, "issue on foreign order")?;
    expect_kind(
        store.create_order(&a, new_order(&b_customers[0].id, &[(1, 100)])).await,
        nf,
        "order for foreign customer",
    )?;
    expect_kind(
        store.create_payment(&a, new_payment(&b_customers[0].id, None, 100)).await,
        nf,
        "payment for foreign customer",
    )?;
    let mut act = NewActivity::new(ActivityType::Call, "hijacked");
    act.lead_id = Some(b_leads[0].id.clone());
    expect_kind(store.create_activity(&a, act).await, nf, "activity on foreign lead")?;
    expect_kind(
        store
            .put_member(
                &a,
                NewMember {
                    user_id: "spy".into(),
                    role: crate::Role::Employee,
                    employee_id: Some(b_employees[0].id.clone()),
                    customer_id: None,
                    display_name: "Spy".into(),
                },
            )
            .await,
        nf,
        "member as foreign employee",
    )?;
    // Foreign references on the update paths, each with its own reference list.
    let a_deal = store.list_deals(&a, &DealFilter::default(), &page).await.step("a deals")?.items[0].id.clone();
    let a_lead = store
        .list_leads(&a, &LeadFilter { converted: Some(false), ..Default::default() }, &page)
        .await
        .step("a leads")?
        .items[0]
        .id
        .clone();
    let a_issue = store.list_issues(&a, &IssueFilter::default(), &page).await.step("a issues")?.items[0].id.clone();
    let a_activity =
        store.list_activities(&a, &ActivityFilter::default(), &page).await.step("a activities")?.items[0].id.clone();
    let a_customer =
        store.list_customers(&a, &CustomerFilter::default(), &page).await.step("a customers")?.items[0].id.clone();
    let b_stage = b_pipeline.stages[1].id.clone();
    let b_assignee = Change::Set(b_employees[0].id.clone());
    expect_kind(
        store.update_deal(&a, &a_deal, DealPatch { stage_id: Some(b_stage.clone()), ..Default::default() }).await,
        nf,
        "deal to a foreign stage",
    )?;
    expect_kind(
        store.update_deal(&a, &a_deal, DealPatch { assigned_to: b_assignee.clone(), ..Default::default() }).await,
        nf,
        "deal to a foreign assignee",
    )?;
    expect_kind(
        store
            .update_lead(&a, &a_lead, LeadPatch { stage_id: Change::Set(b_stage.clone()), ..Default::default() }, None)
            .await,
        nf,
        "lead to a foreign stage",
    )?;
    expect_kind(
        store.update_lead(&a, &a_lead, LeadPatch { assigned_to: b_assignee.clone(), ..Default::default() }, None).await,
        nf,
        "lead to a foreign assignee",
    )?;
    expect_kind(
        store.update_issue(&a, &a_issue, IssuePatch { assigned_to: b_assignee.clone(), ..Default::default() }).await,
        nf,
        "issue to a foreign assignee",
    )?;
    expect_kind(
        store
            .update_issue(
                &a,
                &a_issue,
                IssuePatch { order_id: Change::Set(b_orders[0].id.clone()), ..Default::default() },
            )
            .await,
        nf,
        "issue on a foreign order",
    )?;
    expect_kind(
        store
            .update_activity(
                &a,
                &a_activity,
                ActivityPatch { customer_id: Change::Set(b_customers[0].id.clone()), ..Default::default() },
            )
            .await,
        nf,
        "activity on a foreign customer",
    )?;
    expect_kind(
        store
            .update_employee(&a, &a_employee, EmployeePatch { manager_id: b_assignee.clone(), ..Default::default() })
            .await,
        nf,
        "foreign manager",
    )?;
    expect_kind(
        store.create_payment(&a, new_payment(&a_customer, Some(&b_orders[0].id), 100)).await,
        nf,
        "payment on a foreign order",
    )?;
    let mut deal_import = NewDeal::new("hijacked", a_pipeline.id.clone(), a_pipeline.stages[0].id.clone(), Money::ONE);
    deal_import.customer_id = Some(b_customers[0].id.clone());
    expect_kind(store.import_deals(&a, vec![deal_import]).await, nf, "import deals for a foreign customer")?;
    let lead_import = NewLead { stage_id: Some(b_stage), ..NewLead::named("hijacked") };
    expect_kind(store.import_leads(&a, vec![lead_import]).await, nf, "import leads into a foreign stage")?;
    if store.supports(StoreOp::WriteCustomers) {
        let batch =
            vec![NewCustomer { assigned_to: Some(b_employees[0].id.clone()), ..NewCustomer::named("hijacked") }];
        expect_kind(store.import_customers(&a, batch).await, nf, "import referencing foreign employee")?;
    }

    // B is exactly as it was.
    let after = store.list_customers(&b, &CustomerFilter::default(), &page).await.step("b after")?.items;
    ensure_eq!(after, b_customers);
    ensure_eq!(store.list_leads(&b, &LeadFilter::default(), &page).await.step("b after")?.items, b_leads);
    ensure_eq!(store.list_deals(&b, &DealFilter::default(), &page).await.step("b after")?.items, b_deals);
    ensure_eq!(store.list_issues(&b, &IssueFilter::default(), &page).await.step("b after")?.items, b_issues);
    ensure_eq!(store.list_employees(&b, &EmployeeFilter::default(), &page).await.step("b after")?.items, b_employees);
    ensure_eq!(store.list_roles(&b).await.step("b after")?, b_roles);
    ensure_eq!(store.list_issue_comments(&b, &b_issues[0].id, true, &page).await.step("b comments")?.total, 2);
    leak(text(
        &store
            .list_customers(&a, &CustomerFilter { search: Some("hijacked".into()), ..Default::default() }, &page)
            .await
            .step("a after")?,
    ))?;
    Ok(())
}

/// A customer scope sees only that customer's own records.
pub(super) async fn customer_scope(store: Arc<dyn Store>) -> CheckResult {
    let (_, org) = tenant(&*store, "cs").await?;
    populate(&*store, &org, "cs").await?;
    let page = PageRequest::first(100);
    let customers = store.list_customers(&org, &CustomerFilter::default(), &page).await.step("customers")?.items;
    // The customer with issues, orders and payments of their own.
    let me = customers.iter().find(|c| c.name == "cs customer 0").ok_or("no customer 0")?.clone();
    let other = customers.iter().find(|c| c.name == "cs customer 1").ok_or("no customer 1")?.clone();
    let mine = Scope::customer(org.organization_id().clone(), me.id.clone());

    let seen = store.list_customers(&mine, &CustomerFilter::default(), &page).await.step("own customers")?;
    ensure_eq!(seen.items.iter().map(|c| c.id.clone()).collect::<Vec<_>>(), vec![me.id.clone()]);
    ensure_eq!(seen.total, 1);
    ensure_eq!(store.get_customer(&mine, &me.id).await.step("own record")?.id, me.id);
    expect_kind(store.get_customer(&mine, &other.id).await, ErrorKind::NotFound, "another customer's record")?;

    let issues = store.list_issues(&mine, &IssueFilter::default(), &page).await.step("own issues")?;
    ensure!(!issues.items.is_empty(), "the customer has issues");
    ensure!(issues.items.iter().all(|i| i.customer_id.as_ref() == Some(&me.id)), "only own issues");
    let others = store
        .list_issues(&org, &IssueFilter { customer_id: Some(other.id.clone()), ..Default::default() }, &page)
        .await
        .step("other issues")?;
    expect_kind(store.get_issue(&mine, &others.items[0].id).await, ErrorKind::NotFound, "another customer's issue")?;
    // Asking for the other customer's issues by filter still shows nothing.
    ensure_eq!(
        store
            .list_issues(&mine, &IssueFilter { customer_id: Some(other.id.clone()), ..Default::default() }, &page)
            .await
            .step("filter trick")?
            .total,
        0
    );
    let comments = store.list_issue_comments(&mine, &issues.items[0].id, true, &page).await.step("own comments")?;
    ensure!(comments.items.iter().all(|c| !c.internal), "internal comments never reach a customer");
    ensure_eq!(comments.total, 1);
    expect_kind(
        store.list_issue_comments(&mine, &others.items[0].id, false, &page).await,
        ErrorKind::NotFound,
        "comments on another's issue",
    )?;

    let orders = store.list_orders(&mine, &OrderFilter::default(), &page).await.step("own orders")?;
    ensure_eq!(orders.total, 1);
    ensure!(orders.items.iter().all(|o| o.customer_id == me.id), "only own orders");
    let payments = store.list_payments(&mine, &PaymentFilter::default(), &page).await.step("own payments")?;
    ensure_eq!(payments.total, 1);
    let other_orders = store
        .list_orders(&org, &OrderFilter { customer_id: Some(other.id.clone()), ..Default::default() }, &page)
        .await
        .step("other orders")?;
    expect_kind(store.get_order(&mine, &other_orders.items[0].id).await, ErrorKind::NotFound, "another's order")?;

    // Nothing without a customer link is visible.
    ensure_eq!(store.list_leads(&mine, &LeadFilter::default(), &page).await.step("leads")?.total, 0);
    ensure_eq!(store.list_deals(&mine, &DealFilter::default(), &page).await.step("deals")?.total, 0);
    ensure_eq!(store.list_employees(&mine, &EmployeeFilter::default(), &page).await.step("employees")?.total, 0);
    ensure_eq!(store.list_activities(&mine, &ActivityFilter::default(), &page).await.step("activities")?.total, 0);
    ensure_eq!(store.list_audit_events(&mine, &AuditFilter::default(), &page).await.step("audit")?.total, 0);
    ensure!(store.list_roles(&mine).await.step("roles")?.is_empty(), "roles hidden");
    ensure_eq!(store.deal_stats(&mine).await.step("deal stats")?.total, 0);
    ensure_eq!(store.employee_performance(&mine).await.step("performance")?.len(), 0);

    // Writes: own issues and comments only.
    let mut raised = NewIssue::titled("My own problem");
    raised.customer_id = Some(me.id.clone());
    let raised = store.create_issue(&mine, raised).await.step("raise own issue")?;
    ensure_eq!(raised.customer_id.as_ref(), Some(&me.id));
    let mut for_other = NewIssue::titled("Pretending");
    for_other.customer_id = Some(other.id.clone());
    expect_kind(store.create_issue(&mine, for_other).await, ErrorKind::NotFound, "issue for another customer")?;
    expect_kind(
        store.create_issue(&mine, NewIssue::titled("Nobody's")).await,
        ErrorKind::NotFound,
        "issue without the customer",
    )?;
    store
        .add_issue_comment(
            &mine,
            NewIssueComment {
                issue_id: raised.id.clone(),
                author_user_id: "me".into(),
                author_name: "Me".into(),
                body: "Any news?".into(),
                internal: false,
            },
        )
        .await
        .step("comment own issue")?;
    expect_kind(
        store
            .add_issue_comment(
                &mine,
                NewIssueComment {
                    issue_id: others.items[0].id.clone(),
                    author_user_id: "me".into(),
                    author_name: "Me".into(),
                    body: "x".into(),
                    internal: false,
                },
            )
            .await,
        ErrorKind::NotFound,
        "comment on another's issue",
    )?;
    // Beyond raising and commenting on their own issues, a customer scope writes nothing.
    let denied = ErrorKind::PermissionDenied;
    expect_kind(
        store
            .update_issue(&mine, &others.items[0].id, IssuePatch { title: Some("x".into()), ..Default::default() })
            .await,
        denied,
        "update another's issue",
    )?;
    expect_kind(
        store
            .update_issue(&mine, &raised.id, IssuePatch { status: Some(IssueStatus::Closed), ..Default::default() })
            .await,
        denied,
        "update own issue",
    )?;
    expect_kind(
        store
            .update_customer(&mine, &me.id, CustomerPatch { status: Some(CustomerStatus::Vip), ..Default::default() })
            .await,
        denied,
        "promote itself",
    )?;
    expect_kind(store.create_order(&mine, new_order(&me.id, &[(1, 100)])).await, denied, "order for itself")?;
    expect_kind(store.create_payment(&mine, new_payment(&me.id, None, 100)).await, denied, "payment for itself")?;
    expect_kind(
        store
            .add_issue_comment(
                &mine,
                NewIssueComment {
                    issue_id: raised.id.clone(),
                    author_user_id: "me".into(),
                    author_name: "Me".into(),
                    body: "x".into(),
                    internal: true,
                },
            )
            .await,
        denied,
        "internal comment",
    )?;
    let mut with_foreign_order = NewIssue::titled("About their order");
    with_foreign_order.customer_id = Some(me.id.clone());
    with_foreign_order.order_id = Some(other_orders.items[0].id.clone());
    expect_kind(
        store.create_issue(&mine, with_foreign_order).await,
        ErrorKind::NotFound,
        "issue about another customer's order",
    )?;
    expect_kind(
        store.create_lead(&mine, NewLead::named("x")).await,
        ErrorKind::PermissionDenied,
        "customer creating a lead",
    )?;
    expect_kind(
        store.create_customer(&mine, NewCustomer::named("x")).await,
        ErrorKind::PermissionDenied,
        "customer creating a customer",
    )?;
    Ok(())
}

/// Tenant and customer isolation of customers alone, so a partial (host) store that keeps only
/// customers is held to it too; [`tenant_isolation`] covers every entity of a full store.
pub(super) async fn customer_isolation(store: Arc<dyn Store>) -> CheckResult {
    let (_, a) = tenant(&*store, "ci-a").await?;
    let (_, b) = tenant(&*store, "ci-b").await?;
    let mine = customer(&*store, &a, "alpha one").await?;
    let neighbour = customer(&*store, &a, "alpha two").await?;
    let foreign = customer(&*store, &b, "bravo one").await?;
    let page = PageRequest::first(100);
    let nf = ErrorKind::NotFound;

    let listed = store.list_customers(&a, &CustomerFilter::default(), &page).await.step("list A")?;
    ensure_eq!(listed.total, 2, "A sees its own two customers");
    ensure!(!listed.items.iter().any(|c| c.id == foreign.id), "A listed B's customer");
    let search = CustomerFilter { search: Some("bravo".into()), ..Default::default() };
    ensure_eq!(store.list_customers(&a, &search, &page).await.step("search A")?.total, 0, "search crosses tenants");
    expect_kind(store.get_customer(&a, &foreign.id).await, nf, "get B's customer from A")?;
    let rename = CustomerPatch { name: Some("hijacked".into()), ..Default::default() };
    expect_kind(store.update_customer(&a, &foreign.id, rename.clone()).await, nf, "update B's customer from A")?;
    ensure_eq!(store.get_customer(&b, &foreign.id).await.step("B's customer")?.name, "bravo one");

    // A customer sees only their own record and may not write customers.
    let own = Scope::customer(a.organization_id().clone(), mine.id.clone());
    let seen = store.list_customers(&own, &CustomerFilter::default(), &page).await.step("own list")?;
    ensure_eq!(seen.items.iter().map(|c| c.id.clone()).collect::<Vec<_>>(), vec![mine.id.clone()]);
    ensure_eq!(seen.total, 1);
    expect_kind(store.get_customer(&own, &neighbour.id).await, nf, "another customer's record")?;
    ensure!(
        store.update_customer(&own, &neighbour.id, rename.clone()).await.is_err(),
        "a customer updated another customer"
    );
    ensure!(store.create_customer(&own, NewCustomer::named("sneaky")).await.is_err(), "a customer created a customer");
    ensure_eq!(store.get_customer(&a, &neighbour.id).await.step("neighbour")?.name, "alpha two");
    ensure_eq!(store.list_customers(&a, &CustomerFilter::default(), &page).await.step("after")?.total, 2);
    Ok(())
}

/// Tenant and customer isolation of issues and their comments, for stores that keep customers
/// and issues (with or without the rest).
pub(super) async fn issue_isolation(store: Arc<dyn Store>) -> CheckResult {
    let (_, a) = tenant(&*store, "ii-a").await?;
    let (_, b) = tenant(&*store, "ii-b").await?;
    let me = customer(&*store, &a, "alpha me").await?;
    let other = customer(&*store, &a, "alpha other").await?;
    let foreign_customer = customer(&*store, &b, "bravo customer").await?;
    let issue_for = |title: &str, customer: &Customer| {
        let mut new = NewIssue::titled(title);
        new.customer_id = Some(customer.id.clone());
        new
    };
    let my_issue = store.create_issue(&a, issue_for("mine", &me)).await.step("my issue")?;
    let other_issue = store.create_issue(&a, issue_for("theirs", &other)).await.step("other issue")?;
    let foreign = store.create_issue(&b, issue_for("bravo issue", &foreign_customer)).await.step("B's issue")?;
    let comment = |issue: &Issue, body: &str, internal: bool| NewIssueComment {
        issue_id: issue.id.clone(),
        author_user_id: "staff".into(),
        author_name: "Staff".into(),
        body: body.into(),
        internal,
    };
    store.add_issue_comment(&a, comment(&my_issue, "public note", false)).await.step("public comment")?;
    store.add_issue_comment(&a, comment(&my_issue, "internal note", true)).await.step("internal comment")?;
    let page = PageRequest::first(100);
    let nf = ErrorKind::NotFound;

    let listed = store.list_issues(&a, &IssueFilter::default(), &page).await.step("list A")?;
    ensure_eq!(listed.total, 2);
    ensure!(!listed.items.iter().any(|i| i.id == foreign.id), "A listed B's issue");
    expect_kind(store.get_issue(&a, &foreign.id).await, nf, "get B's issue from A")?;
    let retitle = IssuePatch { title: Some("hijacked".into()), ..Default::default() };
    expect_kind(store.update_issue(&a, &foreign.id, retitle.clone()).await, nf, "update B's issue from A")?;
    expect_kind(store.add_issue_comment(&a, comment(&foreign, "x", false)).await, nf, "comment on B's issue")?;
    expect_kind(store.list_issue_comments(&a, &foreign.id, true, &page).await, nf, "B's comments from A")?;
    expect_kind(store.create_issue(&a, issue_for("cross", &foreign_customer)).await, nf, "issue for B's customer")?;
    ensure_eq!(store.get_issue(&b, &foreign.id).await.step("B's issue")?.title, "bravo issue");
    ensure_eq!(store.list_issue_comments(&b, &foreign.id, true, &page).await.step("B's comments")?.total, 0);

    // A customer sees their own issues and public comments only, and raises issues for itself.
    let own = Scope::customer(a.organization_id().clone(), me.id.clone());
    let seen = store.list_issues(&own, &IssueFilter::default(), &page).await.step("own issues")?;
    ensure_eq!(seen.items.iter().map(|i| i.id.clone()).collect::<Vec<_>>(), vec![my_issue.id.clone()]);
    ensure_eq!(seen.total, 1);
    let trick = IssueFilter { customer_id: Some(other.id.clone()), ..Default::default() };
    ensure_eq!(store.list_issues(&own, &trick, &page).await.step("filter trick")?.total, 0);
    expect_kind(store.get_issue(&own, &other_issue.id).await, nf, "another customer's issue")?;
    let comments = store.list_issue_comments(&own, &my_issue.id, true, &page).await.step("own comments")?;
    ensure_eq!(comments.total, 1, "internal comments never reach a customer");
    ensure!(comments.items.iter().all(|c| !c.internal), "an internal comment reached a customer");
    expect_kind(store.list_issue_comments(&own, &other_issue.id, false, &page).await, nf, "another's comments")?;
    ensure!(
        store.update_issue(&own, &other_issue.id, retitle).await.is_err(),
        "a customer updated another customer's issue"
    );
    let raised = store.create_issue(&own, issue_for("help", &me)).await.step("customer raises an issue")?;
    ensure_eq!(raised.customer_id.as_ref(), Some(&me.id), "a customer's issue is theirs");
    ensure!(
        store.create_issue(&own, issue_for("spoof", &other)).await.is_err(),
        "raised an issue for another customer"
    );
    ensure_eq!(store.get_issue(&a, &other_issue.id).await.step("other issue after")?.title, "theirs");
    Ok(())
}
