//! Stores implemented in a host language (Python, JavaScript) through the bindings.
//!
//! A binding implements one small trait, [`HostBackend`]: "does the host object have method
//! `m`?" and "call `m` with these named arguments". [`HostStore`] turns every [`Store`] method
//! into such a call, with the arguments and the result as JSON in the same shapes the tools
//! use, so the Python and Node bindings share one definition of what a host store receives and
//! must answer (documented in `docs/python.md` and `docs/node.md`):
//!
//! - the method names are the [`Store`] method names (`get_customer`); a binding may respell
//!   them for its language (`getCustomer`);
//! - the arguments are one object of named values: `scope` is
//!   `{"organization_id": …, "customer_id": … | null}`, then the method's own parameters by
//!   their Rust names (`id`, `filter`, `page`, `new`, `patch`, …);
//! - results are the domain types' JSON (a `Page` is `{"items", "total", "next_cursor"}`).
//!
//! Inputs (`new`, `patch`, messages) are validated by the core before the host sees them, with
//! the same rules and errors as the SQL store, so a host store only persists.
//!
//! A host implements whole groups ([`StoreOp`]): a group with a missing method is unsupported,
//! and the tools that need it are hidden. Aggregates (stats, dashboard, funnel) are computed
//! by the core from the list methods.
//!
//! [`with_bookkeeping`] puts a host store in front of a store of the SDK's own (usually
//! [`SqlStore`](super::SqlStore)): the host keeps its CRM tables, and the SDK keeps what only
//! the assistant needs — organizations, conversations, pending actions, audit events,
//! idempotency keys, API tokens — unless the host implements those too.

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

pub use super::bookkeeping::{BOOKKEEPING, with_bookkeeping};
use super::methods::with_host_methods;
pub use super::methods::{HOST_METHODS, HostMethod, methods_of};
use super::{IdempotencyClaim, RateBudget, Scope, Store, StoreOp};
use crate::domain::*;
use crate::error::{Error, Result};

/// What a binding implements to let host code act as a [`Store`].
#[async_trait]
pub trait HostBackend: Send + Sync + 'static {
    /// Whether the host object implements `method` (a [`Store`] method name).
    fn implements(&self, method: &str) -> bool;

    /// Calls `method` with its named arguments and answers its result (`null` for none).
    /// Host exceptions come back as [`Error::Host`], so the binding can return the original
    /// object to its caller.
    async fn call(&self, method: &'static str, args: Value) -> Result<Value>;
}

/// The JSON a host receives for a [`Scope`].
pub fn scope_json(scope: &Scope) -> Value {
    json!({ "organization_id": scope.organization_id(), "customer_id": scope.customer_id() })
}

/// A [`Store`] whose every method is answered by host code through a [`HostBackend`].
pub struct HostStore<B> {
    backend: B,
}

impl<B: HostBackend> HostStore<B> {
    /// Wraps a binding's backend.
    pub fn new(backend: B) -> Self {
        HostStore { backend }
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Calls `method` and decodes its answer; a missing method is [`Error::Unsupported`], an
    /// answer of the wrong shape is a store error naming the method. For methods that answer
    /// nothing (`T` is `()`), whatever the host returns is ignored.
    async fn invoke<T: DeserializeOwned + 'static>(&self, method: &'static str, args: Value) -> Result<T> {
        if !self.backend.implements(method) {
            return Err(Error::unsupported(format!("the host store does not implement `{method}`")));
        }
        let mut answer = self.backend.call(method, args).await?;
        if std::any::TypeId::of::<T>() == std::any::TypeId::of::<()>() {
            answer = Value::Null;
        }
        serde_json::from_value(answer)
            .map_err(|e| Error::store(format!("the host store's `{method}` answered an unexpected shape: {e}")))
    }
}

impl<B> std::fmt::Debug for HostStore<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostStore").finish_non_exhaustive()
    }
}

/// How a host answers `take_rate_budget`: `{"taken": true}`, or `{"taken": false, "wait_ms": N}`.
#[derive(serde::Deserialize)]
struct HostRateAnswer {
    taken: bool,
    #[serde(default)]
    wait_ms: i64,
}

/// How a host answers `claim_idempotency_key`: `{"status": "claimed"}`,
/// `{"status": "done", "result": …}` or `{"status": "in_progress"}`.
#[derive(serde::Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
enum HostClaim {
    Claimed,
    Done { result: Value },
    InProgress,
}

/// Checks a host method's input with the rules the SQL store applies, by the argument's
/// name: `new`, `patch`, `member` and `customer` are records to validate, `history` an
/// optional one, `messages` a batch.
macro_rules! check_host_input {
    ($value:ident new) => {
        $value.validate()?;
    };
    ($value:ident patch) => {
        $value.validate()?;
    };
    ($value:ident member) => {
        $value.validate()?;
    };
    ($value:ident customer) => {
        $value.validate()?;
    };
    ($value:ident history) => {
        if let Some(history) = &$value {
            history.validate()?;
        }
    };
    ($value:ident messages) => {
        NewMessage::validate_batch(&$value)?;
    };
    ($value:ident $other:ident) => {};
}

/// `impl Store for HostStore`: each forwarded method checks its input, then calls the host
/// with its arguments by name (`scope` as [`scope_json`]) and decodes the answer.
macro_rules! host_store_impl {
    (
        forwarded { $(
            $group:ident { $( $name:ident ( $($arg:ident : $ty:ty),* $(,)? ) -> $ret:ty ; )* }
        )* }
        handwritten { $($handwritten:tt)* }
    ) => {
        #[async_trait]
        impl<B: HostBackend> Store for HostStore<B> {
            fn supports(&self, op: StoreOp) -> bool {
                methods_of(op).all(|method| self.backend.implements(method))
            }

            $($(
                async fn $name(&self, $($arg: $ty),*) -> Result<$ret> {
                    $( check_host_input!($arg $arg); )*
                    let mut args = serde_json::Map::new();
                    $( args.insert(stringify!($arg).to_owned(), host_argument!($arg $arg)); )*
                    self.invoke(stringify!($name), Value::Object(args)).await
                }
            )*)*

            async fn claim_idempotency_key(
                &self,
                scope: &Scope,
                user_id: &str,
                key: &str,
                tool: &str,
                fingerprint: &str,
                now: Timestamp,
            ) -> Result<IdempotencyClaim> {
                let args = json!({
                    "scope": scope_json(scope), "user_id": user_id, "key": key, "tool": tool, "fingerprint": fingerprint, "now": now
                });
                Ok(match self.invoke::<HostClaim>("claim_idempotency_key", args).await? {
                    HostClaim::Claimed => IdempotencyClaim::Claimed,
                    HostClaim::Done { result } => IdempotencyClaim::Done(result),
                    HostClaim::InProgress => IdempotencyClaim::InProgress,
                })
            }
            async fn take_rate_budget(
                &self,
                scope: &Scope,
                user_id: &str,
                bucket: &str,
                budget: RateBudget,
                cost: u32,
                now: Timestamp,
            ) -> Result<Option<chrono::Duration>> {
                let args = json!({
                    "scope": scope_json(scope), "user_id": user_id, "bucket": bucket,
                    "budget": budget, "cost": cost, "now": now
                });
                let answer = self.invoke::<HostRateAnswer>("take_rate_budget", args).await?;
                Ok((!answer.taken).then(|| chrono::Duration::milliseconds(answer.wait_ms.max(0))))
            }
        }
    };
}

/// One argument as the host receives it.
macro_rules! host_argument {
    ($value:ident scope) => {
        scope_json($value)
    };
    ($value:ident $other:ident) => {
        json!($value)
    };
}

with_host_methods!(host_store_impl);
