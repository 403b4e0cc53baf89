//! Organizations, members, roles and employees, and the audit trail.

use super::*;

pub(super) async fn organizations_and_members(store: Arc<dyn Store>) -> CheckResult {
    let (org, scope) = tenant(&*store, "orgs").await?;
    ensure_eq!(store.find_organization(&org.slug).await.step("find by slug")?.id, org.id);
    ensure_eq!(store.find_organization(org.id.as_str()).await.step("find by id")?.slug, org.slug);
    expect_kind(store.find_organization("no-such-org").await, ErrorKind::NotFound, "unknown slug")?;
    let duplicate = NewOrganization {
        name: "Again".into(),
        slug: org.slug.clone(),
        industry: None,
        website: None,
        settings: OrganizationSettings::default(),
        active: true,
        created_at: None,
    };
    expect_kind(store.create_organization(duplicate).await, ErrorKind::Conflict, "duplicate slug")?;
    let mut bad = NewOrganization { slug: "Not A Slug!".into(), ..NewOrganization::named("Bad", "x") };
    bad.name = "Bad".into();
    expect_kind(store.create_organization(bad).await, ErrorKind::InvalidArgument, "bad slug")?;

    let patched = store
        .update_organization(
            &scope,
            OrganizationPatch {
                settings: Some(OrganizationSettings {
                    assistant_instructions: Some("Be brief.".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        )
        .await
        .step("update organization")?;
    ensure_eq!(patched.settings.assistant_instructions.as_deref(), Some("Be brief."));

    let roles = store.list_roles(&scope).await.step("list roles")?;
    let rep = roles.iter().find(|r| r.name == "sales_rep").ok_or("no sales_rep system role")?;
    let worker = employee(&*store, &scope, "Morgan").await?;
    store.assign_role(&scope, &worker.id, &rep.id).await.step("assign role")?;
    store
        .put_member(
            &scope,
            NewMember {
                user_id: "u-morgan".into(),
                role: crate::Role::Employee,
                employee_id: Some(worker.id.clone()),
                customer_id: None,
                display_name: "Morgan".into(),
            },
        )
        .await
        .step("put member")?;
    let member = store.get_member(&scope, "u-morgan").await.step("get member")?;
    ensure_eq!(member.employee_id.as_ref(), Some(&worker.id));
    let ctx = crate::UserContext::resolve(&*store, "u-morgan", None).await.step("resolve context")?;
    ensure_eq!(ctx.role, crate::Role::Employee);
    ensure!(
        ctx.grants.contains(&"lead:read".parse().map_err(|e| format!("{e}"))?),
        "grants come from the employee's roles: {:?}",
        ctx.grants
    );
    ensure_eq!(store.list_memberships("u-morgan").await.step("memberships")?.len(), 1);
    expect_kind(store.get_member(&scope, "nobody").await, ErrorKind::NotFound, "unknown member")?;
    Ok(())
}

pub(super) async fn roles_and_employees(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "role").await?;
    let names: Vec<String> = store.list_roles(&scope).await.step("roles")?.into_iter().map(|r| r.name).collect();
    ensure_eq!(names, vec!["sales_manager", "sales_rep", "support_agent", "viewer"]);
    let auditor = NewRoleDefinition {
        name: "auditor".into(),
        description: None,
        grants: vec!["audit:read".parse().map_err(|e| format!("{e}"))?],
        is_system: false,
    };
    let auditor = store.create_role(&scope, auditor.clone()).await.step("create role")?;
    expect_kind(
        store
            .create_role(
                &scope,
                NewRoleDefinition { name: "auditor".into(), description: None, grants: Vec::new(), is_system: false },
            )
            .await,
        ErrorKind::Conflict,
        "duplicate role",
    )?;
    let widened = store
        .update_role(
            &scope,
            &auditor.id,
            RoleDefinitionPatch {
                description: Change::Set("Reads the audit log".into()),
                grants: Some(vec!["audit:*".parse().map_err(|e| format!("{e}"))?]),
            },
        )
        .await
        .step("update role")?;
    ensure_eq!(widened.grants.len(), 1);
    ensure_eq!(widened.grants[0].to_string(), "audit:*");

    let mut lead = NewEmployee::named("Erin", "Lead", "erin@example.com");
    lead.department = Some("Support".into());
    lead.salary = Some(Money::new(70_000, 0));
    let lead = store.create_employee(&scope, lead).await.step("create employee")?;
    let mut junior = NewEmployee::named("Finn", "Junior", "finn@example.com");
    junior.manager_id = Some(lead.id.clone());
    junior.status = EmployeeStatus::OnLeave;
    let junior = store.create_employee(&scope, junior).await.step("create junior")?;
    let with_role = store.assign_role(&scope, &junior.id, &auditor.id).await.step("assign")?;
    let again = store.assign_role(&scope, &junior.id, &auditor.id).await.step("assign again")?;
    ensure_eq!(with_role.role_ids, vec![auditor.id.clone()]);
    ensure_eq!(again.role_ids, vec![auditor.id.clone()]);
    ensure_eq!(store.get_employee(&scope, &junior.id).await.step("get")?.role_ids, vec![auditor.id.clone()]);
    let support = store
        .list_employees(
            &scope,
            &EmployeeFilter { department: Some("Support".into()), ..Default::default() },
            &PageRequest::default(),
        )
        .await
        .step("department")?;
    ensure_eq!(support.items.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), vec![lead.id.clone()]);
    let on_leave = store
        .list_employees(
            &scope,
            &EmployeeFilter { status: Some(EmployeeStatus::OnLeave), ..Default::default() },
            &PageRequest::default(),
        )
        .await
        .step("status")?;
    ensure_eq!(on_leave.items.len(), 1);
    ensure_eq!(on_leave.items[0].role_ids, vec![auditor.id.clone()]);
    let found = store
        .list_employees(
            &scope,
            &EmployeeFilter { search: Some("FINN".into()), ..Default::default() },
            &PageRequest::default(),
        )
        .await
        .step("search")?;
    ensure_eq!(found.total, 1);
    let raised = store
        .update_employee(
            &scope,
            &lead.id,
            EmployeePatch { salary: Change::Set(Money::new(75_000, 0)), ..Default::default() },
        )
        .await
        .step("raise")?;
    ensure_eq!(raised.salary, Some(Money::new(75_000, 0)));
    expect_kind(
        store.assign_role(&scope, &junior.id, &RoleId::from("rol_missing")).await,
        ErrorKind::NotFound,
        "unknown role",
    )?;
    expect_kind(
        store
            .update_employee(
                &scope,
                &lead.id,
                EmployeePatch { manager_id: Change::Set(lead.id.clone()), ..Default::default() },
            )
            .await,
        ErrorKind::InvalidArgument,
        "own manager",
    )?;
    Ok(())
}

pub(super) async fn audit_events(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "aud").await?;
    for (i, outcome) in [AuditOutcome::Ok, AuditOutcome::Denied, AuditOutcome::Ok].iter().enumerate() {
        store
            .record_audit(
                &scope,
                NewAuditEvent {
                    user_id: format!("u{}", i % 2),
                    action: "update_customer".into(),
                    outcome: *outcome,
                    error_kind: None,
                    duration_us: 12,
                    arguments: serde_json::json!({"id": i}),
                    record_type: Some("customer".into()),
                    record_id: Some(format!("cus_{}", i % 2)),
                    changes: vec![FieldChange::between(
                        "status",
                        &serde_json::json!("active"),
                        &serde_json::json!(format!("s{i}")),
                    )],
                    at: Utc::now(),
                },
            )
            .await
            .step("record")?;
    }
    let all = store.list_audit_events(&scope, &AuditFilter::default(), &PageRequest::default()).await.step("list")?;
    ensure_eq!(all.total, 3);
    ensure_eq!(all.items[0].arguments, serde_json::json!({"id": 2}), "newest first");
    let denied = store
        .list_audit_events(
            &scope,
            &AuditFilter { outcome: Some(AuditOutcome::Denied), ..Default::default() },
            &PageRequest::default(),
        )
        .await
        .step("denied")?;
    ensure_eq!(denied.total, 1);
    let u0 = store
        .list_audit_events(
            &scope,
            &AuditFilter { user_id: Some("u0".into()), ..Default::default() },
            &PageRequest::default(),
        )
        .await
        .step("user")?;
    ensure_eq!(u0.total, 2);
    // One record's events, with the record and its changes as recorded.
    let record = store
        .list_audit_events(
            &scope,
            &AuditFilter { record_id: Some("cus_1".into()), ..Default::default() },
            &PageRequest::default(),
        )
        .await
        .step("record")?;
    ensure_eq!(record.total, 1);
    let event = &record.items[0];
    ensure_eq!((event.record_type.as_deref(), event.record_id.as_deref()), (Some("customer"), Some("cus_1")));
    ensure_eq!(event.changes[0].after.as_deref(), Some("s1"));
    Ok(())
}
