//! What both transports check in a client's message before rmcp reads it, so a malformed one
//! gets the JSON-RPC error the specification names instead of rmcp's: unparseable JSON is
//! `-32700` (rmcp answered HTTP 415 with plain text, and dropped the line on stdio), and
//! `tools/call` params that are missing or of the wrong shape are `-32602` with a message
//! saying what is wrong (rmcp answered `-32601`, "method not found", with the message
//! `tools/call`). Everything else is rmcp's to judge.

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

/// JSON-RPC's "parse error".
pub(crate) const PARSE_ERROR: i64 = -32700;
/// JSON-RPC's "invalid params".
pub(crate) const INVALID_PARAMS: i64 = -32602;

/// What a message needs before it may go on to rmcp.
#[derive(Debug, PartialEq)]
pub(crate) enum Checked {
    /// rmcp's to read. `initialize` carries the protocol version the client asks for;
    /// `progress_token` says whether the request asked for progress (`_meta.progressToken`).
    Pass { initialize_version: Option<String>, progress_token: bool },
    /// Not JSON at all: answer a parse error.
    NotJson,
    /// A request whose params are wrong: answer `-32602` to its id with this message.
    InvalidParams { id: Value, message: String },
}

/// The parts of a message the checks look at (params stay unparsed until they are needed).
#[derive(Deserialize)]
struct Probe<'a> {
    #[serde(default)]
    id: Option<Value>,
    #[serde(default, borrow)]
    method: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    params: Option<&'a RawValue>,
}

/// Checks one message (a JSON-RPC request, notification or response; a batch goes on as it is).
pub(crate) fn check(body: &[u8]) -> Checked {
    let pass = Checked::Pass { initialize_version: None, progress_token: false };
    let Ok(probe) = serde_json::from_slice::<Probe<'_>>(body) else {
        return match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
            Ok(_) => pass, // JSON of another shape (a batch): rmcp's to judge
            Err(_) => Checked::NotJson,
        };
    };
    match (probe.method.as_deref(), probe.id) {
        (Some("tools/call"), Some(id)) => match call_params_problem(probe.params) {
            Some(message) => Checked::InvalidParams { id, message },
            None => {
                let meta = probe.params.and_then(|p| serde_json::from_str::<ParamsMeta>(p.get()).ok());
                let progress_token = meta.and_then(|m| m.meta).is_some_and(|m| m.progress_token.is_some());
                Checked::Pass { initialize_version: None, progress_token }
            }
        },
        (Some("initialize"), _) => {
            let version = probe
                .params
                .and_then(|p| serde_json::from_str::<Value>(p.get()).ok())
                .and_then(|p| p.get("protocolVersion").and_then(Value::as_str).map(str::to_owned));
            Checked::Pass { initialize_version: version, progress_token: false }
        }
        _ => pass,
    }
}

/// The `_meta` of a request's params, as far as progress goes.
#[derive(Deserialize)]
struct ParamsMeta {
    #[serde(rename = "_meta", default)]
    meta: Option<Meta>,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(rename = "progressToken", default)]
    progress_token: Option<serde::de::IgnoredAny>,
}

/// Removes `_meta.progressToken` (and a `_meta` left empty) from an `elicitation/create` request
/// the server sends; says whether there was one. rmcp puts a token on every request it sends,
/// which announces progress notifications for a question to a client that asked for none.
pub(crate) fn strip_elicitation_progress_token(message: &mut Value) -> bool {
    if message.get("method").and_then(Value::as_str) != Some("elicitation/create") {
        return false;
    }
    let Some(params) = message.get_mut("params").and_then(Value::as_object_mut) else { return false };
    let Some(meta) = params.get_mut("_meta").and_then(Value::as_object_mut) else { return false };
    if meta.remove("progressToken").is_none() {
        return false;
    }
    if meta.is_empty() {
        params.remove("_meta");
    }
    true
}

/// What is wrong with the params of a `tools/call`, if anything.
fn call_params_problem(params: Option<&RawValue>) -> Option<String> {
    const SHAPE: &str = r#"{"name": "<tool>", "arguments": {...}}"#;
    let Some(params) = params else {
        return Some(format!("`tools/call` needs params: {SHAPE}"));
    };
    let Ok(Value::Object(params)) = serde_json::from_str::<Value>(params.get()) else {
        return Some(format!("`tools/call` params must be an object: {SHAPE}"));
    };
    match params.get("name") {
        None => return Some(format!("`tools/call` params need `name`, the tool to call: {SHAPE}")),
        Some(Value::String(_)) => {}
        Some(other) => return Some(format!("`name` must be a string (the tool to call), not {}", kind(other))),
    }
    match params.get("arguments") {
        None | Some(Value::Object(_)) => None,
        Some(other) => {
            Some(format!("`arguments` must be an object of the tool's arguments by name, not {}", kind(other)))
        }
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A JSON-RPC error message answering `id` (`null` when the request's id is unknown).
pub(crate) fn error_message(id: &Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

/// The answer to a message that is not JSON.
pub(crate) fn parse_error() -> Value {
    error_message(&Value::Null, PARSE_ERROR, "Parse error: the message is not valid JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(body: &str) -> Option<String> {
        match check(body.as_bytes()) {
            Checked::InvalidParams { message, .. } => Some(message),
            Checked::NotJson => Some("not json".into()),
            Checked::Pass { .. } => None,
        }
    }

    #[test]
    fn elicitations_lose_the_progress_token_and_nothing_else() {
        let mut asked = json!({"jsonrpc": "2.0", "id": 0, "method": "elicitation/create",
            "params": {"_meta": {"progressToken": 0}, "message": "ok?"}});
        assert!(strip_elicitation_progress_token(&mut asked));
        assert_eq!(asked["params"], json!({"message": "ok?"}));
        let mut other = json!({"jsonrpc": "2.0", "id": 1, "method": "sampling/createMessage",
            "params": {"_meta": {"progressToken": 1}}});
        assert!(!strip_elicitation_progress_token(&mut other));
    }

    #[test]
    fn malformed_tools_call_params_are_named() {
        let call = |params: &str| format!(r#"{{"jsonrpc":"2.0","id":7,"method":"tools/call"{params}}}"#);
        assert!(problem(&call("")).unwrap().contains("needs params"));
        assert!(problem(&call(r#","params":{"arguments":{}}"#)).unwrap().contains("need `name`"));
        assert!(problem(&call(r#","params":{"name":3}"#)).unwrap().contains("not a number"));
        assert!(problem(&call(r#","params":{"name":"x","arguments":"a=1"}"#)).unwrap().contains("not a string"));
        assert!(problem(&call(r#","params":{"name":"x","arguments":[1]}"#)).unwrap().contains("not an array"));
        assert!(problem(&call(r#","params":[]"#)).unwrap().contains("must be an object"));
        assert_eq!(problem(&call(r#","params":{"name":"x","arguments":{"a":1}}"#)), None);
        assert_eq!(problem(&call(r#","params":{"name":"x"}"#)), None);
        // A notification has no id to answer; rmcp takes it.
        assert_eq!(problem(r#"{"jsonrpc":"2.0","method":"tools/call"}"#), None);
    }

    #[test]
    fn json_that_does_not_parse_is_a_parse_error_and_initialize_gives_its_version() {
        assert_eq!(check(b"{not json"), Checked::NotJson);
        assert_eq!(check(br#"[{"jsonrpc":"2.0"}]"#), Checked::Pass { initialize_version: None, progress_token: false });
        let init = br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}"#;
        assert_eq!(check(init), Checked::Pass { initialize_version: Some("2025-06-18".into()), progress_token: false });
        let progress =
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","_meta":{"progressToken":5}}}"#;
        assert_eq!(check(progress), Checked::Pass { initialize_version: None, progress_token: true });
    }
}
