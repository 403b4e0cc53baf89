//! The tool catalogue through `ToolRegistry::call`: catalogue invariants, per-role listings,
//! every tool's happy path / bad argument / refusal, state transitions, audit and idempotency.

use crate::common;

use common::fixture::{Fixture, fixture};

use std::collections::BTreeSet;
use std::sync::Arc;

use crm_agent::domain::*;
use crm_agent::tools::catalogue;
use crm_agent::{ErrorKind, Role, Store, ToolRegistry, UserContext};
use serde_json::{Value, json};

fn names(tools: &[&crm_agent::Tool]) -> BTreeSet<String> {
    tools.iter().map(|t| t.name().to_owned()).collect()
}

#[test]
fn the_catalogue_is_complete_and_well_formed() {
    let tools = catalogue();
    assert!(tools.len() >= 60, "only {} tools", tools.len());
    let unique: BTreeSet<&str> = tools.iter().map(|t| t.name()).collect();
    assert_eq!(unique.len(), tools.len(), "tool names are unique");
    for expected in [
        "list_customers",
        "get_customer",
        "create_customer",
        "update_customer",
        "deactivate_customer",
        "get_customer_stats",
        "list_leads",
        "get_lead",
        "create_lead",
        "update_lead",
        "qualify_lead",
        "disqualify_lead",
        "update_lead_score",
        "assign_lead",
        "move_lead_stage",
        "get_lead_stage_history",
        "convert_lead_to_customer",
        "get_lead_stats",
        "list_deals",
        "get_deal",
        "create_deal",
        "update_deal",
        "move_deal_to_stage",
        "mark_deal_won",
        "mark_deal_lost",
        "get_deal_stats",
        "list_pipelines",
        "list_issues",
        "get_issue",
        "create_issue",
        "update_issue",
        "assign_issue",
        "resolve_issue",
        "reopen_issue",
        "close_issue",
        "add_issue_comment",
        "list_issue_comments",
        "get_issue_stats",
        "list_orders",
        "get_order",
        "list_payments",
        "get_payment",
        "list_employees",
        "get_employee",
        "list_activities",
        "get_activity",
        "create_activity",
        "update_activity",
        "complete_activity",
        "get_activity_stats",
        "get_dashboard_stats",
        "get_sales_funnel",
        "get_revenue_by_period",
        "get_employee_performance",
        "get_quick_stats",
        "get_current_user_context",
        "get_current_organization",
        "list_my_organizations",
        "get_my_permissions",
        "list_roles",
        "create_role",
        "update_role_permissions",
        "assign_role_to_employee",
        "list_permissions",
        "search_crm",
    ] {
        assert!(unique.contains(expected), "missing tool {expected}");
    }
    for tool in &tools {
        let schema = tool.input_schema();
        assert_eq!(schema["type"], "object", "{}: input is an object", tool.name());
        assert_eq!(schema["additionalProperties"], false, "{}: unknown arguments are rejected", tool.name());
        assert!(tool.output_schema().is_object(), "{}", tool.name());
        assert!(tool.description().len() > 20, "{}: describe it for a model", tool.name());
        assert_eq!(tool.writes(), !tool.annotations().read_only, "{}", tool.name());
        assert!(!tool.toolsets().is_empty(), "{}", tool.name());
        jsonschema::meta::validate(schema).unwrap_or_else(|e| panic!("{}: invalid input schema: {e}", tool.name()));
        let compact = tool.declaration(true);
        assert!(
            serde_json::to_string(&compact).unwrap().len()
                <= serde_json::to_string(&tool.declaration(false)).unwrap().len()
        );
    }
    let full: usize = tools.iter().map(|t| serde_json::to_string(&t.declaration(false)).unwrap().len()).sum();
    let compact: usize = tools.iter().map(|t| serde_json::to_string(&t.declaration(true)).unwrap().len()).sum();
    assert!(compact * 3 < full * 2, "compact declarations are much smaller: {compact} vs {full} bytes");
}

/// The formats JSON Schema 2020-12 defines.
const STANDARD_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// Calls `check(path, schema)` for `schema` and every schema inside it.
fn each_schema(path: &str, schema: &Value, check: &mut dyn FnMut(&str, &serde_json::Map<String, Value>)) {
    let Value::Object(map) = schema else { return };
    check(path, map);
    for (key, inner) in map {
        match (key.as_str(), inner) {
            ("properties" | "$defs", Value::Object(named)) => {
                for (name, property) in named {
                    each_schema(&format!("{path}.{name}"), property, check);
                }
            }
            ("enum" | "const" | "default" | "examples" | "required", _) => {}
            (_, Value::Array(items)) => {
                items.iter().for_each(|item| each_schema(&format!("{path}/{key}"), item, check))
            }
            (_, Value::Object(_)) => each_schema(&format!("{path}/{key}"), inner, check),
            _ => {}
        }
    }
}

/// MCP clients hand input schemas to models whose APIs take only part of JSON Schema: one type
/// per schema, nothing nullable (an optional argument is just not required), the formats JSON
/// Schema defines, integer ranges as `minimum`/`maximum`. Output schemas are plain 2020-12.
#[test]
fn every_input_schema_is_portable_and_every_format_standard() {
    for tool in catalogue() {
        let name = tool.name();
        // Also as importers see it (with `created_at` on tools that create records).
        for input in [tool.input_schema(), tool.input_schema_for(true)] {
            each_schema(name, input, &mut |path, node| {
                if let Some(ty) = node.get("type") {
                    assert!(ty.is_string() && ty != "null", "{path}: `type` must be one type, not {ty}");
                }
                for keyword in ["anyOf", "oneOf"] {
                    for option in node.get(keyword).and_then(Value::as_array).into_iter().flatten() {
                        assert_ne!(option.get("type"), Some(&json!("null")), "{path}: a null alternative in {keyword}");
                    }
                }
                if let Some(values) = node.get("enum").and_then(Value::as_array) {
                    assert!(values.iter().all(|v| !v.is_null()), "{path}: null in enum");
                }
                assert!(!node.contains_key("nullable") && node.get("default") != Some(&Value::Null), "{path}");
                assert!(node.keys().all(|k| !k.starts_with("x-")), "{path}: a private keyword escaped: {node:?}");
            });
        }
        let schemas = [
            ("input", tool.input_schema()),
            ("import input", tool.input_schema_for(true)),
            ("output", tool.output_schema()),
        ];
        for (which, schema) in schemas {
            each_schema(name, schema, &mut |path, node| {
                if let Some(format) = node.get("format") {
                    let standard = format.as_str().is_some_and(|f| STANDARD_FORMATS.contains(&f));
                    assert!(standard, "{which} {path}: `format: {format}` is not one JSON Schema defines");
                }
            });
            jsonschema::meta::validate(schema).unwrap_or_else(|e| panic!("{name}: invalid {which} schema: {e}"));
        }
        // What models are shown derives from the input schema, so it keeps to the same subset.
        for compact in [false, true] {
            let declared = serde_json::to_string(&tool.declaration(compact).parameters).unwrap();
            assert!(!declared.contains("\"null\"") && !declared.contains("x-crm-agent"), "{name}: {declared}");
        }
    }
    // Integer widths became ranges: `limit` says 1 to 100 and nothing else.
    let list = catalogue().into_iter().find(|t| t.name() == "list_customers").unwrap();
    assert_eq!(list.input_schema()["properties"]["limit"]["minimum"], 1);
    assert_eq!(list.input_schema()["properties"]["limit"]["maximum"], 100);
}

/// The properties of a tool's input schema that take a JSON number as well as a string (money).
fn number_properties(tool: &crm_agent::Tool) -> Vec<String> {
    let properties = tool.input_schema()["properties"].as_object().cloned().unwrap_or_default();
    properties
        .into_iter()
        .filter(|(_, schema)| {
            let options = schema.get("anyOf").and_then(Value::as_array).cloned().unwrap_or_default();
            schema["type"] == "number" || options.iter().any(|o| o["type"] == "number")
        })
        .map(|(name, _)| name)
        .collect()
}

/// Money takes a JSON number or a decimal string, as every schema says: each tool whose schema
/// allows a number somewhere is called with one there, and the amount arrives exactly (read from
/// the JSON text, never through a float).
#[tokio::test]
async fn every_amount_takes_a_json_number_and_keeps_it_exact() {
    let f = fixture().await;
    let customer = f.first_id(&f.owner, "list_customers", json!({})).await;
    let lead = f.first_id(&f.owner, "list_leads", json!({"converted": false})).await;
    let deal = f.first_id(&f.owner, "list_deals", json!({"status": "open"})).await;
    // What each tool needs besides its amounts. A tool that gains an amount needs a line here.
    let base = |tool: &str| -> Option<Value> {
        Some(match tool {
            "create_customer" => json!({"name": "Numbers Ltd"}),
            "update_customer" => json!({"customer_id": customer}),
            "create_lead" => json!({"name": "Number Lead"}),
            "update_lead" => json!({"lead_id": lead}),
            "create_deal" => json!({"title": "Number deal"}),
            "update_deal" => json!({"deal_id": deal}),
            "list_deals" => json!({}),
            _ => return None,
        })
    };
    // 1234567.89 is not a binary fraction: through f64 it would come back otherwise written.
    let amount: Value = serde_json::from_str("1234567.89").unwrap();
    let mut called = 0;
    for tool in catalogue() {
        let numbers = number_properties(&tool);
        if numbers.is_empty() {
            continue;
        }
        let mut args =
            base(tool.name()).unwrap_or_else(|| panic!("{}: no base arguments to call it with", tool.name()));
        for name in &numbers {
            args[name] = amount.clone();
        }
        let result = f.call(&f.owner, tool.name(), args.clone()).await;
        let result = result.unwrap_or_else(|e| panic!("{} {args}: {e}", tool.name()));
        called += 1;
        if !tool.name().starts_with("list_") {
            let written = numbers.iter().find_map(|name| result.get(name)).unwrap_or_else(|| panic!("{result}"));
            assert_eq!(written, &json!("1234567.89"), "{}", tool.name());
        }
    }
    assert_eq!(called, 7, "the tools with amounts: create/update of customers, leads and deals, list_deals");
    // A number in a string stays a string; what is no number at all is refused, by its field.
    let bad = f.call(&f.owner, "create_deal", json!({"title": "T", "value": "12,5"})).await.unwrap_err();
    assert!(bad.to_string().contains("value"), "{bad}");
    let negative = f.call(&f.owner, "create_deal", json!({"title": "T", "value": -5})).await.unwrap_err();
    assert!(negative.to_string().contains("must not be negative"), "{negative}");
}

/// A field is cleared by naming it in `clear`, never by sending `null`.
#[tokio::test]
async fn update_tools_clear_the_fields_named_in_clear() {
    let f = fixture().await;
    let id = f.first_id(&f.owner, "list_customers", json!({})).await;
    let update = f.registry.get("update_customer").unwrap().input_schema().clone();
    let clearable = update["properties"]["clear"]["items"]["enum"].as_array().unwrap();
    assert!(clearable.contains(&json!("email")) && !clearable.contains(&json!("name")), "{clearable:?}");

    f.call(&f.owner, "update_customer", json!({"customer_id": id, "email": "a@b.example", "phone": "123"}))
        .await
        .unwrap();
    let cleared = f.call(&f.owner, "update_customer", json!({"customer_id": id, "clear": ["email"]})).await.unwrap();
    assert_eq!((cleared["email"].clone(), cleared["phone"].clone()), (Value::Null, json!("123")));

    let both = f.call(&f.owner, "update_customer", json!({"customer_id": id, "phone": "1", "clear": ["phone"]})).await;
    let message = both.unwrap_err().to_string();
    assert!(message.contains("`phone` is both given a value and listed in `clear`"), "{message}");
    // Older callers clear with `null`; it still means the same.
    let null = f.call(&f.owner, "update_customer", json!({"customer_id": id, "phone": null})).await.unwrap();
    assert_eq!(null["phone"], Value::Null);
    let not_clearable = f.call(&f.owner, "update_customer", json!({"customer_id": id, "clear": ["name"]})).await;
    assert_eq!(not_clearable.unwrap_err().kind(), ErrorKind::InvalidArgument, "a name cannot be cleared");
}

#[test]
fn docs_tools_md_is_up_to_date() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/tools.md");
    let generated = crm_agent::tools::tools_markdown(&catalogue());
    if std::env::var_os("CRM_AGENT_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "docs/tools.md is out of date: run `CRM_AGENT_UPDATE_DOCS=1 cargo test -p crm-agent --all-features --test it docs_tools_md` (or `crm-agent tools --markdown > docs/tools.md`)"
    );
}

#[tokio::test]
async fn each_user_lists_what_their_role_grants() {
    let f = fixture().await;
    let all = names(&f.registry.list(&f.owner));
    assert_eq!(all.len(), catalogue().len(), "the owner sees every tool");
    let customer = names(&f.registry.list(&f.customer));
    let expected_customer: BTreeSet<String> = [
        "list_customers",
        "get_customer",
        "list_issues",
        "get_issue",
        "create_issue",
        "add_issue_comment",
        "list_issue_comments",
        "list_orders",
        "get_order",
        "list_payments",
        "get_payment",
        "get_current_user_context",
        "get_current_organization",
        "list_my_organizations",
        "get_my_permissions",
        "search_crm",
        "aggregate_records",
        "get_record_history",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(customer, expected_customer);
    let rep = names(&f.registry.list(&f.rep));
    for tool in [
        "list_leads",
        "create_deal",
        "move_deal_to_stage",
        "create_activity",
        "list_employees",
        "get_quick_stats",
        "convert_lead_to_customer",
    ] {
        assert!(rep.contains(tool), "sales_rep may use {tool}");
    }
    for tool in ["deactivate_customer", "get_dashboard_stats", "list_issues", "create_role", "resolve_issue"] {
        assert!(!rep.contains(tool), "sales_rep may not use {tool}");
    }
    let support = names(&f.registry.list(&f.support));
    assert!(
        support.contains("resolve_issue")
            && !support.contains("list_leads")
            && !support.contains("convert_lead_to_customer")
    );
    // Listing is stable.
    assert_eq!(names(&f.registry.list(&f.rep)), rep);
    let ordered: Vec<&str> = f.registry.list(&f.owner).iter().map(|t| t.name()).collect();
    let mut sorted = ordered.clone();
    sorted.sort();
    assert_eq!(ordered, sorted);
}

/// Arguments for a successful call of every tool, built from the demo data as the owner sees it.
async fn happy_args(f: &Fixture) -> Vec<(&'static str, Value)> {
    let o = &f.owner;
    let customer = f.first_id(o, "list_customers", json!({})).await;
    let lead = f.first_id(o, "list_leads", json!({"converted": false})).await;
    let lead2 = f.first_id(o, "list_leads", json!({"converted": false, "cursor": null, "limit": 5})).await;
    let deal = f.first_id(o, "list_deals", json!({"status": "open"})).await;
    let issue = f.first_id(o, "list_issues", json!({"status": "open"})).await;
    let order = f.first_id(o, "list_orders", json!({})).await;
    let payment = f.first_id(o, "list_payments", json!({})).await;
    let activity = f.first_id(o, "list_activities", json!({"status": "scheduled"})).await;
    let employee = f.owner.employee_id.clone().unwrap().0;
    let pipelines = f.call(o, "list_pipelines", json!({})).await.unwrap();
    let stage = pipelines[0]["stages"][2]["id"].as_str().unwrap().to_owned();
    let roles = f.call(o, "list_roles", json!({})).await.unwrap();
    let viewer =
        roles.as_array().unwrap().iter().find(|r| r["name"] == "viewer").unwrap()["id"].as_str().unwrap().to_owned();
    // A deal with a history: one write, in the store before the cases run.
    f.call(o, "update_deal", json!({"deal_id": deal, "priority": "high"})).await.unwrap();
    f.registry.flush_audit().await;
    vec![
        (
            "aggregate_records",
            json!({"entity": "deals", "measure": "sum", "field": "value", "group_by": ["actual_close_date:month"]}),
        ),
        ("list_customers", json!({"status": "active", "limit": 5})),
        ("get_customer", json!({"customer_id": customer})),
        (
            "create_customer",
            json!({"name": "Happy Path Ltd", "customer_type": "business", "email": "hello@happy.example"}),
        ),
        ("update_customer", json!({"customer_id": customer, "phone": "+1-555-0000"})),
        ("deactivate_customer", json!({"customer_id": customer, "reason": "test"})),
        ("get_customer_stats", json!({})),
        ("list_leads", json!({"min_score": 10})),
        ("get_lead", json!({"lead_id": lead})),
        ("create_lead", json!({"name": "New Lead", "source": "website", "score": 40})),
        ("update_lead", json!({"lead_id": lead, "job_title": "CEO"})),
        ("qualify_lead", json!({"lead_id": lead})),
        ("disqualify_lead", json!({"lead_id": lead2, "reason": "no budget"})),
        ("update_lead_score", json!({"lead_id": lead, "score": 77, "reason": "demo went well"})),
        ("assign_lead", json!({"lead_id": lead, "employee_id": employee})),
        ("move_lead_stage", json!({"lead_id": lead, "stage_id": stage})),
        ("get_lead_stage_history", json!({"lead_id": lead})),
        ("convert_lead_to_customer", json!({"lead_id": lead})),
        ("get_lead_stats", json!({})),
        ("list_deals", json!({"status": "open", "min_value": "100"})),
        ("get_deal", json!({"deal_id": deal})),
        ("create_deal", json!({"title": "Happy deal", "value": "2500.50"})),
        ("update_deal", json!({"deal_id": deal, "priority": "high"})),
        ("move_deal_to_stage", json!({"deal_id": deal, "stage_id": stage})),
        ("mark_deal_won", json!({"deal_id": deal})),
        ("mark_deal_lost", json!({"deal_id": deal, "reason": "went quiet"})),
        ("get_deal_stats", json!({})),
        ("list_pipelines", json!({})),
        ("list_issues", json!({"priority": "high"})),
        ("get_issue", json!({"issue_id": issue})),
        ("create_issue", json!({"title": "Printer on fire", "priority": "urgent", "customer_id": customer})),
        ("update_issue", json!({"issue_id": issue, "category": "technical"})),
        ("assign_issue", json!({"issue_id": issue, "employee_id": employee})),
        ("resolve_issue", json!({"issue_id": issue, "resolution_notes": "fixed"})),
        ("reopen_issue", json!({"issue_id": issue, "reason": "came back"})),
        ("close_issue", json!({"issue_id": issue})),
        ("add_issue_comment", json!({"issue_id": issue, "body": "Looking into it"})),
        ("list_issue_comments", json!({"issue_id": issue})),
        ("get_issue_stats", json!({})),
        ("list_orders", json!({})),
        ("get_order", json!({"order_id": order})),
        ("list_payments", json!({"status": "completed"})),
        ("get_payment", json!({"payment_id": payment})),
        ("list_employees", json!({"status": "active"})),
        ("get_employee", json!({"employee_id": employee})),
        ("list_activities", json!({"activity_type": "call"})),
        ("get_activity", json!({"activity_id": activity})),
        ("create_activity", json!({"activity_type": "call", "title": "Follow-up call", "customer_id": customer})),
        ("update_activity", json!({"activity_id": activity, "title": "Renamed"})),
        ("complete_activity", json!({"activity_id": activity, "outcome": "done"})),
        ("get_activity_stats", json!({})),
        ("get_dashboard_stats", json!({})),
        ("get_sales_funnel", json!({})),
        ("get_revenue_by_period", json!({"period": "quarter", "periods": 4})),
        ("get_employee_performance", json!({"limit": 5})),
        ("get_quick_stats", json!({})),
        ("get_current_user_context", json!({})),
        ("get_current_organization", json!({})),
        ("list_my_organizations", json!({})),
        ("get_my_permissions", json!({})),
        ("list_roles", json!({})),
        ("create_role", json!({"name": "deal_desk", "permissions": ["deal:read", "deal:update"]})),
        ("update_role_permissions", json!({"role_id": viewer, "permissions": ["customer:read"]})),
        ("assign_role_to_employee", json!({"employee_id": employee, "role_id": viewer})),
        ("list_permissions", json!({})),
        ("search_crm", json!({"query": "a", "types": ["customer"]})),
        ("get_record_history", json!({"record_id": deal})),
    ]
}

#[tokio::test]
async fn every_tool_succeeds_rejects_bad_arguments_and_refuses_the_unauthorized() {
    let f = fixture().await;
    let cases = happy_args(&f).await;
    let covered: BTreeSet<&str> = cases.iter().map(|(n, _)| *n).collect();
    let missing: Vec<&str> = catalogue().iter().map(|t| t.name()).filter(|n| !covered.contains(n)).collect();
    assert!(missing.is_empty(), "tools without a happy-path case: {missing:?}");
    for (name, args) in cases {
        let tool = f.registry.get(name).unwrap();
        // search_crm needs at least 2 characters: the sample uses 'a' to show the error path too.
        let args = if name == "search_crm" { json!({"query": "ar", "types": ["customer"]}) } else { args };
        let output = f.call(&f.owner, name, args.clone()).await.unwrap_or_else(|e| panic!("{name} {args}: {e}"));
        let validator = jsonschema::validator_for(tool.output_schema()).unwrap();
        if let Err(e) = validator.validate(&output) {
            panic!("{name}: output does not match its schema: {e}\n{output}");
        }

        // Bad argument: an unknown field, named in the error; and a wrong type where there is a field.
        let mut bad = args.as_object().cloned().unwrap_or_default();
        bad.insert("bogus_field".into(), json!(1));
        let err = f.call(&f.owner, name, Value::Object(bad)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{name}: {err}");
        assert!(err.to_string().contains("bogus_field"), "{name}: the error names the field: {err}");

        // Refused: the customer for staff tools, an employee without roles otherwise.
        let outsider = if tool.customers_allowed() { &f.nobody } else { &f.customer };
        if matches!(tool.access(), crm_agent::tools::Access::Member | crm_agent::tools::Access::Staff)
            && outsider.role == Role::Employee
        {
            continue; // every member may use these
        }
        if name == "get_current_organization" {
            continue; // every member holds organization:read
        }
        let err = f.call(outsider, name, args).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{name} as {}: {err}", outsider.user_id);
    }
}

#[tokio::test]
async fn wrong_types_and_ranges_name_the_field() {
    let f = fixture().await;
    let err = f.call(&f.owner, "list_customers", json!({"status": "gold"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("`status`"), "{err}");
    let err = f.call(&f.owner, "list_customers", json!({"limit": 500})).await.unwrap_err();
    assert!(err.to_string().contains("`limit`"), "{err}");
    let err = f.call(&f.owner, "create_customer", json!({"email": "x@y.z"})).await.unwrap_err();
    assert!(err.to_string().contains("name"), "{err}");
    let err = f.call(&f.owner, "create_lead", json!({"name": "x", "score": 101})).await.unwrap_err();
    assert!(err.to_string().contains("score"), "{err}");
    let err = f.call(&f.owner, "no_such_tool", json!({})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = f.call(&f.owner, "get_customer", json!({"customer_id": 42})).await.unwrap_err();
    assert!(err.to_string().contains("customer_id"), "{err}");
    let err = f.call(&f.owner, "get_customer", Value::Null).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

#[tokio::test]
async fn every_call_refusal_and_failure_is_audited_with_secrets_redacted() {
    let f = fixture().await;
    f.call(&f.owner, "get_customer_stats", json!({})).await.unwrap();
    f.call(&f.customer, "get_dashboard_stats", json!({})).await.unwrap_err();
    f.call(&f.owner, "get_customer", json!({"customer_id": "cus_missing"})).await.unwrap_err();
    f.call(&f.owner, "create_customer", json!({"name": "Secretive", "notes": "x", "password": "hunter2"}))
        .await
        .unwrap_err();
    f.registry.flush_audit().await;
    let events = f
        .store
        .list_audit_events(&f.owner.scope().unwrap(), &AuditFilter::default(), &PageRequest::first(10))
        .await
        .unwrap();
    let by_action = |action: &str| {
        events
            .items
            .iter()
            .find(|e| e.action == action)
            .unwrap_or_else(|| panic!("no audit event for {action}"))
            .clone()
    };
    assert_eq!(by_action("get_customer_stats").outcome, AuditOutcome::Ok);
    let denied = by_action("get_dashboard_stats");
    assert_eq!((denied.outcome, denied.user_id.as_str()), (AuditOutcome::Denied, "acme-customer"));
    assert_eq!(by_action("get_customer").outcome, AuditOutcome::Invalid);
    let secret = by_action("create_customer");
    assert_eq!(secret.arguments["password"], "[redacted]");
    assert!(!serde_json::to_string(&events).unwrap().contains("hunter2"));
}

#[tokio::test]
async fn idempotency_keys_make_creates_safe_to_retry() {
    let f = fixture().await;
    let args = json!({"name": "Retry Corp", "idempotency_key": "req-1"});
    let first = f.call(&f.owner, "create_customer", args.clone()).await.unwrap();
    let second = f.call(&f.owner, "create_customer", args).await.unwrap();
    assert_eq!(first, second);
    let found = f.call(&f.owner, "list_customers", json!({"search": "Retry Corp"})).await.unwrap();
    assert_eq!(found["total"], 1);
    // Another user's same key is theirs alone.
    let rep =
        f.call(&f.rep, "create_customer", json!({"name": "Retry Corp", "idempotency_key": "req-1"})).await.unwrap();
    assert_ne!(rep["id"], first["id"]);
    // The same key for another tool is a conflict.
    let err = f.call(&f.owner, "create_lead", json!({"name": "x", "idempotency_key": "req-1"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    // The same key with other arguments is a conflict naming the key, not the first result; the
    // same arguments in another key order are the same request.
    let err = f
        .call(&f.owner, "create_customer", json!({"name": "Other Corp", "idempotency_key": "req-1"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert!(err.to_string().contains("`req-1`") && err.to_string().contains("other arguments"), "{err}");
    let mut reordered = serde_json::Map::new();
    reordered.insert("idempotency_key".into(), json!("req-1"));
    reordered.insert("name".into(), json!("Retry Corp"));
    assert_eq!(f.call(&f.owner, "create_customer", Value::Object(reordered)).await.unwrap(), first);
    // A failed create frees its key.
    let err = f
        .call(&f.owner, "create_customer", json!({"name": "Bad", "email": "nope", "idempotency_key": "req-2"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    f.call(&f.owner, "create_customer", json!({"name": "Good", "idempotency_key": "req-2"})).await.unwrap();
}

#[tokio::test]
async fn lead_transitions() {
    let f = fixture().await;
    let o = &f.owner;
    let lead =
        f.call(o, "create_lead", json!({"name": "Transition Lead", "company": "Trans Co", "score": 10})).await.unwrap();
    let id = lead["id"].as_str().unwrap();
    assert_eq!(f.call(o, "qualify_lead", json!({"lead_id": id})).await.unwrap()["qualification_status"], "qualified");
    let scored = f
        .call(o, "update_lead_score", json!({"lead_id": id, "score": 90, "reason": "budget confirmed"}))
        .await
        .unwrap();
    assert_eq!(scored["score"], 90);
    let history = f.call(o, "get_lead_stage_history", json!({"lead_id": id})).await.unwrap();
    assert!(
        history.as_array().unwrap().iter().any(|h| h["to_score"] == 90 && h["note"] == "budget confirmed"),
        "{history}"
    );
    let err = f.call(o, "update_lead_score", json!({"lead_id": id, "score": 101, "reason": "x"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let first = f.call(o, "convert_lead_to_customer", json!({"lead_id": id})).await.unwrap();
    assert_eq!(first["newly_converted"], true);
    let again = f.call(o, "convert_lead_to_customer", json!({"lead_id": id})).await.unwrap();
    assert_eq!(again["newly_converted"], false);
    assert_eq!(again["customer"]["id"], first["customer"]["id"], "conversion is idempotent");
    let err = f.call(o, "qualify_lead", json!({"lead_id": id})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "a converted lead cannot be requalified");
    let err = f.call(o, "update_lead", json!({"lead_id": id, "qualification_status": "converted"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

#[tokio::test]
async fn deal_transitions_follow_the_stage() {
    let f = fixture().await;
    let o = &f.owner;
    let pipelines = f.call(o, "list_pipelines", json!({})).await.unwrap();
    let stage = |name: &str| {
        pipelines[0]["stages"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let deal = f.call(o, "create_deal", json!({"title": "Flow", "value": "1000"})).await.unwrap();
    let id = deal["id"].as_str().unwrap();
    assert_eq!(
        (deal["status"].clone(), deal["probability"].clone()),
        (json!("open"), json!(10)),
        "starts in the first open stage"
    );
    let moved =
        f.call(o, "move_deal_to_stage", json!({"deal_id": id, "stage_id": stage("Negotiation")})).await.unwrap();
    assert_eq!(moved["probability"], 75);
    let won = f.call(o, "move_deal_to_stage", json!({"deal_id": id, "stage_id": stage("Closed Won")})).await.unwrap();
    assert_eq!((won["status"].clone(), won["probability"].clone()), (json!("won"), json!(100)));
    assert!(won["actual_close_date"].is_string());
    let reopened =
        f.call(o, "move_deal_to_stage", json!({"deal_id": id, "stage_id": stage("Proposal")})).await.unwrap();
    assert_eq!((reopened["status"].clone(), reopened["probability"].clone()), (json!("open"), json!(50)));
    assert!(reopened["actual_close_date"].is_null());
    let lost = f.call(o, "mark_deal_lost", json!({"deal_id": id, "reason": "price"})).await.unwrap();
    assert_eq!(
        (lost["status"].clone(), lost["lost_reason"].clone(), lost["stage_id"].clone()),
        (json!("lost"), json!("price"), json!(stage("Closed Lost")))
    );
    let won = f.call(o, "mark_deal_won", json!({"deal_id": id})).await.unwrap();
    assert_eq!(
        (won["status"].clone(), won["probability"].clone(), won["stage_id"].clone()),
        (json!("won"), json!(100), json!(stage("Closed Won")))
    );
    assert!(won["lost_reason"].is_null());
    let err = f.call(o, "update_deal", json!({"deal_id": id, "status": "open"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "status moves only through the stage tools");
}

#[tokio::test]
async fn issue_transitions() {
    let f = fixture().await;
    let s = &f.support;
    let issue = f.call(s, "create_issue", json!({"title": "Broken"})).await.unwrap();
    let id = issue["id"].as_str().unwrap();
    assert_eq!(issue["status"], "open");
    let err = f.call(s, "reopen_issue", json!({"issue_id": id})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "only resolved or closed issues reopen");
    let assigned = f
        .call(s, "assign_issue", json!({"issue_id": id, "employee_id": s.employee_id.clone().unwrap().0}))
        .await
        .unwrap();
    assert_eq!(assigned["status"], "in_progress");
    let resolved =
        f.call(s, "resolve_issue", json!({"issue_id": id, "resolution_notes": "replaced part"})).await.unwrap();
    assert_eq!(
        (resolved["status"].clone(), resolved["resolved_by"].clone()),
        (json!("resolved"), json!("acme-support"))
    );
    let err = f.call(s, "resolve_issue", json!({"issue_id": id, "resolution_notes": "again"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "resolving twice is an error");
    let reopened = f.call(s, "reopen_issue", json!({"issue_id": id, "reason": "still broken"})).await.unwrap();
    assert_eq!(reopened["status"], "open");
    assert!(reopened["resolved_at"].is_null());
    let closed = f.call(s, "close_issue", json!({"issue_id": id})).await.unwrap();
    assert_eq!(closed["status"], "closed");
    assert_eq!(f.call(s, "close_issue", json!({"issue_id": id})).await.unwrap()["status"], "closed");
    assert_eq!(issue["number"], reopened["number"]);
}

#[tokio::test]
async fn customers_reach_only_their_own_records_and_public_comments() {
    let f = fixture().await;
    let c = &f.customer;
    let mine = f.call(c, "list_customers", json!({})).await.unwrap();
    assert_eq!(mine["total"], 1);
    let other = f.first_id(&f.owner, "list_customers", json!({"search": "a"})).await;
    if Some(other.as_str()) != c.customer_id.as_ref().map(|c| c.as_str()) {
        assert_eq!(
            f.call(c, "get_customer", json!({"customer_id": other})).await.unwrap_err().kind(),
            ErrorKind::NotFound
        );
    }
    let issue = f.call(c, "create_issue", json!({"title": "My order is late"})).await.unwrap();
    assert_eq!(issue["customer_id"], json!(c.customer_id.clone().unwrap().0));
    let id = issue["id"].as_str().unwrap();
    f.call(&f.support, "add_issue_comment", json!({"issue_id": id, "body": "internal note", "internal": true}))
        .await
        .unwrap();
    f.call(&f.support, "add_issue_comment", json!({"issue_id": id, "body": "public reply"})).await.unwrap();
    let comments = f.call(c, "list_issue_comments", json!({"issue_id": id})).await.unwrap();
    assert_eq!(comments["total"], 1);
    assert_eq!(comments["items"][0]["body"], "public reply");
    let err =
        f.call(c, "add_issue_comment", json!({"issue_id": id, "body": "sneaky", "internal": true})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    let err = f.call(c, "create_issue", json!({"title": "For someone else", "customer_id": other})).await;
    if Some(other.as_str()) != c.customer_id.as_ref().map(|c| c.as_str()) {
        assert_eq!(err.unwrap_err().kind(), ErrorKind::NotFound);
    }
    let staff = f.call(&f.support, "list_issue_comments", json!({"issue_id": id})).await.unwrap();
    assert_eq!(staff["total"], 2, "staff see internal comments");
}

#[tokio::test]
async fn sensitive_employee_fields_need_employee_update() {
    let f = fixture().await;
    let id = f.owner.employee_id.clone().unwrap().0;
    let as_owner = f.call(&f.owner, "get_employee", json!({"employee_id": id})).await.unwrap();
    assert!(as_owner["salary"].is_string(), "the owner sees salaries: {as_owner}");
    let as_rep = f.call(&f.rep, "get_employee", json!({"employee_id": id})).await.unwrap();
    assert!(as_rep["salary"].is_null() && as_rep["emergency_contact"].is_null() && as_rep["commission_rate"].is_null());
    let list = f.call(&f.rep, "list_employees", json!({"limit": 100})).await.unwrap();
    assert!(list["items"].as_array().unwrap().iter().all(|e| e["salary"].is_null()));
}

#[tokio::test]
async fn roles_cannot_grant_more_than_the_granter_holds() {
    let f = fixture().await;
    let scope = f.owner.scope().unwrap();
    let manager = NewRoleDefinition {
        name: "role_admin".into(),
        description: None,
        grants: vec!["role:*".parse().unwrap(), "lead:read".parse().unwrap()],
        is_system: false,
    };
    let role = f.store.create_role(&scope, manager).await.unwrap();
    let rep_employee = f.rep.employee_id.clone().unwrap();
    f.store.assign_role(&scope, &rep_employee, &role.id).await.unwrap();
    let rep = UserContext::resolve(&*f.store, "acme-rep", None).await.unwrap();
    let err = f.call(&rep, "create_role", json!({"name": "god", "permissions": ["*:*"]})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(err.to_string().contains("you cannot grant"), "{err}");
    f.call(&rep, "create_role", json!({"name": "lead_reader", "permissions": ["lead:read"]})).await.unwrap();
}

#[tokio::test]
async fn concurrent_issue_numbers_through_the_tools() {
    let f = Arc::new(fixture().await);
    let calls = (0..30).map(|i| {
        let f = f.clone();
        async move {
            f.call(&f.support, "create_issue", json!({"title": format!("Concurrent {i}")})).await.unwrap()["number"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    });
    let numbers: BTreeSet<String> = futures::future::join_all(calls).await.into_iter().collect();
    assert_eq!(numbers.len(), 30, "no duplicate numbers");
}

#[tokio::test]
async fn toolsets_limit_what_a_registry_offers() {
    let f = fixture().await;
    let options = crm_agent::tools::RegistryOptions { toolsets: Some(vec![crm_agent::tools::Toolset::Support]) };
    let support_only = ToolRegistry::with_policy(f.store.clone(), Arc::new(crm_agent::Policy::builtin()), options);
    let listed = names(&support_only.list(&f.owner));
    assert!(listed.contains("resolve_issue") && listed.contains("list_orders"));
    assert!(!listed.contains("list_leads"));
    assert_eq!(support_only.call(&f.owner, "list_leads", json!({})).await.unwrap_err().kind(), ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_call_gets_exactly_one_audit_event_under_load() {
    let f = Arc::new(fixture().await);
    let calls = (0..300).map(|i| {
        let f = f.clone();
        async move {
            // A mix of successes and refusals, all audited.
            let user = if i % 3 == 0 { &f.customer } else { &f.owner };
            let _ = f.call(user, "get_customer_stats", json!({})).await;
        }
    });
    futures::future::join_all(calls).await;
    f.registry.flush_audit().await;
    let scope = f.owner.scope().unwrap();
    let filter = AuditFilter { action: Some("get_customer_stats".into()), ..AuditFilter::default() };
    let events = f.store.list_audit_events(&scope, &filter, &PageRequest::first(1)).await.unwrap();
    assert_eq!(events.total, 300);
    let denied = AuditFilter { outcome: Some(AuditOutcome::Denied), ..filter };
    assert_eq!(f.store.list_audit_events(&scope, &denied, &PageRequest::first(1)).await.unwrap().total, 100);
}

/// Importers writing through the `Store` API may backdate too, never into the future (the tools
/// are covered by `only_importers_see_and_set_created_at`).
#[tokio::test]
async fn the_store_refuses_creation_times_in_the_future() {
    let f = fixture().await;
    let scope = f.owner.scope().unwrap();
    let mut future = NewCustomer::named("From the future");
    future.created_at = Some(chrono::Utc::now() + chrono::Duration::days(1));
    let err = f.store.create_customer(&scope, future).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("`created_at` must not be in the future"), "{err}");
    let mut past = NewCustomer::named("Imported");
    past.created_at = Some(chrono::Utc::now() - chrono::Duration::days(400));
    assert!(f.store.create_customer(&scope, past).await.is_ok());
}

#[tokio::test]
async fn a_nul_character_in_any_argument_is_refused_by_name() {
    let f = fixture().await;
    let err = f.call(&f.owner, "create_customer", json!({"name": "Acme\u{0}Evil"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("`name` contains a NUL character"), "{err}");
    let nested = json!({"customer_id": f.first_id(&f.owner, "list_customers", json!({})).await,
                        "tags": ["ok", "bad\u{0}"]});
    let err = f.call(&f.owner, "update_customer", nested).await.unwrap_err();
    assert!(err.to_string().contains("`tags.1` contains a NUL character"), "{err}");
    let err = f.call(&f.owner, "search_crm", json!({"query": "ab\u{0}c"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

#[tokio::test]
async fn a_context_of_an_organization_that_does_not_exist_is_not_found_everywhere() {
    let f = fixture().await;
    let ghost = UserContext::new("ghost-owner", OrganizationId("org_ghost".into()), Role::Owner);
    let cases = [
        ("create_customer", json!({"name": "Nowhere Ltd"})),
        ("list_customers", json!({})),
        ("get_dashboard_stats", json!({})),
    ];
    for (tool, args) in cases {
        let err = f.call(&ghost, tool, args).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{tool}: {err}");
        assert!(err.to_string().contains("organization"), "{tool}: {err}");
    }
    let scope = crm_agent::Scope::organization(ghost.organization_id.clone());
    let written = f.store.list_customers(&scope, &CustomerFilter::default(), &PageRequest::default()).await.unwrap();
    assert_eq!(written.total, 0, "nothing was written into no organization");
}

/// Backdating is an import's right alone: `created_at` on the tools that create records is seen
/// and accepted only from a caller holding `data:import` (granted by name; an owner's `*:*` does
/// not include it), is recorded as given, and is never in the future.
#[tokio::test]
async fn only_importers_see_and_set_created_at() {
    let f = fixture().await;
    let then = chrono::Utc::now() - chrono::Duration::days(730);
    let then_text = then.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let has_created_at = |tool: &crm_agent::Tool, importing: bool| {
        tool.describe_for(importing)["parameters"]["properties"].get("created_at").is_some()
    };

    assert!(!f.registry.may_import(&f.owner), "`*:*` does not include data:import");
    assert!(f.registry.list(&f.owner).iter().all(|tool| !has_created_at(tool, false)));
    let refused = f.call(&f.owner, "create_customer", json!({"name": "Old Co", "created_at": then_text})).await;
    let refused = refused.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::PermissionDenied, "{refused}");
    assert!(refused.to_string().contains("data:import"), "{refused}");

    let policy = crm_agent::Policy::from_toml("[principals.owner]\ngrants = [\"*:*\", \"data:import\"]").unwrap();
    let options = crm_agent::tools::RegistryOptions::default();
    let importing = ToolRegistry::with_policy(f.store.clone(), Arc::new(policy), options);
    assert!(importing.may_import(&f.owner) && !importing.may_import(&f.rep));
    let importers: Vec<&str> = importing
        .list(&f.owner)
        .into_iter()
        .filter(|tool| has_created_at(tool, true))
        .map(|tool| tool.name())
        .collect();
    assert_eq!(importers, ["create_activity", "create_customer", "create_deal", "create_issue", "create_lead"]);

    let creates = [
        ("create_customer", json!({"name": "Old Co"})),
        ("create_lead", json!({"name": "Old Lead"})),
        ("create_deal", json!({"title": "Old Deal", "value": "100.00"})),
        ("create_issue", json!({"title": "Old Issue"})),
        ("create_activity", json!({"activity_type": "call", "title": "Old Call"})),
    ];
    for (tool, mut args) in creates {
        args["created_at"] = json!(then_text);
        let created = importing.call(&f.owner, tool, args.clone()).await.unwrap_or_else(|e| panic!("{tool}: {e}"));
        let recorded: chrono::DateTime<chrono::Utc> = serde_json::from_value(created["created_at"].clone()).unwrap();
        assert_eq!(recorded.timestamp_micros(), then.timestamp_micros(), "{tool}");

        args["created_at"] = json!((chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339());
        let future = importing.call(&f.owner, tool, args.clone()).await.unwrap_err();
        assert!(
            future.kind() == ErrorKind::InvalidArgument && future.to_string().contains("future"),
            "{tool}: {future}"
        );
        args["created_at"] = json!("last spring");
        let unreadable = importing.call(&f.owner, tool, args).await.unwrap_err();
        assert!(unreadable.to_string().contains("RFC 3339"), "{tool}: {unreadable}");
    }
    // Not an argument of tools that create nothing, whoever calls.
    let customer = f.call(&f.owner, "create_customer", json!({"name": "Now Co"})).await.unwrap();
    let update = json!({"customer_id": customer["id"], "name": "Renamed", "created_at": then_text});
    assert_eq!(
        importing.call(&f.owner, "update_customer", update).await.unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    // The rep, whose role does not hold it, is refused under the same policy.
    let rep = importing.call(&f.rep, "create_customer", json!({"name": "Rep Co", "created_at": then_text})).await;
    assert_eq!(rep.unwrap_err().kind(), ErrorKind::PermissionDenied);
}
