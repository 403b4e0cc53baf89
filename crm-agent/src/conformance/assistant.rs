//! The assistant's own records: conversations and messages, units of work, rate budgets.

use super::*;

pub(super) async fn conversations_crud_and_pages(store: Arc<dyn Store>) -> CheckResult {
    let (org, scope) = tenant(&*store, "conv").await?;
    let first = store.create_conversation(&scope, new_conversation("u1", "First")).await.step("create")?;
    ensure_eq!(first.organization_id, org.id);
    ensure_eq!(first.user_id, "u1".to_string());
    ensure_eq!(first.title, "First".to_string());
    ensure_eq!(first.message_count, 0);
    ensure_eq!(first.created_at, first.updated_at);
    ensure!(first.id.as_str().len() > 4, "an id is assigned");
    ensure_eq!(store.get_conversation(&scope, "u1", &first.id).await.step("get")?, first.clone());

    // Shapes are checked.
    let invalid = ErrorKind::InvalidArgument;
    expect_kind(store.create_conversation(&scope, new_conversation("u1", "  ")).await, invalid, "blank title")?;
    expect_kind(
        store.create_conversation(&scope, new_conversation("u1", &"x".repeat(MAX_TITLE + 1))).await,
        invalid,
        "long title",
    )?;
    expect_kind(store.create_conversation(&scope, new_conversation("", "No owner")).await, invalid, "no user")?;

    // Rename.
    let renamed = store
        .update_conversation(&scope, "u1", &first.id, ConversationPatch { title: Some("Renamed".into()) })
        .await
        .step("rename")?;
    ensure_eq!(renamed.title, "Renamed".to_string());
    ensure_eq!(
        (renamed.id.clone(), renamed.created_at, renamed.message_count),
        (first.id.clone(), first.created_at, 0)
    );
    ensure!(renamed.updated_at >= first.updated_at, "renaming moves updated_at forward");
    ensure_eq!(store.get_conversation(&scope, "u1", &first.id).await.step("get renamed")?, renamed.clone());
    let untouched =
        store.update_conversation(&scope, "u1", &first.id, ConversationPatch::default()).await.step("empty patch")?;
    ensure_eq!(untouched, renamed.clone());
    expect_kind(
        store.update_conversation(&scope, "u1", &first.id, ConversationPatch { title: Some(String::new()) }).await,
        invalid,
        "rename to nothing",
    )?;
    ensure_eq!(store.get_conversation(&scope, "u1", &first.id).await.step("get")?.title, "Renamed".to_string());
    expect_kind(
        store
            .update_conversation(&scope, "u1", &ConversationId::from("cnv_missing"), ConversationPatch::default())
            .await,
        ErrorKind::NotFound,
        "rename a missing conversation",
    )?;

    // Pages, newest first, per user.
    let mut created = vec![first.id.clone()];
    for i in 1..25 {
        created.push(
            store.create_conversation(&scope, new_conversation("u1", &format!("Chat {i}"))).await.step("create")?.id,
        );
    }
    for i in 0..3 {
        store.create_conversation(&scope, new_conversation("u2", &format!("Other {i}"))).await.step("create u2")?;
    }
    let listed = pages_of!(10, |page| store.list_conversations(&scope, "u1", &page));
    ensure_eq!(listed.len(), 25);
    ensure!(listed.iter().all(|c| c.user_id == "u1"), "only u1's conversations");
    let listed_ids: Vec<ConversationId> = listed.iter().map(|c| c.id.clone()).collect();
    ensure_eq!(listed_ids, created.iter().rev().cloned().collect::<Vec<_>>(), "newest first");
    ensure_eq!(listed.last().map(|c| c.title.clone()), Some("Renamed".to_string()));
    let page = store.list_conversations(&scope, "u1", &PageRequest::first(10)).await.step("first page")?;
    ensure_eq!((page.items.len(), page.total), (10, 25));
    ensure!(page.next_cursor.is_some(), "a full page has a next cursor");
    ensure_eq!(store.list_conversations(&scope, "u2", &PageRequest::default()).await.step("u2")?.total, 3);
    ensure_eq!(store.list_conversations(&scope, "u3", &PageRequest::default()).await.step("u3")?.total, 0);

    // Delete.
    store.delete_conversation(&scope, "u1", &first.id).await.step("delete")?;
    expect_kind(store.get_conversation(&scope, "u1", &first.id).await, ErrorKind::NotFound, "get deleted")?;
    expect_kind(store.delete_conversation(&scope, "u1", &first.id).await, ErrorKind::NotFound, "delete twice")?;
    ensure_eq!(store.list_conversations(&scope, "u1", &PageRequest::first(10)).await.step("after delete")?.total, 24);
    Ok(())
}

pub(super) async fn assistant_records_are_per_user(store: Arc<dyn Store>) -> CheckResult {
    let (_, a) = tenant(&*store, "own-a").await?;
    let (_, b) = tenant(&*store, "own-b").await?;
    let now = micros_now();
    let conversation = store.create_conversation(&a, new_conversation("owner", "Mine")).await.step("create")?;
    store
        .append_messages(&a, "owner", &conversation.id, vec![message(MessageRole::User, "secret plans")], now)
        .await
        .step("append")?;
    let action =
        store.create_pending_action(&a, new_action("owner", Some(&conversation.id), now)).await.step("action")?;
    let before = store.get_conversation(&a, "owner", &conversation.id).await.step("get")?;

    // A colleague in the same organization, and the same user id in another organization.
    let page = PageRequest::default();
    let nf = ErrorKind::NotFound;
    for (scope, user, who) in [(&a, "colleague", "a colleague"), (&b, "owner", "another organization")] {
        let id = &conversation.id;
        expect_kind(store.get_conversation(scope, user, id).await, nf, &format!("{who}: get conversation"))?;
        expect_kind(
            store.update_conversation(scope, user, id, ConversationPatch { title: Some("Mine now".into()) }).await,
            nf,
            &format!("{who}: rename"),
        )?;
        expect_kind(
            store.update_conversation(scope, user, id, ConversationPatch::default()).await,
            nf,
            &format!("{who}: empty patch"),
        )?;
        expect_kind(
            store.append_messages(scope, user, id, vec![message(MessageRole::User, "injected")], now).await,
            nf,
            &format!("{who}: append"),
        )?;
        expect_kind(store.append_messages(scope, user, id, vec![], now).await, nf, &format!("{who}: append none"))?;
        expect_kind(store.list_messages(scope, user, id, &page).await, nf, &format!("{who}: list messages"))?;
        expect_kind(store.delete_conversation(scope, user, id).await, nf, &format!("{who}: delete"))?;
        expect_kind(
            store.create_pending_action(scope, new_action(user, Some(id), now)).await,
            nf,
            &format!("{who}: action in a foreign conversation"),
        )?;
        expect_kind(store.get_pending_action(scope, user, &action.id).await, nf, &format!("{who}: get action"))?;
        for to in [ActionStatus::Executing, ActionStatus::Rejected] {
            expect_kind(
                store.decide_pending_action(scope, user, &action.id, to, now).await,
                nf,
                &format!("{who}: decide {to}"),
            )?;
        }
        expect_kind(
            store.finish_pending_action(scope, user, &action.id, ActionStatus::Succeeded, serde_json::json!({})).await,
            nf,
            &format!("{who}: finish"),
        )?;
        ensure_eq!(store.list_conversations(scope, user, &page).await.step("list conversations")?.total, 0, "{who}");
        ensure_eq!(
            store
                .list_pending_actions(scope, user, &PendingActionFilter::default(), &page)
                .await
                .step("list actions")?
                .total,
            0,
            "{who}"
        );
        let by_conversation = PendingActionFilter { conversation_id: Some(id.clone()), ..Default::default() };
        ensure_eq!(
            store.list_pending_actions(scope, user, &by_conversation, &page).await.step("list actions")?.total,
            0,
            "{who}: actions of the foreign conversation"
        );
    }
    // The owner's records are untouched.
    ensure_eq!(store.get_conversation(&a, "owner", &conversation.id).await.step("get after")?, before);
    let messages = store.list_messages(&a, "owner", &conversation.id, &page).await.step("messages after")?;
    ensure_eq!(messages.total, 1);
    ensure_eq!(messages.items[0].parts, serde_json::json!([{ "text": "secret plans" }]));
    ensure_eq!(store.get_pending_action(&a, "owner", &action.id).await.step("action after")?, action.clone());

    // A customer user keeps conversations of their own, in a customer scope.
    let buyer = customer(&*store, &a, "Buyer").await?;
    let customer_scope = Scope::customer(a.organization_id().clone(), buyer.id.clone());
    let theirs =
        store.create_conversation(&customer_scope, new_conversation("buyer", "Help")).await.step("customer create")?;
    store
        .append_messages(
            &customer_scope,
            "buyer",
            &theirs.id,
            vec![message(MessageRole::User, "where is my order")],
            now,
        )
        .await
        .step("customer append")?;
    ensure_eq!(
        store.get_conversation(&customer_scope, "buyer", &theirs.id).await.step("customer get")?.message_count,
        1
    );
    ensure_eq!(
        store.list_messages(&customer_scope, "buyer", &theirs.id, &page).await.step("customer messages")?.total,
        1
    );
    expect_kind(
        store.get_conversation(&customer_scope, "buyer", &conversation.id).await,
        nf,
        "a customer user reading a staff user's conversation",
    )?;
    Ok(())
}

pub(super) async fn messages_append_in_order(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "msg").await?;
    let conversation = store.create_conversation(&scope, new_conversation("u1", "Order")).await.step("create")?;
    let other = store.create_conversation(&scope, new_conversation("u1", "Other")).await.step("create other")?;
    // One `now` for every append: ids must still follow the order of the appends.
    let now = micros_now();
    let verbatim = serde_json::json!([
        { "text": "thinking", "thought": true, "thoughtSignature": "c2lnbmF0dXJl" },
        { "functionCall": { "id": "call-1", "name": "list_customers", "args": { "limit": 5, "ratio": 2.5, "x": null } } }
    ]);
    let batch = vec![
        message(MessageRole::User, "m00"),
        NewMessage { role: MessageRole::Model, parts: verbatim.clone() },
        message(MessageRole::Tool, "m02"),
    ];
    let appended = store.append_messages(&scope, "u1", &conversation.id, batch.clone(), now).await.step("append")?;
    ensure_eq!(appended.len(), 3);
    for (got, sent) in appended.iter().zip(&batch) {
        ensure_eq!((got.role, &got.parts, got.created_at), (sent.role, &sent.parts, now));
        ensure_eq!(got.conversation_id, conversation.id.clone());
    }
    ensure!(appended.windows(2).all(|w| w[0].id < w[1].id), "ids of one batch increase");
    let mut expected: Vec<Message> = appended.clone();
    for i in 3..33 {
        let role = if i % 2 == 0 { MessageRole::User } else { MessageRole::Model };
        let one = store
            .append_messages(&scope, "u1", &conversation.id, vec![message(role, &format!("m{i:02}"))], now)
            .await
            .step("append one")?;
        ensure_eq!(one.len(), 1);
        expected.extend(one);
        if i % 5 == 0 {
            // Ids made for another time in between must not disturb the order.
            store
                .append_messages(
                    &scope,
                    "u1",
                    &other.id,
                    vec![message(MessageRole::User, "x")],
                    now + Duration::days(1),
                )
                .await
                .step("append elsewhere")?;
        }
    }
    let listed = pages_of!(7, |page| store.list_messages(&scope, "u1", &conversation.id, &page));
    ensure_eq!(listed.len(), 33);
    ensure!(listed.windows(2).all(|w| w[0].id > w[1].id), "newest first by id");
    let oldest_first: Vec<Message> = listed.into_iter().rev().collect();
    ensure_eq!(oldest_first, expected, "messages read back in the order they were appended");
    ensure_eq!(oldest_first[1].parts, verbatim, "parts are kept verbatim");
    let texts: Vec<String> = oldest_first
        .iter()
        .filter_map(|m| m.parts[0]["text"].as_str().map(str::to_owned))
        .filter(|t| t != "thinking")
        .collect();
    ensure_eq!(texts, (0..33).filter(|i| *i != 1).map(|i| format!("m{i:02}")).collect::<Vec<_>>());
    let latest = store.list_messages(&scope, "u1", &conversation.id, &PageRequest::first(2)).await.step("latest")?;
    ensure_eq!((latest.total, latest.items[0].parts[0]["text"].clone()), (33, serde_json::json!("m32")));

    let after = store.get_conversation(&scope, "u1", &conversation.id).await.step("get")?;
    ensure_eq!(after.message_count, 33);
    ensure_eq!(after.updated_at, now);
    ensure_eq!(store.get_conversation(&scope, "u1", &other.id).await.step("get other")?.message_count, 6);

    // An empty append changes nothing.
    let later = now + Duration::minutes(5);
    ensure!(
        store.append_messages(&scope, "u1", &conversation.id, vec![], later).await.step("append none")?.is_empty(),
        "nothing appended"
    );
    ensure_eq!(store.get_conversation(&scope, "u1", &conversation.id).await.step("get")?, after);

    // A later append moves updated_at.
    store
        .append_messages(&scope, "u1", &conversation.id, vec![message(MessageRole::System, "note")], later)
        .await
        .step("append later")?;
    let last = store.get_conversation(&scope, "u1", &conversation.id).await.step("get")?;
    ensure_eq!((last.message_count, last.updated_at), (34, later));
    Ok(())
}

pub(super) async fn concurrent_appends_keep_batches_whole(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "appends").await?;
    let conversation = store.create_conversation(&scope, new_conversation("u1", "Busy")).await.step("create")?;
    let now = micros_now();
    let appends = (0..10).map(|i| {
        let (store, scope, id) = (store.clone(), scope.clone(), conversation.id.clone());
        let batch = vec![message(MessageRole::User, &format!("{i}-a")), message(MessageRole::Model, &format!("{i}-b"))];
        async move { store.append_messages(&scope, "u1", &id, batch, now).await }
    });
    for appended in join_all(appends).await {
        ensure_eq!(appended.step("concurrent append")?.len(), 2);
    }
    ensure_eq!(store.get_conversation(&scope, "u1", &conversation.id).await.step("get")?.message_count, 20);
    let listed = pages_of!(6, |page| store.list_messages(&scope, "u1", &conversation.id, &page));
    let texts: Vec<String> =
        listed.iter().rev().map(|m| m.parts[0]["text"].as_str().unwrap_or_default().to_owned()).collect();
    ensure_eq!(texts.len(), 20);
    for pair in texts.chunks(2) {
        let batch = pair[0].trim_end_matches("-a");
        ensure_eq!(
            pair.to_vec(),
            vec![format!("{batch}-a"), format!("{batch}-b")],
            "a batch reads back whole, in order"
        );
    }
    ensure_eq!(texts.iter().collect::<BTreeSet<_>>().len(), 20);
    Ok(())
}

pub(super) async fn append_is_atomic(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "atomic").await?;
    let now = micros_now();
    let conversation = store.create_conversation(&scope, new_conversation("u1", "Atomic")).await.step("create")?;
    store
        .append_messages(&scope, "u1", &conversation.id, vec![message(MessageRole::User, "kept")], now)
        .await
        .step("append")?;
    let before = store.get_conversation(&scope, "u1", &conversation.id).await.step("get")?;
    let later = now + Duration::minutes(1);
    for (bad, what) in [
        (serde_json::json!([]), "empty parts"),
        (serde_json::json!("text"), "parts that are not an array"),
        (serde_json::json!([{ "text": "ok" }, 42]), "a part that is not an object"),
    ] {
        let batch = vec![
            message(MessageRole::User, "lost 1"),
            message(MessageRole::Model, "lost 2"),
            NewMessage { role: MessageRole::Tool, parts: bad },
        ];
        expect_kind(
            store.append_messages(&scope, "u1", &conversation.id, batch, later).await,
            ErrorKind::InvalidArgument,
            what,
        )?;
        ensure_eq!(store.get_conversation(&scope, "u1", &conversation.id).await.step("get")?, before.clone(), "{what}");
        let messages =
            store.list_messages(&scope, "u1", &conversation.id, &PageRequest::default()).await.step("list")?;
        ensure_eq!(messages.total, 1, "{what}: nothing written");
    }
    // Appending to someone else's or a missing conversation writes nothing either.
    let foreign = store.create_conversation(&scope, new_conversation("u2", "Theirs")).await.step("create u2")?;
    for (user, id, what) in [
        ("u1", &foreign.id, "another user's conversation"),
        ("u1", &ConversationId::from("cnv_000000000000000000000000"), "a missing conversation"),
    ] {
        expect_kind(
            store.append_messages(&scope, user, id, vec![message(MessageRole::User, "stray")], later).await,
            ErrorKind::NotFound,
            what,
        )?;
    }
    ensure_eq!(store.get_conversation(&scope, "u2", &foreign.id).await.step("get u2")?, foreign.clone());
    ensure_eq!(
        store.list_messages(&scope, "u2", &foreign.id, &PageRequest::default()).await.step("u2 messages")?.total,
        0
    );
    ensure_eq!(store.get_conversation(&scope, "u1", &conversation.id).await.step("get")?, before);
    Ok(())
}

pub(super) async fn deleting_a_conversation_cascades(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "cascade").await?;
    let now = micros_now();
    let doomed = store.create_conversation(&scope, new_conversation("u1", "Doomed")).await.step("create")?;
    let kept = store.create_conversation(&scope, new_conversation("u1", "Kept")).await.step("create")?;
    for id in [&doomed.id, &kept.id] {
        store
            .append_messages(
                &scope,
                "u1",
                id,
                vec![message(MessageRole::User, "hello"), message(MessageRole::Model, "hi")],
                now,
            )
            .await
            .step("append")?;
    }
    let action = |created_at: Timestamp| {
        let (store, scope, doomed) = (store.clone(), scope.clone(), doomed.id.clone());
        async move { store.create_pending_action(&scope, new_action("u1", Some(&doomed), created_at)).await }
    };
    let decide = |id: ActionId, to: ActionStatus| {
        let (store, scope) = (store.clone(), scope.clone());
        async move { store.decide_pending_action(&scope, "u1", &id, to, now).await }
    };
    let finish = |id: ActionId, to: ActionStatus| {
        let (store, scope) = (store.clone(), scope.clone());
        async move { store.finish_pending_action(&scope, "u1", &id, to, serde_json::json!({ "done": to })).await }
    };
    // Still pending (one of them expired): they go with the conversation.
    let waiting = action(now).await.step("action")?;
    let expired = action(now - Duration::hours(1)).await.step("expired action")?;
    // Decided on: they stay, unlinked.
    let executing = action(now).await.step("action")?;
    decide(executing.id.clone(), ActionStatus::Executing).await.step("confirm")?;
    let succeeded = action(now).await.step("action")?;
    decide(succeeded.id.clone(), ActionStatus::Executing).await.step("confirm")?;
    finish(succeeded.id.clone(), ActionStatus::Succeeded).await.step("succeed")?;
    let failed = action(now).await.step("action")?;
    decide(failed.id.clone(), ActionStatus::Executing).await.step("confirm")?;
    finish(failed.id.clone(), ActionStatus::Failed).await.step("fail")?;
    let rejected = action(now).await.step("action")?;
    decide(rejected.id.clone(), ActionStatus::Rejected).await.step("reject")?;
    let elsewhere = store.create_pending_action(&scope, new_action("u1", Some(&kept.id), now)).await.step("action")?;
    let unlinked = store.create_pending_action(&scope, new_action("u1", None, now)).await.step("action")?;
    let mut decided = Vec::new();
    for a in [&executing, &succeeded, &failed, &rejected] {
        decided.push(store.get_pending_action(&scope, "u1", &a.id).await.step("get decided")?);
    }

    store.delete_conversation(&scope, "u1", &doomed.id).await.step("delete")?;
    let nf = ErrorKind::NotFound;
    expect_kind(store.get_conversation(&scope, "u1", &doomed.id).await, nf, "deleted conversation")?;
    expect_kind(
        store.list_messages(&scope, "u1", &doomed.id, &PageRequest::default()).await,
        nf,
        "messages of a deleted conversation",
    )?;
    expect_kind(store.get_pending_action(&scope, "u1", &waiting.id).await, nf, "its pending action")?;
    expect_kind(store.get_pending_action(&scope, "u1", &expired.id).await, nf, "its expired pending action")?;
    expect_kind(
        store.decide_pending_action(&scope, "u1", &waiting.id, ActionStatus::Executing, now).await,
        nf,
        "confirm a deleted action",
    )?;
    // The decided ones are kept as they were, without their conversation.
    for before in &decided {
        let after = store.get_pending_action(&scope, "u1", &before.id).await.step("get kept action")?;
        ensure_eq!(after, PendingAction { conversation_id: None, ..before.clone() }, "{} action", before.status);
    }
    // A confirm that was running finishes its action.
    let finished = finish(executing.id.clone(), ActionStatus::Succeeded).await.step("finish after delete")?;
    ensure_eq!((finished.status, finished.conversation_id), (ActionStatus::Succeeded, None));
    let left = store
        .list_pending_actions(&scope, "u1", &PendingActionFilter::default(), &PageRequest::default())
        .await
        .step("actions left")?;
    ensure_eq!(
        ids(&left.items, |a| a.id.0.clone()),
        ids(&[&elsewhere, &unlinked, &executing, &succeeded, &failed, &rejected], |a| a.id.0.clone())
    );
    let by_doomed = PendingActionFilter { conversation_id: Some(doomed.id.clone()), ..Default::default() };
    ensure_eq!(
        store.list_pending_actions(&scope, "u1", &by_doomed, &PageRequest::default()).await.step("by doomed")?.total,
        0
    );
    let by_kept = PendingActionFilter { conversation_id: Some(kept.id.clone()), ..Default::default() };
    let of_kept = store.list_pending_actions(&scope, "u1", &by_kept, &PageRequest::default()).await.step("by kept")?;
    ensure_eq!(of_kept.items, vec![elsewhere.clone()], "another conversation's actions are untouched");
    ensure_eq!(store.get_conversation(&scope, "u1", &kept.id).await.step("kept")?.message_count, 2);
    ensure_eq!(
        store.list_messages(&scope, "u1", &kept.id, &PageRequest::default()).await.step("kept messages")?.total,
        2
    );
    ensure_eq!(store.list_conversations(&scope, "u1", &PageRequest::default()).await.step("list")?.total, 1);
    Ok(())
}

/// [`Store::transaction`]: the calls of a unit of work see each other's writes, are invisible
/// outside until it commits, and take effect together; a failed call inside it leaves nothing
/// and the unit goes on; a mark undoes only what came after it; a dropped unit wrote nothing.
pub(super) async fn units_of_work_commit_together(store: Arc<dyn Store>) -> CheckResult {
    let (org, scope) = tenant(&*store, "unit").await?;
    let Some(unit) = store.transaction().await.step("start a unit")? else {
        return Ok(()); // A store without units of work records confirmed writes step by step.
    };
    let inside = unit.store();
    let kept = customer(&*inside, &scope, "Kept Ltd").await?;
    ensure_eq!(inside.get_customer(&scope, &kept.id).await.step("read inside")?.name, "Kept Ltd");
    expect_kind(store.get_customer(&scope, &kept.id).await, ErrorKind::NotFound, "read outside before the commit")?;

    // A call that fails in the database (a slug taken) leaves nothing, and the unit goes on.
    let taken = NewOrganization {
        name: "Taken".into(),
        slug: org.slug.clone(),
        industry: None,
        website: None,
        settings: OrganizationSettings::default(),
        active: true,
        created_at: None,
    };
    expect_kind(inside.create_organization(taken).await, ErrorKind::Conflict, "a taken slug inside the unit")?;
    let renamed = CustomerPatch { name: Some("Kept & Renamed".into()), ..Default::default() };
    inside.update_customer(&scope, &kept.id, renamed).await.step("update after a failed call")?;

    unit.mark().await.step("mark")?;
    let undone = customer(&*inside, &scope, "Undone Ltd").await?;
    unit.roll_back_to_mark().await.step("roll back to the mark")?;
    expect_kind(inside.get_customer(&scope, &undone.id).await, ErrorKind::NotFound, "a call after the mark")?;
    let after = customer(&*inside, &scope, "After Ltd").await?;
    unit.commit().await.step("commit")?;

    ensure_eq!(store.get_customer(&scope, &kept.id).await.step("read kept")?.name, "Kept & Renamed");
    store.get_customer(&scope, &after.id).await.step("read the write after the rollback")?;
    expect_kind(store.get_customer(&scope, &undone.id).await, ErrorKind::NotFound, "the rolled-back write")?;
    let everyone = CustomerFilter::default();
    let listed = store.list_customers(&scope, &everyone, &PageRequest::default()).await.step("list")?;
    ensure_eq!(listed.total, 2);
    expect_kind(inside.get_customer(&scope, &kept.id).await, ErrorKind::Internal, "the unit's store after its commit")?;

    // Dropped without a commit: nothing happened, and the store takes writes again at once.
    let dropped = store.transaction().await.step("start another unit")?.ok_or_else(|| "a second unit".to_owned())?;
    let ghost = customer(&*dropped.store(), &scope, "Ghost Ltd").await?;
    drop(dropped);
    expect_kind(store.get_customer(&scope, &ghost.id).await, ErrorKind::NotFound, "a dropped unit's write")?;
    customer(&*store, &scope, "Later Ltd").await?;
    Ok(())
}

/// [`Store::take_rate_budget`]: a full budget spends `burst` units at once, refills one unit
/// per interval, refuses (taking nothing) with the time until enough is back, keeps users,
/// budgets and organizations apart, and lets no two concurrent takers spend the same unit.
pub(super) async fn rate_budgets_are_leaky_buckets(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "rate").await?;
    let (_, other_org) = tenant(&*store, "rate-other").await?;
    let budget = RateBudget { per_minute: 60, burst: 10 };
    let t0 = micros_now();
    let take = |scope: Scope, user: &'static str, bucket: &'static str, cost: u32, at: Timestamp| {
        let store = store.clone();
        async move { store.take_rate_budget(&scope, user, bucket, budget, cost, at).await }
    };
    for i in 0..10 {
        ensure_eq!(take(scope.clone(), "u1", "chat", 1, t0).await.step("take")?, None, "unit {i} of a full budget");
    }
    let refused = take(scope.clone(), "u1", "chat", 1, t0).await.step("take past the burst")?;
    ensure_eq!(refused, Some(Duration::seconds(1)), "one unit comes back after one interval");
    ensure_eq!(take(scope.clone(), "u2", "chat", 1, t0).await.step("another user")?, None);
    ensure_eq!(take(scope.clone(), "u1", "mcp", 1, t0).await.step("another budget")?, None);
    ensure_eq!(take(other_org.clone(), "u1", "chat", 1, t0).await.step("another organization")?, None);

    // 2.5 intervals later two units are back, not three; a refusal took nothing.
    let later = t0 + Duration::milliseconds(2500);
    ensure_eq!(take(scope.clone(), "u1", "chat", 3, later).await.step("three")?, Some(Duration::milliseconds(500)));
    ensure_eq!(take(scope.clone(), "u1", "chat", 2, later).await.step("two")?, None);
    ensure!(take(scope.clone(), "u1", "chat", 1, later).await.step("one more")?.is_some(), "the budget is spent");
    // A long pause fills it again, to the burst and no further.
    let much_later = t0 + Duration::hours(1);
    ensure_eq!(take(scope.clone(), "u1", "chat", 10, much_later).await.step("a full burst")?, None);
    ensure!(
        take(scope.clone(), "u1", "chat", 1, much_later).await.step("past it")?.is_some(),
        "no more than the burst"
    );
    expect_kind(
        take(scope.clone(), "u1", "chat", 11, much_later).await,
        ErrorKind::InvalidArgument,
        "a cost past the burst",
    )?;
    expect_kind(take(scope.clone(), "u1", "chat", 0, much_later).await, ErrorKind::InvalidArgument, "no cost")?;

    // Concurrent takers share the budget exactly.
    let racers = (0..25).map(|_| take(scope.clone(), "racer", "chat", 1, t0));
    let taken = join_all(racers).await.into_iter().collect::<Result<Vec<_>>>().step("race")?;
    ensure_eq!(taken.iter().filter(|wait| wait.is_none()).count(), 10, "units spent by 25 concurrent takers");
    Ok(())
}
