//! The one mapping between the core's errors and Python exceptions.
//!
//! Core errors become `CrmAgentError` subclasses chosen by [`ErrorKind`], with the kind's
//! stable name in `.kind`. An exception raised by a Python store travels through the core as
//! [`Error::Host`] and comes back to the caller as the very same exception object.

use crm_agent::{Error, ErrorKind};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

pyo3::create_exception!(
    crm_agent,
    CrmAgentError,
    PyException,
    "Base class of every crm-agent error; `.kind` is the core's stable error kind."
);
pyo3::create_exception!(crm_agent, NotFound, CrmAgentError, "The record does not exist in the caller's scope.");
pyo3::create_exception!(crm_agent, PermissionDenied, CrmAgentError, "The caller lacks a permission.");
pyo3::create_exception!(crm_agent, Unauthenticated, CrmAgentError, "The caller could not be identified.");
pyo3::create_exception!(crm_agent, InvalidArgument, CrmAgentError, "The input is malformed or breaks a rule.");
pyo3::create_exception!(crm_agent, Conflict, CrmAgentError, "The request conflicts with the current state.");
pyo3::create_exception!(crm_agent, Unsupported, CrmAgentError, "The store does not implement this operation.");
pyo3::create_exception!(crm_agent, ModelError, CrmAgentError, "The language model failed.");
pyo3::create_exception!(crm_agent, StoreError, CrmAgentError, "Persistence failed (or is temporarily unavailable).");

/// Registers the exception classes on the module.
pub(crate) fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    module.add("CrmAgentError", py.get_type::<CrmAgentError>())?;
    module.add("NotFound", py.get_type::<NotFound>())?;
    module.add("PermissionDenied", py.get_type::<PermissionDenied>())?;
    module.add("Unauthenticated", py.get_type::<Unauthenticated>())?;
    module.add("InvalidArgument", py.get_type::<InvalidArgument>())?;
    module.add("Conflict", py.get_type::<Conflict>())?;
    module.add("Unsupported", py.get_type::<Unsupported>())?;
    module.add("ModelError", py.get_type::<ModelError>())?;
    module.add("StoreError", py.get_type::<StoreError>())?;
    // The class-level kind, so `NotFound("...").kind` works for exceptions a store raises too.
    for (class, kind) in [
        (py.get_type::<CrmAgentError>(), ErrorKind::External),
        (py.get_type::<NotFound>(), ErrorKind::NotFound),
        (py.get_type::<PermissionDenied>(), ErrorKind::PermissionDenied),
        (py.get_type::<Unauthenticated>(), ErrorKind::Unauthenticated),
        (py.get_type::<InvalidArgument>(), ErrorKind::InvalidArgument),
        (py.get_type::<Conflict>(), ErrorKind::Conflict),
        (py.get_type::<Unsupported>(), ErrorKind::Unsupported),
        (py.get_type::<ModelError>(), ErrorKind::Model),
        (py.get_type::<StoreError>(), ErrorKind::Store),
    ] {
        class.setattr("kind", kind.as_str())?;
        class.setattr("retryable", false)?;
    }
    Ok(())
}

/// A Python exception inside a core error. Its message is taken while the GIL is held, so
/// the core can log it without the GIL.
#[derive(Debug)]
pub(crate) struct PythonException {
    pub(crate) error: PyErr,
    message: String,
}

impl std::fmt::Display for PythonException {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PythonException {}

/// A Python exception as a core error: its kind from its class (a store raising
/// `crm_agent.NotFound` is "not found" to the core), the object itself kept.
pub(crate) fn from_python(py: Python<'_>, error: PyErr) -> Error {
    let value = error.value(py);
    let kind = if value.is_instance_of::<NotFound>() {
        ErrorKind::NotFound
    } else if value.is_instance_of::<PermissionDenied>() {
        ErrorKind::PermissionDenied
    } else if value.is_instance_of::<Unauthenticated>() {
        ErrorKind::Unauthenticated
    } else if value.is_instance_of::<InvalidArgument>() {
        ErrorKind::InvalidArgument
    } else if value.is_instance_of::<Conflict>() {
        ErrorKind::Conflict
    } else if value.is_instance_of::<Unsupported>() {
        ErrorKind::Unsupported
    } else if value.is_instance_of::<ModelError>() {
        ErrorKind::Model
    } else if value.is_instance_of::<StoreError>() {
        ErrorKind::Store
    } else {
        ErrorKind::External
    };
    let message = value.str().map(|s| s.to_string()).unwrap_or_default();
    let type_name = value.get_type().name().map(|n| n.to_string()).unwrap_or_default();
    let message = if message.is_empty() { type_name } else { message };
    Error::host(kind, Box::new(PythonException { error, message }))
}

/// A core error as the Python exception to raise.
pub(crate) fn to_python(py: Python<'_>, error: Error) -> PyErr {
    if let Error::Host { source, .. } = &error
        && let Some(original) = source.downcast_ref::<PythonException>()
    {
        return original.error.clone_ref(py);
    }
    let kind = error.kind();
    let message = error.detail();
    let raised = match kind {
        ErrorKind::NotFound => NotFound::new_err(message),
        ErrorKind::PermissionDenied => PermissionDenied::new_err(message),
        ErrorKind::Unauthenticated => Unauthenticated::new_err(message),
        ErrorKind::InvalidArgument => InvalidArgument::new_err(message),
        ErrorKind::Conflict => Conflict::new_err(message),
        ErrorKind::Unsupported => Unsupported::new_err(message),
        ErrorKind::Model => ModelError::new_err(message),
        ErrorKind::Store | ErrorKind::Unavailable => StoreError::new_err(message),
        _ => CrmAgentError::new_err(message),
    };
    let _ = raised.value(py).setattr("kind", kind.as_str());
    let _ = raised.value(py).setattr("retryable", error.is_retryable());
    raised
}

/// The error of a future the binding runs, turned into a Python exception only once the
/// waiting thread holds the GIL: a runtime thread never attaches to Python just to build one.
pub(crate) trait IntoPyErr: Send {
    fn into_py_err(self, py: Python<'_>) -> PyErr;
}

impl IntoPyErr for PyErr {
    fn into_py_err(self, _py: Python<'_>) -> PyErr {
        self
    }
}

impl IntoPyErr for Error {
    fn into_py_err(self, py: Python<'_>) -> PyErr {
        to_python(py, self)
    }
}

/// `?` for core results in binding code that runs on a Python thread (never in a future the
/// runtime drives: those hand their core error to [`IntoPyErr`]).
pub(crate) trait IntoPyResult<T> {
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for crm_agent::Result<T> {
    fn py(self) -> PyResult<T> {
        self.map_err(|error| Python::attach(|py| to_python(py, error)))
    }
}
