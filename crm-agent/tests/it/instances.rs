//! Two `crm-agent serve` processes on one PostgreSQL database, as behind a load balancer: an
//! action proposed through one is confirmed through the other, the chat rate limit is one
//! budget across both, and a token revoked through one stops on the other within the cache time.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crm_agent::UserContext;
use crm_agent::auth::create_token;
use serde_json::{Value, json};

/// A running `serve`; killed when dropped.
struct Instance {
    child: Child,
    url: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(db: &str, model_url: &str) -> Instance {
    let mut child = Command::new(env!("CARGO_BIN_EXE_crm-agent"))
        .args(["serve", "--db", db, "--addr", "127.0.0.1:0", "--mcp-stateless", "--no-demo"])
        .env_remove("CRM_AGENT_DB")
        .env("GEMINI_API_KEY", "instances-key")
        .env("GEMINI_BASE_URL", model_url)
        .env("GEMINI_MODEL", "gemini-instances")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start crm-agent serve");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("serve printed its URL").unwrap();
        if let Some(url) = line.strip_prefix("CRM_AGENT_URL=") {
            break url.to_owned();
        }
    };
    // Keep reading, so the server never writes into a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Instance { child, url }
}

/// The events of an SSE body, as (event name, data).
fn events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter_map(|block| {
            let name = block.lines().find_map(|l| l.strip_prefix("event:")).unwrap_or("message").trim().to_owned();
            let data: String = block.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim_start).collect();
            (!data.is_empty()).then(|| (name, serde_json::from_str(&data).unwrap()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_database_share_actions_limits_and_revocations() {
    let Some(url) = crate::common::postgres_url("two_instances_on_one_database_share_actions_limits_and_revocations")
    else {
        return;
    };
    let (store, schema) = crate::common::small_demo_on_postgres(&url).await;
    store.optimize().await.unwrap();
    let token = |user: &'static str| {
        let store = store.clone();
        async move {
            let ctx = UserContext::resolve(&store, user, None).await.unwrap();
            create_token(&store, &ctx, "instances", None).await.unwrap()
        }
    };
    let (owner, rep, support) = (token("acme-owner").await, token("acme-rep").await, token("acme-support").await);

    let script = json!({"turns": [
        {"when": {"user_text_contains": "add"}, "times": 0, "reply": {"function_calls": [{"name": "create_customer", "args": {"name": "Twin Ltd"}}]}},
        {"when": {"function_response": "create_customer"}, "times": 0, "reply": {"text": "Please confirm."}},
        {"when": {"user_text_contains": "hello"}, "times": 0, "reply": {"text": "Hello!"}}
    ]});
    let fake =
        fake_gemini::FakeGemini::start(fake_gemini::Script::from_json(&script.to_string()).unwrap()).await.unwrap();
    let db = crate::common::url_of_schema(&url, &schema);
    let (a, b) = tokio::task::spawn_blocking({
        let (db, model) = (db.clone(), fake.base_url());
        move || (start(&db, &model), start(&db, &model))
    })
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let chat = |instance: &Instance, secret: &str, message: &str| {
        http.post(format!("{}/api/chat", instance.url)).bearer_auth(secret).json(&json!({"message": message})).send()
    };

    // Proposed through A, confirmed through B: it runs once.
    let body = chat(&a, &owner.secret, "add Twin").await.unwrap().text().await.unwrap();
    let card = events(&body).into_iter().find(|(name, _)| name == "confirmation_required").expect("a card").1;
    let action = card["action_id"].as_str().unwrap();
    let confirm = |instance: &Instance| {
        http.post(format!("{}/api/actions/{action}/confirm", instance.url)).bearer_auth(&owner.secret).send()
    };
    let confirmed: Value = confirm(&b).await.unwrap().json().await.unwrap();
    assert_eq!(
        (&confirmed["action"]["status"], &confirmed["result"]["name"]),
        (&json!("succeeded"), &json!("Twin Ltd"))
    );
    assert_eq!(confirm(&a).await.unwrap().status(), 409);

    // One chat budget across both: 30 a minute, 10 at once.
    for i in 0..10 {
        let instance = if i % 2 == 0 { &a } else { &b };
        let answer = chat(instance, &rep.secret, "hello").await.unwrap();
        assert_eq!(answer.status(), 200, "turn {i}");
        answer.text().await.unwrap();
    }
    for instance in [&a, &b] {
        let limited = chat(instance, &rep.secret, "hello").await.unwrap();
        assert_eq!(limited.status(), 429);
        assert!(limited.headers().contains_key("retry-after"));
    }

    // Revoked through A: refused by A at once, by B within its 5 s cache.
    let status =
        |instance: &Instance| http.get(format!("{}/api/status", instance.url)).bearer_auth(&support.secret).send();
    assert_eq!(status(&b).await.unwrap().status(), 200, "B has the token's identity cached");
    let revoke = http
        .delete(format!("{}/api/tokens/{}", a.url, support.token.id))
        .bearer_auth(&support.secret)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 200);
    let revoked_at = Instant::now();
    assert_eq!(status(&a).await.unwrap().status(), 401);
    loop {
        if status(&b).await.unwrap().status() == 401 {
            break;
        }
        assert!(revoked_at.elapsed() < Duration::from_secs(10), "B still takes the revoked token");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(revoked_at.elapsed() <= Duration::from_secs(6), "B took {:?}", revoked_at.elapsed());
    store.close().await;
}
