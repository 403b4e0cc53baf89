//! The list tools' date arguments and `sort`, through `ToolRegistry::call`: every order of every
//! list pages to the end, days follow the organization's time zone, and bad values name their
//! field and what would be accepted.

use crate::common;

use common::fixture::fixture;

use chrono::{NaiveDate, TimeZone, Utc};
use crm_agent::ErrorKind;
use crm_agent::domain::*;
use crm_agent::tools::catalogue;
use serde_json::{Value, json};

/// The lists and the date arguments each must take.
const DATE_ARGUMENTS: &[(&str, &[&str])] = &[
    ("list_customers", &[]),
    ("list_employees", &[]),
    ("list_leads", &[]),
    ("list_deals", &["expected_close", "closed"]),
    ("list_issues", &["resolved"]),
    ("list_orders", &["ordered"]),
    ("list_payments", &["paid"]),
    ("list_activities", &["scheduled", "due"]),
];

fn input_properties(tool: &str) -> serde_json::Map<String, Value> {
    let tool = catalogue().into_iter().find(|t| t.name() == tool).unwrap_or_else(|| panic!("no tool {tool}"));
    tool.input_schema()["properties"].as_object().cloned().unwrap_or_default()
}

fn sort_values(tool: &str) -> Vec<String> {
    let properties = input_properties(tool);
    let values = properties["sort"]["enum"].as_array().unwrap_or_else(|| panic!("{tool}: no sort enum"));
    values.iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

#[test]
fn every_list_takes_the_date_arguments_and_a_sort() {
    for (tool, extra) in DATE_ARGUMENTS {
        let properties = input_properties(tool);
        let bases = ["created", "updated"].iter().chain(extra.iter());
        for base in bases {
            for end in ["after", "before"] {
                let name = format!("{base}_{end}");
                assert_eq!(properties.get(&name).map(|p| &p["type"]), Some(&json!("string")), "{tool}: {name}");
            }
        }
        let sorts = sort_values(tool);
        assert!(sorts.contains(&"created_at".to_owned()) && sorts.contains(&"-created_at".to_owned()), "{tool}");
    }
    assert_eq!(input_properties("list_activities")["overdue"]["type"], json!("boolean"));
}

/// The value a list item has for a sort field, as JSON compares it (`null` when missing).
fn sort_value(item: &Value, field: &str) -> Value {
    item.get(field).cloned().unwrap_or(Value::Null)
}

/// Whether `a` may come before `b` in ascending order of one field (missing values last).
fn in_order(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) => false,
        (_, Value::Null) => true,
        (Value::String(x), Value::String(y)) => {
            // Times print as many fraction digits as they need (`…:10.5Z`, `…:10.123456Z`), so
            // as text `…:10.5Z` would sort after `…:10.512Z`: compare them as times.
            if let (Ok(x), Ok(y)) = (chrono::DateTime::parse_from_rfc3339(x), chrono::DateTime::parse_from_rfc3339(y)) {
                return x <= y;
            }
            match (x.parse::<f64>(), y.parse::<f64>()) {
                (Ok(x), Ok(y)) => x <= y,
                _ => x <= y,
            }
        }
        (Value::Number(x), Value::Number(y)) => x.as_f64() <= y.as_f64(),
        _ => panic!("cannot compare {a} and {b}"),
    }
}

#[tokio::test]
async fn every_order_of_every_list_pages_through_every_item_in_order() {
    let f = fixture().await;
    for (tool, _) in DATE_ARGUMENTS {
        let everything = f.call(&f.owner, tool, json!({"limit": 100})).await.unwrap();
        let total = everything["total"].as_u64().unwrap();
        assert!(total > 0, "{tool}: the fixture has none");
        for sort in sort_values(tool) {
            let (descending, field) = match sort.strip_prefix('-') {
                Some(field) => (true, field),
                None => (false, sort.as_str()),
            };
            let mut items = Vec::new();
            let mut args = json!({"sort": sort, "limit": 7});
            loop {
                let page = f.call(&f.owner, tool, args.clone()).await.unwrap_or_else(|e| panic!("{tool} {sort}: {e}"));
                assert_eq!(page["total"].as_u64(), Some(total), "{tool} {sort}");
                items.extend(page["items"].as_array().unwrap().iter().cloned());
                match page["next_cursor"].as_str() {
                    Some(cursor) => args["cursor"] = json!(cursor),
                    None => break,
                }
            }
            let mut ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
            assert_eq!(ids.len() as u64, total, "{tool} {sort}: every item once");
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids.len() as u64, total, "{tool} {sort}: no item twice");
            for pair in items.windows(2) {
                let (a, b) = (sort_value(&pair[0], field), sort_value(&pair[1], field));
                let ordered = match (descending, a.is_null() || b.is_null()) {
                    (false, _) | (true, true) => in_order(&a, &b),
                    (true, false) => in_order(&b, &a),
                };
                assert!(ordered, "{tool} {sort}: {a} then {b}");
            }
        }
    }
}

#[tokio::test]
async fn days_are_the_organizations_days() {
    let f = fixture().await;
    let scope = f.owner.scope().unwrap();
    let settings = OrganizationSettings { timezone: Some("Pacific/Auckland".into()), ..Default::default() };
    let patch = OrganizationPatch { settings: Some(settings), ..Default::default() };
    crm_agent::Store::update_organization(&*f.store, &scope, patch).await.unwrap();
    // 12:00 UTC on 2 December is 01:00 on 3 December in Auckland (UTC+13 in summer).
    let mut new = NewCustomer::named("Kiwi Ltd");
    new.created_at = Some(Utc.with_ymd_and_hms(2026, 12, 2, 12, 0, 0).unwrap());
    let kiwi = crm_agent::Store::create_customer(&*f.store, &scope, new).await.unwrap();
    let names = |page: Value| -> Vec<String> {
        page["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect()
    };
    let on_the_3rd = json!({"created_after": "2026-12-03", "created_before": "2026-12-03"});
    assert_eq!(names(f.call(&f.owner, "list_customers", on_the_3rd).await.unwrap()), vec![kiwi.name.clone()]);
    let on_the_2nd = json!({"created_after": "2026-12-02", "created_before": "2026-12-02"});
    assert!(names(f.call(&f.owner, "list_customers", on_the_2nd).await.unwrap()).is_empty());
    // A time with an offset is that instant, wherever the organization is.
    let to_the_second = json!({"created_after": "2026-12-02T12:00:00Z", "created_before": "2026-12-02T12:00:01Z"});
    assert_eq!(names(f.call(&f.owner, "list_customers", to_the_second).await.unwrap()), vec![kiwi.name]);

    let bad = OrganizationSettings { timezone: Some("Mars/Olympus".into()), ..Default::default() };
    let err = crm_agent::Store::update_organization(
        &*f.store,
        &scope,
        OrganizationPatch { settings: Some(bad), ..Default::default() },
    )
    .await;
    // The store checks the setting too, so a bad zone never reaches a list.
    let err = err.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("IANA time zone"), "{err}");
}

#[tokio::test]
async fn deals_closing_this_month_soonest_first() {
    let f = fixture().await;
    let page = f
        .call(
            &f.owner,
            "list_deals",
            json!({"expected_close_after": "2026-12-01", "expected_close_before": "2026-12-31", "sort": "expected_close_date", "limit": 100}),
        )
        .await
        .unwrap();
    let days: Vec<NaiveDate> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["expected_close_date"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(days.windows(2).all(|w| w[0] <= w[1]), "{days:?}");
    let december = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()..=NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
    assert!(days.iter().all(|d| december.contains(d)), "{days:?}");
    // The same span counted another way: every deal, filtered here.
    let all = f.call(&f.owner, "list_deals", json!({"limit": 100})).await.unwrap();
    let expected = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["expected_close_date"].as_str()?.parse::<NaiveDate>().ok())
        .filter(|d| december.contains(d))
        .count();
    assert_eq!(days.len(), expected);
}

#[tokio::test]
async fn overdue_activities_are_open_and_past_due() {
    let f = fixture().await;
    let now = Utc::now();
    let page = f.call(&f.owner, "list_activities", json!({"overdue": true, "limit": 100})).await.unwrap();
    let all = f.call(&f.owner, "list_activities", json!({"limit": 100})).await.unwrap();
    let is_overdue = |a: &Value| {
        let open = !matches!(a["status"].as_str(), Some("completed" | "cancelled"));
        let due =
            a["due_date"].as_str().and_then(|d| d.parse::<NaiveDate>().ok()).is_some_and(|d| d < now.date_naive());
        let missed = a["scheduled_at"]
            .as_str()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .is_some_and(|t| t < now);
        open && (due || missed)
    };
    let expected: Vec<&Value> = all["items"].as_array().unwrap().iter().filter(|a| is_overdue(a)).collect();
    assert_eq!(page["total"].as_u64(), Some(expected.len() as u64));
    assert!(page["items"].as_array().unwrap().iter().all(is_overdue));
}

#[tokio::test]
async fn bad_dates_and_sorts_name_the_field_and_the_choices() {
    let f = fixture().await;
    let err = f.call(&f.owner, "list_leads", json!({"created_after": "last week"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("`created_after` must be a day as `YYYY-MM-DD`"), "{err}");
    let err = f.call(&f.owner, "list_deals", json!({"sort": "size"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    // Every choice is named, the last one too.
    assert!(err.to_string().contains("`sort`") && err.to_string().contains("\"-actual_close_date\""), "{err}");
    let err = f
        .call(&f.owner, "list_orders", json!({"ordered_after": "2026-12-05", "ordered_before": "2026-12-01"}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("`ordered_after` must be earlier than `ordered_before`"), "{err}");
    // A cursor of one order does not continue another.
    let first = f.call(&f.owner, "list_customers", json!({"sort": "name", "limit": 2})).await.unwrap();
    let cursor = first["next_cursor"].as_str().unwrap();
    let err = f.call(&f.owner, "list_customers", json!({"sort": "-name", "cursor": cursor})).await.unwrap_err();
    assert!(err.to_string().contains("another order"), "{err}");
}

#[tokio::test]
async fn a_customer_sorts_and_filters_only_their_own_records() {
    let f = fixture().await;
    let own = f.call(&f.customer, "list_orders", json!({"limit": 100})).await.unwrap();
    let sorted = f
        .call(&f.customer, "list_orders", json!({"sort": "-total", "created_after": "2000-01-01", "limit": 100}))
        .await
        .unwrap();
    let ids = |page: &Value| {
        let mut ids: Vec<String> =
            page["items"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap().to_owned()).collect();
        ids.sort();
        ids
    };
    assert_eq!(ids(&own), ids(&sorted));
    assert_eq!(own["total"], sorted["total"]);
}
