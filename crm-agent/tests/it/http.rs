//! The HTTP service end to end: every route over real HTTP (reqwest against the router served
//! on a loopback port), with the fake Gemini server behind the agent.

use crate::common;
use crate::common::fixture::Fixture;

use std::sync::Arc;
use std::time::Duration;

use crm_agent::auth::{TokenAuthenticator, create_token};
use crm_agent::http::{HttpOptions, HttpState, ShutdownTrigger};
use crm_agent::model::gemini::RetryPolicy;
use crm_agent::model::{GeminiClient, GeminiConfig};
use crm_agent::seed::SeedOptions;
use crm_agent::{CrmAgent, UserContext};
use fake_gemini::{FakeGemini, StreamState};
use futures::StreamExt;
use serde_json::{Value, json};

struct Server {
    url: String,
    fake: FakeGemini,
    owner: String,
    rep: String,
    customer: String,
    shutdown: Option<ShutdownTrigger>,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn server_with(script: Value, configure: impl FnOnce(&mut HttpOptions)) -> Server {
    let seed = SeedOptions {
        customers: 10,
        leads: 5,
        deals: 5,
        issues: 3,
        orders: 2,
        activities: 2,
        ..SeedOptions::default()
    };
    let f = Fixture::builder()
        .seed(seed)
        .model(script)
        .retry(RetryPolicy { max_attempts: 1, ..RetryPolicy::default() })
        .build()
        .await;
    let (store, dir, fake, agent) = (f.store, f.dir, f.fake.unwrap(), f.agent.unwrap());
    let token = |user: &'static str| {
        let store = store.clone();
        async move {
            let ctx = UserContext::resolve(&*store, user, None).await.unwrap();
            create_token(store.as_ref(), &ctx, "test", None).await.unwrap().secret
        }
    };
    let (owner, rep, customer) = (token("acme-owner").await, token("acme-rep").await, token("acme-customer").await);
    let mut options = HttpOptions::default();
    configure(&mut options);
    let (state, shutdown) = HttpState::new(agent, TokenAuthenticator::new(store.clone()), options);
    let app = crm_agent::http::router(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(crm_agent::mcp::http::serve(listener, app, Default::default(), std::future::pending()));
    Server { url, fake, owner, rep, customer, shutdown: Some(shutdown), http: reqwest::Client::new(), _dir: dir }
}

async fn server(script: Value) -> Server {
    server_with(script, |_| {}).await
}

impl Server {
    fn get(&self, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.http.get(format!("{}{path}", self.url)).bearer_auth(token)
    }
    fn post(&self, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.http.post(format!("{}{path}", self.url)).bearer_auth(token)
    }
    /// A whole `POST /api/chat` answer body.
    async fn chat(&self, token: &str, body: Value) -> String {
        self.post("/api/chat", token).json(&body).send().await.unwrap().text().await.unwrap()
    }
}

/// An SSE body as (event name, data JSON) pairs.
fn sse_events(body: &str) -> Vec<(String, Value)> {
    body.split("\n\n")
        .filter_map(|block| {
            let mut name = String::from("message");
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim().to_owned();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim_start());
                }
            }
            (!data.is_empty()).then(|| (name, serde_json::from_str(&data).unwrap()))
        })
        .collect()
}

async fn error_code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (status, body["error"]["code"].as_str().unwrap_or_default().to_owned())
}

fn chat_script() -> Value {
    json!({"turns": [
        {"when": {"user_text_contains": "customers"}, "times": 0, "reply": {"function_calls": [{"name": "get_customer_stats", "args": {}}]}},
        {"when": {"function_response": "get_customer_stats"}, "times": 0, "reply": {"text": "You have **10** customers."}},
        {"when": {"user_text_contains": "add"}, "times": 0, "reply": {"function_calls": [{"name": "create_customer", "args": {"name": "Orbit Ltd"}}]}},
        {"when": {"function_response": "create_customer"}, "times": 0, "reply": {"text": "Please confirm."}},
        {"when": {"user_text_contains": "hello"}, "times": 0, "reply": {"text": "Hello!"}}
    ]})
}

#[tokio::test]
async fn health_page_and_auth() {
    let s = server(chat_script()).await;
    let health = s.http.get(format!("{}/healthz", s.url)).send().await.unwrap();
    assert_eq!((health.status().as_u16(), health.text().await.unwrap().as_str()), (200, "ok"));
    let page = s.http.get(format!("{}/", s.url)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'self'"));
    for asset in [
        "/assets/app.css",
        "/assets/app.js",
        "/assets/api.js",
        "/assets/dom.js",
        "/assets/format.js",
        "/assets/markdown.js",
        "/assets/sse.js",
    ] {
        let response = s.http.get(format!("{}{asset}", s.url)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{asset}");
        // Browsers refuse a module script served with another type.
        if asset.ends_with(".js") {
            assert_eq!(
                response.headers()["content-type"].to_str().unwrap(),
                "text/javascript; charset=utf-8",
                "{asset}"
            );
        }
    }
    // The node tests beside the modules are not part of the page.
    let test_file = s.http.get(format!("{}/assets/tests/markdown.test.mjs", s.url)).send().await.unwrap();
    assert_ne!(test_file.status(), 200);

    let missing = s.http.get(format!("{}/api/status", s.url)).send().await.unwrap();
    assert!(missing.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer"));
    assert!(missing.headers().contains_key("x-request-id"));
    assert_eq!(error_code(missing).await, (401, "unauthenticated".into()));
    assert_eq!(
        error_code(s.get("/api/status", "crm_bogus").send().await.unwrap()).await,
        (401, "unauthenticated".into())
    );
    assert_eq!(error_code(s.get("/api/nothing-here", &s.owner).send().await.unwrap()).await, (404, "not_found".into()));
    // MCP is mounted, behind the same tokens.
    let mcp = s.http.post(format!("{}/mcp", s.url)).json(&json!({})).send().await.unwrap();
    assert_eq!(mcp.status(), 401);
    // A page on another site rebinding its name to this server is refused, API and demo alike.
    let rebound = s
        .http
        .get(format!("{}/api/status", s.url))
        .header("host", "evil.example")
        .bearer_auth(&s.owner)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(rebound).await, (403, "forbidden_host".into()));
    let local = s.http.get(format!("{}/healthz", s.url)).header("host", "localhost:1234").send().await.unwrap();
    assert_eq!(local.status(), 200);
    // Not in demo mode: no picker.
    assert_eq!(s.http.get(format!("{}/api/demo/users", s.url)).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn status_and_tools() {
    let s = server(chat_script()).await;
    let status: Value = s.get("/api/status", &s.customer).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["user"]["role"], "customer");
    assert_eq!(status["api_key_configured"], true);
    assert_eq!(status["model_reachable"], true);
    assert_eq!(status["demo"], false);
    let tools: Vec<Value> = s.get("/api/tools", &s.customer).send().await.unwrap().json().await.unwrap();
    assert_eq!(tools.len() as u64, status["tool_count"].as_u64().unwrap());
    assert!(tools.iter().all(|t| t["name"] != "list_leads"));
    assert!(tools.iter().any(|t| t["name"] == "create_issue" && t["annotations"]["read_only"] == false));
    let compat: Value = s.get("/api/gemini/status/", &s.owner).send().await.unwrap().json().await.unwrap();
    assert_eq!(compat["available"], true);
    assert_eq!(compat["model"], "gemini-test");
    assert_eq!(compat["user_context"]["user_id"], "acme-owner");
}

#[tokio::test]
async fn chat_streams_events_as_sse() {
    let s = server(chat_script()).await;
    let response = s.post("/api/chat", &s.owner).json(&json!({"message": "how many customers?"})).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    assert_eq!(response.headers()["cache-control"], "no-cache");
    assert_eq!(response.headers()["x-accel-buffering"], "no");
    let events = sse_events(&response.text().await.unwrap());
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).filter(|n| *n != "text").collect();
    assert_eq!(names, ["started", "tool_call", "tool_result", "done"]);
    assert!(events.iter().all(|(name, data)| data["type"] == *name));
    let text: String = events.iter().filter_map(|(_, d)| d["delta"].as_str()).collect();
    assert_eq!(text, "You have **10** customers.");

    // The conversation is listed, readable, renamable, deletable — by its owner only.
    let conversation = events[0].1["conversation_id"].as_str().unwrap().to_owned();
    let list: Value = s.get("/api/conversations", &s.owner).send().await.unwrap().json().await.unwrap();
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["id"], conversation.as_str());
    let detail: Value =
        s.get(&format!("/api/conversations/{conversation}"), &s.owner).send().await.unwrap().json().await.unwrap();
    assert_eq!(detail["messages"].as_array().unwrap().len(), 4);
    assert_eq!(detail["messages"][0]["role"], "user");
    for (method, path) in [("GET", ""), ("PATCH", ""), ("DELETE", "")] {
        let url = format!("{}/api/conversations/{conversation}{path}", s.url);
        let request = s.http.request(method.parse().unwrap(), url).bearer_auth(&s.rep).json(&json!({"title": "x"}));
        assert_eq!(
            error_code(request.send().await.unwrap()).await,
            (404, "not_found".into()),
            "{method} as another user"
        );
    }
    let renamed: Value = s
        .http
        .patch(format!("{}/api/conversations/{conversation}", s.url))
        .bearer_auth(&s.owner)
        .json(&json!({"title": "Customer count"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(renamed["title"], "Customer count");
    let bad_rename = s
        .http
        .patch(format!("{}/api/conversations/{conversation}", s.url))
        .bearer_auth(&s.owner)
        .json(&json!({"title": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(bad_rename).await, (400, "invalid_argument".into()));
    // Resuming it in a second turn works; then it is deleted.
    let again = s
        .post("/api/chat", &s.owner)
        .json(&json!({"message": "hello again", "conversation_id": conversation}))
        .send()
        .await
        .unwrap();
    assert!(sse_events(&again.text().await.unwrap()).iter().any(|(n, _)| n == "done"));
    let deleted = s
        .http
        .delete(format!("{}/api/conversations/{conversation}", s.url))
        .bearer_auth(&s.owner)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(
        error_code(s.get(&format!("/api/conversations/{conversation}"), &s.owner).send().await.unwrap()).await.0,
        404
    );
    s.fake.assert_clean();
}

#[tokio::test]
async fn bad_chat_requests_are_json_errors() {
    let s = server(chat_script()).await;
    let send = |body: reqwest::Body| {
        s.post("/api/chat", &s.owner).header("content-type", "application/json").body(body).send()
    };
    assert_eq!(error_code(send("{not json".into()).await.unwrap()).await, (400, "invalid_argument".into()));
    assert_eq!(error_code(send(r#"{"message": 5}"#.into()).await.unwrap()).await, (400, "invalid_argument".into()));
    assert_eq!(
        error_code(send(r#"{"message": "hi", "history": []}"#.into()).await.unwrap()).await,
        (400, "invalid_argument".into())
    );
    assert_eq!(error_code(send(r#"{"message": "   "}"#.into()).await.unwrap()).await, (400, "invalid_argument".into()));
    let huge = json!({"message": "x".repeat(600_000)}).to_string();
    assert_eq!(error_code(send(huge.into()).await.unwrap()).await, (413, "payload_too_large".into()));
    // The limit counts characters, and an over-long or NUL-holding message is a 400 before any stream.
    let too_long = json!({"message": "x".repeat(32_001)}).to_string();
    assert_eq!(error_code(send(too_long.into()).await.unwrap()).await, (400, "invalid_argument".into()));
    let nul = json!({"message": "hello\u{0}there"}).to_string();
    assert_eq!(error_code(send(nul.into()).await.unwrap()).await, (400, "invalid_argument".into()));
    let unknown = json!({"message": "hello", "conversation_id": "cnv_nope"}).to_string();
    assert_eq!(error_code(send(unknown.into()).await.unwrap()).await, (404, "not_found".into()));
    let no_type = s.post("/api/chat", &s.owner).body(r#"{"message":"hello"}"#).send().await.unwrap();
    assert_eq!(error_code(no_type).await.0, 400);
    assert!(s.fake.requests().is_empty(), "nothing reached the model");

    // 31,990 CJK characters (about 96 KB of UTF-8) are under the 32,000-character limit.
    let cjk = json!({"message": format!("hello {}", "漢".repeat(31_990))});
    let answer = send(cjk.to_string().into()).await.unwrap();
    assert_eq!(answer.status(), 200);
    assert!(sse_events(&answer.text().await.unwrap()).iter().any(|(name, _)| name == "done"));
    // A NUL in a conversation's new title is a 400, not a store failure.
    let conversations: Value = s.get("/api/conversations", &s.owner).send().await.unwrap().json().await.unwrap();
    let id = conversations["items"][0]["id"].as_str().unwrap();
    let rename = s
        .http
        .patch(format!("{}/api/conversations/{id}", s.url))
        .bearer_auth(&s.owner)
        .json(&json!({"title": "bad\u{0}title"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(rename).await, (400, "invalid_argument".into()));
}

#[tokio::test]
async fn confirmations_over_http() {
    let s = server(chat_script()).await;
    let body = s.chat(&s.owner, json!({"message": "please add Orbit"})).await;
    let events = sse_events(&body);
    let card = events.iter().find(|(n, _)| n == "confirmation_required").expect("a confirmation card").1.clone();
    let action = card["action_id"].as_str().unwrap();
    let conversation = events[0].1["conversation_id"].as_str().unwrap();

    let pending: Value = s
        .get(&format!("/api/actions?status=pending&conversation_id={conversation}"), &s.owner)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pending["total"], 1);
    assert_eq!(error_code(s.get("/api/actions?status=bogus", &s.owner).send().await.unwrap()).await.0, 400);
    assert_eq!(
        error_code(s.post(&format!("/api/actions/{action}/confirm"), &s.rep).send().await.unwrap()).await,
        (404, "not_found".into())
    );

    let confirmed: Value =
        s.post(&format!("/api/actions/{action}/confirm"), &s.owner).send().await.unwrap().json().await.unwrap();
    assert_eq!(confirmed["action"]["status"], "succeeded");
    assert_eq!(confirmed["result"]["name"], "Orbit Ltd");
    assert_eq!(
        error_code(s.post(&format!("/api/actions/{action}/confirm"), &s.owner).send().await.unwrap()).await,
        (409, "conflict".into())
    );
    assert_eq!(
        error_code(s.post(&format!("/api/actions/{action}/reject"), &s.owner).send().await.unwrap()).await,
        (409, "conflict".into())
    );

    // A second proposal, rejected.
    let body = s.chat(&s.owner, json!({"message": "add it again"})).await;
    let card = sse_events(&body).into_iter().find(|(n, _)| n == "confirmation_required").unwrap().1;
    let rejected: Value = s
        .post(&format!("/api/actions/{}/reject", card["action_id"].as_str().unwrap()), &s.owner)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rejected["status"], "rejected");
}

/// The routes the older Django frontend calls, with Django REST Framework's `Token` scheme.
#[tokio::test]
async fn the_older_frontends_routes() {
    let s = server(chat_script()).await;
    let token = |request: reqwest::RequestBuilder| request.header("authorization", format!("Token {}", s.owner));
    let status: Value =
        token(s.http.get(format!("{}/api/gemini/status/", s.url))).send().await.unwrap().json().await.unwrap();
    assert_eq!((status["available"].clone(), status["api_key_configured"].clone()), (json!(true), json!(true)));
    assert_eq!(status["user_context"]["role"], "owner");
    assert_eq!(status["user_context"]["permissions_count"], 52, "an owner holds every resource:action");

    let response = token(s.http.post(format!("{}/api/gemini/chat/", s.url)))
        .json(&json!({"message": "how many customers?"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let body = response.text().await.unwrap();
    assert!(!body.contains("event:"), "the older encoding has data lines only: {body}");
    let events = sse_events(&body);
    let types: Vec<&str> = events.iter().map(|(_, d)| d["type"].as_str().unwrap()).collect();
    assert_eq!(types.first(), Some(&"connected"));
    assert_eq!(types.last(), Some(&"completed"));
    assert!(types[1..types.len() - 1].iter().all(|t| *t == "message"));
    let content: String = events.iter().filter_map(|(_, d)| d["content"].as_str()).collect();
    assert_eq!(content, "You have **10** customers.");

    // A proposed write is a message the frontend renders, with the action to confirm.
    let body = token(s.http.post(format!("{}/api/gemini/chat/", s.url)))
        .json(&json!({"message": "add Orbit Ltd"}))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let events = sse_events(&body);
    let card = events.iter().find(|(_, d)| d.get("action_id").is_some()).expect("a confirmation message");
    assert_eq!(card.1["type"], "message");
    assert!(card.1["content"].as_str().unwrap().contains("Confirmation needed"));
    let action = card.1["action_id"].as_str().unwrap();
    let confirmed = token(s.http.post(format!("{}/api/gemini/actions/{action}/confirm/", s.url))).send().await.unwrap();
    assert_eq!(confirmed.status(), 200);
    let confirmed: Value = confirmed.json().await.unwrap();
    assert_eq!(
        (confirmed["action"]["status"].as_str(), confirmed["result"]["name"].as_str()),
        (Some("succeeded"), Some("Orbit Ltd"))
    );
    let again = token(s.http.post(format!("{}/api/gemini/actions/{action}/reject/", s.url))).send().await.unwrap();
    assert_eq!(error_code(again).await.0, 409, "a decided action stays decided");

    // A token the server does not know, in either scheme, is 401 with a challenge.
    let bad = s
        .http
        .get(format!("{}/api/gemini/status/", s.url))
        .header("authorization", "Token crm_nope")
        .send()
        .await
        .unwrap();
    assert!(bad.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
    assert_eq!(error_code(bad).await, (401, "unauthenticated".into()));
}

#[tokio::test]
async fn chat_is_rate_limited_per_user() {
    let s = server_with(chat_script(), |o| o.chats_per_minute = 2).await;
    for _ in 0..2 {
        let ok = s.post("/api/chat", &s.owner).json(&json!({"message": "hello"})).send().await.unwrap();
        assert_eq!(ok.status(), 200);
        ok.text().await.unwrap();
    }
    let limited = s.post("/api/chat", &s.owner).json(&json!({"message": "hello"})).send().await.unwrap();
    assert!(limited.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    assert_eq!(error_code(limited).await, (429, "rate_limited".into()));
    // Another user has their own allowance.
    assert_eq!(s.post("/api/chat", &s.rep).json(&json!({"message": "hello"})).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_client_that_disconnects_leaves_a_consistent_conversation() {
    let s = server(json!({"turns": [
        {"times": 0, "reply": {"text": "a long answer that streams slowly word by word", "chunk_size": 4, "chunk_delay_ms": 150}}
    ]}))
    .await;
    let response = s.post("/api/chat", &s.owner).json(&json!({"message": "tell me a story"})).send().await.unwrap();
    let mut body = response.bytes_stream();
    let mut seen = String::new();
    while !seen.contains("event: text") {
        seen.push_str(std::str::from_utf8(&body.next().await.unwrap().unwrap()).unwrap());
    }
    drop(body);
    // The cancelled turn hangs up on the model, then stores what it keeps in one write: wait for
    // both, and that write must be the question alone, no half answer.
    s.fake.wait_for_stream(StreamState::Abandoned).await;
    let list: Value = s.get("/api/conversations", &s.owner).send().await.unwrap().json().await.unwrap();
    let id = list["items"][0]["id"].as_str().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let detail = loop {
        let detail: Value =
            s.get(&format!("/api/conversations/{id}"), &s.owner).send().await.unwrap().json().await.unwrap();
        if detail["messages"].as_array().is_some_and(|m| !m.is_empty()) || tokio::time::Instant::now() > deadline {
            break detail;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let roles: Vec<&str> = detail["messages"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["user"], "the question stays, no half answer");
}

#[tokio::test]
async fn keep_alives_during_a_slow_step_and_a_clean_end_at_shutdown() {
    let s = server_with(
        json!({"turns": [
            {"when": {"user_text_contains": "slow"}, "reply": {"text": "finally", "first_byte_delay_ms": 400}},
            {"when": {"user_text_contains": "endless"}, "reply": {"text": "one two three four five six seven", "chunk_size": 3, "chunk_delay_ms": 300}}
        ]}),
        |o| o.keep_alive = Duration::from_millis(100),
    )
    .await;
    let body = s.chat(&s.owner, json!({"message": "slow please"})).await;
    assert!(body.contains(": keep-alive"), "{body}");
    assert!(body.contains("event: done"));

    let response = s.post("/api/chat", &s.owner).json(&json!({"message": "endless story"})).send().await.unwrap();
    let mut stream = response.bytes_stream();
    let mut seen = String::new();
    while !seen.contains("event: text") {
        seen.push_str(std::str::from_utf8(&stream.next().await.unwrap().unwrap()).unwrap());
    }
    s.shutdown.as_ref().unwrap().trigger();
    while let Some(chunk) = stream.next().await {
        seen.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
    }
    let last = sse_events(&seen).pop().unwrap().1;
    assert_eq!(last["code"], "shutting_down");
    assert_eq!(last["retryable"], true);
}

#[tokio::test]
async fn a_host_that_drops_the_shutdown_trigger_keeps_streaming() {
    let mut s = server(chat_script()).await;
    drop(s.shutdown.take());
    let body = s.chat(&s.owner, json!({"message": "hello"})).await;
    let last = sse_events(&body).pop().unwrap();
    assert_eq!(last.0, "done", "{body}");
}

/// `GET /api/demo/users` through `app` as a client at `peer` (`None`: an address the server
/// does not know); its status.
async fn demo_users_status(app: &axum::Router, peer: Option<&str>) -> u16 {
    use tower::ServiceExt;
    let mut request = axum::http::Request::get("/api/demo/users")
        .header("host", "localhost")
        .body(axum::body::Body::empty())
        .unwrap();
    if let Some(peer) = peer {
        request.extensions_mut().insert(axum::extract::ConnectInfo(peer.parse::<std::net::SocketAddr>().unwrap()));
    }
    app.clone().oneshot(request).await.unwrap().status().as_u16()
}

#[tokio::test]
async fn demo_users_go_to_this_machine_only_and_survive_other_instances() {
    use crm_agent::http::demo;
    let f = Fixture::builder().seed(common::fixture::tiny_seed()).build().await;
    let store = f.store;
    let authenticator = TokenAuthenticator::new(store.clone());
    // Two instances started on one database: the second leaves the first one's tokens working.
    let first = demo::demo_users(store.as_ref(), &authenticator).await.unwrap();
    let second = demo::demo_users(store.as_ref(), &authenticator).await.unwrap();
    let uncached = TokenAuthenticator::with_ttl(store.clone(), Duration::ZERO);
    for user in first.iter().chain(&second) {
        assert_eq!(uncached.authenticate(&user.token).await.unwrap().user_id, user.user_id);
    }
    // Restarts do not pile tokens up: the 20 newest per user are kept.
    let mut latest = second.clone();
    for _ in 0..19 {
        latest = demo::demo_users(store.as_ref(), &authenticator).await.unwrap();
    }
    assert!(uncached.authenticate(&first[0].token).await.is_err());
    assert!(uncached.authenticate(&second[0].token).await.is_ok());
    assert!(uncached.authenticate(&latest[0].token).await.is_ok());

    let agent = CrmAgent::builder(store.clone())
        .model(Arc::new(GeminiClient::new(GeminiConfig::new("unused")).unwrap()))
        .build()
        .unwrap();
    let router = |any_client: bool| {
        let options =
            HttpOptions { demo_users: Some(latest.clone()), demo_for_any_client: any_client, ..Default::default() };
        crm_agent::http::router(HttpState::new(agent.clone(), TokenAuthenticator::new(store.clone()), options).0)
    };
    let local_only = router(false);
    for peer in ["127.0.0.1:50000", "[::1]:50000", "[::ffff:127.0.0.1]:50000"] {
        assert_eq!(demo_users_status(&local_only, Some(peer)).await, 200, "{peer}");
    }
    // Whatever its Host header says, a client elsewhere gets no tokens; nor does one whose
    // address is unknown (a host serving the router without `ConnectInfo`).
    assert_eq!(demo_users_status(&local_only, Some("203.0.113.9:50000")).await, 404);
    assert_eq!(demo_users_status(&local_only, None).await, 404);
    assert_eq!(demo_users_status(&router(true), Some("203.0.113.9:50000")).await, 200);
}
