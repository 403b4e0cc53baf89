//! Helpers shared by the integration tests: a plain reqwest client and SSE parsing.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

use fake_gemini::FakeGemini;
use serde_json::{Value, json};

pub const KEY: &str = "test-key";

/// The recorded Gemini streams of the project (`crm-agent/tests/fixtures/gemini`).
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../crm-agent/tests/fixtures/gemini")
}

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().build().expect("reqwest client")
}

/// reqwest is built without its `json` feature here: send and read JSON by hand.
pub trait JsonBody {
    fn json_body(self, body: &Value) -> Self;
}

impl JsonBody for reqwest::RequestBuilder {
    fn json_body(self, body: &Value) -> Self {
        self.header("content-type", "application/json").body(body.to_string())
    }
}

/// The response body parsed as JSON.
pub async fn read_json<T: serde::de::DeserializeOwned>(resp: reqwest::Response) -> T {
    let text = resp.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

pub fn stream_url(fake: &FakeGemini, model: &str) -> String {
    format!("{}/v1beta/models/{model}:streamGenerateContent?alt=sse", fake.base_url())
}

pub fn unary_url(fake: &FakeGemini, model: &str) -> String {
    format!("{}/v1beta/models/{model}:generateContent", fake.base_url())
}

/// POSTs to the stream endpoint with the test key.
pub async fn post_stream(fake: &FakeGemini, model: &str, body: &Value) -> reqwest::Response {
    client().post(stream_url(fake, model)).header("x-goog-api-key", KEY).json_body(body).send().await.expect("send")
}

/// POSTs to the unary endpoint with the test key.
pub async fn post_unary(fake: &FakeGemini, model: &str, body: &Value) -> reqwest::Response {
    client().post(unary_url(fake, model)).header("x-goog-api-key", KEY).json_body(body).send().await.expect("send")
}

/// A request with one user text content.
pub fn ask(text: &str) -> Value {
    json!({ "contents": [ { "role": "user", "parts": [ { "text": text } ] } ] })
}

/// The JSON payloads of the `data:` events of an SSE body (events separated by blank lines).
pub fn sse_events(body: &str) -> Vec<Value> {
    body.split("\r\n\r\n")
        .flat_map(|block| block.split("\n\n"))
        .filter_map(|block| {
            let data: Vec<&str> = block.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
            (!data.is_empty()).then(|| serde_json::from_str(&data.join("\n")).expect("event JSON"))
        })
        .collect()
}

/// The parts of every chunk of a stream, flattened.
pub fn all_parts(events: &[Value]) -> Vec<Value> {
    events
        .iter()
        .filter_map(|e| e.pointer("/candidates/0/content/parts").and_then(Value::as_array))
        .flatten()
        .cloned()
        .collect()
}

/// Streams a request and returns the parsed events, asserting a 200 SSE response.
pub async fn stream_events(fake: &FakeGemini, model: &str, body: &Value) -> Vec<Value> {
    let resp = post_stream(fake, model, body).await;
    assert_eq!(resp.status(), 200, "status");
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let text = resp.text().await.expect("body");
    sse_events(&text)
}
