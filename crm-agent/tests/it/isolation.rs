//! Property tests of isolation through the tool registry:
//! - cross-tenant: random tools × random arguments × every acme role never return a `globex` id
//!   and never change `globex` rows;
//! - customer isolation: the acme customer login never receives another customer's records.
//!
//! Arguments are generated from each tool's own input schema, with id-like fields drawn from a
//! pool that mixes both organizations' real ids. Case counts: CRM_AGENT_ISOLATION_CASES
//! (default 10,000 cross-tenant, a quarter of that for customer isolation).

use crate::common;

use std::collections::BTreeSet;

use crm_agent::UserContext;
use crm_agent::domain::{NewOrder, NewPayment, OrganizationPatch};
use crm_agent::tools::catalogue;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};

use common::fixture::{Fixture, fixture};

fn cases(default: u32) -> u32 {
    std::env::var("CRM_AGENT_ISOLATION_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The list tools that reach every kind of record.
const LIST_TOOLS: [&str; 8] = [
    "list_customers",
    "list_leads",
    "list_deals",
    "list_issues",
    "list_orders",
    "list_payments",
    "list_activities",
    "list_employees",
];

/// Every id of one organization's records, as its owner sees them.
async fn ids_of(f: &Fixture, owner: &UserContext) -> Vec<String> {
    let mut ids = vec![owner.organization_id.0.clone()];
    for tool in LIST_TOOLS {
        let mut args = json!({"limit": 100});
        loop {
            let page = f.registry.call(owner, tool, args.clone()).await.unwrap();
            ids.extend(page["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()));
            match page["next_cursor"].as_str() {
                Some(cursor) => args["cursor"] = json!(cursor),
                None => break,
            }
        }
    }
    for pipeline in f.registry.call(owner, "list_pipelines", json!({})).await.unwrap().as_array().unwrap() {
        ids.push(pipeline["id"].as_str().unwrap().to_owned());
        ids.extend(pipeline["stages"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_owned()));
    }
    for role in f.registry.call(owner, "list_roles", json!({})).await.unwrap().as_array().unwrap() {
        ids.push(role["id"].as_str().unwrap().to_owned());
    }
    ids
}

/// Everything globex holds, for before/after comparison.
async fn snapshot(f: &Fixture) -> Value {
    let mut all = Map::new();
    for tool in LIST_TOOLS {
        all.insert(tool.into(), f.registry.call(&f.globex, tool, json!({"limit": 100})).await.unwrap());
    }
    for tool in ["list_roles", "list_pipelines", "get_current_organization"] {
        all.insert(tool.into(), f.registry.call(&f.globex, tool, json!({})).await.unwrap());
    }
    Value::Object(all)
}

/// A random value for one property schema; `name` steers id-like fields to the id pool.
fn value_for(rng: &mut ChaCha8Rng, name: &str, schema: &Value, pool: &[String]) -> Value {
    // `user_id` is the host's free-text login name, not a reference to a record.
    if (name.ends_with("_id") && name != "user_id") || name == "cursor" {
        return match rng.random_range(0..10) {
            0 => json!("no_such_id"),
            1 => Value::Null,
            _ => json!(pool[rng.random_range(0..pool.len())]),
        };
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        return options[rng.random_range(0..options.len())].clone();
    }
    if let Some(options) = schema.get("anyOf").or_else(|| schema.get("oneOf")).and_then(Value::as_array) {
        let pick = &options[rng.random_range(0..options.len())];
        return value_for(rng, name, pick, pool);
    }
    let kind = match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(types)) => types[rng.random_range(0..types.len())].as_str().unwrap_or("null").to_owned(),
        _ => "string".into(),
    };
    match kind.as_str() {
        "integer" => json!(rng.random_range(0..120)),
        "number" => json!(rng.random_range(0..100_000)),
        "boolean" => json!(rng.random_bool(0.5)),
        "null" => Value::Null,
        "array" => {
            let items = schema.get("items").cloned().unwrap_or(json!({"type": "string"}));
            let n = rng.random_range(0..3);
            Value::Array((0..n).map(|_| value_for(rng, "item", &items, pool)).collect())
        }
        "object" => json!({}),
        _ => {
            if schema.get("pattern").is_some() && name.contains("value") {
                json!(format!("{}", rng.random_range(0..50_000)))
            } else {
                let words = [
                    "a",
                    "ar",
                    "acme",
                    "globex",
                    "Globex Industries",
                    "deal",
                    "ISS-2026-0001",
                    "x@y.example",
                    "2026-01-31",
                    "lead:read",
                ];
                json!(words[rng.random_range(0..words.len())])
            }
        }
    }
}

/// Random arguments for `tool`: each property present with probability 1/2 (required ones always).
fn random_args(rng: &mut ChaCha8Rng, tool: &crm_agent::Tool, pool: &[String]) -> Value {
    let schema = tool.input_schema();
    let required: BTreeSet<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut args = Map::new();
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            if required.contains(name.as_str()) || rng.random_bool(0.5) {
                args.insert(name.clone(), value_for(rng, name, prop, pool));
            }
        }
    }
    Value::Object(args)
}

#[test]
fn no_acme_user_ever_sees_or_touches_globex() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let f = rt.block_on(fixture());
    let globex_ids: Vec<String> = rt.block_on(ids_of(&f, &f.globex));
    let acme_ids: Vec<String> = rt.block_on(ids_of(&f, &f.owner));
    let before = rt.block_on(snapshot(&f));
    let pool: Vec<String> = acme_ids.iter().chain(globex_ids.iter()).cloned().collect();
    let tools = catalogue();
    let users = [&f.owner, &f.rep, &f.support, &f.customer, &f.nobody];
    let outcomes = [std::cell::Cell::new(0u32), std::cell::Cell::new(0u32)];
    let mut runner = TestRunner::new(Config { cases: cases(10_000), failure_persistence: None, ..Config::default() });
    runner
        .run(&(0..tools.len(), 0..users.len(), any::<u64>()), |(t, u, seed)| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let tool = &tools[t];
            let args = random_args(&mut rng, tool, &pool);
            let result = rt.block_on(f.registry.call(users[u], tool.name(), args.clone()));
            let slot = &outcomes[usize::from(result.is_ok())];
            slot.set(slot.get() + 1);
            // A result must never hold a globex id. An error may repeat an id the caller sent
            // ("customer not found: <id>") but no other.
            let sent = args.to_string();
            let (text, may_echo) = match &result {
                Ok(v) => (v.to_string(), false),
                Err(e) => (e.to_string(), true),
            };
            for id in &globex_ids {
                let echoed = may_echo && sent.contains(id.as_str());
                prop_assert!(
                    echoed || !text.contains(id.as_str()),
                    "{} as {} with {args} leaked globex id {id}: {text}",
                    tool.name(),
                    users[u].user_id
                );
            }
            Ok(())
        })
        .unwrap();
    let after = rt.block_on(snapshot(&f));
    assert_eq!(before, after, "globex changed");
    let (ok, refused) = (outcomes[1].get(), outcomes[0].get());
    println!("cross-tenant cases: {ok} succeeded, {refused} refused or failed");
    assert!(ok > 100, "enough calls succeeded to mean something: {ok} of {}", ok + refused);
}

/// Customer records whose staff fields hold values found nowhere else.
struct Staffed {
    /// The values (and the hidden custom field's key): a customer's tools must never show one.
    values: Vec<String>,
    issue_id: String,
    order_id: String,
    payment_id: String,
}

/// Fills the staff fields of customer `own`'s records (their customer record, an issue, an order
/// and a payment) with values found nowhere else. One custom field key, `tier`, is marked
/// customer-visible; its value is not among the staff values.
async fn give_staff_fields_to(f: &Fixture, own: &str) -> Staffed {
    let call = |tool: &'static str, args: Value| async move { f.registry.call(&f.owner, tool, args).await.unwrap() };
    let scope = f.owner.scope().unwrap();
    let mut settings = crm_agent::Store::get_organization(&*f.store, &scope).await.unwrap().settings;
    settings.customer_visible_custom_fields = vec!["tier".into()];
    let patch = OrganizationPatch { settings: Some(settings), ..Default::default() };
    crm_agent::Store::update_organization(&*f.store, &scope, patch).await.unwrap();
    let employee = call("list_employees", json!({"limit": 1})).await["items"][0]["id"].clone();
    let custom = json!({"tier": "gold", "risk_flag": "STAFFSECRET-CUSTOM"});
    call(
        "update_customer",
        json!({"customer_id": own, "notes": "STAFFSECRET-NOTE", "credit_limit": "987654.32",
               "assigned_to": employee, "source": "STAFFSECRET-SOURCE", "tags": ["STAFFSECRET-TAG"],
               "custom_fields": custom}),
    )
    .await;
    let issue = call("create_issue", json!({"title": "Broken", "customer_id": own, "custom_fields": custom})).await;
    call("assign_issue", json!({"issue_id": issue["id"], "employee_id": employee})).await;
    let order: NewOrder = serde_json::from_value(json!({
        "customer_id": own, "order_date": "2026-01-02", "notes": "STAFFSECRET-ORDER",
        "items": [{"product": "Widget", "quantity": 1, "unit_price": "10.00"}]
    }))
    .unwrap();
    let order = crm_agent::Store::create_order(&*f.store, &scope, order).await.unwrap();
    let payment: NewPayment =
        serde_json::from_value(json!({"customer_id": own, "amount": "10.00", "notes": "STAFFSECRET-PAYMENT"})).unwrap();
    let payment = crm_agent::Store::create_payment(&*f.store, &scope, payment).await.unwrap();
    let mut values: Vec<String> = ["STAFFSECRET", "987654", "risk_flag"].into_iter().map(str::to_owned).collect();
    values.push(employee.as_str().unwrap().to_owned());
    Staffed {
        values,
        issue_id: issue["id"].as_str().unwrap().to_owned(),
        order_id: order.id.0,
        payment_id: payment.id.0,
    }
}

#[tokio::test]
async fn every_record_a_customer_reads_loses_its_staff_fields_and_keeps_the_rest() {
    let f = fixture().await;
    let own = f.customer.customer_id.clone().unwrap().0;
    let staffed = give_staff_fields_to(&f, &own).await;
    let calls = [
        ("get_customer", json!({"customer_id": own})),
        ("list_customers", json!({})),
        ("get_issue", json!({"issue_id": staffed.issue_id})),
        ("list_issues", json!({"limit": 100})),
        ("get_order", json!({"order_id": staffed.order_id})),
        ("list_orders", json!({"limit": 100})),
        ("get_payment", json!({"payment_id": staffed.payment_id})),
        ("list_payments", json!({"limit": 100})),
        ("create_issue", json!({"title": "Late delivery"})),
    ];
    for (tool, args) in calls {
        let answer = f.registry.call(&f.customer, tool, args).await.unwrap_or_else(|e| panic!("{tool}: {e}"));
        let text = answer.to_string();
        for staff in &staffed.values {
            assert!(!text.contains(staff.as_str()), "{tool} showed {staff}: {text}");
        }
        let declared = jsonschema::validator_for(f.registry.get(tool).unwrap().output_schema()).unwrap();
        assert!(declared.is_valid(&answer), "{tool} answered outside its schema: {text}");
    }
    let customer = f.registry.call(&f.customer, "get_customer", json!({"customer_id": own})).await.unwrap();
    assert_eq!(customer["custom_fields"], json!({"tier": "gold"}), "the visible custom field stays");
    let order = f.registry.call(&f.customer, "get_order", json!({"order_id": staffed.order_id})).await.unwrap();
    assert_eq!(order["items"][0]["product"], "Widget", "an order keeps its lines: {order}");
    assert!(order.get("notes").is_none() && order["total"].is_string(), "{order}");
}

#[test]
fn a_customer_never_receives_another_customers_records() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let f = rt.block_on(fixture());
    let own = f.customer.customer_id.clone().unwrap().0;
    // Every acme record that belongs to another customer, or to no customer a customer may see.
    let foreign: Vec<String> = rt.block_on(async {
        let mut ids = Vec::new();
        for (tool, owner_field) in [
            ("list_customers", "id"),
            ("list_issues", "customer_id"),
            ("list_orders", "customer_id"),
            ("list_payments", "customer_id"),
        ] {
            let page = f.registry.call(&f.owner, tool, json!({"limit": 100})).await.unwrap();
            for item in page["items"].as_array().unwrap() {
                if item[owner_field].as_str() != Some(own.as_str()) {
                    ids.push(item["id"].as_str().unwrap().to_owned());
                }
            }
        }
        // Employees are left out on purpose: an issue names its assignee's (opaque) employee id,
        // which is not the employee's record.
        for tool in ["list_leads", "list_deals", "list_activities"] {
            let page = f.registry.call(&f.owner, tool, json!({"limit": 100})).await.unwrap();
            ids.extend(page["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()));
        }
        ids
    });
    let staff_values = rt.block_on(give_staff_fields_to(&f, &own)).values;
    let acme_ids = rt.block_on(ids_of(&f, &f.owner));
    let tools: Vec<crm_agent::Tool> = catalogue().into_iter().filter(|t| t.customers_allowed()).collect();
    let declared: Vec<_> = tools.iter().map(|t| jsonschema::validator_for(t.output_schema()).unwrap()).collect();
    let mut runner =
        TestRunner::new(Config { cases: cases(10_000) / 4, failure_persistence: None, ..Config::default() });
    runner
        .run(&(0..tools.len(), any::<u64>()), |(t, seed)| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let tool = &tools[t];
            let args = random_args(&mut rng, tool, &acme_ids);
            if let Ok(value) = rt.block_on(f.registry.call(&f.customer, tool.name(), args.clone())) {
                // What a customer gets, staff fields left out, still matches the declared schema.
                prop_assert!(declared[t].is_valid(&value), "{} answered outside its schema: {value}", tool.name());
                let text = value.to_string();
                for id in &foreign {
                    prop_assert!(
                        !text.contains(id.as_str()),
                        "{} with {args} gave the customer foreign record {id}: {text}",
                        tool.name()
                    );
                }
                prop_assert!(!text.contains("\"internal\":true"), "{} showed an internal comment: {text}", tool.name());
                for staff in &staff_values {
                    prop_assert!(
                        !text.contains(staff.as_str()),
                        "{} with {args} showed staff value {staff}: {text}",
                        tool.name()
                    );
                }
            }
            Ok(())
        })
        .unwrap();
}
