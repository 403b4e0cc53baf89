//! Audit events leave the call path: [`ToolRegistry::call`](super::ToolRegistry::call) queues
//! each event, and a background task writes whatever has queued up in one store call, so a tool
//! call does not wait for a write transaction of its own.
//!
//! The writer lets events gather for a moment ([`GATHER`]) after the first one of a batch: under
//! load one write transaction then carries hundreds of events instead of a handful, and, on
//! SQLite, each commit also makes every reader connection drop its page cache, so fewer commits
//! keep the readers' caches warm.
//!
//! Every call still produces exactly one event. Events are in memory until written: hosts call
//! [`ToolRegistry::flush_audit`](super::ToolRegistry::flush_audit) before shutting down (the CLI
//! and the HTTP service do), and dropping the last registry clone drains the queue too.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, timeout_at};

use crate::domain::{NewAuditEvent, OrganizationId};
use crate::store::Store;

/// Most events written in one store call.
const MAX_BATCH: usize = 512;

/// How long a batch stays open for more events after its first one. A flush, or a full
/// batch, closes it at once.
const GATHER: Duration = Duration::from_millis(2);

enum Message {
    Event(OrganizationId, Box<NewAuditEvent>),
    Flush(oneshot::Sender<()>),
}

/// The queue in front of the background writer. The writer starts on first use, inside the
/// caller's tokio runtime, and is started again if that runtime has gone away.
pub(super) struct AuditQueue {
    store: Arc<dyn Store>,
    sender: Mutex<Option<mpsc::UnboundedSender<Message>>>,
}

impl AuditQueue {
    pub(super) fn new(store: Arc<dyn Store>) -> Self {
        AuditQueue { store, sender: Mutex::new(None) }
    }

    fn send(&self, message: Message) {
        let mut sender = self.sender.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let message = match sender.as_ref() {
            Some(live) => match live.send(message) {
                Ok(()) => return,
                Err(mpsc::error::SendError(message)) => message,
            },
            None => message,
        };
        // No writer yet, or its runtime is gone: start one here.
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(write_batches(self.store.clone(), rx));
        let _ = tx.send(message);
        *sender = Some(tx);
    }

    /// Queues one event of `organization`.
    pub(super) fn record(&self, organization: OrganizationId, event: NewAuditEvent) {
        self.send(Message::Event(organization, Box::new(event)));
    }

    /// Waits until every event queued before this call is written.
    pub(super) async fn flush(&self) {
        let (done, written) = oneshot::channel();
        self.send(Message::Flush(done));
        let _ = written.await;
    }
}

async fn write_batches(store: Arc<dyn Store>, mut queue: mpsc::UnboundedReceiver<Message>) {
    while let Some(first) = queue.recv().await {
        let mut events = Vec::new();
        let mut waiting = Vec::new();
        let closes = Instant::now() + GATHER;
        let mut next = Some(first);
        loop {
            while let Some(message) = next.take() {
                match message {
                    Message::Event(org, event) => events.push((org, *event)),
                    Message::Flush(done) => waiting.push(done),
                }
                if events.len() < MAX_BATCH {
                    next = queue.try_recv().ok();
                }
            }
            if !waiting.is_empty() || events.len() >= MAX_BATCH {
                break;
            }
            match timeout_at(closes, queue.recv()).await {
                Ok(Some(message)) => next = Some(message),
                // The window closed, or every sender is gone: write what there is.
                Ok(None) | Err(_) => break,
            }
        }
        if !events.is_empty() {
            let count = events.len();
            if let Err(err) = store.record_audits(events).await {
                // Losing audit events must be loud; the calls themselves already returned.
                tracing::error!(error = %err, count, "could not record audit events");
            }
        }
        for done in waiting {
            let _ = done.send(());
        }
    }
}
