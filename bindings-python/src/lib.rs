//! `crm_agent._native`: the Python binding of crm-agent (argument conversion, async bridging
//! and error mapping only; every rule lives in the core). The `crm_agent` package re-exports
//! it; see `docs/python.md`.

mod agent;
#[cfg(feature = "conformance")]
mod conformance;
mod context;
mod convert;
mod errors;
mod runtime;
mod store;
mod stream;

use pyo3::prelude::*;

/// One chat event (a dict with a `type` key) as a Server-Sent Event: `data: {json}\n\n`.
#[pyfunction]
fn sse_encode(event: &Bound<'_, PyAny>) -> PyResult<String> {
    let py = event.py();
    let value = convert::from_py(event)?;
    let event: crm_agent::ChatEvent = serde_json::from_value(value)
        .map_err(|e| errors::to_python(py, crm_agent::Error::invalid(format!("not a chat event: {e}"))))?;
    Ok(crm_agent::sse_encode(&event))
}

/// One chat event in the stream encoding of the older Django frontend (`connected`,
/// `message`, `completed`, `error`), or `None` for an event it has no counterpart for.
#[pyfunction]
fn compat_encode(py: Python<'_>, event: &Bound<'_, PyAny>) -> PyResult<Option<Py<PyAny>>> {
    let value = convert::from_py(event)?;
    let event: crm_agent::ChatEvent = serde_json::from_value(value)
        .map_err(|e| errors::to_python(py, crm_agent::Error::invalid(format!("not a chat event: {e}"))))?;
    event.to_compat().map(|encoded| convert::to_py(py, &encoded).map(Bound::unbind)).transpose()
}

/// A `status()` answer in the shape the older Django frontend reads from
/// `/api/gemini/status/`.
#[pyfunction]
fn compat_status(py: Python<'_>, status: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
    let status: crm_agent::agent::AgentStatus = serde_json::from_value(convert::from_py(status)?)
        .map_err(|e| errors::to_python(py, crm_agent::Error::invalid(format!("not a status: {e}"))))?;
    Ok(convert::to_py(py, &status.to_compat())?.unbind())
}

/// The store methods a host may implement, as the core lists them: each one's `name`,
/// `group`, `args` (`name` and Rust `type`) and `result` (its Rust type). `crm_agent/store.py`
/// is generated from this list (`scripts/host_contract.py`).
#[pyfunction]
fn host_store_methods(py: Python<'_>) -> PyResult<Py<PyAny>> {
    let methods = crm_agent::store::host::HOST_METHODS.iter().map(|method| method.describe()).collect();
    Ok(convert::to_py(py, &serde_json::Value::Array(methods))?.unbind())
}

/// Longest the exit hook waits for queued audit events to be written.
const EXIT_FLUSH: std::time::Duration = std::time::Duration::from_secs(5);

/// The package's `atexit` hook (`crm_agent/__init__.py`): writes out queued audit events, then
/// keeps the runtime's threads out of the interpreter from here on (see `runtime.rs`), before
/// the interpreter starts to finalize.
#[pyfunction]
fn _at_exit(py: Python<'_>) -> PyResult<()> {
    let flushed = agent::flush_live_agents(py, Some(EXIT_FLUSH));
    runtime::close_python_gate(py);
    flushed
}

#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add_class::<agent::PyAgent>()?;
    module.add_class::<context::PyUserContext>()?;
    module.add_class::<stream::PyChatStream>()?;
    module.add_function(wrap_pyfunction!(sse_encode, module)?)?;
    module.add_function(wrap_pyfunction!(compat_encode, module)?)?;
    module.add_function(wrap_pyfunction!(compat_status, module)?)?;
    module.add_function(wrap_pyfunction!(host_store_methods, module)?)?;
    module.add_function(wrap_pyfunction!(agent::_before_fork, module)?)?;
    module.add_function(wrap_pyfunction!(_at_exit, module)?)?;
    #[cfg(feature = "conformance")]
    module.add_function(wrap_pyfunction!(conformance::run_store_conformance, module)?)?;
    errors::register(module)?;
    Ok(())
}
