//! Auth, turn matching, and the checks of what the client sends back.

mod common;

use common::*;
use fake_gemini::{FakeGemini, FunctionCall, Reply, Script, Turn};
use serde_json::{Value, json};

/// A fake whose first step calls two tools (the first with an id and a fresh signature) and whose
/// second step answers once both responses are back.
async fn tool_fake() -> FakeGemini {
    let script = Script::new()
        .with_turn(
            Turn::new(Reply::function_calls_signed(vec![
                FunctionCall::new("get_customer", json!({"id": 7, "ratio": 2.5})).with_id("call-1"),
                FunctionCall::new("get_deals", json!({})),
            ]))
            .when_user_text_contains("revenue"),
        )
        .with_turn(Turn::new(Reply::text("Revenue is 42.")).when_function_response("get_deals").times(0));
    FakeGemini::start(script).await.expect("start")
}

/// Runs step one and returns the model content to echo plus the request's contents.
async fn step_one(fake: &FakeGemini) -> (Value, Vec<Value>) {
    let first = ask("what is the revenue?");
    let events = stream_events(fake, "gemini-3", &first).await;
    let parts: Vec<Value> = all_parts(&events).into_iter().filter(|p| p.get("functionCall").is_some()).collect();
    assert_eq!(parts.len(), 2);
    let model = json!({ "role": "model", "parts": parts });
    (model, first["contents"].as_array().unwrap().clone())
}

fn responses() -> Value {
    json!({ "role": "user", "parts": [
        { "functionResponse": { "id": "call-1", "name": "get_customer", "response": { "output": {"name": "ACME"} } } },
        { "functionResponse": { "name": "get_deals", "response": { "output": [1, 2] } } }
    ]})
}

fn follow_up(history: &[Value], model: Value, user: Vec<Value>) -> Value {
    let mut contents = history.to_vec();
    contents.push(model);
    contents.extend(user);
    json!({ "contents": contents })
}

#[tokio::test]
async fn correct_echo_of_signature_and_id_passes() {
    let fake = tool_fake().await;
    let (model, history) = step_one(&fake).await;
    // Key order of the echo does not matter; values do.
    let mut reordered = model.clone();
    let p0 = reordered["parts"][0].as_object_mut().unwrap();
    let fc = p0.remove("functionCall").unwrap();
    p0.insert("functionCall".into(), fc);
    let body = follow_up(&history, reordered, vec![responses()]);
    let events = stream_events(&fake, "gemini-3", &body).await;
    let text: String = all_parts(&events).iter().filter_map(|p| p["text"].as_str()).collect();
    assert_eq!(text, "Revenue is 42.");
    fake.assert_clean();
    assert_eq!(fake.unused_turns(), 0);
}

#[tokio::test]
async fn dropped_signature_is_rejected_like_gemini_3() {
    let fake = tool_fake().await;
    let (mut model, history) = step_one(&fake).await;
    model["parts"][0].as_object_mut().unwrap().remove("thoughtSignature");
    let resp = post_stream(&fake, "gemini-3", &follow_up(&history, model, vec![responses()])).await;
    assert_eq!(resp.status(), 400);
    let v: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    assert_eq!(v["error"]["status"], "INVALID_ARGUMENT");
    assert!(v["error"]["message"].as_str().unwrap().contains("missing a thought_signature"), "{v}");
    let violations = fake.violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(violations[0].contains("request #2") && violations[0].contains("thought_signature"));
}

#[tokio::test]
async fn dropped_or_changed_function_call_id_is_rejected() {
    let fake = tool_fake().await;
    let (model, history) = step_one(&fake).await;

    let mut dropped = model.clone();
    dropped["parts"][0]["functionCall"].as_object_mut().unwrap().remove("id");
    let resp = post_stream(&fake, "gemini-3", &follow_up(&history, dropped, vec![responses()])).await;
    assert_eq!(resp.status(), 400);
    let v = fake.violations();
    assert!(v.iter().any(|s| s.contains("functionCall.id missing")), "{v:?}");

    let mut changed = model.clone();
    changed["parts"][0]["functionCall"]["id"] = json!("other");
    let resp = post_stream(&fake, "gemini-3", &follow_up(&history, changed, vec![responses()])).await;
    assert_eq!(resp.status(), 400);
    assert!(fake.violations().iter().any(|s| s.contains("`other` differs")));

    // A response that drops the call's id.
    let mut resp_no_id = responses();
    resp_no_id["parts"][0]["functionResponse"].as_object_mut().unwrap().remove("id");
    let resp = post_stream(&fake, "gemini-3", &follow_up(&history, model, vec![resp_no_id])).await;
    assert_eq!(resp.status(), 400);
    assert!(fake.violations().iter().any(|s| s.contains("id `call-1`")));
}

#[tokio::test]
async fn function_responses_split_over_two_contents_are_rejected() {
    let fake = tool_fake().await;
    let (model, history) = step_one(&fake).await;
    let all = responses();
    let first = json!({ "role": "user", "parts": [all["parts"][0].clone()] });
    let second = json!({ "role": "user", "parts": [all["parts"][1].clone()] });
    let resp = post_stream(&fake, "gemini-3", &follow_up(&history, model, vec![first, second])).await;
    assert_eq!(resp.status(), 400);
    let v: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    assert_eq!(v["error"]["code"], 400);
    let violations = fake.violations();
    assert!(violations.iter().any(|s| s.contains("ONE user content")), "{violations:?}");
    assert_eq!(fake.unused_turns(), 0, "the rejected request used no turn");
}

#[tokio::test]
async fn non_object_response_and_parameters_are_rejected() {
    let fake = tool_fake().await;
    let (model, history) = step_one(&fake).await;
    let mut bad = responses();
    bad["parts"][1]["functionResponse"]["response"] = json!("just a string");
    let resp = post_stream(&fake, "gemini-3", &follow_up(&history, model, vec![bad])).await;
    assert_eq!(resp.status(), 400);
    assert!(fake.violations().iter().any(|s| s.contains("must be a JSON object")));

    let mut req = ask("revenue");
    req["tools"] = json!([{ "functionDeclarations": [{ "name": "f", "parameters": { "type": "OBJECT" } }] }]);
    let resp = post_stream(&fake, "gemini-3", &req).await;
    assert_eq!(resp.status(), 400);
    assert!(fake.violations().iter().any(|s| s.contains("parametersJsonSchema")));
    req["tools"] = json!([{ "functionDeclarations": [{ "name": "f", "parametersJsonSchema": { "type": "object" } }] }]);
    // Fine now, but no turn is left for it.
    let resp = post_stream(&fake, "gemini-3", &req).await;
    assert_eq!(resp.status(), 500);
}

#[tokio::test]
async fn bad_contents_shape_is_rejected() {
    let fake = FakeGemini::start(Script::new().with_turn(Turn::new(Reply::text("x")).times(0))).await.unwrap();
    for body in [
        json!({ "contents": [] }),
        json!({ "contents": [{ "role": "assistant", "parts": [{ "text": "x" }] }] }),
        json!({ "contents": [{ "role": "user", "parts": [] }] }),
        json!({ "prompt": "x" }),
    ] {
        let resp = post_stream(&fake, "m", &body).await;
        assert_eq!(resp.status(), 400, "{body}");
    }
    let resp =
        client().post(stream_url(&fake, "m")).header("x-goog-api-key", KEY).body("{not json").send().await.unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(fake.violations().len(), 5);
}

#[tokio::test]
async fn replayed_parts_must_be_echoed_exactly() {
    let script = Script::new()
        .with_base_dir(fixtures())
        .with_turn(Turn::new(Reply::replay("pydantic-ai_gemini-3-pro-preview_turn1.sse")))
        .with_turn(Turn::new(Reply::text("Mexico City")).times(0));
    let fake = FakeGemini::start(script).await.unwrap();
    let turn1: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("pydantic-ai_gemini-3-pro-preview_turn1.request.json")).unwrap(),
    )
    .unwrap();
    // The recorded request uses `parameters_json_schema`, which is fine.
    let events = stream_events(&fake, "gemini-3-pro-preview", &turn1).await;
    let call_part = all_parts(&events).into_iter().find(|p| p.get("functionCall").is_some()).unwrap();

    // The exact echo passes.
    let mut contents = turn1["contents"].as_array().unwrap().clone();
    contents.push(json!({ "role": "model", "parts": [call_part] }));
    contents.push(json!({ "role": "user", "parts": [{ "functionResponse": { "name": "get_country", "response": { "return_value": "Mexico" } } }] }));
    let resp = post_stream(&fake, "gemini-3-pro-preview", &json!({ "contents": contents })).await;
    assert_eq!(resp.status(), 200);
    fake.assert_clean();

    // The recorded turn-2 request re-encoded the signature (base64url) and added an id: rejected.
    let turn2: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("pydantic-ai_gemini-3-pro-preview_turn2.request.json")).unwrap(),
    )
    .unwrap();
    let resp = post_stream(&fake, "gemini-3-pro-preview", &turn2).await;
    assert_eq!(resp.status(), 400);
    let v = fake.violations();
    assert!(v.iter().any(|s| s.contains("thoughtSignature altered") && s.contains("functionCall.id")), "{v:?}");
}

#[tokio::test]
async fn checks_can_be_turned_off() {
    let fake =
        FakeGemini::start(Script::new().with_checks(false).with_turn(Turn::new(Reply::text("ok")))).await.unwrap();
    let body = json!({ "contents": [{ "role": "model", "parts": [{ "functionCall": { "name": "x", "args": {} } }] }] });
    let resp = post_stream(&fake, "m", &body).await;
    assert_eq!(resp.status(), 200);
    fake.assert_clean();
}

#[tokio::test]
async fn api_key_is_required_and_checked() {
    let fake = FakeGemini::start(Script::new().with_api_key(KEY).with_turn(Turn::new(Reply::text("ok")).times(0)))
        .await
        .unwrap();
    let c = client();

    let resp = c.post(stream_url(&fake, "m")).json_body(&ask("x")).send().await.unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let v: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    assert_eq!(v["error"]["status"], "PERMISSION_DENIED");

    let resp =
        c.post(stream_url(&fake, "m")).header("x-goog-api-key", "wrong").json_body(&ask("x")).send().await.unwrap();
    assert_eq!(resp.status(), 400);
    let v: Value = read_json(resp).await;
    assert_eq!(v["error"]["status"], "INVALID_ARGUMENT");
    assert_eq!(v["error"]["details"][0]["reason"], "API_KEY_INVALID");

    let url = format!("{}/v1beta/models/m:generateContent?key={KEY}", fake.base_url());
    let resp = c.post(url).json_body(&ask("x")).send().await.unwrap();
    assert_eq!(resp.status(), 200);

    let reqs = fake.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[0].api_key, None);
    assert_eq!(reqs[1].api_key.as_deref(), Some("wrong"));
    assert_eq!(reqs[2].api_key.as_deref(), Some(KEY));
    assert_eq!(reqs[2].model.as_deref(), Some("m"));
    assert_eq!(reqs[2].body, ask("x"));
    fake.assert_clean();
}

#[tokio::test]
async fn turns_match_in_order_and_respect_times() {
    let script = Script::new()
        .with_turn(Turn::new(Reply::text("pro answer")).when_model("gemini-pro").times(0))
        .with_turn(Turn::new(Reply::text("revenue answer")).when_user_text_contains("revenue").times(2))
        .with_turn(Turn::new(Reply::text("fallback")));
    let fake = FakeGemini::start(script).await.unwrap();
    let text =
        |events: Vec<Value>| -> String { all_parts(&events).iter().filter_map(|p| p["text"].as_str()).collect() };

    assert_eq!(fake.unused_turns(), 2);
    assert_eq!(text(stream_events(&fake, "gemini-pro", &ask("anything")).await), "pro answer");
    assert_eq!(text(stream_events(&fake, "gemini-pro", &ask("revenue")).await), "pro answer");
    assert_eq!(text(stream_events(&fake, "flash", &ask("the revenue?")).await), "revenue answer");
    assert_eq!(text(stream_events(&fake, "flash", &ask("revenue again")).await), "revenue answer");
    assert_eq!(fake.unused_turns(), 1);
    assert_eq!(text(stream_events(&fake, "flash", &ask("revenue thrice")).await), "fallback");
    assert_eq!(fake.unused_turns(), 0);
    fake.assert_clean();

    let resp = post_stream(&fake, "flash", &ask("more")).await;
    assert_eq!(resp.status(), 500);
    let v: Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    assert!(v["error"]["message"].as_str().unwrap().starts_with("fake-gemini: no scripted turn"));
    let violations = fake.violations();
    assert_eq!(violations.len(), 1);
    assert!(violations[0].contains("no scripted turn"));
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fake.assert_clean())).unwrap_err();
    let msg = panic.downcast_ref::<String>().unwrap();
    assert!(msg.contains("no scripted turn"));

    fake.push_turn(Turn::new(Reply::text("pushed")));
    assert_eq!(text(stream_events(&fake, "flash", &ask("more")).await), "pushed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_tool_chats() {
    const CHATS: usize = 2000;
    let script = Script::new()
        .with_turn(
            Turn::new(Reply::function_calls_signed(vec![FunctionCall::new("lookup", json!({"q": 1})).with_id("c")]))
                .when_user_text_contains("go")
                .times(0),
        )
        .with_turn(Turn::new(Reply::text("done and dusted")).when_function_response("lookup").times(0));
    let fake = std::sync::Arc::new(FakeGemini::start(script).await.unwrap());
    let c = client();
    let mut tasks = Vec::new();
    for i in 0..CHATS {
        let (fake, c) = (fake.clone(), c.clone());
        tasks.push(tokio::spawn(async move {
            let first = ask(&format!("go {i}"));
            let url = stream_url(&fake, "m");
            let body = c.post(&url).header("x-goog-api-key", KEY).json_body(&first).send().await?.text().await?;
            let call = all_parts(&sse_events(&body)).into_iter().find(|p| p.get("functionCall").is_some()).unwrap();
            let mut contents = first["contents"].as_array().unwrap().clone();
            contents.push(json!({ "role": "model", "parts": [call] }));
            contents.push(json!({ "role": "user", "parts": [{ "functionResponse": { "id": "c", "name": "lookup", "response": { "output": i } } }] }));
            let resp = c.post(&url).header("x-goog-api-key", KEY).json_body(&json!({ "contents": contents })).send().await?;
            let status = resp.status();
            let text = resp.text().await?;
            Ok::<_, reqwest::Error>((status, text))
        }));
    }
    for t in tasks {
        let (status, text) = t.await.unwrap().unwrap();
        assert_eq!(status, 200, "{text}");
        assert!(text.contains("dusted"));
    }
    fake.assert_clean();
    assert_eq!(fake.requests().len(), CHATS * 2);
}
