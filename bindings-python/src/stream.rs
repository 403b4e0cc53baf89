//! `agent.chat(...)`: one chat turn as a stream of event dicts, for `for` and `async for`.
//!
//! Events the turn has already produced are taken in batches (one lock, no waiting), so a
//! fast turn costs one wake-up per batch rather than one per event. Dropping the stream —
//! breaking out of the loop and letting it go, `close()`, or leaving a `with` block — drops
//! the core's `ChatStream`, which cancels the turn.

use std::collections::VecDeque;
use std::sync::Arc;

use crm_agent::{ChatEvent, ChatStream};
use futures::{FutureExt, StreamExt};
use pyo3::exceptions::{PyStopAsyncIteration, PyStopIteration};
use pyo3::prelude::*;
use tokio::sync::Mutex;

use crate::convert::{from_py, to_py};
use crate::errors::to_python;
use crate::runtime::{awaitable, wait};

/// The turn's stream and the events taken from it but not yet handed to Python.
struct Pending {
    stream: Option<ChatStream>,
    buffered: VecDeque<ChatEvent>,
}

impl Pending {
    /// The next event, waiting for one only when none is buffered; `None` at the end.
    async fn next(&mut self) -> Option<ChatEvent> {
        if let Some(event) = self.buffered.pop_front() {
            return Some(event);
        }
        let stream = self.stream.as_mut()?;
        let first = stream.next().await;
        if first.is_none() {
            self.stream = None;
            return None;
        }
        // Whatever else is ready now comes along.
        while let Some(Some(event)) = stream.next().now_or_never() {
            self.buffered.push_back(event);
        }
        first
    }
}

/// A chat turn's events. Iterate it with `for` or `async for`; each event is a dict with a
/// `type` key (the events `docs/assistant.md` lists).
#[pyclass(frozen, module = "crm_agent._native", name = "ChatStream")]
pub(crate) struct PyChatStream {
    pending: Arc<Mutex<Pending>>,
}

impl PyChatStream {
    pub(crate) fn new(stream: ChatStream) -> Self {
        PyChatStream { pending: Arc::new(Mutex::new(Pending { stream: Some(stream), buffered: VecDeque::new() })) }
    }
}

fn event_to_py(py: Python<'_>, event: &ChatEvent) -> PyResult<Py<PyAny>> {
    let value = serde_json::to_value(event).map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    Ok(to_py(py, &value)?.unbind())
}

/// An awaitable whose result is already there: `await` answers it without suspending.
#[pyclass(module = "crm_agent._native")]
struct Ready {
    value: Option<Py<PyAny>>,
}

#[pymethods]
impl Ready {
    fn __await__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// Ends the (one-step) iteration `await` drives, with the value as its result.
    fn __next__(&mut self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Err(PyStopIteration::new_err((self.value.take().unwrap_or_else(|| py.None()),)))
    }
}

/// Drops the turn's stream (which cancels the turn) and what it had buffered.
async fn close(pending: Arc<Mutex<Pending>>) -> PyResult<()> {
    let mut pending = pending.lock().await;
    pending.stream = None;
    pending.buffered.clear();
    Ok(())
}

/// An event on its way to an awaiting coroutine (`None`: the turn is over).
struct AsyncEvent(Option<ChatEvent>);

impl<'py> IntoPyObject<'py> for AsyncEvent {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self.0 {
            Some(event) => Ok(event_to_py(py, &event)?.into_bound(py)),
            None => Err(PyStopAsyncIteration::new_err(())),
        }
    }
}

#[pymethods]
impl PyChatStream {
    /// A stream of the given events that no model produced: for testing how a host renders a
    /// turn (an SSE view, a template) without a model.
    #[staticmethod]
    fn replay(py: Python<'_>, events: Vec<Bound<'_, PyAny>>) -> PyResult<Self> {
        let events = events
            .iter()
            .map(|event| {
                serde_json::from_value::<ChatEvent>(from_py(event)?)
                    .map_err(|e| to_python(py, crm_agent::Error::invalid(format!("not a chat event: {e}"))))
            })
            .collect::<PyResult<Vec<_>>>()?;
        Ok(PyChatStream::new(ChatStream::replay(events)))
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        // A buffered event needs no wait at all.
        let ready = self.pending.try_lock().ok().and_then(|mut p| p.buffered.pop_front());
        let event = match ready {
            Some(event) => Some(event),
            None => {
                let pending = self.pending.clone();
                wait(py, async move { Ok::<_, PyErr>(pending.lock().await.next().await) })?
            }
        };
        match event {
            Some(event) => event_to_py(py, &event),
            None => Err(PyStopIteration::new_err(())),
        }
    }

    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        // A buffered event is answered with an awaitable that is already done: awaiting it
        // does not go through the event loop at all.
        if let Some(event) = self.pending.try_lock().ok().and_then(|mut p| p.buffered.pop_front()) {
            return Ok(Bound::new(py, Ready { value: Some(event_to_py(py, &event)?) })?.into_any());
        }
        let pending = self.pending.clone();
        awaitable(py, async move { Ok::<_, PyErr>(AsyncEvent(pending.lock().await.next().await)) })
    }

    /// Stops the turn (if it is still running) and drops what it had not yet delivered.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        wait(py, close(self.pending.clone()))
    }

    /// `close()` for `async with`.
    fn aclose<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        awaitable(py, close(self.pending.clone()))
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_type: Option<Bound<'_, PyAny>>,
        _exc: Option<Bound<'_, PyAny>>,
        _tb: Option<Bound<'_, PyAny>>,
    ) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let future = py.import("asyncio")?.call_method0("get_running_loop")?.call_method0("create_future")?;
        future.call_method1("set_result", (slf,))?;
        Ok(future)
    }

    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _exc_type: Option<Bound<'py, PyAny>>,
        _exc: Option<Bound<'py, PyAny>>,
        _tb: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.aclose(py)
    }
}
