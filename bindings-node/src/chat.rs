//! One chat turn as JavaScript consumes it: `index.cjs` wraps [`NativeChat::next`] into an
//! async generator, so `for await (const event of agent.chat(…))` works and `break` (or
//! `return()`) calls [`NativeChat::cancel`], which drops the core's `ChatStream` and with it
//! cancels the turn.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crm_agent::{ChatEvent, ChatStream};
use futures::{FutureExt, StreamExt};
use napi_derive::napi;
use tokio::sync::{Mutex, Notify};

/// Most events handed over in one `next()` (they are whatever is already buffered).
const MAX_BATCH: usize = 256;

/// The events of one turn.
#[napi]
pub struct NativeChat {
    stream: Arc<Mutex<Option<ChatStream>>>,
    cancelled: Arc<AtomicBool>,
    cancel: Arc<Notify>,
}

impl NativeChat {
    pub(crate) fn new(stream: ChatStream) -> Self {
        NativeChat {
            stream: Arc::new(Mutex::new(Some(stream))),
            cancelled: Arc::new(AtomicBool::new(false)),
            cancel: Arc::new(Notify::new()),
        }
    }
}

#[napi]
impl NativeChat {
    /// The next events, as a JSON array (one event or several already buffered), or `null`
    /// when the turn is over or was cancelled. One call in flight at a time.
    #[napi]
    pub async fn next(&self) -> napi::Result<Option<String>> {
        let mut guard = self.stream.lock().await;
        let Some(stream) = guard.as_mut() else { return Ok(None) };
        if self.cancelled.load(Ordering::Acquire) {
            *guard = None;
            return Ok(None);
        }
        let first = tokio::select! {
            event = stream.next() => event,
            () = self.cancel.notified() => None,
        };
        let Some(first) = first else {
            *guard = None;
            return Ok(None);
        };
        let mut batch: Vec<ChatEvent> = vec![first];
        while batch.len() < MAX_BATCH {
            match stream.next().now_or_never() {
                Some(Some(event)) => batch.push(event),
                Some(None) => {
                    *guard = None;
                    break;
                }
                None => break,
            }
        }
        serde_json::to_string(&batch).map(Some).map_err(|e| napi::Error::from_reason(e.to_string()))
    }

    /// Cancels the turn: drops the stream now when no `next()` is waiting, else wakes the
    /// waiting `next()`, which drops it and answers `null`. Safe to call more than once.
    #[napi]
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
        // `notify_one` keeps a permit when nobody waits yet, so a `next()` about to wait sees it.
        self.cancel.notify_one();
        if let Ok(mut guard) = self.stream.try_lock() {
            *guard = None;
        }
    }
}
