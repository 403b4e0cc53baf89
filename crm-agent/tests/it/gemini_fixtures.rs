//! Every recorded Gemini stream, error and request in `tests/fixtures/gemini/` is parsed
//! into the events it contains — with the body fed to the parser in pieces of every size, so
//! no framing depends on how the bytes arrive.

use std::path::{Path, PathBuf};

use crm_agent::ErrorKind;
use crm_agent::model::gemini::decode_stream_item;
use crm_agent::model::gemini::sse::SseParser;
use crm_agent::model::gemini::wire::{ApiError, ErrorEnvelope, GenerateContentRequest, GenerateContentResponse};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gemini")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// What a stream holds, in order, reduced to what the assistant acts on.
#[derive(Debug, Clone, PartialEq)]
enum Ev {
    /// Answer text of this many characters; `true` when the part carries a signature.
    Text(usize, bool),
    /// Thought text of this many characters.
    Thought(usize),
    /// A function call: name, id, whether it carries a signature.
    Call(String, Option<String>, bool),
    /// Another kind of part (code execution…), by its key.
    Other(String),
    /// A finish reason.
    Finish(String),
    /// The stream failed: the error's kind, whether it is retryable.
    Error(ErrorKind, bool),
}

fn events_of_chunk(chunk: &GenerateContentResponse, out: &mut Vec<Ev>) {
    for part in chunk.parts() {
        if let Some(call) = &part.function_call {
            out.push(Ev::Call(call.name.clone(), call.id.clone(), part.thought_signature.is_some()));
        } else if let Some(text) = &part.text {
            if part.thought == Some(true) {
                out.push(Ev::Thought(text.chars().count()));
            } else {
                out.push(Ev::Text(text.chars().count(), part.thought_signature.is_some()));
            }
        } else {
            out.push(Ev::Other(part.extra.keys().next().cloned().unwrap_or_default()));
        }
    }
    if let Some(reason) = chunk.finish_reason() {
        out.push(Ev::Finish(reason.to_owned()));
    }
}

/// Parses an SSE body fed in `piece`-byte reads.
fn sse_events(body: &[u8], piece: usize) -> Vec<Ev> {
    let mut parser = SseParser::new();
    let mut items = Vec::new();
    for chunk in body.chunks(piece) {
        parser.feed(chunk, &mut items);
    }
    parser.finish(&mut items);
    let mut out = Vec::new();
    for item in items {
        match decode_stream_item(item) {
            Ok(chunk) => events_of_chunk(&chunk, &mut out),
            Err(e) => out.push(Ev::Error(e.kind(), e.is_retryable())),
        }
    }
    out
}

/// The events of an SSE body, checked to be the same however the body is split.
fn sse(body: &[u8]) -> Vec<Ev> {
    let whole = sse_events(body, body.len().max(1));
    for piece in [1, 2, 3, 7, 64, 1000] {
        assert_eq!(sse_events(body, piece), whole, "reads of {piece} bytes");
    }
    whole
}

fn text(n: usize) -> Ev {
    Ev::Text(n, false)
}
fn call(name: &str, id: Option<&str>, signed: bool) -> Ev {
    Ev::Call(name.into(), id.map(Into::into), signed)
}
fn stop() -> Ev {
    Ev::Finish("STOP".into())
}

#[test]
fn raw_sse_recordings() {
    assert_eq!(
        sse(&read("rust-genai_yakbak_gemini_tool_stream.sse")),
        vec![
            Ev::Thought(322),
            text(53),
            text(97),
            text(86),
            text(113),
            text(91),
            call("get_weather", Some("u959pftr"), true),
            text(0),
            stop()
        ]
    );
    assert_eq!(
        sse(&read("rust-genai_yakbak_gemini_thinking_stream.sse")),
        vec![Ev::Thought(355), Ev::Thought(387), Ev::Thought(324), Ev::Thought(538), text(35), text(181), stop()]
    );
    assert_eq!(
        sse(&read("rust-genai_yakbak_gemini_builtin_with_functions.sse")),
        vec![call("get_weather", Some("call_3091305"), true), text(0), stop()]
    );
    assert_eq!(
        sse(&read("pydantic-ai_gemini-3-pro-preview_turn1.sse")),
        vec![call("get_country", None, true), text(0), stop()]
    );
    assert_eq!(sse(&read("pydantic-ai_gemini-3-pro-preview_turn2.sse")), vec![text(21), text(16), text(0), stop()]);
    assert_eq!(
        sse(&read("rig_gemini-2.5-flash_parallel_function_calls.sse")),
        vec![call("lookup_harbor_label", None, false), call("lookup_orchard_label", None, false), stop()]
    );
}

#[test]
fn a_bare_error_appended_mid_stream_ends_it_as_a_retryable_error() {
    assert_eq!(
        sse(&read("issue_vercel-ai5217_midstream_503_RECONSTRUCTED.sse")),
        vec![text(4), text(0), stop(), Ev::Error(ErrorKind::Model, true)]
    );
}

fn jsonl(name: &str) -> Vec<Ev> {
    // One chunk per line, re-framed as the wire sends it.
    let framed: Vec<u8> = String::from_utf8(read(name))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .flat_map(|l| format!("data: {l}\r\n\r\n").into_bytes())
        .collect();
    sse(&framed)
}

#[test]
fn parsed_chunk_recordings() {
    assert_eq!(jsonl("js-genai_afc_2.5-flash_turn1.response.jsonl"), vec![call("customDivide", None, true), stop()]);
    assert_eq!(jsonl("js-genai_afc_2.5-flash_turn2.response.jsonl"), vec![call("customDivide", None, true), stop()]);
    assert_eq!(jsonl("js-genai_afc_2.5-flash_turn3.response.jsonl"), vec![Ev::Text(16, true), stop()]);
}

/// js-genai recordings: each interaction's response body segments are the chunks.
fn recording(name: &str) -> Vec<(u64, Vec<Ev>)> {
    let recording: Value = serde_json::from_slice(&read(name)).unwrap();
    recording["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|interaction| {
            let response = &interaction["response"];
            let status = response["statusCode"].as_u64().unwrap();
            let mut events = Vec::new();
            for segment in response["bodySegments"].as_array().unwrap() {
                if status == 200 {
                    let framed = format!("data: {segment}\r\n\r\n");
                    events.extend(sse(framed.as_bytes()));
                } else {
                    events.extend(sse(segment.to_string().as_bytes()));
                }
            }
            (status, events)
        })
        .collect()
}

#[test]
fn js_genai_recordings() {
    assert_eq!(
        recording("js-genai_AFC_stream_gemini-2.5-flash_3turns.recording.json"),
        vec![
            (200, vec![call("customDivide", None, true), stop()]),
            (200, vec![call("customDivide", None, true), stop()]),
            (200, vec![Ev::Text(16, true), stop()]),
        ]
    );
    assert_eq!(
        recording("js-genai_stream_functioncall_gemini-2.0-flash.recording.json"),
        vec![
            (200, vec![call("customDivide", None, false), stop()]),
            (200, vec![call("customDivide", None, false), stop()])
        ]
    );
    assert_eq!(
        recording("js-genai_stream_text_systemInstruction_gemini-2.5-flash.recording.json"),
        vec![(200, vec![text(206), text(237), text(255), text(222), text(216), text(20), stop()])]
    );
    // The 404 arrives as a plain JSON body: an error, not retried.
    assert_eq!(
        recording("js-genai_stream_404_error.recording.json"),
        vec![(404, vec![Ev::Error(ErrorKind::Model, false)])]
    );
}

/// The response of a VCR-style YAML cassette: (status, body).
fn cassette(name: &str) -> Vec<(u64, String)> {
    let doc: Value = serde_yaml_ng::from_slice(&read(name)).unwrap();
    // rig cassettes: `then: {status, body}`; pydantic-ai: `interactions: [{response: {status: {code}, body: {string}}}]`.
    if let Some(then) = doc.get("then") {
        return vec![(then["status"].as_u64().unwrap(), then["body"].as_str().unwrap().to_owned())];
    }
    doc["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let response = &i["response"];
            (response["status"]["code"].as_u64().unwrap(), response["body"]["string"].as_str().unwrap().to_owned())
        })
        .collect()
}

#[test]
fn yaml_cassettes() {
    let [(200, body)] = &cassette("rig_cassette_gemini-2.5-flash_parallel_function_calls_stream.yaml")[..] else {
        panic!("one 200 interaction expected")
    };
    assert_eq!(
        sse(body.as_bytes()),
        vec![call("lookup_harbor_label", None, false), call("lookup_orchard_label", None, false), stop()]
    );

    // Code execution answers with a STOP in the middle: the stream must be read to its end.
    let [(200, body)] = &cassette("rig_cassette_code_execution_two_finishReason_stream.yaml")[..] else {
        panic!("one 200 interaction expected")
    };
    let events = sse(body.as_bytes());
    let stops = events.iter().filter(|e| **e == stop()).count();
    assert!(stops >= 2, "two finish reasons expected: {events:?}");
    assert!(events.iter().any(|e| *e == Ev::Other("executableCode".into())));
    assert!(events.iter().any(|e| *e == Ev::Other("codeExecutionResult".into())));
    assert!(matches!(events.iter().rev().find(|e| matches!(e, Ev::Text(..))), Some(Ev::Text(n, _)) if *n > 0));

    let [(404, body)] = &cassette("rig_cassette_stream_404.yaml")[..] else { panic!("one 404 interaction expected") };
    assert_eq!(sse(body.as_bytes()), vec![Ev::Error(ErrorKind::Model, false)]);

    let turns = cassette("pydantic-ai_test_google_streaming_tool_call_thought_signature.yaml");
    assert_eq!(turns.len(), 2);
    assert_eq!(sse(turns[0].1.as_bytes()), vec![call("get_country", None, true), text(0), stop()]);
    assert_eq!(sse(turns[1].1.as_bytes()), vec![text(21), text(16), text(0), stop()]);
}

#[test]
fn error_bodies() {
    let quota: ErrorEnvelope =
        serde_json::from_slice(&read("issue_RooCode3883_429_RESOURCE_EXHAUSTED.error.json")).unwrap();
    assert_eq!(quota.error.code, 429);
    assert_eq!(quota.error.retry_delay(), Some(std::time::Duration::from_secs(26)));
    assert!(!quota.error.is_daily_quota(), "a per-minute quota");
    assert_eq!(
        sse(&read("issue_RooCode3883_429_RESOURCE_EXHAUSTED.error.json")),
        vec![Ev::Error(ErrorKind::Model, true)]
    );

    let not_found: ErrorEnvelope = serde_json::from_slice(&read("js-genai_404_NOT_FOUND.error.json")).unwrap();
    assert_eq!((not_found.error.code, not_found.error.status.as_str()), (404, "NOT_FOUND"));
    assert_eq!(sse(&read("js-genai_404_NOT_FOUND.error.json")), vec![Ev::Error(ErrorKind::Model, false)]);
    let _: &ApiError = &not_found.error;
}

/// Request bodies: every function-call part (signature and id included) survives a round trip
/// through our types, and so does everything else, field for field.
#[test]
fn request_bodies_round_trip() {
    let mut checked = 0;
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".request.json") {
            continue;
        }
        let original: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let request: GenerateContentRequest = serde_json::from_value(original.clone()).unwrap();
        let again: Value = serde_json::to_value(&request).unwrap();
        assert_eq!(again["contents"], original["contents"], "{name}: contents changed");
        let signatures = |v: &Value| v.to_string().matches("thoughtSignature").count();
        assert_eq!(signatures(&again), signatures(&original), "{name}: a signature was lost");
        checked += 1;
    }
    assert_eq!(checked, 5, "five recorded request bodies");
}

/// Every file in the fixtures folder is covered by one of the tests above.
#[test]
fn no_fixture_is_left_out() {
    let covered = [".sse", ".jsonl", ".recording.json", ".yaml", ".error.json", ".request.json", "README.md"];
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(covered.iter().any(|suffix| name.ends_with(suffix)), "{name} is not parsed by any test");
    }
}
