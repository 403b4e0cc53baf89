//! The `crm-agent` binary on the demo data: seed, tools, call, list.

use std::process::Command;

fn crm_agent(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_crm-agent"))
        .args(args)
        .env_remove("CRM_AGENT_DB")
        .output()
        .expect("run crm-agent");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn tool_names(stdout: &str) -> Vec<String> {
    let declarations: Vec<serde_json::Value> = serde_json::from_str(stdout).expect("tools --json prints JSON");
    declarations.iter().map(|d| d["name"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn seed_then_tools_and_call_as_the_demo_users() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("cli.db").display());
    let (ok, out, err) =
        crm_agent(&["seed", "--db", &db, "--quiet", "--customers", "20", "--leads", "20", "--deals", "20"]);
    assert!(ok, "{err}");
    for user in ["acme-owner", "acme-rep", "acme-support", "acme-customer", "globex-owner"] {
        assert!(out.contains(user), "seed lists {user}: {out}");
    }
    let (ok, again, _) = crm_agent(&["seed", "--db", &db, "--if-empty"]);
    assert!(ok && again.contains("nothing seeded"), "{again}");

    let owner = tool_names(&crm_agent(&["tools", "--db", &db, "--user", "acme-owner", "--json"]).1);
    let customer = tool_names(&crm_agent(&["tools", "--db", &db, "--user", "acme-customer", "--json"]).1);
    let rep = tool_names(&crm_agent(&["tools", "--db", &db, "--user", "acme-rep", "--json"]).1);
    assert_eq!(owner.len(), crm_agent::tools::catalogue().len(), "the owner sees every tool");
    assert!(
        customer.len() < 20
            && customer.contains(&"create_issue".to_string())
            && !customer.contains(&"list_leads".to_string())
    );
    assert!(
        rep.contains(&"create_deal".to_string())
            && !rep.contains(&"create_role".to_string())
            && rep.len() < owner.len()
    );

    let (ok, out, err) = crm_agent(&["call", "get_dashboard_stats", "--db", &db, "--user", "acme-owner"]);
    assert!(ok, "{err}");
    let stats: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(stats["deals"]["total"], 20);

    let (ok, out, _) =
        crm_agent(&["call", "list_customers", "--db", &db, "--user", "acme-customer", "--args", r#"{"limit": 50}"#]);
    assert!(ok);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap()["total"], 1, "a customer sees only themselves");

    let (ok, _, err) = crm_agent(&["call", "get_dashboard_stats", "--db", &db, "--user", "acme-customer"]);
    assert!(!ok && err.contains("permission_denied"), "{err}");
    let (ok, _, err) =
        crm_agent(&["call", "list_customers", "--db", &db, "--user", "acme-owner", "--args", r#"{"status": "gold"}"#]);
    assert!(!ok && err.contains("invalid_argument") && err.contains("status"), "{err}");
    let (ok, _, err) =
        crm_agent(&["call", "list_customers", "--db", &db, "--user", "acme-owner", "--args", "not json"]);
    assert!(!ok && err.contains("--args is not JSON"), "{err}");

    let (ok, markdown, _) = crm_agent(&["tools", "--markdown"]);
    assert!(ok && markdown.starts_with("# Tools"));
}
