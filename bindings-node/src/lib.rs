//! The Node.js binding of crm-agent: the native half of the npm package `crm-agent`.
//!
//! This crate is thin on purpose (see `docs/architecture.md`): it converts arguments, bridges
//! async calls onto one tokio runtime and maps errors. Every rule lives in the core. The
//! JavaScript half (`index.cjs`, `index.mjs`, `index.d.ts`) wraps these functions into the
//! public API: the `Agent` class, `for await` chat streams, error classes and host stores.
//!
//! The runtime is napi's own (feature `tokio_rt`): one multi-thread tokio runtime for the
//! process, built lazily on the first async call.

#![deny(clippy::all)]

// Public so every `#[napi]` item is reachable (the addon exports them all to JavaScript).
pub mod agent;
#[cfg(feature = "bench")]
pub mod bench;
pub mod chat;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod context;
pub mod errors;
pub mod host;
pub mod options;

/// One chat event as a Server-Sent Event (`event: TYPE`, `data: JSON`, blank line). Takes the
/// event as JSON text (the JavaScript layer passes `JSON.stringify(event)`).
#[napi_derive::napi]
pub fn sse_encode(event_json: String) -> napi::Result<String> {
    let event: crm_agent::ChatEvent = serde_json::from_str(&event_json)
        .map_err(|e| errors::to_napi(crm_agent::Error::invalid(format!("not a chat event: {e}"))))?;
    Ok(crm_agent::sse_encode(&event))
}

/// The event in the stream encoding of the older Django frontend (`connected`, `message`,
/// `completed`, `error`), or `null` for events that have no counterpart there.
#[napi_derive::napi]
pub fn compat_encode(event_json: String) -> napi::Result<Option<serde_json::Value>> {
    let event: crm_agent::ChatEvent = serde_json::from_str(&event_json)
        .map_err(|e| errors::to_napi(crm_agent::Error::invalid(format!("not a chat event: {e}"))))?;
    Ok(event.to_compat())
}

/// A `status()` answer (as JSON text) in the shape the older Django frontend reads from
/// `/api/gemini/status/`.
#[napi_derive::napi]
pub fn compat_status(status_json: String) -> napi::Result<serde_json::Value> {
    let status: crm_agent::agent::AgentStatus = serde_json::from_str(&status_json)
        .map_err(|e| errors::to_napi(crm_agent::Error::invalid(format!("not a status: {e}"))))?;
    Ok(status.to_compat())
}

/// The store methods a host may implement, as the core lists them: each one's `name`
/// (snake_case), `group`, `args` (`name` and Rust `type`) and `result` (its Rust type). The
/// `HostStoreMethods` interface of `index.d.ts` is generated from this list
/// (`scripts/host_contract.py`); `__test__/types.test.mjs` checks the two agree.
#[napi_derive::napi]
pub fn host_store_methods() -> serde_json::Value {
    serde_json::Value::Array(crm_agent::store::host::HOST_METHODS.iter().map(|method| method.describe()).collect())
}
