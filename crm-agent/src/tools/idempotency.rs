//! Idempotency keys of create tools: a retried create returns the first result and writes nothing.

use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::ToolContext;
use crate::error::{Error, Result};
use crate::store::{IdempotencyClaim, StoreOp};

/// The fingerprint of a call's arguments, its idempotency key left out: SHA-256 of the arguments
/// as JSON with every object's keys in order, so the same request spelled in another key order
/// has the same fingerprint. `None` when the call has no key.
pub(super) fn fingerprint(args: &Value) -> Option<String> {
    let Value::Object(map) = args else { return None };
    map.get("idempotency_key")?;
    let mut request = canonical(args);
    if let Value::Object(map) = &mut request {
        map.remove("idempotency_key");
    }
    Some(hex::encode(Sha256::digest(request.to_string().as_bytes())))
}

fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by_key(|(key, _)| *key);
            Value::Object(entries.into_iter().map(|(k, v)| (k.clone(), canonical(v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// Runs `create` once per (`user`, organization, `key`) within 24 hours. Without a key, or on a
/// store that keeps no keys, it just runs.
pub(super) async fn once<T, F, Fut>(cx: &ToolContext, tool: &str, key: Option<&str>, create: F) -> Result<T>
where
    T: Serialize + DeserializeOwned,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let Some(key) = key else { return create().await };
    if key.is_empty() || key.chars().count() > 200 {
        return Err(Error::invalid("`idempotency_key` must be 1 to 200 characters"));
    }
    if !cx.store.supports(StoreOp::Idempotency) {
        return create().await;
    }
    let user = cx.user.user_id.as_str();
    let fingerprint = cx.fingerprint.as_deref().unwrap_or_default();
    match cx.store.claim_idempotency_key(&cx.scope, user, key, tool, fingerprint, cx.now).await? {
        IdempotencyClaim::Done(first) => serde_json::from_value(first)
            .map_err(|e| Error::Internal(format!("stored idempotent result is unreadable: {e}"))),
        IdempotencyClaim::InProgress => Err(Error::conflict(format!(
            "a `{tool}` call with idempotency key `{key}` is still running; retry shortly"
        ))),
        IdempotencyClaim::Claimed => match create().await {
            Ok(created) => {
                let value = serde_json::to_value(&created).map_err(|e| Error::Internal(e.to_string()))?;
                cx.store.complete_idempotency_key(&cx.scope, user, key, &value).await?;
                Ok(created)
            }
            Err(err) => {
                // Free the key so a corrected retry can run; the original error matters more.
                if let Err(release) = cx.store.release_idempotency_key(&cx.scope, user, key).await {
                    tracing::warn!(error = %release, "could not release an idempotency key");
                }
                Err(err)
            }
        },
    }
}
