//! The one error type of the core crate.
//!
//! Every fallible operation in `crm_agent` returns [`Result`]. Callers (tools, bindings, the HTTP
//! layer) branch on [`Error::kind`], which is stable, rather than on variants or messages.

use std::fmt;

/// `Result` with the crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An underlying error kept as an [`Error`]'s source.
pub type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong inside crm-agent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The record does not exist *in the caller's scope*. Records of another organization are
    /// reported this way too, so an error never confirms that a foreign id exists.
    #[error("{entity} not found: {id}")]
    NotFound {
        /// The kind of record, e.g. `customer`.
        entity: &'static str,
        /// The id the caller asked for.
        id: String,
    },
    /// The caller could not be identified (no credentials, or an unknown, revoked or expired
    /// token). HTTP 401.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The caller lacks a permission. The message names the missing permission only.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The input is malformed or breaks a domain rule; the message names the field.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The request conflicts with the current state (e.g. resolving an already resolved issue).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The store (or model) does not implement this operation.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// Something crm-agent depends on is temporarily unavailable: the database (locked, down,
    /// pool exhausted), the OAuth authorization server, a port. Retryable.
    #[error("unavailable: {message}")]
    Unavailable {
        /// What is unavailable, in words.
        message: String,
        /// The error that said so (the database driver's, the HTTP client's), if any.
        #[source]
        source: Option<Source>,
    },
    /// Any other persistence failure.
    #[error("store error: {message}")]
    Store {
        /// What failed, in words.
        message: String,
        /// The database driver's error, if any.
        #[source]
        source: Option<Source>,
    },
    /// The language model failed.
    #[error("model error: {message}")]
    Model {
        /// What went wrong, in words fit for a user.
        message: String,
        /// Whether trying again later may succeed.
        retryable: bool,
    },
    /// An error raised by host code (a Python or JS store, a host callback), kept intact so a
    /// binding can hand the original object back to its caller.
    #[error("{0}")]
    External(Box<dyn std::error::Error + Send + Sync + 'static>),
    /// An error raised by host code (a Python or JS store) that the host classified, e.g. a
    /// Python store raising `crm_agent.NotFound`: the core branches on `kind` as for its own
    /// errors, and a binding hands the original object in `source` back to its caller.
    #[error("{source}")]
    Host {
        /// What the host said this is.
        kind: ErrorKind,
        /// The host's error, kept intact.
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// A bug: an invariant of crm-agent itself was broken.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The stable classification of an [`Error`], for bindings, HTTP status codes and audit logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// See [`Error::NotFound`].
    NotFound,
    /// See [`Error::Unauthenticated`].
    Unauthenticated,
    /// See [`Error::PermissionDenied`].
    PermissionDenied,
    /// See [`Error::InvalidArgument`].
    InvalidArgument,
    /// See [`Error::Conflict`].
    Conflict,
    /// See [`Error::Unsupported`].
    Unsupported,
    /// See [`Error::Unavailable`].
    Unavailable,
    /// See [`Error::Store`].
    Store,
    /// See [`Error::Model`].
    Model,
    /// See [`Error::External`].
    External,
    /// See [`Error::Internal`].
    Internal,
}

impl ErrorKind {
    /// The stable snake_case name, e.g. `permission_denied`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not_found",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Store => "store",
            ErrorKind::Model => "model",
            ErrorKind::External => "external",
            ErrorKind::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Error {
    /// The stable kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::Unauthenticated(_) => ErrorKind::Unauthenticated,
            Error::PermissionDenied(_) => ErrorKind::PermissionDenied,
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Error::Conflict(_) => ErrorKind::Conflict,
            Error::Unsupported(_) => ErrorKind::Unsupported,
            Error::Unavailable { .. } => ErrorKind::Unavailable,
            Error::Store { .. } => ErrorKind::Store,
            Error::Model { .. } => ErrorKind::Model,
            Error::External(_) => ErrorKind::External,
            Error::Host { kind, .. } => *kind,
            Error::Internal(_) => ErrorKind::Internal,
        }
    }

    /// The message without the kind's prefix (`customer not found: cus_1` rather than
    /// `not found: …`; the bare reason of an invalid argument), for the places that show the
    /// kind beside it: JSON errors, chat error events, MCP results, the CLI's error line.
    pub fn detail(&self) -> String {
        match self {
            Error::Unauthenticated(message)
            | Error::PermissionDenied(message)
            | Error::InvalidArgument(message)
            | Error::Conflict(message)
            | Error::Unsupported(message)
            | Error::Unavailable { message, .. }
            | Error::Store { message, .. }
            | Error::Internal(message)
            | Error::Model { message, .. } => message.clone(),
            Error::NotFound { .. } | Error::External(_) | Error::Host { .. } => self.to_string(),
        }
    }

    /// What a user, a model or a remote client is shown: [`detail`](Self::detail), except for
    /// store and internal failures, whose text may quote SQL, a database's own message or a
    /// host's exception. Those become a fixed sentence, and the full error goes to the log.
    pub fn public_detail(&self) -> String {
        match self.kind() {
            ErrorKind::Store | ErrorKind::Internal => {
                tracing::error!(error = %self, "a store or internal failure (its text is not shown to the caller)");
                "the server could not complete this; the details are in its log".to_owned()
            }
            _ => self.detail(),
        }
    }

    /// Whether the same call may succeed if tried again later.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Unavailable { .. } | Error::Host { kind: ErrorKind::Unavailable, .. } => true,
            Error::Model { retryable, .. } => *retryable,
            _ => false,
        }
    }

    /// Shorthand for [`Error::NotFound`].
    pub fn not_found(entity: &'static str, id: impl Into<String>) -> Self {
        Error::NotFound { entity, id: id.into() }
    }

    /// Shorthand for [`Error::InvalidArgument`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::InvalidArgument(message.into())
    }

    /// Shorthand for [`Error::Conflict`].
    pub fn conflict(message: impl Into<String>) -> Self {
        Error::Conflict(message.into())
    }

    /// An error raised by host code, classified by the host as `kind` ([`ErrorKind::External`]
    /// when it is none of the core's kinds).
    pub fn host(kind: ErrorKind, source: Box<dyn std::error::Error + Send + Sync + 'static>) -> Self {
        Error::Host { kind, source }
    }

    /// Shorthand for [`Error::Unsupported`].
    pub fn unsupported(operation: impl Into<String>) -> Self {
        Error::Unsupported(operation.into())
    }

    /// An [`Error::Store`] without a source ([`because`](Self::because) adds one).
    pub fn store(message: impl Into<String>) -> Self {
        Error::Store { message: message.into(), source: None }
    }

    /// An [`Error::Unavailable`] without a source ([`because`](Self::because) adds one).
    pub fn unavailable(message: impl Into<String>) -> Self {
        Error::Unavailable { message: message.into(), source: None }
    }

    /// Keeps `cause` as the source of a store or unavailable error, so a host can walk down to
    /// the driver's own error (`std::error::Error::source`). The message usually quotes the
    /// cause too, since most logs print only the message. Other errors are returned as they are:
    /// their message is all there is.
    #[must_use]
    pub fn because(mut self, cause: impl Into<Source>) -> Self {
        if let Error::Store { source, .. } | Error::Unavailable { source, .. } = &mut self {
            *source = Some(cause.into());
        }
        self
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::InvalidArgument(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_and_internal_texts_never_reach_the_caller() {
        let raw = r#"invalid byte sequence for encoding "UTF8": 0x00 (SELECT * FROM customers)"#;
        for error in [Error::store(raw), Error::Internal(raw.into())] {
            let shown = error.public_detail();
            assert!(!shown.contains("UTF8") && !shown.contains("SELECT"), "{shown}");
            assert_eq!(error.detail(), raw, "the log and the CLI keep the whole text");
        }
        let invalid = Error::invalid("`name` is required");
        assert_eq!(invalid.public_detail(), invalid.detail());
    }

    #[test]
    fn store_errors_keep_the_drivers_error_as_their_source() {
        use std::error::Error as _;
        let driver = std::io::Error::other("disk I/O error");
        let error = Error::store("cannot write the customer").because(driver);
        assert_eq!(error.to_string(), "store error: cannot write the customer");
        assert_eq!(error.source().map(ToString::to_string).as_deref(), Some("disk I/O error"));
        assert!(Error::unavailable("locked").because(std::io::Error::other("busy")).source().is_some());
        assert!(Error::invalid("x").because(std::io::Error::other("ignored")).source().is_none());
    }
}
