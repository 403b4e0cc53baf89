//! The host's app over real HTTP, with the fake Gemini server behind the assistant: its own
//! sign-in decides who the assistant's routes and `/mcp` act for.

use std::sync::Arc;

use crm_agent::CrmAgent;
use crm_agent::model::{GeminiClient, GeminiConfig};
use crm_agent_axum_example::{app, example_users, open_store};
use fake_gemini::{FakeGemini, Script};
use serde_json::{Value, json};

struct Running {
    url: String,
    http: reqwest::Client,
    _fake: FakeGemini,
}

async fn start() -> Running {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let script = json!({"turns": [
        {"when": {"user_text_contains": "customers"}, "times": 0,
         "reply": {"function_calls": [{"name": "get_customer_stats", "args": {}}]}},
        {"when": {"function_response": "get_customer_stats"}, "times": 0, "reply": {"text": "None yet."}}
    ]});
    let fake = FakeGemini::start(Script::from_json(&script.to_string()).unwrap()).await.unwrap();
    let config = GeminiConfig::new("test-key").with_base_url(fake.base_url()).with_model("gemini-test");
    let store = open_store("sqlite::memory:").await.unwrap();
    let agent = CrmAgent::builder(store).model(Arc::new(GeminiClient::new(config).unwrap())).build().unwrap();
    let (app, _shutdown) = app(agent, example_users()).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Running { url, http: reqwest::Client::builder().no_proxy().build().unwrap(), _fake: fake }
}

impl Running {
    /// Signs in through the host's own route; answers the session cookie.
    async fn sign_in(&self, username: &str) -> String {
        let response = self
            .http
            .post(format!("{}/login", self.url))
            .json(&json!({"username": username, "password": format!("{username}-password")}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let cookie = response.headers()["set-cookie"].to_str().unwrap();
        cookie.split(';').next().unwrap().to_owned()
    }
}

#[tokio::test]
async fn the_hosts_sign_in_decides_who_the_assistant_acts_for() {
    let app = start().await;
    // Without the host's session, the assistant's routes are closed.
    let anonymous = app.http.get(format!("{}/assistant/api/status", app.url)).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.headers()["www-authenticate"], "Bearer realm=\"example\"");

    let alice = app.sign_in("alice").await;
    let status: Value = app
        .http
        .get(format!("{}/assistant/api/status", app.url))
        .header("cookie", &alice)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["user"]["user_id"], "alice");
    assert_eq!(status["user"]["role"], "owner");
    assert_eq!(status["available"], true);

    // A tool call through the assistant's routes, then a chat turn that calls one.
    let bob = app.sign_in("bob").await;
    let tools: Vec<Value> = app
        .http
        .get(format!("{}/assistant/api/tools", app.url))
        .header("cookie", &bob)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"create_deal") && !names.contains(&"create_role"), "a sales rep's tools: {names:?}");
    let body = app
        .http
        .post(format!("{}/assistant/api/chat", app.url))
        .header("cookie", &bob)
        .json(&json!({"message": "how many customers?"}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("event: tool_result") && body.contains("None yet.") && body.contains("event: done"),
        "{body}"
    );

    // The host's own page still works beside it.
    let home = app.http.get(&app.url).header("cookie", &alice).send().await.unwrap().text().await.unwrap();
    assert_eq!(home, "Hello alice (owner of acme)");
}

#[tokio::test]
async fn mcp_clients_use_the_hosts_api_keys() {
    let app = start().await;
    let mcp = |key: &str| {
        app.http
            .post(format!("{}/mcp", app.url))
            .header("authorization", format!("Bearer {key}"))
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-06-18")
    };
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}});
    let refused = mcp("not-a-key").json(&call).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    let listed: Value = mcp("host-key-bob").json(&call).send().await.unwrap().json().await.unwrap();
    let names: Vec<&str> =
        listed["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"list_deals") && !names.contains(&"create_role"), "{names:?}");
    let whoami = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "get_current_user_context", "arguments": {}}});
    let answer: Value = mcp("host-key-alice").json(&whoami).send().await.unwrap().json().await.unwrap();
    assert_eq!(answer["result"]["structuredContent"]["user_id"], "alice", "{answer}");
}
