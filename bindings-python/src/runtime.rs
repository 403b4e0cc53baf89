//! The one tokio runtime of the process, and the two ways Python waits on it: blocking (the
//! sync API, GIL released, Ctrl-C honoured) and awaiting (an asyncio future completed from
//! the runtime).
//!
//! The runtime's threads are not Python's: they enter the interpreter only through
//! [`enter_python`], and never once the interpreter has begun to exit. A thread that attaches
//! to (or waits for) an interpreter that is finalizing is killed inside CPython
//! (`PyThread_exit_thread`), which unwinds through our frames: the process aborts (exit 134)
//! or crashes (139) after the program itself has finished. The package's `atexit` hook calls
//! [`close_python_gate`]: it closes the gate, waits for the threads inside to leave, and
//! aborts the tasks that would still complete an asyncio future.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, LazyLock, Mutex};
use std::time::Duration;

use pyo3::BoundObject;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyCFunction;

use crate::errors::IntoPyErr;

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
pub(crate) fn wait<F, T, E>(py: Python<'_>, future: F) -> PyResult<T>
where
    F: Future<Output = Result<T, E>> + Send,
    T: Send,
    E: IntoPyErr,
{
    refuse_on_store_loop(py)?;
    let runtime = runtime();
    let mut future = std::pin::pin!(future);
    loop {
        let step = py.detach(|| {
            let step = runtime.block_on(async { tokio::time::timeout(SIGNAL_CHECK_INTERVAL, &mut future).await });
            park_if_interpreter_exits_elsewhere();
            step
        });
        match step {
            Ok(result) => return result.map_err(|error| error.into_py_err(py)),
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
/// completes with its result. Cancelling the asyncio future aborts the task, and so does the
/// interpreter's exit ([`close_python_gate`]).
pub(crate) fn awaitable<'py, F, T, E>(py: Python<'py>, future: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Result<T, E>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
    E: IntoPyErr + 'static,
{
    let asyncio = py.import("asyncio")?;
    let event_loop = asyncio.call_method0("get_running_loop")?;
    let result_future = event_loop.call_method0("create_future")?;
    let (loop_ref, future_ref) = (event_loop.clone().unbind(), result_future.clone().unbind());
    let id = NEXT_AWAITABLE.fetch_add(1, Ordering::Relaxed);
    let task = runtime().spawn(async move {
        let outcome = future.await;
        // Unregistered before entering Python, so `close_python_gate` never aborts a task that is
        // inside the gate (the gate itself waits for those).
        in_flight().remove(&id);
        enter_python(|py| {
            let (setter, value) = match outcome
                .map_err(|error| error.into_py_err(py))
                .and_then(|v| v.into_pyobject(py).map(|o| o.into_any().unbind()).map_err(Into::into))
            {
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
    in_flight().insert(id, abort.clone());
    let on_done = PyCFunction::new_closure(py, None, None, move |args, _kwargs| -> PyResult<()> {
        if args.get_item(0)?.call_method0("cancelled")?.is_truthy()? {
            abort.abort();
            in_flight().remove(&id);
        }
        Ok(())
    })?;
    result_future.call_method1("add_done_callback", (on_done,))?;
    Ok(result_future)
}

/// The tasks that will complete an asyncio future, by id: [`close_python_gate`] aborts them.
static IN_FLIGHT: LazyLock<Mutex<HashMap<u64, tokio::task::AbortHandle>>> = LazyLock::new(Default::default);
static NEXT_AWAITABLE: AtomicU64 = AtomicU64::new(0);

/// The in-flight map; a panic elsewhere while it was held leaves it usable.
fn in_flight() -> std::sync::MutexGuard<'static, HashMap<u64, tokio::task::AbortHandle>> {
    IN_FLIGHT.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether threads of ours may still enter Python, how many are inside now, and which thread
/// closed the gate (the one that runs the exit hooks).
struct GateState {
    open: bool,
    inside: usize,
    closed_by: Option<std::thread::ThreadId>,
}

static GATE: Mutex<GateState> = Mutex::new(GateState { open: true, inside: 0, closed_by: None });
/// Set once the gate closes: the blocking waits' cheap first look.
static EXITING: AtomicBool = AtomicBool::new(false);
static GATE_LEFT: Condvar = Condvar::new();

/// Runs `f` attached to the interpreter, from a thread that Python did not create (a runtime
/// worker, a blocking-pool thread); `None`, without touching Python, once the interpreter has
/// begun to exit. Never call it from a Python thread: those are attached already, and the
/// exit hook runs on one of them.
pub(crate) fn enter_python<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> Option<R> {
    {
        let mut gate = GATE.lock().unwrap_or_else(|p| p.into_inner());
        if !gate.open {
            return None;
        }
        gate.inside += 1;
    }
    // Leaves the gate even if `f` panics, or `close_python_gate` would wait forever.
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            let mut gate = GATE.lock().unwrap_or_else(|p| p.into_inner());
            gate.inside -= 1;
            if gate.inside == 0 {
                GATE_LEFT.notify_all();
            }
        }
    }
    let _leave = Leave;
    Some(Python::attach(f))
}

/// Longest wait at exit for runtime threads still inside Python (a host store method that
/// is running, say). Past it the interpreter exits anyway, as it does with daemon threads.
const EXIT_WAIT: Duration = Duration::from_secs(10);

/// Closes the gate of [`enter_python`], aborts the tasks that would complete an asyncio
/// future, and waits (GIL released, so they can finish) until no runtime thread is inside
/// Python. Called by the package's `atexit` hook; idempotent.
pub(crate) fn close_python_gate(py: Python<'_>) {
    {
        let mut gate = GATE.lock().unwrap_or_else(|p| p.into_inner());
        gate.open = false;
        gate.closed_by.get_or_insert_with(|| std::thread::current().id());
        EXITING.store(true, Ordering::Release);
    }
    for (_, abort) in in_flight().drain() {
        abort.abort();
    }
    py.detach(|| {
        let gate = GATE.lock().unwrap_or_else(|p| p.into_inner());
        let (gate, waited) =
            GATE_LEFT.wait_timeout_while(gate, EXIT_WAIT, |gate| gate.inside > 0).unwrap_or_else(|p| p.into_inner());
        if waited.timed_out() {
            eprintln!("crm_agent: {} runtime thread(s) still inside Python after {EXIT_WAIT:?} at exit", gate.inside);
        }
    });
}

/// Called by a Python thread in a blocking wait, between looks at its future, with the GIL
/// released. Once the interpreter exits on another thread, this thread (a daemon thread still
/// inside a call) must not take the GIL back: CPython would end it inside our frames. It parks
/// for good instead; the process ends around it, as it would around any daemon thread.
fn park_if_interpreter_exits_elsewhere() {
    if !EXITING.load(Ordering::Acquire) {
        return;
    }
    let exiting_elsewhere = {
        let gate = GATE.lock().unwrap_or_else(|p| p.into_inner());
        !gate.open && gate.closed_by != Some(std::thread::current().id())
    };
    if exiting_elsewhere {
        loop {
            std::thread::park();
        }
    }
}

/// The error for a call on an object whose runtime resources are gone (e.g. a closed agent).
pub(crate) fn closed(what: &str) -> PyErr {
    PyRuntimeError::new_err(format!("{what} is closed"))
}
