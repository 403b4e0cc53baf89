//! `callTool` runs on the JavaScript thread: its future is polled there (inside the runtime's
//! context), and when it waits for I/O (a SQL query on sqlx's worker thread, a JS store's
//! answer) its waker asks the JS thread, through one shared threadsafe function, to poll it
//! again.
//!
//! Why: on a small machine a thread wake-up costs tens of microseconds. A call handed to a
//! tokio task and resolved through a promise pays two more of them than the same call made
//! from Rust (JS → worker, worker → JS, plus napi's per-promise setup); polled on the JS thread
//! it pays what Rust pays (JS → sqlx worker → JS). Tools that need no I/O finish in the first
//! poll and answer at once. The price: the tools' own CPU work (argument validation, JSON)
//! runs on the JS thread, a few microseconds per call.
//!
//! Protocol with `index.cjs`: `callTool` answers the result's JSON text when done at once, else
//! a call id; for each id, `onWake(id)` (the JS function behind [`WakeFn`]) calls
//! [`PendingCalls::poll`] through `agent.pollCall(id)`, which answers `null` while still
//! pending, the JSON text when done, or `{ error }` (the error value itself, so a JS store's
//! own exception keeps its identity even when it is not an `Error`).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use napi::bindgen_prelude::within_runtime_if_available;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status, sys};
use napi_derive::napi;

/// `onWake(id)` in `index.cjs`. Weak: it never keeps Node alive by itself; while calls are
/// pending it is referenced (see [`PendingCalls`]).
pub type WakeFn = ThreadsafeFunction<u32, (), u32, Status, false, true>;

/// A call's future: the result's JSON text, or the error to give JavaScript.
type CallFuture = Pin<Box<dyn Future<Output = Result<String, napi::Error>> + Send>>;

/// A failed call, as `pollCall`/`callTool` answer it: `{ error }` with the error value itself.
#[napi(object, object_from_js = false)]
pub struct CallFailure {
    /// What to throw (for a JS store's exception, the very value it threw).
    #[napi(ts_type = "unknown")]
    pub error: napi::Error,
}

/// What a poll came to.
pub enum Polled {
    /// The result's JSON text.
    Done(String),
    /// The call failed.
    Failed(CallFailure),
    /// Still waiting; `onWake(id)` will come.
    Pending(u32),
}

/// Wakes one call: queues `onWake(id)` on the JS thread.
struct CallWaker {
    id: u32,
    wake: Arc<WakeFn>,
}

impl Wake for CallWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Non-blocking: a full queue cannot happen (unbounded); a closing env ends everything.
        self.wake.call(self.id, ThreadsafeFunctionCallMode::NonBlocking);
    }
}

/// The calls of one agent that wait for I/O.
pub struct PendingCalls {
    wake: Arc<WakeFn>,
    calls: Mutex<HashMap<u32, CallFuture>>,
    next_id: AtomicU32,
}

impl PendingCalls {
    pub(crate) fn new(wake: WakeFn) -> Self {
        PendingCalls { wake: Arc::new(wake), calls: Mutex::new(HashMap::new()), next_id: AtomicU32::new(1) }
    }

    /// Polls a new call once; keeps it when it has to wait.
    pub(crate) fn start(&self, env: &Env, future: CallFuture) -> Polled {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut future = future;
        match self.poll_once(id, &mut future) {
            Poll::Ready(Ok(json)) => Polled::Done(json),
            Poll::Ready(Err(error)) => Polled::Failed(CallFailure { error }),
            Poll::Pending => {
                let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
                if calls.is_empty() {
                    self.keep_alive(env, true);
                }
                calls.insert(id, future);
                Polled::Pending(id)
            }
        }
    }

    /// Polls call `id` again (after its waker fired). `None`: still pending, or no such call
    /// (a late, duplicate wake-up).
    pub(crate) fn poll(&self, env: &Env, id: u32) -> Option<Result<String, CallFailure>> {
        let mut future = self.calls.lock().unwrap_or_else(|p| p.into_inner()).remove(&id)?;
        let outcome = self.poll_once(id, &mut future);
        let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
        match outcome {
            Poll::Pending => {
                calls.insert(id, future);
                None
            }
            Poll::Ready(result) => {
                if calls.is_empty() {
                    self.keep_alive(env, false);
                }
                Some(result.map_err(|error| CallFailure { error }))
            }
        }
    }

    fn poll_once(&self, id: u32, future: &mut CallFuture) -> Poll<Result<String, napi::Error>> {
        let waker = Waker::from(Arc::new(CallWaker { id, wake: self.wake.clone() }));
        let mut cx = Context::from_waker(&waker);
        within_runtime_if_available(|| future.as_mut().poll(&mut cx))
    }

    /// References the wake function while calls are pending (Node must wait for them), and
    /// unreferences it when none are.
    fn keep_alive(&self, env: &Env, alive: bool) {
        let raw = self.wake.raw();
        // SAFETY: called on the JS thread (from `callTool`/`pollCall`) with that thread's env,
        // on a threadsafe function this agent owns and has not released.
        let status = unsafe {
            if alive {
                sys::napi_ref_threadsafe_function(env.raw(), raw)
            } else {
                sys::napi_unref_threadsafe_function(env.raw(), raw)
            }
        };
        debug_assert_eq!(status, sys::Status::napi_ok);
    }
}
