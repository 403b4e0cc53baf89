//! The core's store conformance suite, run against a Python store (`crm_agent.testing`).

use std::sync::Arc;

use crm_agent::conformance::{Outcome, StoreFactory, run};
use crm_agent::{SqlStore, Store};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::from_python;
use crate::runtime::{enter_python, wait};
use crate::store::PythonStore;

/// Runs every case against fresh stores from `factory` (a callable answering a new, empty
/// `crm_agent.Store`), each in front of an in-memory SQLite database for what the store leaves
/// out. Answers one `{"name", "outcome": "passed"|"failed"|"skipped", "message"}` per case.
#[pyfunction]
pub(crate) fn run_store_conformance(py: Python<'_>, factory: Py<PyAny>) -> PyResult<Vec<Py<PyDict>>> {
    let factory = Arc::new(factory);
    let make: StoreFactory = Arc::new(move || {
        let factory = factory.clone();
        Box::pin(async move {
            let python = tokio::task::spawn_blocking(move || {
                enter_python(|py| {
                    let store = factory.bind(py).call0().map_err(|e| from_python(py, e))?;
                    PythonStore::new(&store).map_err(|e| from_python(py, e))
                })
                .unwrap_or_else(|| Err(crm_agent::Error::unavailable("the Python interpreter is exiting")))
            })
            .await
            .map_err(|e| crm_agent::Error::Internal(e.to_string()))??;
            let own = SqlStore::open("sqlite::memory:").await?;
            Ok(python.in_front_of(own) as Arc<dyn Store>)
        })
    });
    let report = wait(py, async move { Ok::<_, PyErr>(run(make).await) })?;
    report
        .cases
        .iter()
        .map(|case| {
            let dict = PyDict::new(py);
            dict.set_item("name", case.name)?;
            let (outcome, message) = match &case.outcome {
                Outcome::Passed => ("passed", None),
                Outcome::Failed(m) => ("failed", Some(m.as_str())),
                Outcome::Skipped(m) => ("skipped", Some(m.as_str())),
            };
            dict.set_item("outcome", outcome)?;
            dict.set_item("message", message)?;
            Ok(dict.unbind())
        })
        .collect()
}
