//! Host-implemented stores: a JavaScript object whose methods answer the core's
//! [`HostBackend`] calls.
//!
//! `index.cjs` wraps the host's object into one dispatch function,
//! `(storeId, method, argsJson) => Promise<string | {error, code, message}>`, which calls the
//! object's camelCase method (sync or async), answers its result as JSON, and catches whatever
//! it throws or rejects with: the exception object itself comes back here, kept in a
//! [`napi::Error`] (a reference to the JS value, released on the JS thread), so the caller of
//! `callTool` receives the very object the store threw.
//!
//! The dispatch function is a *weak* threadsafe function: it does not keep Node's event loop
//! alive, so a process exits once the application is done with its agent.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use crm_agent::store::host::HostBackend;
use crm_agent::{Error, ErrorKind};
use napi::bindgen_prelude::{FnArgs, FromNapiValue, Object, Promise, Unknown};
use napi::threadsafe_function::ThreadsafeFunction;
use napi::{Status, ValueType, sys};
use serde_json::Value;

use crate::errors;

/// The dispatch function of `index.cjs`: `(storeId, method, argsJson)`.
pub type Dispatch = ThreadsafeFunction<
    FnArgs<(u32, String, String)>,
    Promise<HostReply>,
    FnArgs<(u32, String, String)>,
    Status,
    false,
    true,
>;

/// What the dispatch function answered.
pub enum HostReply {
    /// The method's result as JSON text.
    Value(String),
    /// The method threw or rejected.
    Failed {
        /// Its `code` property, when it had a string one.
        code: Option<String>,
        /// Its message, for logs and for the model.
        message: String,
        /// The thrown value itself.
        error: napi::Error,
    },
}

impl FromNapiValue for HostReply {
    unsafe fn from_napi_value(env: sys::napi_env, value: sys::napi_value) -> napi::Result<Self> {
        // SAFETY: napi hands us a live value of this env, on its JS thread.
        let unknown = unsafe { Unknown::from_napi_value(env, value)? };
        if unknown.get_type()? == ValueType::String {
            // SAFETY: just checked that it is a string.
            return Ok(HostReply::Value(unsafe { String::from_napi_value(env, value)? }));
        }
        // SAFETY: anything else `index.cjs` answers is a `{error, code, message}` object.
        let object = unsafe { Object::from_napi_value(env, value)? };
        let code: Option<String> = object.get("code")?;
        let message: Option<String> = object.get("message")?;
        let thrown: Unknown<'_> = object.get("error")?.ok_or_else(|| napi::Error::from_reason("no error"))?;
        Ok(HostReply::Failed {
            code,
            message: message.unwrap_or_default(),
            error: napi::Error::from_unknown_without_coercion(thrown),
        })
    }
}

/// One JavaScript store behind the shared dispatch function.
pub(crate) struct JsBackend {
    dispatch: Arc<Dispatch>,
    id: u32,
    methods: HashSet<String>,
}

impl JsBackend {
    /// The store `id` of `dispatch`, implementing `methods` (Store method names, snake_case).
    pub(crate) fn new(dispatch: Arc<Dispatch>, id: u32, methods: Vec<String>) -> Self {
        JsBackend { dispatch, id, methods: methods.into_iter().collect() }
    }
}

#[async_trait]
impl HostBackend for JsBackend {
    fn implements(&self, method: &str) -> bool {
        self.methods.contains(method)
    }

    async fn call(&self, method: &'static str, args: Value) -> crm_agent::Result<Value> {
        let args = serde_json::to_string(&args).map_err(|e| Error::Internal(e.to_string()))?;
        let promise = self
            .dispatch
            .call_async_catch((self.id, method.to_owned(), args).into())
            .await
            .map_err(|e| unreachable_host(method, e))?;
        match promise.await {
            Ok(HostReply::Value(text)) => serde_json::from_str(&text)
                .map_err(|e| Error::store(format!("the host store's `{method}` answered invalid JSON: {e}"))),
            Ok(HostReply::Failed { code, message, error }) => {
                let kind = code.as_deref().map_or(ErrorKind::External, errors::kind_of_code);
                Err(Error::host(kind, Box::new(crate::errors::JsException { message, value: error })))
            }
            // `index.cjs` never rejects; should it, the rejection is still the host's value.
            Err(error) => {
                let message = error.reason.clone();
                Err(Error::host(ErrorKind::External, Box::new(crate::errors::JsException { message, value: error })))
            }
        }
    }
}

/// The dispatch function could not be called at all (Node is shutting down).
fn unreachable_host(method: &str, error: napi::Error) -> Error {
    Error::unavailable(format!("cannot call the host store's `{method}`: {}", error.reason))
}
