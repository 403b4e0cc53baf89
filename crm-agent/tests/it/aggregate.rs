//! `aggregate_records` through `ToolRegistry::call`: held to a recount from the lists, scoped and
//! permitted like the lists, with errors that name what is allowed.

use crate::common;

use std::collections::BTreeMap;

use common::fixture::fixture;

use crm_agent::ErrorKind;
use crm_agent::domain::Money;
use serde_json::{Value, json};

async fn all_items(f: &common::fixture::Fixture, ctx: &crm_agent::UserContext, tool: &str, args: Value) -> Vec<Value> {
    let mut items = Vec::new();
    let mut args = args;
    args["limit"] = json!(100);
    loop {
        let page = f.call(ctx, tool, args.clone()).await.unwrap();
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => args["cursor"] = json!(cursor),
            None => return items,
        }
    }
}

#[tokio::test]
async fn sums_and_counts_equal_a_recount_of_the_list() {
    let f = fixture().await;
    let deals = all_items(&f, &f.owner, "list_deals", json!({})).await;
    let mut by_currency: BTreeMap<String, (u64, Money)> = BTreeMap::new();
    for deal in &deals {
        let entry = by_currency.entry(deal["currency"].as_str().unwrap().to_owned()).or_default();
        entry.0 += 1;
        entry.1 += deal["value"].as_str().unwrap().parse::<Money>().unwrap();
    }
    let answer = f
        .call(&f.owner, "aggregate_records", json!({"entity": "deals", "measure": "sum", "field": "value"}))
        .await
        .unwrap();
    // A money sum is grouped by currency even when not asked.
    let got: BTreeMap<String, (u64, Money)> = answer["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let value = g["value"].as_str().unwrap().parse().unwrap();
            (g["key"]["currency"].as_str().unwrap().to_owned(), (g["count"].as_u64().unwrap(), value))
        })
        .collect();
    assert_eq!(got, by_currency);

    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    for deal in &deals {
        *by_status.entry(deal["status"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    let answer =
        f.call(&f.owner, "aggregate_records", json!({"entity": "deals", "group_by": ["status"]})).await.unwrap();
    let got: BTreeMap<String, u64> = answer["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["key"]["status"].as_str().unwrap().to_owned(), g["count"].as_u64().unwrap()))
        .collect();
    assert_eq!(got, by_status);

    // The filter is the list's: the same dates and fields, the same records.
    let filter = json!({"status": "open", "created_after": "2000-01-01"});
    let listed = all_items(&f, &f.owner, "list_deals", filter.clone()).await;
    let answer = f.call(&f.owner, "aggregate_records", json!({"entity": "deals", "filter": filter})).await.unwrap();
    let counted: u64 = answer["groups"].as_array().unwrap().iter().map(|g| g["count"].as_u64().unwrap()).sum();
    assert_eq!(counted, listed.len() as u64);
}

#[tokio::test]
async fn each_caller_aggregates_what_they_may_list() {
    let f = fixture().await;
    // A sales rep has no analytics permission, yet may count the deals they may read.
    f.call(&f.rep, "aggregate_records", json!({"entity": "deals", "group_by": ["stage_id"]})).await.unwrap();
    let err = f.call(&f.support, "aggregate_records", json!({"entity": "deals"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    f.call(&f.support, "aggregate_records", json!({"entity": "issues", "group_by": ["priority"]})).await.unwrap();

    // A customer's aggregate covers their own records only.
    let own = all_items(&f, &f.customer, "list_orders", json!({})).await;
    let answer = f
        .call(&f.customer, "aggregate_records", json!({"entity": "orders", "group_by": ["customer_id"]}))
        .await
        .unwrap();
    let groups = answer["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{answer}");
    assert_eq!(groups[0]["key"]["customer_id"], json!(f.customer.customer_id.as_ref().unwrap().as_str()));
    assert_eq!(groups[0]["count"].as_u64(), Some(own.len() as u64));
    let err = f.call(&f.customer, "aggregate_records", json!({"entity": "deals"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    // Another organization's owner sees none of acme's deals.
    let acme = f.call(&f.owner, "aggregate_records", json!({"entity": "deals"})).await.unwrap();
    let globex = f.call(&f.globex, "aggregate_records", json!({"entity": "deals"})).await.unwrap();
    assert_ne!(acme, globex);
}

#[tokio::test]
async fn bad_arguments_name_what_is_allowed() {
    let f = fixture().await;
    let call = |args: Value| f.call(&f.owner, "aggregate_records", args);
    let err = call(json!({"entity": "issues", "measure": "sum", "field": "value"})).await.unwrap_err();
    assert!(err.to_string().contains("`field` of issues must be one of nothing: use measure `count`"), "{err}");
    let err = call(json!({"entity": "deals", "measure": "sum", "field": "score"})).await.unwrap_err();
    assert!(err.to_string().contains("`field` of deals must be one of value, probability"), "{err}");
    let err = call(json!({"entity": "deals", "group_by": ["category"]})).await.unwrap_err();
    assert!(err.to_string().contains("`group_by` of deals must be one of status"), "{err}");
    let err = call(json!({"entity": "deals", "group_by": ["actual_close_date:fortnight"]})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let err = call(json!({"entity": "deals", "group_by": ["status", "priority", "currency"]})).await.unwrap_err();
    assert!(err.to_string().contains("group_by"), "{err}");
    let err = call(json!({"entity": "deals", "field": "value"})).await.unwrap_err();
    assert!(err.to_string().contains("not used by measure `count`"), "{err}");
    let err = call(json!({"entity": "deals", "filter": {"status": "closed"}})).await.unwrap_err();
    assert!(err.to_string().contains("`filter.status`") && err.to_string().contains("\"won\""), "{err}");
    let err = call(json!({"entity": "deals", "filter": {"stauts": "won"}})).await.unwrap_err();
    assert!(err.to_string().contains("stauts"), "{err}");
    let err = call(json!({"entity": "deals", "filter": {"limit": 5}})).await.unwrap_err();
    assert!(err.to_string().contains("`filter.limit` is not a filter"), "{err}");
    let err = call(json!({"entity": "deals", "filter": {"closed_after": "soon"}})).await.unwrap_err();
    assert!(err.to_string().contains("`closed_after` must be a day"), "{err}");
}
