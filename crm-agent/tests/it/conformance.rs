//! The store conformance suite on SQLite (always) and PostgreSQL (when configured).

use crate::common;

use crm_agent::conformance::run;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_store_conforms_on_sqlite() {
    let report = run(common::sqlite_factory()).await;
    println!("{}", report.summary());
    report.assert_passed();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_store_conforms_on_postgres() {
    let Some(url) = common::postgres_url("sql_store_conforms_on_postgres") else { return };
    let report = run(common::postgres_factory(url)).await;
    println!("{}", report.summary());
    report.assert_passed();
}

/// A store that implements nothing: every case is skipped, none fails, and the defaults
/// report `Unsupported`.
#[tokio::test]
async fn an_empty_store_is_reported_unsupported() {
    use crm_agent::conformance::{Outcome, run};
    use crm_agent::{Store, StoreOp};
    use std::sync::Arc;

    struct Nothing;
    impl Store for Nothing {
        fn supports(&self, _op: StoreOp) -> bool {
            false
        }
    }
    let report = run(Arc::new(|| Box::pin(async { Ok(Arc::new(Nothing) as Arc<dyn Store>) }))).await;
    assert!(report.cases.iter().all(|c| matches!(c.outcome, Outcome::Skipped(_))), "{}", report.summary());
    let err = Nothing.find_organization("acme").await.unwrap_err();
    assert_eq!(err.kind(), crm_agent::ErrorKind::Unsupported);
    assert!(err.to_string().contains("find_organization"));
}

/// The Store trait cannot see orphans (the messages of a deleted conversation are "not found"
/// through it), so this counts the rows left in the database itself: none of the conversation,
/// its messages or its pending actions; its decided actions, unlinked.
#[tokio::test]
async fn deleting_a_conversation_leaves_only_decided_actions() {
    use crm_agent::domain::*;
    use crm_agent::{Scope, Store};

    let (store, dir) = common::sqlite_store().await;
    let scope = Scope::organization(OrganizationId::from("org_test"));
    let now = chrono::Utc::now();
    let conversation = store
        .create_conversation(&scope, NewConversation { user_id: "u1".into(), title: "Gone".into() })
        .await
        .unwrap();
    let message = NewMessage { role: MessageRole::User, parts: serde_json::json!([{ "text": "hi" }]) };
    store.append_messages(&scope, "u1", &conversation.id, vec![message.clone(), message], now).await.unwrap();
    let action = NewPendingAction {
        user_id: "u1".into(),
        conversation_id: Some(conversation.id.clone()),
        tool: "create_customer".into(),
        arguments: serde_json::json!({}),
        summary: "Create".into(),
        created_at: now,
        expires_at: now + PENDING_ACTION_TTL,
    };
    store.create_pending_action(&scope, action.clone()).await.unwrap();
    let confirmed = store.create_pending_action(&scope, action).await.unwrap();
    store.decide_pending_action(&scope, "u1", &confirmed.id, ActionStatus::Executing, now).await.unwrap();

    let db = rusqlite::Connection::open(dir.path().join("crm.db")).unwrap();
    let count =
        |table: &str| -> i64 { db.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| row.get(0)).unwrap() };
    assert_eq!((count("messages"), count("pending_actions")), (2, 2));
    store.delete_conversation(&scope, "u1", &conversation.id).await.unwrap();
    for table in ["conversations", "messages"] {
        assert_eq!(count(table), 0, "{table}");
    }
    assert_eq!(count("pending_actions"), 1);
    let (id, status, conversation_id): (String, String, Option<String>) = db
        .query_row("SELECT id, status, conversation_id FROM pending_actions", [], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .unwrap();
    assert_eq!((id, status.as_str(), conversation_id), (confirmed.id.as_str().to_owned(), "executing", None));
}

/// SQLite's search indexes are keyed by rowid: they must still find every row after `VACUUM`
/// (which keeps the rowids of these tables: this checks it on the bundled SQLite), and agree
/// row for row with a plain `LIKE` scan.
#[tokio::test]
async fn sqlite_search_indexes_survive_vacuum_and_match_like() {
    use crm_agent::domain::{CustomerFilter, NewCustomer, NewOrganization, PageRequest};
    use crm_agent::{Scope, Store};

    let (store, dir) = common::sqlite_store().await;
    let org = store.create_organization(NewOrganization::named("Vacuum", "vacuum")).await.unwrap();
    let scope = Scope::organization(org.id.clone());
    let mut ids = Vec::new();
    for i in 0..60 {
        let mut new = NewCustomer::named(format!("Customer {i:02} {}", if i % 3 == 0 { "Harbor" } else { "Field" }));
        new.email = Some(format!("c{i}@example.com"));
        ids.push(store.create_customer(&scope, new).await.unwrap().id);
    }
    let db = rusqlite::Connection::open(dir.path().join("crm.db")).unwrap();
    // Gaps in the rowids, as deletions leave them, are what VACUUM would close if it renumbered.
    db.execute("DELETE FROM customers WHERE name LIKE '%5 %'", []).unwrap();
    db.execute_batch("VACUUM").unwrap();

    let page = PageRequest::first(100);
    for text in ["harbor", "FIELD", "er 1", "@example", "c4", "nothing like it"] {
        let filter = CustomerFilter { search: Some(text.into()), ..Default::default() };
        let mut found: Vec<String> = store
            .list_customers(&scope, &filter, &page)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|c| c.id.to_string())
            .collect();
        found.sort();
        let pattern = format!("%{text}%");
        let mut statement = db
            .prepare("SELECT id FROM customers WHERE name LIKE ?1 OR company_name LIKE ?1 OR email LIKE ?1 OR phone LIKE ?1 ORDER BY id")
            .unwrap();
        let scanned: Vec<String> =
            statement.query_map([&pattern], |row| row.get(0)).unwrap().map(Result::unwrap).collect();
        assert_eq!(found, scanned, "search {text:?}");
    }
}

/// A SQLite list reads a search's index matches first and, when there are few, just those rows
/// by rowid; with many it walks the scope's index. Both must page through exactly the rows (and
/// totals) a plain `LIKE` scan finds, inside the organization and its status filter.
#[tokio::test]
async fn sqlite_search_lists_agree_with_like_for_few_and_many_matches() {
    use crm_agent::domain::{CustomerFilter, CustomerStatus, NewCustomer, NewOrganization, PageRequest};
    use crm_agent::{Scope, Store};

    let (store, dir) = common::sqlite_store().await;
    let mut scopes = Vec::new();
    for slug in ["many", "others"] {
        let org = store.create_organization(NewOrganization::named(slug, slug)).await.unwrap();
        let scope = Scope::organization(org.id.clone());
        // 1,200 customers: every other one a "Harbor" (600 matches per organization, more than
        // a list reads row by row), every 150th a "Lighthouse" (8: few).
        let batch = (0..1200)
            .map(|i| {
                let word = if i % 150 == 0 {
                    "Lighthouse"
                } else if i % 2 == 0 {
                    "Harbor"
                } else {
                    "Field"
                };
                let mut new = NewCustomer::named(format!("{word} {i:04}"));
                new.status = if i % 3 == 0 { CustomerStatus::Vip } else { CustomerStatus::Active };
                new
            })
            .collect();
        store.import_customers(&scope, batch).await.unwrap();
        scopes.push((org.id, scope));
    }
    let db = rusqlite::Connection::open(dir.path().join("crm.db")).unwrap();
    let (org, scope) = &scopes[0];
    for text in ["harbor", "LIGHTHOUSE", "r 00", "no such name"] {
        for status in [None, Some(CustomerStatus::Vip)] {
            let filter = CustomerFilter { search: Some(text.into()), status, ..Default::default() };
            let mut found = Vec::new();
            let mut page = PageRequest::first(7);
            loop {
                let listed = store.list_customers(scope, &filter, &page).await.unwrap();
                found.extend(listed.items.iter().map(|c| c.id.to_string()));
                let scanned_total: i64 = db
                    .query_row(
                        "SELECT COUNT(*) FROM customers WHERE organization_id = ?1 AND name LIKE ?2 \
                         AND (?3 IS NULL OR status = ?3)",
                        rusqlite::params![org.as_str(), format!("%{text}%"), status.map(|s| s.to_string())],
                        |row| row.get(0),
                    )
                    .unwrap();
                assert_eq!(i64::try_from(listed.total).unwrap(), scanned_total, "total of {text:?} ({status:?})");
                match listed.next_cursor {
                    Some(cursor) => page = PageRequest { cursor: Some(cursor), ..page },
                    None => break,
                }
            }
            let mut statement = db
                .prepare(
                    "SELECT id FROM customers WHERE organization_id = ?1 AND name LIKE ?2 \
                     AND (?3 IS NULL OR status = ?3) ORDER BY id DESC",
                )
                .unwrap();
            let scanned: Vec<String> = statement
                .query_map(rusqlite::params![org.as_str(), format!("%{text}%"), status.map(|s| s.to_string())], |row| {
                    row.get(0)
                })
                .unwrap()
                .map(Result::unwrap)
                .collect();
            assert_eq!(found, scanned, "search {text:?} ({status:?})");
        }
    }
}
