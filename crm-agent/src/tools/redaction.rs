//! What of a tool call's arguments the audit log keeps: secret-looking values replaced, long
//! strings shortened.

use serde_json::Value;

/// Argument keys whose values never reach the audit log.
const SECRET_KEYS: &[&str] =
    &["password", "token", "secret", "api_key", "apikey", "authorization", "credit_card", "card_number"];

/// A copy of `args` with secret-looking values replaced and long strings shortened.
pub fn redact(args: &Value) -> Value {
    match args {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let lower = k.to_ascii_lowercase();
                    if SECRET_KEYS.iter().any(|s| lower.contains(s)) {
                        (k.clone(), Value::String("[redacted]".into()))
                    } else {
                        (k.clone(), redact(v))
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        Value::String(s) if s.chars().count() > 500 => Value::String(format!("{}…", truncate(s, 500))),
        other => other.clone(),
    }
}

pub(super) fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
