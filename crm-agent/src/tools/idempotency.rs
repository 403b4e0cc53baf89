//! Idempotency keys of create tools: a retried create returns the first result and writes nothing.

use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::ToolContext;
use crate::error::{Error, Result};
use crate::store::{IdempotencyClaim, StoreOp};

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
    match cx.store.claim_idempotency_key(&cx.scope, user, key, tool, cx.now).await? {
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
