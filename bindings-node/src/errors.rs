//! The one place where errors cross the boundary, both ways.
//!
//! Out (Rust → JS): a crm-agent error becomes a rejected promise (or a throw) whose message is
//! a tagged JSON payload `{code, message, retryable}`; `index.cjs` recognises the tag and
//! throws the matching `CrmAgentError` subclass with the core's message. A host error (a JS
//! store's exception, kept as a [`JsException`]) goes back as the very value the store threw.
//!
//! In (JS → Rust): a host exception's `code` property, when it is one of the codes below (or an
//! [`ErrorKind`] name), tells the core what kind of error it is.

use crm_agent::{Error, ErrorKind};
use napi::Status;

/// Starts the message of every encoded error. `index.cjs` has the same constant.
pub(crate) const TAG: &str = "\u{1}crm-agent-error\u{1}";

/// The JavaScript `code` of a kind.
pub(crate) fn code(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::NotFound => "NOT_FOUND",
        ErrorKind::Unauthenticated => "UNAUTHENTICATED",
        ErrorKind::PermissionDenied => "PERMISSION_DENIED",
        ErrorKind::InvalidArgument => "INVALID_ARGUMENT",
        ErrorKind::Conflict => "CONFLICT",
        ErrorKind::Unsupported => "UNSUPPORTED",
        ErrorKind::Unavailable => "UNAVAILABLE",
        ErrorKind::Store => "STORE_ERROR",
        ErrorKind::Model => "MODEL_ERROR",
        ErrorKind::External => "HOST_ERROR",
        ErrorKind::Internal => "INTERNAL",
        // `ErrorKind` is non-exhaustive: a kind added later is still an error with a code.
        _ => "INTERNAL",
    }
}

/// The kind a host error's `code` names: our codes, their short forms (`MODEL`, `STORE`) and
/// the core's snake_case kind names. Anything else is [`ErrorKind::External`].
pub(crate) fn kind_of_code(code: &str) -> ErrorKind {
    match code.to_ascii_uppercase().as_str() {
        "NOT_FOUND" => ErrorKind::NotFound,
        "UNAUTHENTICATED" => ErrorKind::Unauthenticated,
        "PERMISSION_DENIED" => ErrorKind::PermissionDenied,
        "INVALID_ARGUMENT" => ErrorKind::InvalidArgument,
        "CONFLICT" => ErrorKind::Conflict,
        "UNSUPPORTED" => ErrorKind::Unsupported,
        "UNAVAILABLE" => ErrorKind::Unavailable,
        "STORE_ERROR" | "STORE" => ErrorKind::Store,
        "MODEL_ERROR" | "MODEL" => ErrorKind::Model,
        "INTERNAL" => ErrorKind::Internal,
        _ => ErrorKind::External,
    }
}

/// A crm-agent error as the napi error `index.cjs` turns into a JS error.
pub(crate) fn to_napi(error: Error) -> napi::Error {
    match error {
        // The host's own exception travels back unchanged (same object in JS).
        Error::Host { source, kind } => match source.downcast::<JsException>() {
            Ok(exception) => exception.value,
            Err(source) => encode(code(kind), &source.to_string(), kind == ErrorKind::Unavailable),
        },
        other => encode(code(other.kind()), &other.detail(), other.is_retryable()),
    }
}

/// Shorthand for results.
pub(crate) fn napi_result<T>(result: crm_agent::Result<T>) -> napi::Result<T> {
    result.map_err(to_napi)
}

/// An error with `code` and `message` for `index.cjs` to decode.
pub(crate) fn encode(code: &str, message: &str, retryable: bool) -> napi::Error {
    let payload = serde_json::json!({ "code": code, "message": message, "retryable": retryable });
    napi::Error::new(Status::GenericFailure, format!("{TAG}{payload}"))
}

/// An invalid-argument error (bad options, a malformed context).
pub(crate) fn invalid(message: impl Into<String>) -> napi::Error {
    to_napi(Error::invalid(message))
}

/// A JavaScript exception inside a crm-agent error: shows its message, and gives the original
/// value back at the boundary ([`to_napi`]).
pub(crate) struct JsException {
    pub(crate) message: String,
    pub(crate) value: napi::Error,
}

impl std::fmt::Debug for JsException {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsException").field("message", &self.message).finish_non_exhaustive()
    }
}

impl std::fmt::Display for JsException {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for JsException {}
