//! The `/_fake/...` control endpoints and the `fake-gemini` binary.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use fake_gemini::{FakeGemini, Script};
use serde_json::{Value, json};

#[tokio::test]
async fn control_endpoints_push_turns_and_report() {
    let fake = FakeGemini::start(Script::new()).await.unwrap();
    let c = client();
    let base = fake.base_url();

    let one = json!({ "when": { "user_text_contains": "hello" }, "reply": { "text": "Hi!" } });
    let r: Value = read_json(c.post(format!("{base}/_fake/turns")).json_body(&one).send().await.unwrap()).await;
    assert_eq!(r["added"], 1);
    let many = json!([{ "reply": { "text": "second" } }, { "times": 3, "reply": { "blocked": "SAFETY" } }]);
    let r: Value = read_json(c.post(format!("{base}/_fake/turns")).json_body(&many).send().await.unwrap()).await;
    assert_eq!(r["added"], 2);
    assert_eq!(r["turns"], 3);
    let bad = c.post(format!("{base}/_fake/turns")).json_body(&json!({ "reply": {} })).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    assert!(bad.text().await.unwrap().contains("exactly one of"));
    assert_eq!(fake.unused_turns(), 3);

    let text: String = all_parts(&stream_events(&fake, "m", &ask("hello there")).await)
        .iter()
        .filter_map(|p| p["text"].as_str())
        .collect();
    assert_eq!(text, "Hi!");
    let r: Value = read_json(c.get(format!("{base}/_fake/unused_turns")).send().await.unwrap()).await;
    assert_eq!(r["unused_turns"], 2);

    // A request without a key, then one with an unscripted shape.
    let _ = c.post(stream_url(&fake, "m")).json_body(&ask("x")).send().await.unwrap();
    let _ = post_stream(&fake, "m", &json!({ "contents": [] })).await;

    let reqs: Vec<Value> = read_json(c.get(format!("{base}/_fake/requests")).send().await.unwrap()).await;
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[0]["method"], "POST");
    assert_eq!(reqs[0]["path"], "/v1beta/models/m:streamGenerateContent");
    assert_eq!(reqs[0]["query"], "alt=sse");
    assert_eq!(reqs[0]["model"], "m");
    assert_eq!(reqs[0]["api_key"], KEY);
    assert_eq!(reqs[0]["body"], ask("hello there"));
    assert_eq!(reqs[1]["api_key"], Value::Null);

    let v: Vec<String> = read_json(c.get(format!("{base}/_fake/violations")).send().await.unwrap()).await;
    assert_eq!(v.len(), 1);
    assert!(v[0].contains("request #3") && v[0].contains("contents"), "{v:?}");

    // Reset: a new script, everything recorded is forgotten.
    let script = json!({ "api_key": "k2", "turns": [{ "times": 0, "reply": { "text": "after reset" } }] });
    let r = c.post(format!("{base}/_fake/reset")).json_body(&script).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(fake.violations().is_empty() && fake.requests().is_empty());
    assert_eq!(fake.unused_turns(), 0);
    let resp = post_stream(&fake, "m", &ask("x")).await;
    assert_eq!(resp.status(), 400, "the test key is no longer the right one");
    let resp = c.post(stream_url(&fake, "m")).header("x-goog-api-key", "k2").json_body(&ask("x")).send().await.unwrap();
    assert!(resp.text().await.unwrap().contains("after reset"));
    // An empty body resets to an empty script.
    let r = c.post(format!("{base}/_fake/reset")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let resp = post_stream(&fake, "m", &ask("x")).await;
    assert_eq!(resp.status(), 500);
    fake.shutdown().await;
}

#[tokio::test]
async fn cors_preflight_is_answered_for_browser_tests() {
    let fake = FakeGemini::start(Script::new()).await.unwrap();
    let resp = client()
        .request(reqwest::Method::OPTIONS, stream_url(&fake, "m"))
        .header("origin", "http://localhost:5173")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "x-goog-api-key, content-type")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    assert!(fake.requests().is_empty(), "preflights are not recorded");
    let resp = post_stream(&fake, "m", &ask("x")).await;
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
}

fn spawn_binary(args: &[&str]) -> (std::process::Child, String, BufReader<std::process::ChildStdout>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-gemini"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn fake-gemini");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).expect("read URL line");
    let url = line.trim_end().strip_prefix("FAKE_GEMINI_URL=").unwrap_or_else(|| panic!("got {line:?}")).to_string();
    (child, url, out)
}

fn wait_exit(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("fake-gemini did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_prints_its_url_serves_a_script_and_exits_on_stdin_eof() {
    let dir = std::env::temp_dir().join(format!("fake-gemini-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fixture = fixtures().join("rust-genai_yakbak_gemini_thinking_stream.sse");
    std::fs::copy(&fixture, dir.join("thinking.sse")).unwrap();
    let script_path = dir.join("script.json");
    std::fs::write(&script_path, r#"{"turns": [{"reply": {"replay": "thinking.sse"}}]}"#).unwrap();

    let (mut child, url, mut out) =
        spawn_binary(&["--addr", "127.0.0.1:0", "--script", script_path.to_str().unwrap(), "--exit-on-stdin-eof"]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let resp = client()
        .post(format!("{url}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"))
        .header("x-goog-api-key", KEY)
        .json_body(&ask("why is the sky blue"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes().await.unwrap().to_vec(), std::fs::read(&fixture).unwrap());

    drop(child.stdin.take());
    let status = wait_exit(&mut child);
    assert!(status.success(), "{status:?}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    assert!(rest.is_empty(), "exactly one stdout line, then nothing: {rest:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_without_script_takes_pushed_turns_and_stops_on_sigterm() {
    let (mut child, url, _out) = spawn_binary(&[]);
    let c = client();
    let r =
        c.post(format!("{url}/_fake/turns")).json_body(&json!({ "reply": { "text": "pushed" } })).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body = c
        .post(format!("{url}/v1beta/models/m:streamGenerateContent?alt=sse"))
        .header("x-goog-api-key", KEY)
        .json_body(&ask("x"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("pushed"));
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let status = wait_exit(&mut child);
    assert!(status.success(), "clean shutdown on SIGTERM: {status:?}");
}

#[tokio::test]
async fn a_streamed_reply_is_recorded_as_sent_or_abandoned() {
    use fake_gemini::StreamState;
    let slow = json!({ "text": "one two three four five six", "chunk_size": 4, "chunk_delay_ms": 100 });
    let script = json!({ "turns": [{ "times": 0, "reply": slow }] });
    let fake = FakeGemini::start(Script::from_json(&script.to_string()).unwrap()).await.unwrap();

    // Read to the end: sent.
    let whole = post_stream(&fake, "m", &ask("hi")).await.text().await.unwrap();
    assert!(whole.contains("STOP"));
    assert_eq!(fake.wait_for_stream(StreamState::Sent).await.stream, Some(StreamState::Sent));

    // Hang up after the first chunk: abandoned.
    let mut response = post_stream(&fake, "m", &ask("hi again")).await;
    assert!(response.chunk().await.unwrap().is_some());
    drop(response);
    let abandoned = fake.wait_for_stream(StreamState::Abandoned).await;
    assert_eq!(abandoned.body["contents"][0]["parts"][0]["text"], "hi again");
    assert_eq!(fake.requests().len(), 2);
}
