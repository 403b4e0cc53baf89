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

fn crm_agent_with_model(args: &[&str], base_url: &str) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_crm-agent"))
        .args(args)
        .env_remove("CRM_AGENT_DB")
        .env("GEMINI_API_KEY", "cli-test-key")
        .env("GEMINI_BASE_URL", base_url)
        .env("GEMINI_MODEL", "gemini-cli-test")
        .output()
        .expect("run crm-agent");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `crm-agent chat` streams a full turn against the fake Gemini server; `confirm` runs the
/// proposed write once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_and_confirm_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("chat.db").display());
    let (ok, _, err) =
        crm_agent(&["seed", "--db", &db, "--quiet", "--customers", "10", "--leads", "5", "--deals", "5"]);
    assert!(ok, "{err}");
    let script = serde_json::json!({"turns": [
        {"when": {"user_text_contains": "how many"}, "reply": {"function_calls": [{"name": "get_customer_stats", "args": {}}]}},
        {"when": {"function_response": "get_customer_stats"}, "reply": {"text": "You have 10 customers."}},
        {"when": {"user_text_contains": "add"}, "reply": {"function_calls": [{"name": "create_customer", "args": {"name": "Quill & Co"}}]}},
        {"when": {"function_response": "create_customer"}, "reply": {"text": "Please confirm."}}
    ]});
    let fake =
        fake_gemini::FakeGemini::start(fake_gemini::Script::from_json(&script.to_string()).unwrap()).await.unwrap();
    let url = fake.base_url();

    // A person at a terminal: the answer on stdout, the tool activity on stderr.
    let (ok, out, err) = tokio::task::spawn_blocking({
        let (db, url) = (db.clone(), url.clone());
        move || {
            crm_agent_with_model(
                &["chat", "--db", &db, "--user", "acme-owner", "--message", "how many customers?"],
                &url,
            )
        }
    })
    .await
    .unwrap();
    assert!(ok, "{err}");
    assert_eq!(out.trim(), "You have 10 customers.");
    assert!(err.contains("-> get_customer_stats") && err.contains("<- get_customer_stats: ok"), "{err}");

    // --json: one event per line; the write waits for `confirm`.
    let (ok, out, err) = tokio::task::spawn_blocking({
        let (db, url) = (db.clone(), url.clone());
        move || {
            crm_agent_with_model(
                &["chat", "--db", &db, "--user", "acme-owner", "--message", "add Quill", "--json"],
                &url,
            )
        }
    })
    .await
    .unwrap();
    assert!(ok, "{err}");
    let events: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["started", "tool_call", "confirmation_required", "text", "done"]);
    let action = events[2]["action_id"].as_str().unwrap().to_owned();

    let search = r#"{"search": "Quill"}"#;
    let count = |db: &str| {
        let (_, out, _) = crm_agent(&["call", "list_customers", "--db", db, "--user", "acme-owner", "--args", search]);
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["total"].as_u64().unwrap()
    };
    assert_eq!(count(&db), 0);
    let (ok, out, err) = crm_agent(&["confirm", &action, "--db", &db, "--user", "acme-owner"]);
    assert!(ok, "{err}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap()["action"]["status"], "succeeded");
    assert_eq!(count(&db), 1);
    let (ok, _, err) = crm_agent(&["confirm", &action, "--db", &db, "--user", "acme-owner"]);
    assert!(!ok && err.contains("conflict"), "{err}");
    assert_eq!(count(&db), 1);
    fake.assert_clean();
}

#[test]
fn a_port_in_use_fails_before_the_database_is_touched() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("untouched.db");
    let db = format!("sqlite://{}", file.display());
    for args in [vec!["serve", "--db", &db, "--addr", &addr], vec!["mcp", "--db", &db, "--http", &addr]] {
        let (ok, _, err) = crm_agent(&args);
        assert!(!ok, "{args:?} must fail");
        assert!(err.contains("error (unavailable)") && err.contains(&addr) && err.contains("already in use"), "{err}");
        assert!(!file.exists(), "{args:?} created or migrated the database before binding");
    }
}

#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("pipe.db").display());
    let (ok, _, err) = crm_agent(&["seed", "--db", &db, "--quiet", "--customers", "30"]);
    assert!(ok, "{err}");
    // `crm-agent call … | head` where head has already exited: stdout is a closed pipe.
    let mut child = Command::new(env!("CARGO_BIN_EXE_crm-agent"))
        .args(["call", "list_customers", "--db", &db, "--user", "acme-owner", "--args", r#"{"limit": 30}"#])
        .env_remove("CRM_AGENT_DB")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run crm-agent");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait for crm-agent");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status.code());
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_killed_seed_is_refused_with_a_way_to_recover() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("killed.db");
    let db = format!("sqlite://{}", file.display());
    let mut seeding = Command::new(env!("CARGO_BIN_EXE_crm-agent"))
        .args(["seed", "--db", &db, "--quiet", "--customers", "20000", "--leads", "20000", "--deals", "20000"])
        .env_remove("CRM_AGENT_DB")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once the first organization's customers are being written: part-way for sure.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let customers = rusqlite::Connection::open(&file)
            .and_then(|c| c.query_row("SELECT COUNT(*) FROM customers", [], |row| row.get::<_, i64>(0)))
            .unwrap_or(0);
        if customers > 100 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the seed never got going");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    seeding.kill().unwrap();
    assert!(!seeding.wait().unwrap().success());

    for args in [vec!["seed", "--db", &db, "--quiet"], vec!["seed", "--db", &db, "--if-empty"]] {
        let (ok, _, err) = crm_agent(&args);
        assert!(!ok && err.contains("stopped before it finished") && err.contains("delete the SQLite file"), "{err}");
    }
    let (ok, _, err) = crm_agent(&["serve", "--db", &db, "--addr", "127.0.0.1:0"]);
    assert!(!ok && err.contains("stopped before it finished"), "{err}");

    // Recovering as told works.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
    let (ok, out, err) = crm_agent(&["seed", "--db", &db, "--quiet", "--customers", "10"]);
    assert!(ok && out.contains("acme-owner"), "{err}");
    let (ok, out, _) = crm_agent(&["seed", "--db", &db, "--if-empty"]);
    assert!(ok && out.contains("nothing seeded"), "{out}");
}

/// `crm-agent confirm` killed (SIGKILL) while its write waits half-way leaves no trace: the
/// action is still pending and confirmable, nothing was written, and a second confirm runs it
/// once. The claim, the write and the outcome commit together. On PostgreSQL, where the test can
/// stop the write half-way by holding the record's row lock.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmed_write_killed_mid_run_leaves_its_action_pending() {
    use crm_agent::domain::*;
    use crm_agent::{Store, UserContext};
    use sqlx::{Connection, Row};

    let Some(url) = crate::common::postgres_url("a_confirmed_write_killed_mid_run_leaves_its_action_pending") else {
        return;
    };
    let (store, schema) = crate::common::small_demo_on_postgres(&url).await;
    let owner = UserContext::resolve(&store, "acme-owner", None).await.unwrap();
    let scope = owner.scope().unwrap();
    let target = store.list_customers(&scope, &CustomerFilter::default(), &PageRequest::first(1)).await.unwrap().items;
    let target = target.into_iter().next().unwrap();
    let now = chrono::Utc::now();
    let rename = NewPendingAction {
        user_id: owner.user_id.clone(),
        conversation_id: None,
        tool: "update_customer".into(),
        arguments: serde_json::json!({"customer_id": target.id, "name": "Renamed Once"}),
        summary: "Rename".into(),
        created_at: now,
        expires_at: now + PENDING_ACTION_TTL,
    };
    let action = store.create_pending_action(&scope, rename).await.unwrap();

    // The command's connections name themselves, so the test can see them wait.
    let application = format!("confirm_{schema}");
    let db = format!("{}&application_name={application}", crate::common::url_of_schema(&url, &schema));
    let mut locker = sqlx::PgConnection::connect(&db).await.unwrap();
    let mut lock = locker.begin().await.unwrap();
    sqlx::query("SELECT id FROM customers WHERE id = $1 FOR UPDATE")
        .bind(target.id.as_str())
        .fetch_all(&mut *lock)
        .await
        .unwrap();
    let confirm = {
        let (id, db) = (action.id.to_string(), db.clone());
        move || {
            let mut command = Command::new(env!("CARGO_BIN_EXE_crm-agent"));
            command.args(["confirm", &id, "--db", &db, "--user", "acme-owner"]).env_remove("CRM_AGENT_DB");
            command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
            command
        }
    };
    let mut running = confirm().spawn().unwrap();
    let mut watcher = sqlx::PgConnection::connect(&url).await.unwrap();
    let waiting_for_the_lock = "SELECT COUNT(*) AS n FROM pg_stat_activity \
                                WHERE application_name = $1 AND wait_event_type = 'Lock'";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let row = sqlx::query(waiting_for_the_lock).bind(&application).fetch_one(&mut watcher).await.unwrap();
        if row.get::<i64, _>("n") > 0 {
            break;
        }
        assert!(running.try_wait().unwrap().is_none(), "confirm ended before it reached the write");
        assert!(std::time::Instant::now() < deadline, "confirm never reached the write");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    running.kill().unwrap();
    assert!(!running.wait().unwrap().success());

    let after_kill = store.get_pending_action(&scope, &owner.user_id, &action.id).await.unwrap();
    assert_eq!((after_kill.status, after_kill.decided_at), (ActionStatus::Pending, None), "{after_kill:?}");
    assert_eq!(store.get_customer(&scope, &target.id).await.unwrap().name, target.name);

    lock.rollback().await.unwrap();
    let out = tokio::task::spawn_blocking(move || confirm().output().unwrap()).await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let confirmed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(confirmed["action"]["status"], "succeeded");
    assert_eq!(store.get_customer(&scope, &target.id).await.unwrap().name, "Renamed Once");
    store.close().await;
}
