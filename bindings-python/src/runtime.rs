//! The one tokio runtime of the process, and the two ways Python waits on it: blocking (the
//! sync API, GIL released, Ctrl-C honoured) and awaiting (an asyncio future completed from
//! the runtime).

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::BoundObject;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyCFunction;

/// The runtime and the process that built it: a `fork()`ed child has none of its threads, so
/// it builds its own (the parent's is leaked in the child: dropping it would wait on threads
/// that do not exist there).
static RUNTIME: Mutex<Option<(u32, Arc<tokio::runtime::Runtime>)>> = Mutex::new(None);

/// The process's runtime, built on first use (and again in a forked child).
pub(crate) fn runtime() -> Arc<tokio::runtime::Runtime> {
    let pid = std::process::id();
    let mut slot = RUNTIME.lock().unwrap_or_else(|p| p.into_inner());
    match &*slot {
        Some((owner, runtime)) if *owner == pid => runtime.clone(),
        _ => {
            if let Some((_, inherited)) = slot.take() {
                std::mem::forget(inherited);
            }
            let runtime = Arc::new(
                tokio::runtime::Builder::new_multi_thread()
                    .thread_name("crm-agent")
                    .enable_all()
                    .build()
                    .expect("the tokio runtime starts"),
            );
            *slot = Some((pid, runtime.clone()));
            runtime
        }
    }
}

/// How often a blocking wait looks up from the future to check for Ctrl-C.
const SIGNAL_CHECK_INTERVAL: Duration = Duration::from_millis(50);

/// Runs `future` to completion on the runtime while the calling thread waits with the GIL
/// released. Every [`SIGNAL_CHECK_INTERVAL`] the thread takes the GIL back to run Python's
/// signal handlers, so Ctrl-C raises `KeyboardInterrupt` (and drops, i.e. cancels, the future).
///
/// Refused on the store loop's thread (see [`refuse_on_store_loop`]).
pub(crate) fn wait<F, T>(py: Python<'_>, future: F) -> PyResult<T>
where
    F: Future<Output = PyResult<T>> + Send,
    T: Send,
{
    refuse_on_store_loop(py)?;
    let runtime = runtime();
    let mut future = std::pin::pin!(future);
    loop {
        let step =
            py.detach(|| runtime.block_on(async { tokio::time::timeout(SIGNAL_CHECK_INTERVAL, &mut future).await }));
        match step {
            Ok(result) => return result,
            Err(_still_running) => py.check_signals()?,
        }
    }
}

/// Fails on the thread of the store loop (`crm_agent._store_loop`), where `async def` store
/// methods run: a blocking call made there would wait for the store calls it leads to, and
/// only that same, now blocked, loop could run them. Signals never reach that thread, so
/// nothing would end the wait. The `_async` form, awaited there, works.
fn refuse_on_store_loop(py: Python<'_>) -> PyResult<()> {
    static ON_STORE_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let on_store_loop = ON_STORE_LOOP
        .get_or_try_init(py, || py.import("crm_agent._store_loop")?.getattr("on_store_loop").map(Bound::unbind))?;
    if on_store_loop.bind(py).call0()?.is_truthy()? {
        return Err(PyRuntimeError::new_err(
            "a blocking crm_agent call was made inside an `async def` store method, which would wait forever for \
             the store loop it blocks: await the `_async` form instead (e.g. `await agent.call_tool_async(...)`)",
        ));
    }
    Ok(())
}

/// Starts `future` on the runtime and answers an asyncio future of the running event loop that
/// completes with its result. Cancelling the asyncio future aborts the task.
pub(crate) fn awaitable<'py, F, T>(py: Python<'py>, future: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let asyncio = py.import("asyncio")?;
    let event_loop = asyncio.call_method0("get_running_loop")?;
    let result_future = event_loop.call_method0("create_future")?;
    let (loop_ref, future_ref) = (event_loop.clone().unbind(), result_future.clone().unbind());
    let task = runtime().spawn(async move {
        let outcome = future.await;
        Python::attach(|py| {
            let (setter, value) =
                match outcome.and_then(|v| v.into_pyobject(py).map(|o| o.into_any().unbind()).map_err(Into::into)) {
                    Ok(value) => ("set_result", value),
                    Err(error) => ("set_exception", error.into_value(py).into_any()),
                };
            let complete = PyCFunction::new_closure(py, None, None, move |args, _kwargs| -> PyResult<()> {
                let py = args.py();
                let target = args.get_item(0)?;
                // The caller may have cancelled (or timed out) meanwhile.
                if !target.call_method0("done")?.is_truthy()? {
                    target.call_method1(setter, (value.bind(py),))?;
                }
                Ok(())
            });
            if let Ok(complete) = complete {
                // Fails only when the loop is closed, and then nobody is waiting.
                let _ = loop_ref.bind(py).call_method1("call_soon_threadsafe", (complete, future_ref.bind(py)));
            }
        });
    });
    let abort = task.abort_handle();
    let on_done = PyCFunction::new_closure(py, None, None, move |args, _kwargs| -> PyResult<()> {
        if args.get_item(0)?.call_method0("cancelled")?.is_truthy()? {
            abort.abort();
        }
        Ok(())
    })?;
    result_future.call_method1("add_done_callback", (on_done,))?;
    Ok(result_future)
}

/// The error for a call on an object whose runtime resources are gone (e.g. a closed agent).
pub(crate) fn closed(what: &str) -> PyErr {
    PyRuntimeError::new_err(format!("{what} is closed"))
}
