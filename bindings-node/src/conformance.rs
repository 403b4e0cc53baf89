//! The store conformance suite against a JavaScript store: `runStoreConformance(factory)`.

use std::sync::Arc;

use crm_agent::conformance::{Outcome, StoreFactory, cases, run_cases};
use crm_agent::store::host::{HostStore, with_bookkeeping};
use crm_agent::{SqlStore, Store};
use napi::Status;
use napi::bindgen_prelude::Promise;
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;

use crate::errors;
use crate::host::{Dispatch, JsBackend};

/// A fresh JavaScript store, as `index.cjs` registers it with the dispatch function.
#[napi(object)]
pub struct HostHandle {
    /// Its id for the dispatch function.
    pub id: u32,
    /// The Store methods it implements (snake_case).
    pub methods: Vec<String>,
}

/// Makes a fresh store for one case (weak: it never keeps Node alive on its own).
pub type Factory = ThreadsafeFunction<(), Promise<HostHandle>, (), Status, false, true>;

/// Options of a conformance run.
#[napi(object)]
#[derive(Default)]
pub struct ConformanceOptions {
    /// Run only these cases (default: all).
    pub cases: Option<Vec<String>>,
    /// Put the SDK's own in-memory SQLite store beside the host store for what the host does
    /// not implement (organizations, roles, conversations, …), as `Agent.open` does. Default
    /// true; false tests the host store alone.
    pub bookkeeping: Option<bool>,
}

/// How one case ended.
#[napi(object)]
pub struct CaseOutcome {
    /// The case.
    pub name: String,
    /// `passed`, `failed` or `skipped`.
    pub outcome: String,
    /// Why it failed or was skipped.
    pub message: Option<String>,
}

/// Runs the store conformance suite: each case gets a fresh store from `factory`.
#[napi]
pub async fn run_store_conformance(
    factory: Factory,
    dispatch: Dispatch,
    options: Option<ConformanceOptions>,
) -> napi::Result<Vec<CaseOutcome>> {
    let options = options.unwrap_or_default();
    let mut selected = cases();
    if let Some(names) = &options.cases {
        if let Some(unknown) = names.iter().find(|n| !selected.iter().any(|c| c.name == n.as_str())) {
            return Err(errors::invalid(format!("no conformance case is called `{unknown}`")));
        }
        selected.retain(|c| names.iter().any(|n| n == c.name));
    }
    let bookkeeping = options.bookkeeping.unwrap_or(true);
    let factory = Arc::new(factory);
    let dispatch = Arc::new(dispatch);
    let make: StoreFactory = Arc::new(move || {
        let (factory, dispatch) = (factory.clone(), dispatch.clone());
        Box::pin(async move {
            let promise = factory.call_async_catch(()).await.map_err(host_factory_error)?;
            let handle = promise.await.map_err(host_factory_error)?;
            let host: Arc<dyn Store> = Arc::new(HostStore::new(JsBackend::new(dispatch, handle.id, handle.methods)));
            if !bookkeeping {
                return Ok(host);
            }
            let own: Arc<dyn Store> = Arc::new(SqlStore::open("sqlite::memory:").await?);
            Ok(with_bookkeeping(host, own))
        })
    });
    let report = run_cases(make, selected).await;
    let outcomes = report
        .cases
        .into_iter()
        .map(|case| {
            let (outcome, message) = match case.outcome {
                Outcome::Passed => ("passed", None),
                Outcome::Failed(m) => ("failed", Some(m)),
                Outcome::Skipped(m) => ("skipped", Some(m)),
            };
            CaseOutcome { name: case.name.to_owned(), outcome: outcome.to_owned(), message }
        })
        .collect();
    Ok(outcomes)
}

/// The names of every conformance case, in suite order.
#[napi]
pub fn store_conformance_cases() -> Vec<String> {
    cases().into_iter().map(|c| c.name.to_owned()).collect()
}

fn host_factory_error(error: napi::Error) -> crm_agent::Error {
    crm_agent::Error::store(format!("the store factory failed: {}", error.reason))
}
