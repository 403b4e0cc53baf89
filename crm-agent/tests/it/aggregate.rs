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

/// Money per currency as listed: `[{"currency", "amount"}, …]` in order.
fn amounts(value: &Value) -> Vec<(String, Money)> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list of amounts: {value}"))
        .iter()
        .map(|a| (a["currency"].as_str().unwrap().to_owned(), a["amount"].as_str().unwrap().parse().unwrap()))
        .collect()
}

fn amount_in(listed: &[(String, Money)], currency: &str) -> Money {
    listed.iter().find(|(c, _)| c == currency).map_or(Money::ZERO, |(_, amount)| *amount)
}

/// The value of the listed deals with `status` (any when `None`), per currency, as the tools
/// report it: `default` first (listed even at zero), then the others by code.
fn recount(deals: &[Value], status: Option<&str>, default: &str) -> Vec<(String, Money)> {
    let mut sums: BTreeMap<String, Money> = BTreeMap::new();
    for deal in deals.iter().filter(|d| status.is_none_or(|s| d["status"] == s)) {
        *sums.entry(deal["currency"].as_str().unwrap().to_owned()).or_default() +=
            deal["value"].as_str().unwrap().parse::<Money>().unwrap();
    }
    let first = (default.to_owned(), sums.remove(default).unwrap_or_default());
    std::iter::once(first).chain(sums).collect()
}

#[tokio::test]
async fn analytics_never_add_currencies_together() {
    let f = fixture().await;
    let open_value = |dashboard: &Value| amounts(&dashboard["revenue"]["open_pipeline_value"]);
    let before = f.call(&f.owner, "get_dashboard_stats", json!({})).await.unwrap();
    let euro_deal = json!({"title": "Euro deal", "value": 1_000_000, "currency": "EUR"});
    f.call(&f.owner, "create_deal", euro_deal).await.unwrap();
    let after = f.call(&f.owner, "get_dashboard_stats", json!({})).await.unwrap();
    assert_eq!(amount_in(&open_value(&after), "USD"), amount_in(&open_value(&before), "USD"));
    assert_eq!(amount_in(&open_value(&after), "EUR") - amount_in(&open_value(&before), "EUR"), Money::from(1_000_000));

    // Every money figure is a recount of the list, per currency, the default (USD) first.
    let deals = all_items(&f, &f.owner, "list_deals", json!({})).await;
    let stats = f.call(&f.owner, "get_deal_stats", json!({})).await.unwrap();
    assert_eq!(amounts(&stats["total_value"]), recount(&deals, None, "USD"));
    assert_eq!(amounts(&stats["won_value"]), recount(&deals, Some("won"), "USD"));
    assert_eq!(amounts(&stats["open_value"]), recount(&deals, Some("open"), "USD"));
    assert_eq!(open_value(&after), recount(&deals, Some("open"), "USD"));
    assert_eq!(amounts(&after["revenue"]["won_value"]), recount(&deals, Some("won"), "USD"));
    for stage in stats["by_stage"].as_array().unwrap() {
        let in_stage: Vec<Value> = deals.iter().filter(|d| d["stage_id"] == stage["stage_id"]).cloned().collect();
        assert_eq!(amounts(&stage["value"]), recount(&in_stage, None, "USD"), "{stage}");
    }
    let performance = f.call(&f.owner, "get_employee_performance", json!({})).await.unwrap();
    for row in performance.as_array().unwrap() {
        let theirs: Vec<Value> = deals.iter().filter(|d| d["assigned_to"] == row["employee_id"]).cloned().collect();
        assert_eq!(amounts(&row["won_revenue"]), recount(&theirs, Some("won"), "USD"), "{row}");
        assert_eq!(amounts(&row["open_pipeline"]), recount(&theirs, Some("open"), "USD"), "{row}");
    }
}

#[tokio::test]
async fn the_organizations_default_currency_comes_first() {
    use crm_agent::domain::{OrganizationPatch, OrganizationSettings};
    let f = fixture().await;
    let scope = f.owner.scope().unwrap();
    let settings = OrganizationSettings { default_currency: Some("EUR".into()), ..Default::default() };
    let patch = OrganizationPatch { settings: Some(settings), ..Default::default() };
    crm_agent::Store::update_organization(&*f.store, &scope, patch).await.unwrap();
    let deal = json!({"title": "Euro win", "value": "250000.00", "currency": "EUR"});
    let deal = f.call(&f.owner, "create_deal", deal).await.unwrap();
    f.call(&f.owner, "mark_deal_won", json!({"deal_id": deal["id"]})).await.unwrap();

    let dashboard = f.call(&f.owner, "get_dashboard_stats", json!({})).await.unwrap();
    for figure in ["won_value", "open_pipeline_value", "weighted_pipeline"] {
        assert_eq!(amounts(&dashboard["revenue"][figure])[0].0, "EUR", "{figure}");
    }
    let revenue = f.call(&f.owner, "get_revenue_by_period", json!({"period": "year", "periods": 3})).await.unwrap();
    assert_eq!(amounts(&revenue["total_won_value"])[0].0, "EUR");
    // Ranked by won revenue in the default currency, the one currency revenues compare in.
    let performance = f.call(&f.owner, "get_employee_performance", json!({})).await.unwrap();
    let euros: Vec<Money> = performance
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let won = amounts(&row["won_revenue"]);
            assert_eq!(won[0].0, "EUR", "{row}");
            won[0].1
        })
        .collect();
    assert!(euros.windows(2).all(|pair| pair[0] >= pair[1]), "{euros:?}");

    let bad = OrganizationSettings { default_currency: Some("euro".into()), ..Default::default() };
    let patch = OrganizationPatch { settings: Some(bad), ..Default::default() };
    let err = crm_agent::Store::update_organization(&*f.store, &scope, patch).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("settings.default_currency"), "{err}");
}
