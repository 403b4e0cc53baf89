//! Units of work ([`Store::transaction`]): a [`SqlStore`] bound to one open transaction.
//!
//! Every call of a bound store runs on that transaction's connection: reads directly, and the
//! write transaction a call would begin as a savepoint instead, released when the call commits
//! and rolled back when it does not, so a failed call leaves nothing behind inside the unit
//! either. Calls of one unit are serialized on its connection. On PostgreSQL, where a failed
//! statement aborts the whole transaction, a read runs in a savepoint of its own too.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use async_trait::async_trait;
use tokio::sync::{Mutex, OwnedMutexGuard};

use super::codec::{Row, SqlValue};
use super::{Dialect, Pools, SqlStore, Tx};
use crate::error::{Error, Result};
use crate::store::{Store, StoreTransaction};

/// A boxed future of a bound statement: a savepoint's statements run through [`Bound`], whose
/// own statements run on a [`Tx`], so the box breaks the cycle between the two future types.
pub(crate) type Statement<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// The open transaction of a unit of work, shared by its bound store and its handle.
pub(crate) struct Bound {
    dialect: Dialect,
    /// `None` once the unit committed or was dropped: later calls fail instead of running
    /// outside it.
    tx: Mutex<Option<Tx>>,
    /// Held by the call whose savepoint is open: one call writes at a time.
    writing: Arc<Mutex<()>>,
    /// Savepoints of calls that ended without committing. Dropping one cannot wait for the
    /// connection, so they are rolled back before the unit's next statement.
    abandoned: std::sync::Mutex<Vec<String>>,
    next_savepoint: AtomicU64,
    /// Set when the handle is dropped: the transaction then ends (rolled back) at the next
    /// statement, which fails, if a statement was running when the handle went.
    ended: AtomicBool,
    /// Set when undoing a failed call failed: the transaction may hold part of that call, so
    /// nothing more runs in it and it never commits.
    poisoned: AtomicBool,
}

impl Bound {
    /// Runs a read outside any call's write: on PostgreSQL inside a savepoint of its own, so a
    /// read that fails does not abort the unit.
    pub(crate) async fn read(&self, sql: &str, args: Vec<SqlValue>) -> Result<Vec<Row>> {
        if self.dialect != Dialect::Postgres {
            return self.fetch(sql, args).await;
        }
        let mut tx = self.tx.lock().await;
        let tx = self.ready(&mut tx).await?;
        tx.execute("SAVEPOINT crm_agent_read", Vec::new()).await?;
        let rows = tx.fetch(sql, args).await;
        let end = if rows.is_ok() { "RELEASE SAVEPOINT" } else { "ROLLBACK TO SAVEPOINT" };
        if let Err(error) = tx.execute(&format!("{end} crm_agent_read"), Vec::new()).await {
            self.poisoned.store(true, Ordering::SeqCst);
            return Err(error);
        }
        rows
    }

    /// Runs a query on the unit's transaction and returns its rows.
    pub(crate) async fn fetch(&self, sql: &str, args: Vec<SqlValue>) -> Result<Vec<Row>> {
        let mut tx = self.tx.lock().await;
        let tx = self.ready(&mut tx).await?;
        tx.fetch(sql, args).await
    }

    /// Runs a statement on the unit's transaction and returns how many rows it touched.
    pub(crate) async fn execute(&self, sql: &str, args: Vec<SqlValue>) -> Result<u64> {
        let mut tx = self.tx.lock().await;
        let tx = self.ready(&mut tx).await?;
        tx.execute(sql, args).await
    }

    /// Runs `work` on the SQLite connection of the unit (a list, whose queries need it).
    #[cfg(feature = "sqlite")]
    pub(crate) async fn on_sqlite<T>(&self, work: impl FnOnce(&super::sqlite::Snapshot<'_>) -> Result<T>) -> Result<T> {
        let mut tx = self.tx.lock().await;
        match self.ready(&mut tx).await? {
            Tx::Sqlite(tx) => work(&tx.snapshot()?),
            _ => Err(Error::Internal("a SQLite query on another database".into())),
        }
    }

    /// A call's write transaction inside the unit.
    pub(crate) async fn begin(self: &Arc<Self>) -> Result<Savepoint> {
        let turn = self.writing.clone().lock_owned().await;
        let name = format!("crm_agent_call_{}", self.next_savepoint.fetch_add(1, Ordering::Relaxed));
        self.execute(&format!("SAVEPOINT {name}"), Vec::new()).await?;
        Ok(Savepoint { bound: self.clone(), name, _turn: turn })
    }

    /// Has the savepoint `name` rolled back before the unit's next statement.
    fn abandon(&self, name: String) {
        self.abandoned.lock().unwrap_or_else(|e| e.into_inner()).push(name);
    }

    /// The transaction, with the savepoints of abandoned calls rolled back; an error once the
    /// unit has ended or cannot go on.
    async fn ready<'t>(&self, slot: &'t mut Option<Tx>) -> Result<&'t mut Tx> {
        if self.ended.load(Ordering::SeqCst) {
            slot.take();
        }
        if self.poisoned.load(Ordering::SeqCst) {
            return Err(Error::store("an earlier failure left this unit of work unusable; none of it is kept"));
        }
        let tx = slot.as_mut().ok_or_else(|| Error::Internal("this unit of work has ended".into()))?;
        let abandoned = std::mem::take(&mut *self.abandoned.lock().unwrap_or_else(|e| e.into_inner()));
        for name in abandoned.iter().rev() {
            for sql in [format!("ROLLBACK TO SAVEPOINT {name}"), format!("RELEASE SAVEPOINT {name}")] {
                if let Err(error) = tx.execute(&sql, Vec::new()).await {
                    self.poisoned.store(true, Ordering::SeqCst);
                    return Err(error);
                }
            }
        }
        Ok(tx)
    }
}

/// The write transaction of one call of a bound store. Dropped without
/// [`Savepoint::release`], the call's writes are undone.
pub(crate) struct Savepoint {
    bound: Arc<Bound>,
    /// Empty once released.
    name: String,
    _turn: OwnedMutexGuard<()>,
}

impl Savepoint {
    pub(crate) fn dialect(&self) -> Dialect {
        self.bound.dialect
    }

    pub(crate) fn fetch<'a>(&'a self, sql: &'a str, args: Vec<SqlValue>) -> Statement<'a, Vec<Row>> {
        Box::pin(self.bound.fetch(sql, args))
    }

    pub(crate) fn execute<'a>(&'a self, sql: &'a str, args: Vec<SqlValue>) -> Statement<'a, u64> {
        Box::pin(self.bound.execute(sql, args))
    }

    /// Keeps the call's writes as part of the unit.
    pub(crate) fn release(mut self) -> Statement<'static, ()> {
        Box::pin(async move {
            let name = std::mem::take(&mut self.name);
            let released = self.bound.execute(&format!("RELEASE SAVEPOINT {name}"), Vec::new()).await;
            if released.is_err() {
                self.bound.abandon(name);
            }
            released.map(drop)
        })
    }
}

impl Drop for Savepoint {
    fn drop(&mut self) {
        if !self.name.is_empty() {
            self.bound.abandon(std::mem::take(&mut self.name));
        }
    }
}

/// The handle of a unit of work on a [`SqlStore`].
pub(crate) struct SqlUnit {
    bound: Arc<Bound>,
    store: Arc<SqlStore>,
}

/// The savepoint of [`StoreTransaction::mark`].
const MARK: &str = "crm_agent_mark";

impl SqlUnit {
    /// Starts a unit of work on `tx`, which becomes its transaction.
    pub(crate) fn new(tx: Tx) -> Self {
        let dialect = tx.dialect();
        let bound = Arc::new(Bound {
            dialect,
            tx: Mutex::new(Some(tx)),
            writing: Arc::default(),
            abandoned: std::sync::Mutex::default(),
            next_savepoint: AtomicU64::new(0),
            ended: AtomicBool::new(false),
            poisoned: AtomicBool::new(false),
        });
        let store = Arc::new(SqlStore { pools: Pools::Bound(bound.clone()), dialect });
        SqlUnit { bound, store }
    }

    /// Runs a statement of the unit itself, between calls.
    async fn between_calls(&self, sql: &str) -> Result<()> {
        let _turn = self.bound.writing.lock().await;
        self.bound.execute(sql, Vec::new()).await.map(drop)
    }
}

#[async_trait]
impl StoreTransaction for SqlUnit {
    fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    async fn mark(&self) -> Result<()> {
        self.between_calls(&format!("SAVEPOINT {MARK}")).await
    }

    async fn roll_back_to_mark(&self) -> Result<()> {
        self.between_calls(&format!("ROLLBACK TO SAVEPOINT {MARK}")).await
    }

    async fn commit(self: Box<Self>) -> Result<()> {
        let _turn = self.bound.writing.lock().await;
        let mut tx = self.bound.tx.lock().await;
        self.bound.ready(&mut tx).await?;
        match tx.take() {
            Some(tx) => tx.commit().await,
            None => Err(Error::Internal("this unit of work has ended".into())),
        }
    }
}

impl Drop for SqlUnit {
    fn drop(&mut self) {
        // Roll back now rather than when the last clone of the bound store goes: on SQLite the
        // open transaction holds the database's write lock. If a statement is running, the
        // transaction ends at the next one instead, which fails.
        self.bound.ended.store(true, Ordering::SeqCst);
        if let Ok(mut tx) = self.bound.tx.try_lock() {
            tx.take();
        }
    }
}
