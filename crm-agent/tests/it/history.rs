//! `get_record_history`: every successful write through `ToolRegistry::call` leaves the record
//! and its changed fields on its audit event, and the history is read back by whoever may read
//! the record, without the values of fields they may not see.

use crate::common;

use common::fixture::fixture;

use chrono::Utc;
use crm_agent::ErrorKind;
use crm_agent::domain::{AuditOutcome, FieldChange, NewAuditEvent};
use serde_json::{Value, json};

fn changes_of(event: &Value) -> Vec<(String, Value, Value)> {
    event["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["field"].as_str().unwrap().to_owned(), c["before"].clone(), c["after"].clone()))
        .collect()
}

#[tokio::test]
async fn history_says_who_changed_what_and_when() {
    let f = fixture().await;
    let deal = f.call(&f.rep, "create_deal", json!({"title": "Rooftop", "value": "1000.00"})).await.unwrap();
    let id = deal["id"].as_str().unwrap();
    f.call(&f.owner, "update_deal", json!({"deal_id": id, "value": 2500, "title": "Rooftop solar"})).await.unwrap();
    // A refused write leaves no trace in the history.
    let refused = f.call(&f.support, "update_deal", json!({"deal_id": id, "value": 1})).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::PermissionDenied);
    f.call(&f.rep, "mark_deal_won", json!({"deal_id": id})).await.unwrap();
    f.registry.flush_audit().await;

    let history = f.call(&f.owner, "get_record_history", json!({"record_id": id})).await.unwrap();
    assert_eq!(history["record_type"], "deal");
    let events = history["events"].as_array().unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["mark_deal_won", "update_deal", "create_deal"], "newest first");
    let users: Vec<&str> = events.iter().map(|e| e["user_id"].as_str().unwrap()).collect();
    assert_eq!(users, vec![f.rep.user_id.as_str(), f.owner.user_id.as_str(), f.rep.user_id.as_str()]);
    assert_eq!(
        changes_of(&events[1]),
        vec![
            ("title".to_owned(), json!("Rooftop"), json!("Rooftop solar")),
            ("value".to_owned(), json!("1000.00"), json!("2500.00")),
        ]
    );
    let won: Vec<String> = changes_of(&events[0]).into_iter().map(|(field, ..)| field).collect();
    for field in ["status", "stage_id", "probability", "actual_close_date"] {
        assert!(won.contains(&field.to_owned()), "{field} missing from {won:?}");
    }
    assert!(changes_of(&events[2]).is_empty(), "a creation lists no changes");

    // Paging, newest first.
    let first = f.call(&f.owner, "get_record_history", json!({"record_id": id, "limit": 2})).await.unwrap();
    assert_eq!(first["events"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest =
        f.call(&f.owner, "get_record_history", json!({"record_id": id, "limit": 2, "cursor": cursor})).await.unwrap();
    assert_eq!(rest["events"][0]["action"], "create_deal");
    assert!(rest["next_cursor"].is_null());
}

#[tokio::test]
async fn history_is_read_like_the_record() {
    let f = fixture().await;
    let deal = f.call(&f.owner, "create_deal", json!({"title": "Quiet deal", "value": 10})).await.unwrap();
    let deal_id = deal["id"].as_str().unwrap();
    f.registry.flush_audit().await;
    // Without deal:read, refused; another organization, or no such record: not found.
    let err = f.call(&f.support, "get_record_history", json!({"record_id": deal_id})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    for (caller, record) in [(&f.globex, deal_id), (&f.owner, "deal_doesnotexist")] {
        let err = f.call(caller, "get_record_history", json!({"record_id": record})).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{record}");
    }

    // A customer reads the history of their own issue, not of another customer's.
    let mine = f.call(&f.customer, "create_issue", json!({"title": "Broken hinge"})).await.unwrap();
    let mine = mine["id"].as_str().unwrap();
    f.call(&f.owner, "update_issue", json!({"issue_id": mine, "priority": "high"})).await.unwrap();
    let customer_id = f.customer.customer_id.clone().unwrap();
    let other_issue = f.call(&f.owner, "list_issues", json!({"limit": 100})).await.unwrap()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["customer_id"].as_str().is_some_and(|c| c != customer_id.as_str()))
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .expect("an issue of another customer");
    f.call(&f.owner, "update_issue", json!({"issue_id": other_issue, "priority": "low"})).await.unwrap();
    f.registry.flush_audit().await;
    let history = f.call(&f.customer, "get_record_history", json!({"record_id": mine})).await.unwrap();
    assert_eq!(history["events"].as_array().unwrap().len(), 2);
    let err = f.call(&f.customer, "get_record_history", json!({"record_id": other_issue})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn fields_the_reader_may_not_see_show_as_changed_without_values() {
    let f = fixture().await;
    let employee = f.first_id(&f.owner, "list_employees", json!({})).await;
    let scope = f.owner.scope().unwrap();
    let raise = NewAuditEvent {
        user_id: f.owner.user_id.clone(),
        action: "update_employee".into(),
        outcome: AuditOutcome::Ok,
        error_kind: None,
        duration_us: 1,
        arguments: json!({}),
        record_type: Some("employee".into()),
        record_id: Some(employee.clone()),
        changes: vec![
            FieldChange::between("salary", &json!("70000.00"), &json!("75000.00")),
            FieldChange::between("job_title", &json!("Rep"), &json!("Senior rep")),
        ],
        at: Utc::now(),
    };
    crm_agent::Store::record_audit(&*f.store, &scope, raise).await.unwrap();

    let as_owner = f.call(&f.owner, "get_record_history", json!({"record_id": employee})).await.unwrap();
    assert_eq!(as_owner["events"][0]["changes"][0]["after"], "75000.00");
    // A rep (employee:read, not employee:update) sees that the salary changed, not to what.
    let as_rep = f.call(&f.rep, "get_record_history", json!({"record_id": employee})).await.unwrap();
    let changes = &as_rep["events"][0]["changes"];
    assert_eq!(changes[0], json!({"field": "salary", "hidden": true}));
    assert_eq!(changes[1]["after"], "Senior rep");
}
