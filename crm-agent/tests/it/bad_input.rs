//! Bad input and bad environments: each gets a clear, typed error and leaves nothing behind.

use crate::common;

use std::time::Duration;

use crm_agent::domain::*;
use crm_agent::{ErrorKind, Scope, SqlStore, SqlStoreOptions, Store};

#[test]
fn invalid_enum_values_name_the_allowed_values() {
    let err = serde_json::from_str::<NewCustomer>(r#"{"name": "x", "status": "gold"}"#).unwrap_err().to_string();
    assert!(
        err.contains("`gold` is not a valid customer status; allowed values: active, inactive, prospect, vip"),
        "{err}"
    );
    let err = serde_json::from_str::<LeadFilter>(r#"{"source": "tv"}"#).unwrap_err().to_string();
    assert!(err.contains("website, referral, social_media"), "{err}");
    let err = serde_json::from_str::<NewCustomer>(r#"{"name": "x", "colour": "red"}"#).unwrap_err().to_string();
    assert!(err.contains("unknown field `colour`"), "{err}");
}

#[test]
fn money_is_never_a_float_in_json() {
    let deal: NewDeal =
        serde_json::from_str(r#"{"title": "t", "pipeline_id": "p", "stage_id": "s", "value": "1234.56"}"#).unwrap();
    assert_eq!(deal.value, Money::new(123456, 2));
    let json = serde_json::to_value(Money::new(123456, 2)).unwrap();
    assert_eq!(json, serde_json::json!("1234.56"));
}

#[tokio::test]
async fn unknown_database_urls_are_invalid_arguments() {
    let err = SqlStore::connect("mysql://localhost/db").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("sqlite://"), "{err}");
}

/// sqlx-style URLs carry an access mode (`?mode=rwc`); the read-only readers must still open.
#[tokio::test]
async fn a_sqlite_url_with_an_access_mode_reads_and_writes() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("mode.db").display());
    let store = SqlStore::open(&url).await.unwrap();
    let org = store.create_organization(NewOrganization::named("Mode", "mode")).await.unwrap();
    let scope = Scope::organization(org.id.clone());
    let created = store.create_customer(&scope, NewCustomer::named("Read back")).await.unwrap();
    assert_eq!(store.get_customer(&scope, &created.id).await.unwrap().name, "Read back");
    let page = store.list_customers(&scope, &CustomerFilter::default(), &PageRequest::default()).await.unwrap();
    assert_eq!(page.total, 1);
}

#[tokio::test]
async fn a_locked_sqlite_file_is_unavailable_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("locked.db").display());
    let setup = SqlStore::open(&url).await.unwrap();
    let org = setup.create_organization(NewOrganization::named("Locked", "locked")).await.unwrap();
    let scope = Scope::organization(org.id.clone());
    setup.close().await;

    // Another process (here: another connection) holds the write lock.
    let holder = rusqlite::Connection::open(dir.path().join("locked.db")).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();

    let store =
        SqlStore::connect_with(SqlStoreOptions::new(&url).busy_timeout(Duration::from_millis(200))).await.unwrap();
    let err = store.create_customer(&scope, NewCustomer::named("Blocked")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.is_retryable());
    assert!(err.to_string().contains("locked"), "{err}");

    holder.execute_batch("ROLLBACK").unwrap();
    let page = store.list_customers(&scope, &CustomerFilter::default(), &PageRequest::default()).await.unwrap();
    assert_eq!(page.total, 0, "the blocked write left nothing behind");
    store.create_customer(&scope, NewCustomer::named("Now it works")).await.unwrap();
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_down_is_unavailable() {
    // Nothing listens on port 1; the connection is refused at once.
    let options = SqlStoreOptions::new("postgres://postgres@127.0.0.1:1/test").acquire_timeout(Duration::from_secs(2));
    let err = SqlStore::connect_with(options).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn oversized_and_out_of_range_values_are_rejected_before_writing() {
    let (store, _dir) = common::sqlite_store().await;
    let org = store.create_organization(NewOrganization::named("Big", "big")).await.unwrap();
    let scope = Scope::organization(org.id);
    let mut notes = NewCustomer::named("Verbose");
    notes.notes = Some("x".repeat(MAX_LONG_TEXT + 1));
    let err = store.create_customer(&scope, notes).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("`notes`"), "{err}");
    let mut lead = NewLead::named("Scored");
    lead.score = 150;
    let err = store.create_lead(&scope, lead).await.unwrap_err();
    assert!(err.to_string().contains("`score` must be between 0 and 100"), "{err}");
    let mut tags = NewCustomer::named("Tagged");
    tags.tags = (0..=MAX_TAGS).map(|i| format!("t{i}")).collect();
    assert_eq!(store.create_customer(&scope, tags).await.unwrap_err().kind(), ErrorKind::InvalidArgument);
    let mut fields = NewCustomer::named("Custom");
    fields.custom_fields.insert("nested".into(), serde_json::json!({"no": "objects"}));
    assert_eq!(store.create_customer(&scope, fields).await.unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(
        store.list_customers(&scope, &CustomerFilter::default(), &PageRequest::default()).await.unwrap().total,
        0
    );
}

/// NUL characters: PostgreSQL refuses them with an encoding error, and SQLite keeps them but its
/// search reads one as the end of the pattern. Both stores answer `InvalidArgument` and write
/// nothing.
#[tokio::test]
async fn nul_characters_are_invalid_arguments_on_both_databases() {
    let (sqlite, _dir) = common::sqlite_store().await;
    nul_characters_are_refused(&sqlite).await;
    if let Some(url) = common::postgres_url("nul_characters_are_invalid_arguments_on_both_databases") {
        nul_characters_are_refused(&common::postgres_store(&url).await).await;
    }
}

async fn nul_characters_are_refused(store: &SqlStore) {
    let org = store.create_organization(NewOrganization::named("Nul", "nul")).await.unwrap();
    let scope = Scope::organization(org.id.clone());
    let invalid = |result: crm_agent::Result<()>, what: &str| {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{what}: {err}");
        assert!(err.to_string().contains("NUL"), "{what}: {err}");
    };
    invalid(store.create_customer(&scope, NewCustomer::named("Bad\0name")).await.map(drop), "create");
    let search = CustomerFilter { search: Some("a\0b".into()), ..Default::default() };
    invalid(store.list_customers(&scope, &search, &PageRequest::default()).await.map(drop), "search");
    let conversation = store
        .create_conversation(&scope, NewConversation { user_id: "u1".into(), title: "Fine".into() })
        .await
        .unwrap();
    let rename = ConversationPatch { title: Some("Bad\0title".into()) };
    invalid(store.update_conversation(&scope, "u1", &conversation.id, rename).await.map(drop), "rename");

    let customers = store.list_customers(&scope, &CustomerFilter::default(), &PageRequest::default()).await.unwrap();
    assert_eq!(customers.total, 0, "nothing was written");
    let kept = store.get_conversation(&scope, "u1", &conversation.id).await.unwrap();
    assert_eq!(kept.title, "Fine");
}
