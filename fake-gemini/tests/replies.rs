//! Each reply form, replays, faults, errors and delays, seen through a plain HTTP client.

mod common;

use std::time::{Duration, Instant};

use common::*;
use fake_gemini::{ErrorReply, FakeGemini, FaultKind, FunctionCall, Reply, Script, Turn};
use serde_json::{Value, json};

async fn fake_with(replies: Vec<Reply>) -> FakeGemini {
    let mut script = Script::new().with_base_dir(fixtures());
    for r in replies {
        script = script.with_turn(Turn::new(r));
    }
    FakeGemini::start(script).await.expect("start")
}

#[tokio::test]
async fn text_reply_streams_deltas_then_stop_chunk() {
    let fake = fake_with(vec![Reply::text_chunked("Hello there", 4)]).await;
    let resp = post_stream(&fake, "gemini-x", &ask("hi")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let body = resp.text().await.unwrap();
    assert!(body.starts_with("data: {"));
    assert!(body.ends_with("}\r\n\r\n"));
    assert!(!body.contains("event:") && !body.contains("[DONE]"));

    let events = sse_events(&body);
    let texts: Vec<&str> =
        events.iter().map(|e| e["candidates"][0]["content"]["parts"][0]["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["Hell", "o th", "ere", ""]);
    let last = events.last().unwrap();
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");
    assert_eq!(last["candidates"][0]["content"]["role"], "model");
    assert_eq!(last["candidates"][0]["index"], 0);
    let usage = &last["usageMetadata"];
    assert!(usage["promptTokenCount"].as_u64().unwrap() >= 1);
    assert!(usage["candidatesTokenCount"].as_u64().unwrap() >= 1);
    assert_eq!(
        usage["totalTokenCount"].as_u64().unwrap(),
        usage["promptTokenCount"].as_u64().unwrap() + usage["candidatesTokenCount"].as_u64().unwrap()
    );
    for e in &events[..3] {
        assert!(e["candidates"][0].get("finishReason").is_none());
    }
    let rid = &events[0]["responseId"];
    assert!(rid.as_str().is_some_and(|s| !s.is_empty()));
    assert!(events.iter().all(|e| &e["responseId"] == rid && e["modelVersion"] == "gemini-x"));
    fake.assert_clean();
}

#[tokio::test]
async fn default_text_split_is_by_words_and_response_ids_are_unique() {
    let text = "The quick brown fox jumps over the lazy dog and keeps running";
    let fake = fake_with(vec![Reply::text(text), Reply::text(text)]).await;
    let a = stream_events(&fake, "m", &ask("one")).await;
    let b = stream_events(&fake, "m", &ask("two")).await;
    assert!(a.len() > 3);
    let joined: String = all_parts(&a).iter().map(|p| p["text"].as_str().unwrap()).collect();
    assert_eq!(joined, text);
    assert_ne!(a[0]["responseId"], b[0]["responseId"]);
}

#[tokio::test]
async fn function_calls_share_one_chunk_and_get_a_signature() {
    let calls = vec![
        FunctionCall::new("get_customer", json!({"id": 7})).with_id("call-1"),
        FunctionCall::new("get_deals", json!({"customer": 7})),
    ];
    let mut reply = Reply::function_calls_signed(calls);
    if let fake_gemini::ReplyKind::FunctionCalls { text, .. } = &mut reply.kind {
        *text = Some("Let me look.".into());
    }
    let fake = fake_with(vec![reply.clone(), reply]).await;
    let events = stream_events(&fake, "gemini-3", &ask("who is 7?")).await;
    let call_chunks: Vec<&Value> = events.iter().filter(|e| e.to_string().contains("functionCall")).collect();
    assert_eq!(call_chunks.len(), 1, "all calls in one chunk");
    let parts = call_chunks[0]["candidates"][0]["content"]["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0]["functionCall"], json!({"name": "get_customer", "args": {"id": 7}, "id": "call-1"}));
    let sig = parts[0]["thoughtSignature"].as_str().expect("signature on the first call");
    assert!(sig.len() >= 40 && sig.chars().all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c)));
    assert!(parts[1].get("thoughtSignature").is_none());
    assert_eq!(parts[1]["functionCall"]["name"], "get_deals");
    // Text first, then the calls, then the closing empty-text STOP chunk.
    assert_eq!(events[0]["candidates"][0]["content"]["parts"][0]["text"].as_str().unwrap().trim(), "Let me look.");
    let last = events.last().unwrap();
    assert_eq!(last["candidates"][0]["content"]["parts"], json!([{"text": ""}]));
    assert_eq!(last["candidates"][0]["finishReason"], "STOP");

    let again = stream_events(&fake, "gemini-3", &ask("again")).await;
    let sig2 = all_parts(&again).iter().find_map(|p| p["thoughtSignature"].as_str().map(str::to_string)).unwrap();
    assert_ne!(sig, sig2, "every step gets a fresh signature");
}

#[tokio::test]
async fn raw_chunks_reply_uses_given_finish_reason_and_usage() {
    let reply: Reply = serde_json::from_value(json!({
        "chunks": [[{"text": "a"}], [{"text": "b"}, {"text": "c"}]],
        "finish_reason": "MAX_TOKENS",
        "usage": {"promptTokenCount": 5, "candidatesTokenCount": 3, "totalTokenCount": 8}
    }))
    .unwrap();
    let fake = fake_with(vec![reply]).await;
    let events = stream_events(&fake, "m", &ask("x")).await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[1]["candidates"][0]["content"]["parts"], json!([{"text": "b"}, {"text": "c"}]));
    assert_eq!(events[1]["candidates"][0]["finishReason"], "MAX_TOKENS");
    assert_eq!(events[1]["usageMetadata"]["totalTokenCount"], 8);
}

#[tokio::test]
async fn replay_sends_the_recorded_bytes_unchanged() {
    let file = "rust-genai_yakbak_gemini_tool_stream.sse";
    let expected = std::fs::read(fixtures().join(file)).unwrap();
    let fake = fake_with(vec![Reply::replay(file).with_chunk_delay_ms(1)]).await;
    let resp = post_stream(&fake, "gemini-3.1-pro-preview", &ask("weather")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let got = resp.bytes().await.unwrap();
    assert_eq!(got.to_vec(), expected, "byte-for-byte replay");
}

#[tokio::test]
async fn replay_of_midstream_503_fixture_keeps_the_bare_error() {
    let file = "issue_vercel-ai5217_midstream_503_RECONSTRUCTED.sse";
    let expected = std::fs::read(fixtures().join(file)).unwrap();
    let fake = fake_with(vec![Reply::replay(file)]).await;
    let got = post_stream(&fake, "gemini-2.0-flash", &ask("x")).await.bytes().await.unwrap();
    assert_eq!(got.to_vec(), expected);
}

#[tokio::test]
async fn replay_jsonl_reframes_each_line() {
    let file = "js-genai_afc_2.5-flash_turn3.response.jsonl";
    let lines: Vec<String> = std::fs::read_to_string(fixtures().join(file))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    let fake = fake_with(vec![Reply::replay_jsonl(file)]).await;
    let body = post_stream(&fake, "gemini-2.5-flash", &ask("x")).await.text().await.unwrap();
    let expected: String = lines.iter().map(|l| format!("data: {l}\r\n\r\n")).collect();
    assert_eq!(body, expected);
}

#[tokio::test]
async fn generate_content_merges_the_stream_into_one_response() {
    let calls = vec![FunctionCall::new("f", json!({})).with_id("c1")];
    let fake = fake_with(vec![Reply::text_chunked("Hello world", 3), Reply::function_calls_signed(calls)]).await;
    let resp = post_unary(&fake, "m", &ask("hi")).await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let v: Value = read_json(resp).await;
    assert_eq!(v["candidates"][0]["content"]["parts"], json!([{"text": "Hello world"}]));
    assert_eq!(v["candidates"][0]["finishReason"], "STOP");
    assert!(v["usageMetadata"]["totalTokenCount"].as_u64().unwrap() > 0);
    assert_eq!(v["modelVersion"], "m");

    let v: Value = read_json(post_unary(&fake, "m", &ask("call")).await).await;
    let parts = v["candidates"][0]["content"]["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 1, "no stray empty text part: {parts:?}");
    assert_eq!(parts[0]["functionCall"]["id"], "c1");
    assert!(parts[0]["thoughtSignature"].is_string());
}

#[tokio::test]
async fn cut_fault_aborts_the_body() {
    let fake = fake_with(vec![Reply::text_chunked("abcdefghij", 2).with_fault(2, FaultKind::Cut)]).await;
    let mut resp = post_stream(&fake, "m", &ask("x")).await;
    assert_eq!(resp.status(), 200);
    let mut received = Vec::new();
    let err = loop {
        match resp.chunk().await {
            Ok(Some(bytes)) => received.extend_from_slice(&bytes),
            Ok(None) => panic!("clean EOF after a cut fault"),
            Err(e) => break e,
        }
    };
    assert!(err.is_body() || err.is_decode() || err.is_request(), "{err:?}");
    let events = sse_events(&String::from_utf8(received).unwrap());
    assert_eq!(events.len(), 2, "the chunks before the cut arrive");

    // bytes() sees the same error.
    let fake = fake_with(vec![Reply::text("abc def").with_fault(0, FaultKind::Cut)]).await;
    assert!(post_stream(&fake, "m", &ask("x")).await.bytes().await.is_err());
}

#[tokio::test]
async fn error_503_fault_appends_a_bare_error_object() {
    let fake = fake_with(vec![Reply::text_chunked("abcdef", 2).with_fault(1, FaultKind::Error503)]).await;
    let body = post_stream(&fake, "m", &ask("x")).await.text().await.unwrap();
    let (events, tail) = body.split_at(body.rfind("\r\n\r\n").unwrap() + 4);
    assert_eq!(sse_events(events).len(), 1);
    assert!(tail.starts_with("{\n  \"error\""), "bare pretty JSON, no data: prefix: {tail:?}");
    let err: Value = serde_json::from_str(tail).unwrap();
    assert_eq!(err["error"]["code"], 503);
    assert_eq!(err["error"]["status"], "UNAVAILABLE");
}

#[tokio::test]
async fn malformed_fault_sends_a_truncated_event() {
    let fake = fake_with(vec![Reply::text_chunked("abcdef", 2).with_fault(1, FaultKind::Malformed)]).await;
    let body = post_stream(&fake, "m", &ask("x")).await.text().await.unwrap();
    assert!(body.ends_with("data: {\"candidates\": [\r\n\r\n"));
    let first = body.split("\r\n\r\n").next().unwrap();
    assert!(serde_json::from_str::<Value>(first.strip_prefix("data: ").unwrap()).is_ok());
    assert_eq!(body.matches("data: ").count(), 2);
}

#[tokio::test]
async fn error_429_has_quota_failure_and_retry_info() {
    let fake = fake_with(vec![
        Reply::error_with(ErrorReply { retry_delay: Some("0.2s".into()), ..ErrorReply::new(429) }),
        Reply::error_with(ErrorReply { daily_quota: true, ..ErrorReply::new(429) }),
    ])
    .await;
    let resp = post_stream(&fake, "gemini-x", &ask("x")).await;
    assert_eq!(resp.status(), 429);
    assert_eq!(resp.headers()["content-type"], "text/event-stream", "stream endpoint keeps the SSE type");
    let v: Value = serde_json::from_str(&resp.text().await.unwrap()).expect("plain JSON body");
    assert_eq!(v["error"]["code"], 429);
    assert_eq!(v["error"]["status"], "RESOURCE_EXHAUSTED");
    let details = v["error"]["details"].as_array().unwrap();
    let retry = details.iter().find(|d| d["@type"] == "type.googleapis.com/google.rpc.RetryInfo").unwrap();
    assert_eq!(retry["retryDelay"], "0.2s");
    let quota = details.iter().find(|d| d["@type"] == "type.googleapis.com/google.rpc.QuotaFailure").unwrap();
    assert!(quota["violations"][0]["quotaId"].as_str().unwrap().contains("PerMinute"));

    let v: Value = read_json(post_stream(&fake, "gemini-x", &ask("x")).await).await;
    let details = v["error"]["details"].as_array().unwrap();
    assert!(details.iter().any(|d| d["violations"][0]["quotaId"].as_str().is_some_and(|q| q.contains("PerDay"))));
    assert!(!details.iter().any(|d| d["@type"] == "type.googleapis.com/google.rpc.RetryInfo"));
    fake.assert_clean();
}

#[tokio::test]
async fn other_errors_and_custom_bodies() {
    let custom = json!({"error": {"code": 500, "message": "custom", "status": "INTERNAL"}});
    let fake = fake_with(vec![
        Reply::error(503),
        Reply::error(404),
        Reply::error_with(ErrorReply { body: Some(custom.clone()), ..ErrorReply::new(500) }),
    ])
    .await;
    let resp = post_unary(&fake, "gemini-x", &ask("x")).await;
    assert_eq!(resp.status(), 503);
    let v: Value = read_json(resp).await;
    assert_eq!(v["error"]["status"], "UNAVAILABLE");
    let resp = post_unary(&fake, "gemini-x", &ask("x")).await;
    assert_eq!(resp.status(), 404);
    let v: Value = read_json(resp).await;
    assert_eq!(v["error"]["status"], "NOT_FOUND");
    assert!(v["error"]["message"].as_str().unwrap().contains("models/gemini-x"));
    let resp = post_stream(&fake, "gemini-x", &ask("x")).await;
    assert_eq!(resp.status(), 500);
    assert_eq!(read_json::<Value>(resp).await, custom);
}

#[tokio::test]
async fn blocked_prompt_is_one_chunk_with_prompt_feedback() {
    let fake = fake_with(vec![Reply::blocked("SAFETY")]).await;
    let events = stream_events(&fake, "m", &ask("bad")).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["promptFeedback"]["blockReason"], "SAFETY");
    assert!(events[0].get("candidates").is_none());
    assert!(events[0]["usageMetadata"]["promptTokenCount"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn delays_are_applied() {
    let fake =
        fake_with(vec![Reply::text_chunked("abcd", 1).with_chunk_delay_ms(40).with_first_byte_delay_ms(150)]).await;
    let start = Instant::now();
    let resp = post_stream(&fake, "m", &ask("x")).await;
    assert!(start.elapsed() >= Duration::from_millis(150), "first byte delayed");
    let before_body = Instant::now();
    let events = sse_events(&resp.text().await.unwrap());
    assert_eq!(events.len(), 5);
    // Four chunks after the first, 40 ms each.
    assert!(before_body.elapsed() >= Duration::from_millis(150), "{:?}", before_body.elapsed());
}

#[tokio::test]
async fn model_probe_answers_with_the_model_name() {
    let fake = fake_with(vec![]).await;
    let resp = client()
        .get(format!("{}/v1beta/models/gemini-x", fake.base_url()))
        .header("x-goog-api-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = read_json(resp).await;
    assert_eq!(v["name"], "models/gemini-x");
    assert!(v["displayName"].is_string());
}

#[tokio::test]
async fn script_json_forms_parse_and_bad_ones_are_rejected() {
    let script = Script::from_json(
        r#"{"turns": [
            {"reply": {"text": "hi", "chunk_size": 8, "chunk_delay_ms": 5}},
            {"when": {"model": "m"}, "times": 0, "reply": {"function_calls": [{"name": "f"}], "signatures": true}},
            {"reply": {"replay": "x.sse", "fault": {"after_chunks": 1, "kind": "cut"}}},
            {"reply": {"replay_jsonl": "x.jsonl"}},
            {"reply": {"error": {"status": 429, "retry_delay": "1s"}}},
            {"reply": {"blocked": "SAFETY"}},
            {"reply": {"chunks": [[{"text": "a"}]], "finish_reason": ""}}
        ]}"#,
    )
    .unwrap();
    assert_eq!(script.turns.len(), 7);
    assert!(script.checks);
    assert_eq!(script.turns[1].times, 0);
    // Round trip through serde.
    let again = Script::from_json(&serde_json::to_string(&script).unwrap()).unwrap();
    assert_eq!(again, script);

    for bad in [
        r#"{"turns": [{"reply": {"text": "a", "blocked": "SAFETY"}}]}"#,
        r#"{"turns": [{"reply": {}}]}"#,
        r#"{"turns": [{"reply": {"error": {"status": 500}, "fault": {"after_chunks": 0, "kind": "cut"}}}]}"#,
        r#"{"turns": [{"reply": {"text": "a", "bogus": 1}}]}"#,
        r#"{"turns": [{"reply": {"text": "a", "fault": {"after_chunks": 0, "kind": "explode"}}}]}"#,
    ] {
        assert!(Script::from_json(bad).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn missing_replay_file_fails_at_start() {
    let script = Script::new().with_base_dir(fixtures()).with_turn(Turn::new(Reply::replay("no-such-file.sse")));
    let err = FakeGemini::start(script).await.unwrap_err();
    assert!(err.to_string().contains("no-such-file.sse"), "{err}");
}
