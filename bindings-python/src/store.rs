//! Stores written in Python: a `crm_agent.Store` subclass answering the core's store calls
//! (see `crm_agent::store::host` for the call shapes).
//!
//! A plain `def` method runs on a blocking thread of the runtime that takes the GIL for the
//! call only; an `async def` method runs on the package's store event loop (a daemon thread,
//! `crm_agent._store_loop`), so neither ever blocks the runtime's workers or the caller's own
//! event loop, and a store may be called while the caller is consuming a chat stream.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use crm_agent::store::host::{HOST_METHODS, HostBackend, HostStore, with_bookkeeping};
use crm_agent::{Error, SqlStore, Store};
use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyDict};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::convert::{from_py, to_py};
use crate::errors::from_python;
use crate::runtime::enter_python;

/// A Python store object and which of the core's store methods it has.
#[derive(Clone)]
pub(crate) struct PythonStore {
    object: Arc<Py<PyAny>>,
    sync_methods: HashSet<&'static str>,
    async_methods: HashSet<&'static str>,
}

impl PythonStore {
    /// Looks at `object` once: which store methods it defines, and which of them are
    /// `async def`.
    pub(crate) fn new(object: &Bound<'_, PyAny>) -> PyResult<Self> {
        let inspect = object.py().import("inspect")?;
        let (mut sync_methods, mut async_methods) = (HashSet::new(), HashSet::new());
        for method in HOST_METHODS.iter().map(|method| method.name) {
            let Ok(attribute) = object.getattr(method) else { continue };
            if attribute.is_none() || !attribute.is_callable() {
                continue;
            }
            if inspect.call_method1("iscoroutinefunction", (&attribute,))?.is_truthy()? {
                async_methods.insert(method);
            } else {
                sync_methods.insert(method);
            }
        }
        Ok(PythonStore { object: Arc::new(object.clone().unbind()), sync_methods, async_methods })
    }

    /// The store the agent uses: this one in front of `own` (the SDK's database) for what it
    /// leaves out.
    pub(crate) fn in_front_of(&self, own: SqlStore) -> Arc<dyn Store> {
        with_bookkeeping(Arc::new(HostStore::new(self.clone())), Arc::new(own))
    }
}

/// Calls `method(**args)` on `object`; the result, or the exception as a core error.
fn call_python<'py>(
    py: Python<'py>,
    object: &Py<PyAny>,
    method: &str,
    args: &Value,
) -> Result<Bound<'py, PyAny>, Error> {
    let kwargs = to_py(py, args).map_err(|e| from_python(py, e))?;
    let kwargs = kwargs.cast_into::<PyDict>().map_err(|e| Error::Internal(e.to_string()))?;
    object.bind(py).call_method(method, (), Some(&kwargs)).map_err(|e| from_python(py, e))
}

#[async_trait]
impl HostBackend for PythonStore {
    fn implements(&self, method: &str) -> bool {
        self.sync_methods.contains(method) || self.async_methods.contains(method)
    }

    async fn call(&self, method: &'static str, args: Value) -> crm_agent::Result<Value> {
        // Python runs on a blocking thread, never on a runtime worker: taking the GIL can wait
        // for as long as other Python code holds it.
        let object = self.object.clone();
        let is_async = self.async_methods.contains(method);
        let called = tokio::task::spawn_blocking(move || {
            enter_python(|py| {
                let value = call_python(py, &object, method, &args)?;
                if is_async {
                    submit_coroutine(py, value).map(Called::Pending).map_err(|e| from_python(py, e))
                } else {
                    from_py(&value).map(Called::Done).map_err(|e| from_python(py, e))
                }
            })
            .unwrap_or_else(|| Err(interpreter_exiting(method)))
        })
        .await
        .map_err(|e| Error::Internal(format!("the store's `{method}` panicked: {e}")))??;
        match called {
            Called::Done(value) => Ok(value),
            Called::Pending(receiver) => {
                receiver.await.map_err(|_| Error::Internal(format!("the store loop dropped `{method}`")))?
            }
        }
    }
}

/// Why a store call made while the interpreter exits does not run.
fn interpreter_exiting(method: &str) -> Error {
    Error::unavailable(format!("the Python interpreter is exiting: the store's `{method}` was not called"))
}

/// A sync method's answer, or where an async one's will arrive.
enum Called {
    Done(Value),
    Pending(oneshot::Receiver<crm_agent::Result<Value>>),
}

/// Runs `coroutine` on the store loop; its outcome arrives on the returned channel.
fn submit_coroutine(
    py: Python<'_>,
    coroutine: Bound<'_, PyAny>,
) -> PyResult<oneshot::Receiver<crm_agent::Result<Value>>> {
    let (sender, receiver) = oneshot::channel();
    let event_loop = py.import("crm_agent._store_loop")?.call_method0("store_loop")?;
    let future = py.import("asyncio")?.call_method1("run_coroutine_threadsafe", (coroutine, event_loop))?;
    let sender = std::sync::Mutex::new(Some(sender));
    let on_done = PyCFunction::new_closure(py, None, None, move |args, _| -> PyResult<()> {
        let py = args.py();
        let outcome = match args.get_item(0)?.call_method0("result") {
            Ok(value) => from_py(&value).map_err(|e| from_python(py, e)),
            Err(error) => Err(from_python(py, error)),
        };
        if let Some(sender) = sender.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = sender.send(outcome);
        }
        Ok(())
    })?;
    future.call_method1("add_done_callback", (on_done,))?;
    Ok(receiver)
}
