//! Gemini wire shapes: response chunks, SSE framing, error bodies, ids and signatures.

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use serde_json::{Map, Value, json};

use crate::script::{ErrorReply, FunctionCall};

/// One SSE event (or other piece of body) plus the chunk JSON it carries, if any.
#[derive(Debug, Clone)]
pub(crate) struct Segment {
    pub(crate) bytes: Bytes,
    pub(crate) chunk: Option<Value>,
}

impl Segment {
    /// Frames a chunk as `data: {json}\r\n\r\n`.
    pub(crate) fn framed(chunk: Value) -> Self {
        let mut text = String::with_capacity(256);
        text.push_str("data: ");
        text.push_str(&chunk.to_string());
        text.push_str("\r\n\r\n");
        Segment { bytes: Bytes::from(text), chunk: Some(chunk) }
    }
}

/// Splits a raw SSE body into events (each keeps its trailing blank line); a trailing piece that
/// does not end with a blank line (e.g. a bare JSON error) is the last segment.
pub(crate) fn split_sse(raw: &Bytes) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut start = 0;
    let data = &raw[..];
    let mut i = 0;
    while i < data.len() {
        let end = if data[i..].starts_with(b"\r\n\r\n") {
            Some(i + 4)
        } else if data[i..].starts_with(b"\n\n") {
            Some(i + 2)
        } else {
            None
        };
        match end {
            Some(end) => {
                segments.push(segment_of(raw.slice(start..end)));
                start = end;
                i = end;
            }
            None => i += 1,
        }
    }
    if start < data.len() {
        segments.push(segment_of(raw.slice(start..)));
    }
    segments
}

fn segment_of(bytes: Bytes) -> Segment {
    let chunk = std::str::from_utf8(&bytes).ok().and_then(|text| {
        let mut payload = String::new();
        let mut any = false;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("data:") {
                if any {
                    payload.push('\n');
                }
                payload.push_str(rest.strip_prefix(' ').unwrap_or(rest));
                any = true;
            }
        }
        if any { serde_json::from_str(&payload).ok() } else { None }
    });
    Segment { bytes, chunk }
}

/// Re-frames each non-empty JSONL line as `data: LINE\r\n\r\n`.
pub(crate) fn split_jsonl(raw: &[u8]) -> Vec<Segment> {
    String::from_utf8_lossy(raw)
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| !l.trim().is_empty())
        .map(|line| Segment {
            bytes: Bytes::from(format!("data: {line}\r\n\r\n")),
            chunk: serde_json::from_str(line).ok(),
        })
        .collect()
}

/// Unique ids and signatures: a counter run through splitmix64, seeded per process.
pub(crate) struct IdGen {
    seed: u64,
    counter: AtomicU64,
}

impl IdGen {
    pub(crate) fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        // Unique across instances in one process too: a process-wide instance counter.
        static INSTANCES: AtomicU64 = AtomicU64::new(0);
        let instance = INSTANCES.fetch_add(1, Ordering::Relaxed);
        let seed = splitmix(nanos ^ u64::from(std::process::id()).rotate_left(40) ^ splitmix(instance));
        IdGen { seed, counter: AtomicU64::new(1) }
    }

    fn bytes(&self, n: usize) -> Vec<u8> {
        let base = self.counter.fetch_add(1, Ordering::Relaxed);
        let mut out = Vec::with_capacity(n + 8);
        let mut state = self.seed ^ base.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        while out.len() < n {
            state = splitmix(state);
            out.extend_from_slice(&state.to_le_bytes());
        }
        out.truncate(n);
        out
    }

    /// A responseId like the real ones (22 base64url characters).
    pub(crate) fn response_id(&self) -> String {
        base64(&self.bytes(16), true)
    }

    /// A base64 `thoughtSignature` (standard alphabet, as Gemini sends them).
    pub(crate) fn signature(&self) -> String {
        let mut bytes = self.bytes(96);
        // Real signatures start with a protobuf tag byte; keep that look.
        bytes[0] = 0x12;
        base64(&bytes, false)
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn base64(bytes: &[u8], url: bool) -> String {
    const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let table = if url { URL } else { STD };
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let b = [group[0], *group.get(1).unwrap_or(&0), *group.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = group.len() + 1;
        for k in 0..4 {
            if k < chars {
                out.push(table[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else if !url {
                out.push('=');
            }
        }
    }
    out
}

/// Splits text into deltas: `chunk_size` characters each, or three words each by default.
/// The deltas concatenate to the original text.
pub(crate) fn split_text(text: &str, chunk_size: Option<usize>) -> Vec<String> {
    if text.is_empty() {
        return Vec::new();
    }
    match chunk_size {
        Some(size) => {
            let chars: Vec<char> = text.chars().collect();
            chars.chunks(size.max(1)).map(|c| c.iter().collect()).collect()
        }
        None => {
            const WORDS_PER_DELTA: usize = 3;
            let mut out = Vec::new();
            let mut current = String::new();
            let mut words = 0;
            let mut prev_space = false;
            for ch in text.chars() {
                let space = ch.is_whitespace();
                // A word ends where whitespace turns back into non-whitespace.
                if !space && prev_space {
                    words += 1;
                    if words == WORDS_PER_DELTA {
                        out.push(std::mem::take(&mut current));
                        words = 0;
                    }
                }
                current.push(ch);
                prev_space = space;
            }
            if !current.is_empty() {
                out.push(current);
            }
            out
        }
    }
}

/// Rough token count of a text (4 characters a token, at least 1 for non-empty text).
pub(crate) fn tokens(text: &str) -> u64 {
    let n = text.chars().count() as u64;
    if n == 0 { 0 } else { n.div_ceil(4) }
}

/// Rough prompt token count of a request body (text of all contents and the system instruction).
pub(crate) fn prompt_tokens(body: &Value) -> u64 {
    fn walk(v: &Value, acc: &mut u64) {
        match v {
            Value::String(s) => *acc += tokens(s),
            Value::Array(a) => a.iter().for_each(|x| walk(x, acc)),
            Value::Object(o) => o.values().for_each(|x| walk(x, acc)),
            _ => {}
        }
    }
    let mut acc = 0;
    if let Some(c) = body.get("contents") {
        walk(c, &mut acc);
    }
    if let Some(s) = body.get("systemInstruction").or_else(|| body.get("system_instruction")) {
        walk(s, &mut acc);
    }
    acc.max(1)
}

/// `usageMetadata`.
pub(crate) fn usage(prompt: u64, candidates: u64) -> Value {
    json!({
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "totalTokenCount": prompt + candidates,
    })
}

/// Builds one GenerateContentResponse chunk.
pub(crate) fn chunk(parts: &[Value], finish: Option<&str>, usage: &Value, model: &str, response_id: &str) -> Value {
    let mut candidate = Map::new();
    candidate.insert("content".into(), json!({ "parts": parts, "role": "model" }));
    if let Some(f) = finish {
        candidate.insert("finishReason".into(), Value::String(f.into()));
    }
    candidate.insert("index".into(), json!(0));
    json!({
        "candidates": [Value::Object(candidate)],
        "usageMetadata": usage,
        "modelVersion": model,
        "responseId": response_id,
    })
}

/// The part of one function call.
pub(crate) fn function_call_part(call: &FunctionCall, signature: Option<String>) -> Value {
    let mut fc = Map::new();
    fc.insert("name".into(), Value::String(call.name.clone()));
    fc.insert("args".into(), call.args.clone());
    if let Some(id) = &call.id {
        fc.insert("id".into(), Value::String(id.clone()));
    }
    let mut part = Map::new();
    part.insert("functionCall".into(), Value::Object(fc));
    if let Some(sig) = signature {
        part.insert("thoughtSignature".into(), Value::String(sig));
    }
    Value::Object(part)
}

/// Merges streamed chunks into one GenerateContentResponse (adjacent text deltas concatenated).
pub(crate) fn merge_chunks<'a>(chunks: impl IntoIterator<Item = &'a Value>) -> Value {
    let mut parts: Vec<Value> = Vec::new();
    let mut finish: Option<Value> = None;
    let mut usage: Option<Value> = None;
    let mut model: Option<Value> = None;
    let mut response_id: Option<Value> = None;
    let mut prompt_feedback: Option<Value> = None;
    let mut any_candidate = false;
    for c in chunks {
        if let Some(cand) = c.get("candidates").and_then(|v| v.get(0)) {
            any_candidate = true;
            if let Some(ps) = cand.pointer("/content/parts").and_then(Value::as_array) {
                for p in ps {
                    push_merged(&mut parts, p);
                }
            }
            if let Some(f) = cand.get("finishReason") {
                finish = Some(f.clone());
            }
        }
        for (key, slot) in [
            ("usageMetadata", &mut usage),
            ("modelVersion", &mut model),
            ("responseId", &mut response_id),
            ("promptFeedback", &mut prompt_feedback),
        ] {
            if let Some(v) = c.get(key) {
                *slot = Some(v.clone());
            }
        }
    }
    // The closing `{"text":""}` of a stream is no part of its own in a unary answer.
    if parts.len() > 1 {
        parts.retain(|p| !is_empty_text(p));
    }
    let mut out = Map::new();
    if any_candidate {
        let mut cand = Map::new();
        cand.insert("content".into(), json!({ "parts": parts, "role": "model" }));
        if let Some(f) = finish {
            cand.insert("finishReason".into(), f);
        }
        cand.insert("index".into(), json!(0));
        out.insert("candidates".into(), Value::Array(vec![Value::Object(cand)]));
    }
    for (key, v) in [
        ("promptFeedback", prompt_feedback),
        ("usageMetadata", usage),
        ("modelVersion", model),
        ("responseId", response_id),
    ] {
        if let Some(v) = v {
            out.insert(key.into(), v);
        }
    }
    Value::Object(out)
}

fn is_plain_text(p: &Value) -> bool {
    p.as_object().is_some_and(|o| {
        o.get("text").is_some_and(Value::is_string)
            && o.keys().all(|k| matches!(k.as_str(), "text" | "thought" | "thoughtSignature"))
    })
}

fn is_empty_text(p: &Value) -> bool {
    p.as_object().is_some_and(|o| o.len() == 1 && o.get("text").and_then(Value::as_str) == Some(""))
}

fn push_merged(parts: &mut Vec<Value>, p: &Value) {
    if let Some(last) = parts.last_mut()
        && is_plain_text(last)
        && is_plain_text(p)
        && last.get("thought") == p.get("thought")
        && last.get("thoughtSignature").is_none()
        && let (Some(last), Some(o)) = (last.as_object_mut(), p.as_object())
    {
        let joined = format!(
            "{}{}",
            last.get("text").and_then(Value::as_str).unwrap_or(""),
            o.get("text").and_then(Value::as_str).unwrap_or("")
        );
        last.insert("text".into(), Value::String(joined));
        if let Some(sig) = o.get("thoughtSignature") {
            last.insert("thoughtSignature".into(), sig.clone());
        }
        return;
    }
    parts.push(p.clone());
}

/// The gRPC status name Gemini uses for an HTTP status.
pub(crate) fn status_name(code: u16) -> &'static str {
    match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        500 => "INTERNAL",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "UNKNOWN",
    }
}

/// A Gemini error body `{"error":{"code","message","status","details"?}}`.
pub(crate) fn error_body(code: u16, message: &str, details: Vec<Value>) -> Value {
    let mut err = Map::new();
    err.insert("code".into(), json!(code));
    err.insert("message".into(), Value::String(message.into()));
    err.insert("status".into(), Value::String(status_name(code).into()));
    if !details.is_empty() {
        err.insert("details".into(), Value::Array(details));
    }
    json!({ "error": Value::Object(err) })
}

/// The body of a scripted error reply.
pub(crate) fn scripted_error_body(e: &ErrorReply, model: &str) -> Value {
    if let Some(body) = &e.body {
        return body.clone();
    }
    let default_message = match e.status {
        429 => "You exceeded your current quota, please check your plan and billing details. For more \
                information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits."
            .to_string(),
        503 => "The model is overloaded. Please try again later.".to_string(),
        500 => "An internal error has occurred. Please retry or report in \
                https://developers.generativeai.google/guide/troubleshooting"
            .to_string(),
        404 => format!(
            "models/{model} is not found for API version v1beta, or is not supported for generateContent. \
             Call ListModels to see the list of available models and their supported methods."
        ),
        403 => "The caller does not have permission".to_string(),
        400 => "Request contains an invalid argument.".to_string(),
        504 => "Deadline expired before operation could complete.".to_string(),
        _ => format!("fake-gemini scripted error {}", e.status),
    };
    let message = e.message.clone().unwrap_or(default_message);
    let mut details = Vec::new();
    if e.status == 429 {
        let (metric, quota_id, value) = if e.daily_quota {
            (
                "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                "GenerateRequestsPerDayPerProjectPerModel-FreeTier",
                "250",
            )
        } else {
            (
                "generativelanguage.googleapis.com/generate_content_free_tier_requests",
                "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
                "10",
            )
        };
        details.push(json!({
            "@type": "type.googleapis.com/google.rpc.QuotaFailure",
            "violations": [{
                "quotaMetric": metric,
                "quotaId": quota_id,
                "quotaDimensions": { "location": "global", "model": model },
                "quotaValue": value,
            }],
        }));
        details.push(json!({
            "@type": "type.googleapis.com/google.rpc.Help",
            "links": [{
                "description": "Learn more about Gemini API quotas",
                "url": "https://ai.google.dev/gemini-api/docs/rate-limits",
            }],
        }));
        if let Some(delay) = &e.retry_delay {
            details.push(json!({
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": delay,
            }));
        }
    }
    error_body(e.status, &message, details)
}

/// The bare error object appended to a 200 stream by the `error_503` fault (as in vercel/ai#5217).
pub(crate) const MIDSTREAM_503: &str = "{\n  \"error\": {\n    \"code\": 503,\n    \"message\": \"The model is overloaded. \
     Please try again later.\",\n    \"status\": \"UNAVAILABLE\"\n  }\n}\n";

/// What the `malformed` fault sends.
pub(crate) const MALFORMED: &str = "data: {\"candidates\": [\r\n\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_text_round_trips() {
        let t = "Hello there, this is a fairly long   answer\nwith lines.";
        for size in [None, Some(1), Some(5), Some(100)] {
            let parts = split_text(t, size);
            assert_eq!(parts.concat(), t);
            assert!(parts.len() > 1 || size == Some(100));
        }
        assert_eq!(split_text("a b c d e f g", None), vec!["a b c ", "d e f ", "g"]);
    }

    #[test]
    fn ids_are_unique_and_base64() {
        let g = IdGen::new();
        let a = g.response_id();
        let b = g.response_id();
        assert_ne!(a, b);
        assert_eq!(a.len(), 22);
        let s = g.signature();
        assert_eq!(s.len(), 128);
        assert!(s.chars().all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/'));
    }

    #[test]
    fn split_sse_keeps_bytes() {
        let raw = Bytes::from_static(b"data: {\"a\":1}\r\n\r\ndata: {\"b\":2}\n\n{\n  \"error\": {}\n}\n");
        let segs = split_sse(&raw);
        assert_eq!(segs.len(), 3);
        let joined: Vec<u8> = segs.iter().flat_map(|s| s.bytes.to_vec()).collect();
        assert_eq!(joined, raw.to_vec());
        assert_eq!(segs[0].chunk, Some(json!({"a":1})));
        assert!(segs[2].chunk.is_none());
    }

    #[test]
    fn merge_concatenates_text_and_drops_closing_empty_text() {
        let a = chunk(&[json!({"text":"Hel"})], None, &usage(1, 1), "m", "r");
        let b = chunk(&[json!({"text":"lo"})], None, &usage(1, 2), "m", "r");
        let c = chunk(&[json!({"text":""})], Some("STOP"), &usage(1, 2), "m", "r");
        let merged = merge_chunks([&a, &b, &c]);
        assert_eq!(merged.pointer("/candidates/0/content/parts"), Some(&json!([{"text":"Hello"}])));
        assert_eq!(merged.pointer("/candidates/0/finishReason"), Some(&json!("STOP")));
    }
}
