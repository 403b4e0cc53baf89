//! Pending actions: proposed, decided once, run once, listed by filter.

use super::*;

pub(super) async fn pending_action_lifecycle(store: Arc<dyn Store>) -> CheckResult {
    let (org, scope) = tenant(&*store, "pact").await?;
    let t0 = micros_now();
    let conversation = store.create_conversation(&scope, new_conversation("u1", "Writes")).await.step("create")?;
    let new = new_action("u1", Some(&conversation.id), t0);
    let action = store.create_pending_action(&scope, new.clone()).await.step("create action")?;
    ensure_eq!(action.organization_id, org.id);
    ensure_eq!(
        (&action.user_id, &action.conversation_id, &action.tool, &action.arguments, &action.summary),
        (&new.user_id, &new.conversation_id, &new.tool, &new.arguments, &new.summary)
    );
    ensure_eq!((action.status, action.created_at, action.expires_at), (ActionStatus::Pending, t0, new.expires_at));
    ensure_eq!((action.outcome.clone(), action.decided_at), (None, None));
    ensure!(action.is_open(t0), "a new action is open");
    ensure_eq!(store.get_pending_action(&scope, "u1", &action.id).await.step("get")?, action.clone());

    // Shapes are checked.
    let invalid = ErrorKind::InvalidArgument;
    let mut bad = new.clone();
    bad.arguments = serde_json::json!(["not", "an", "object"]);
    expect_kind(store.create_pending_action(&scope, bad).await, invalid, "arguments that are not an object")?;
    let mut bad = new.clone();
    bad.expires_at = bad.created_at;
    expect_kind(store.create_pending_action(&scope, bad).await, invalid, "expiring when created")?;
    let mut bad = new.clone();
    bad.tool = String::new();
    expect_kind(store.create_pending_action(&scope, bad).await, invalid, "no tool")?;
    let mut bad = new.clone();
    bad.conversation_id = Some(ConversationId::from("cnv_000000000000000000000000"));
    expect_kind(store.create_pending_action(&scope, bad).await, ErrorKind::NotFound, "a missing conversation")?;

    // Not confirmed yet: nothing to finish; a decision must be executing or rejected.
    expect_conflict(
        store.finish_pending_action(&scope, "u1", &action.id, ActionStatus::Succeeded, serde_json::json!({})).await,
        "not been confirmed",
        "finish a pending action",
    )?;
    for to in [ActionStatus::Pending, ActionStatus::Succeeded, ActionStatus::Failed] {
        expect_kind(
            store.decide_pending_action(&scope, "u1", &action.id, to, t0).await,
            invalid,
            &format!("decide to {to}"),
        )?;
    }
    ensure_eq!(store.get_pending_action(&scope, "u1", &action.id).await.step("get")?, action.clone());

    // Confirm, then finish.
    let t1 = t0 + Duration::minutes(1);
    let running =
        store.decide_pending_action(&scope, "u1", &action.id, ActionStatus::Executing, t1).await.step("confirm")?;
    ensure_eq!(
        (running.status, running.decided_at, running.outcome.clone()),
        (ActionStatus::Executing, Some(t1), None)
    );
    ensure_eq!(store.get_pending_action(&scope, "u1", &action.id).await.step("get")?, running.clone());
    expect_conflict(
        store.decide_pending_action(&scope, "u1", &action.id, ActionStatus::Executing, t1).await,
        "already confirmed",
        "confirm twice",
    )?;
    expect_conflict(
        store.decide_pending_action(&scope, "u1", &action.id, ActionStatus::Rejected, t1).await,
        "already confirmed",
        "reject after confirming",
    )?;
    expect_kind(
        store.finish_pending_action(&scope, "u1", &action.id, ActionStatus::Rejected, serde_json::json!({})).await,
        invalid,
        "finish as rejected",
    )?;
    ensure_eq!(store.get_pending_action(&scope, "u1", &action.id).await.step("get")?, running.clone());
    let outcome = serde_json::json!({ "id": "cus_1", "name": "Acme" });
    let done = store
        .finish_pending_action(&scope, "u1", &action.id, ActionStatus::Succeeded, outcome.clone())
        .await
        .step("finish")?;
    ensure_eq!(
        (done.status, done.outcome.clone(), done.decided_at),
        (ActionStatus::Succeeded, Some(outcome), Some(t1))
    );
    ensure_eq!(store.get_pending_action(&scope, "u1", &action.id).await.step("get")?, done.clone());
    expect_conflict(
        store.finish_pending_action(&scope, "u1", &action.id, ActionStatus::Failed, serde_json::json!({})).await,
        "already finished",
        "finish twice",
    )?;
    expect_conflict(
        store.decide_pending_action(&scope, "u1", &action.id, ActionStatus::Executing, t1).await,
        "already confirmed",
        "confirm a finished action",
    )?;
    ensure_eq!(store.get_pending_action(&scope, "u1", &action.id).await.step("get")?, done);

    // A failure is recorded too.
    let failing = store.create_pending_action(&scope, new_action("u1", None, t0)).await.step("create")?;
    store.decide_pending_action(&scope, "u1", &failing.id, ActionStatus::Executing, t1).await.step("confirm")?;
    let error = serde_json::json!({ "error": { "kind": "conflict", "message": "boom" } });
    let failed = store
        .finish_pending_action(&scope, "u1", &failing.id, ActionStatus::Failed, error.clone())
        .await
        .step("fail")?;
    ensure_eq!((failed.status, failed.outcome), (ActionStatus::Failed, Some(error)));

    // Reject.
    let rejected = store.create_pending_action(&scope, new_action("u1", None, t0)).await.step("create")?;
    let decided =
        store.decide_pending_action(&scope, "u1", &rejected.id, ActionStatus::Rejected, t1).await.step("reject")?;
    ensure_eq!((decided.status, decided.decided_at), (ActionStatus::Rejected, Some(t1)));
    expect_conflict(
        store.decide_pending_action(&scope, "u1", &rejected.id, ActionStatus::Executing, t1).await,
        "already rejected",
        "confirm after rejecting",
    )?;
    expect_conflict(
        store.finish_pending_action(&scope, "u1", &rejected.id, ActionStatus::Succeeded, serde_json::json!({})).await,
        "rejected",
        "finish a rejected action",
    )?;
    ensure_eq!(store.get_pending_action(&scope, "u1", &rejected.id).await.step("get")?, decided);

    // Expired: neither confirmed nor rejected, and still pending.
    let expiring = store.create_pending_action(&scope, new_action("u1", None, t0)).await.step("create")?;
    for (to, at) in [
        (ActionStatus::Executing, expiring.expires_at),
        (ActionStatus::Executing, expiring.expires_at + Duration::hours(1)),
        (ActionStatus::Rejected, expiring.expires_at),
    ] {
        expect_conflict(
            store.decide_pending_action(&scope, "u1", &expiring.id, to, at).await,
            "expired",
            &format!("decide {to} an expired action"),
        )?;
    }
    let still = store.get_pending_action(&scope, "u1", &expiring.id).await.step("get expired")?;
    ensure_eq!((still.status, still.decided_at), (ActionStatus::Pending, None));
    ensure_eq!(still, expiring.clone());
    ensure!(!still.is_open(still.expires_at), "an action is closed at its expiry");
    // Past its expiry an action reads as expired, and lists say so.
    let stale = new_action("u1", None, t0 - Duration::hours(1));
    let stale = store.create_pending_action(&scope, stale).await.step("create stale")?;
    ensure_eq!(stale.status, ActionStatus::Expired);
    ensure_eq!(
        store.get_pending_action(&scope, "u1", &stale.id).await.step("get stale")?.status,
        ActionStatus::Expired
    );
    let listed = |status| PendingActionFilter { status: Some(status), ..Default::default() };
    let (only_pending, only_expired, first) =
        (listed(ActionStatus::Pending), listed(ActionStatus::Expired), PageRequest::default());
    let pending = store.list_pending_actions(&scope, "u1", &only_pending, &first).await.step("list pending")?;
    ensure!(pending.items.iter().all(|a| a.id != stale.id), "an expired action is not listed as pending");
    ensure!(pending.items.iter().any(|a| a.id == expiring.id), "an open action is listed as pending");
    let expired = store.list_pending_actions(&scope, "u1", &only_expired, &first).await.step("list expired")?;
    ensure_eq!(expired.items.iter().map(|a| a.id.clone()).collect::<Vec<_>>(), vec![stale.id.clone()]);
    // Just before the expiry it can still be confirmed.
    let last_moment = expiring.expires_at - Duration::microseconds(1);
    ensure_eq!(
        store
            .decide_pending_action(&scope, "u1", &expiring.id, ActionStatus::Executing, last_moment)
            .await
            .step("confirm at the last moment")?
            .status,
        ActionStatus::Executing
    );

    // Unknown ids.
    let missing = ActionId::from("pac_000000000000000000000000");
    let nf = ErrorKind::NotFound;
    expect_kind(store.get_pending_action(&scope, "u1", &missing).await, nf, "get missing")?;
    expect_kind(
        store.decide_pending_action(&scope, "u1", &missing, ActionStatus::Executing, t1).await,
        nf,
        "confirm missing",
    )?;
    expect_kind(
        store.finish_pending_action(&scope, "u1", &missing, ActionStatus::Succeeded, serde_json::json!({})).await,
        nf,
        "finish missing",
    )?;
    Ok(())
}

/// An action left `executing` past [`ACTION_RUN_LIMIT`] (its process stopped mid-run) reads and
/// lists as `failed` with the interrupted outcome, and its end can no longer be recorded.
pub(super) async fn a_run_cut_off_reads_as_failed(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "cutoff").await?;
    let now = micros_now();
    let proposed = now - ACTION_RUN_LIMIT - Duration::minutes(1);
    let stuck = store.create_pending_action(&scope, new_action("u1", None, proposed)).await.step("create")?;
    let confirmed_at = now - ACTION_RUN_LIMIT - Duration::seconds(1);
    store
        .decide_pending_action(&scope, "u1", &stuck.id, ActionStatus::Executing, confirmed_at)
        .await
        .step("confirm")?;
    let running = store.create_pending_action(&scope, new_action("u1", None, now)).await.step("create")?;
    store.decide_pending_action(&scope, "u1", &running.id, ActionStatus::Executing, now).await.step("confirm")?;

    let read = store.get_pending_action(&scope, "u1", &stuck.id).await.step("get the stuck action")?;
    ensure_eq!(
        (read.status, read.outcome, read.decided_at),
        (ActionStatus::Failed, Some(interrupted_outcome()), Some(confirmed_at))
    );
    ensure_eq!(store.get_pending_action(&scope, "u1", &running.id).await.step("get")?.status, ActionStatus::Executing);
    let listed = |status| PendingActionFilter { status: Some(status), ..Default::default() };
    let ids_with = |page: Page<PendingAction>| page.items.into_iter().map(|a| a.id).collect::<Vec<_>>();
    let first = PageRequest::default();
    let failed = store.list_pending_actions(&scope, "u1", &listed(ActionStatus::Failed), &first).await;
    ensure_eq!(ids_with(failed.step("list failed")?), vec![stuck.id.clone()]);
    let executing = store.list_pending_actions(&scope, "u1", &listed(ActionStatus::Executing), &first).await;
    ensure_eq!(ids_with(executing.step("list executing")?), vec![running.id.clone()]);
    let all = store.list_pending_actions(&scope, "u1", &PendingActionFilter::default(), &first).await;
    let all = all.step("list all")?;
    ensure!(
        all.items.iter().any(|a| a.id == stuck.id && a.status == ActionStatus::Failed),
        "an unfiltered list shows the stuck action as failed"
    );

    expect_conflict(
        store.finish_pending_action(&scope, "u1", &stuck.id, ActionStatus::Succeeded, serde_json::json!({})).await,
        "already finished",
        "finish a run that was cut off",
    )?;
    expect_conflict(
        store.decide_pending_action(&scope, "u1", &stuck.id, ActionStatus::Rejected, now).await,
        "already confirmed",
        "reject a run that was cut off",
    )?;
    let finished = store
        .finish_pending_action(&scope, "u1", &running.id, ActionStatus::Succeeded, serde_json::json!({"ok": true}))
        .await
        .step("finish a run within the limit")?;
    ensure_eq!(finished.status, ActionStatus::Succeeded);
    Ok(())
}

pub(super) async fn concurrent_decisions_have_one_winner(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "race").await?;
    let now = micros_now();
    // 20 confirmations of one action.
    let action = store.create_pending_action(&scope, new_action("u1", None, now)).await.step("create")?;
    let attempts = (0..20).map(|_| {
        let (store, scope, id) = (store.clone(), scope.clone(), action.id.clone());
        async move { store.decide_pending_action(&scope, "u1", &id, ActionStatus::Executing, now).await }
    });
    let results = join_all(attempts).await;
    let mut winners = Vec::new();
    for result in results {
        match result {
            Ok(won) => winners.push(won),
            Err(e) if e.kind() == ErrorKind::Conflict => {}
            Err(e) => return Err(format!("a concurrent confirmation failed with {} ({e})", e.kind())),
        }
    }
    ensure_eq!(winners.len(), 1, "exactly one confirmation wins");
    ensure_eq!(winners[0].status, ActionStatus::Executing);
    ensure_eq!(store.get_pending_action(&scope, "u1", &action.id).await.step("get")?, winners[0].clone());

    // Confirmations racing rejections: one decision, and it is the one that stuck.
    let action = store.create_pending_action(&scope, new_action("u1", None, now)).await.step("create")?;
    let attempts = (0..20).map(|i| {
        let (store, scope, id) = (store.clone(), scope.clone(), action.id.clone());
        let to = if i % 2 == 0 { ActionStatus::Executing } else { ActionStatus::Rejected };
        async move { store.decide_pending_action(&scope, "u1", &id, to, now).await }
    });
    let results = join_all(attempts).await;
    let mut winners = Vec::new();
    for result in results {
        match result {
            Ok(won) => winners.push(won),
            Err(e) if e.kind() == ErrorKind::Conflict => {}
            Err(e) => return Err(format!("a concurrent decision failed with {} ({e})", e.kind())),
        }
    }
    ensure_eq!(winners.len(), 1, "exactly one decision wins");
    ensure_eq!(store.get_pending_action(&scope, "u1", &action.id).await.step("get")?.status, winners[0].status);
    Ok(())
}

pub(super) async fn pending_action_filters(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "pfilter").await?;
    let now = micros_now();
    let c1 = store.create_conversation(&scope, new_conversation("u1", "One")).await.step("create")?;
    let c2 = store.create_conversation(&scope, new_conversation("u1", "Two")).await.step("create")?;
    let mut created = Vec::new();
    for conversation in [Some(&c1.id), Some(&c2.id), Some(&c1.id), None, Some(&c2.id), Some(&c1.id)] {
        created.push(store.create_pending_action(&scope, new_action("u1", conversation, now)).await.step("create")?);
    }
    store.create_pending_action(&scope, new_action("u2", None, now)).await.step("create u2")?;
    store.decide_pending_action(&scope, "u1", &created[0].id, ActionStatus::Executing, now).await.step("confirm")?;
    store.decide_pending_action(&scope, "u1", &created[1].id, ActionStatus::Rejected, now).await.step("reject")?;

    let all = pages_of!(2, |page| store.list_pending_actions(&scope, "u1", &PendingActionFilter::default(), &page));
    ensure_eq!(
        all.iter().map(|a| a.id.clone()).collect::<Vec<_>>(),
        created.iter().rev().map(|a| a.id.clone()).collect::<Vec<_>>(),
        "u1's actions, newest first"
    );
    let list = |filter: PendingActionFilter| {
        let (store, scope) = (store.clone(), scope.clone());
        async move {
            store
                .list_pending_actions(&scope, "u1", &filter, &PageRequest::default())
                .await
                .map(|p| (p.total, p.items.into_iter().map(|a| a.id).collect::<BTreeSet<_>>()))
        }
    };
    let expect = |indexes: &[usize]| -> BTreeSet<ActionId> { indexes.iter().map(|i| created[*i].id.clone()).collect() };
    let by = |conversation: Option<&ConversationId>, status: Option<ActionStatus>| PendingActionFilter {
        conversation_id: conversation.cloned(),
        status,
    };
    ensure_eq!(list(by(Some(&c1.id), None)).await.step("c1")?, (3, expect(&[0, 2, 5])));
    ensure_eq!(list(by(Some(&c2.id), None)).await.step("c2")?, (2, expect(&[1, 4])));
    ensure_eq!(list(by(Some(&c1.id), Some(ActionStatus::Pending))).await.step("c1 pending")?, (2, expect(&[2, 5])));
    ensure_eq!(list(by(None, Some(ActionStatus::Pending))).await.step("pending")?, (4, expect(&[2, 3, 4, 5])));
    ensure_eq!(list(by(None, Some(ActionStatus::Executing))).await.step("executing")?, (1, expect(&[0])));
    ensure_eq!(list(by(Some(&c2.id), Some(ActionStatus::Rejected))).await.step("c2 rejected")?, (1, expect(&[1])));
    ensure_eq!(list(by(Some(&c2.id), Some(ActionStatus::Succeeded))).await.step("none")?, (0, BTreeSet::new()));
    let first = store
        .list_pending_actions(&scope, "u1", &PendingActionFilter::default(), &PageRequest::first(4))
        .await
        .step("first page")?;
    ensure_eq!((first.items.len(), first.total), (4, 6));
    ensure_eq!(
        store
            .list_pending_actions(&scope, "u2", &PendingActionFilter::default(), &PageRequest::default())
            .await
            .step("u2")?
            .total,
        1
    );
    Ok(())
}
