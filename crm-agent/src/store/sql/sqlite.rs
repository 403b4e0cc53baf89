//! The SQLite side of [`SqlStore`](super::SqlStore): rusqlite connections, driven from async code
//! without a worker thread per connection.
//!
//! Why not sqlx here: sqlx's SQLite driver hands every statement to a worker thread over
//! channels, and those thread hand-offs were most of the ~50 µs a primary-key read cost. SQLite
//! is a library inside this process: a keyed read or a short write transaction takes a few
//! microseconds when it runs on the calling thread. So:
//! - keyed reads ([`SqliteDb::read`]) and the statements of write transactions run inline, on
//!   the calling task's thread;
//! - reads that may scan ([`SqliteDb::read_scan`]: lists, counts, aggregates) run on tokio's
//!   blocking pool, so a long scan never stalls the async workers;
//! - one writer connection sits behind an async mutex: this process's writers queue there, not on
//!   the file lock; readers come from a small pool (WAL lets them read beside the writer);
//! - a transaction starts with `BEGIN IMMEDIATE` (it never has to upgrade a read lock, which
//!   SQLite cannot wait for). It is tried at once; only when another *process* holds the write
//!   lock does it wait, on the blocking pool, up to the busy timeout.
//!
//! An in-memory database is one connection that reads and writes.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};
use sha2::{Digest, Sha384};
use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

use super::codec::{LocalRow, Row, SqlValue};
use super::{Migration, SqlStoreOptions};
use crate::error::{Error, Result};

/// The connections of one SQLite database.
pub(crate) struct SqliteDb {
    /// The `file:` URI the readers open (the writer's, without its access mode).
    reader_uri: String,
    busy_timeout: Duration,
    acquire_timeout: Duration,
    /// `None` once closed.
    writer: Arc<tokio::sync::Mutex<Option<Connection>>>,
    /// `None` for an in-memory database, whose one connection also reads.
    readers: Option<Readers>,
}

struct Readers {
    idle: Mutex<Vec<Connection>>,
    /// One permit per connection that may be open; closed with the store.
    permits: Arc<Semaphore>,
}

/// A reader connection on loan, with its permit.
struct Loan {
    connection: Connection,
    _permit: OwnedSemaphorePermit,
}

impl SqliteDb {
    /// Opens the database of a `sqlite:` URL (the file is created if missing).
    pub(crate) async fn open(options: &SqlStoreOptions) -> Result<Arc<Self>> {
        let (uri, in_memory) = file_uri(&options.url)?;
        let busy_timeout = options.busy_timeout;
        let writer_uri = uri.clone();
        // Opening may wait on another process's lock (switching to WAL): not on an async thread.
        let writer = blocking(move || open_connection(&writer_uri, Role::Writer, busy_timeout)).await?;
        let readers = (!in_memory).then(|| Readers {
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(options.max_connections as usize)),
        });
        Ok(Arc::new(SqliteDb {
            reader_uri: without_mode(&uri),
            busy_timeout,
            acquire_timeout: options.acquire_timeout,
            writer: Arc::new(tokio::sync::Mutex::new(Some(writer))),
            readers,
        }))
    }

    /// Runs a read that touches few rows (a lookup by key) on this thread.
    pub(crate) async fn read(&self, sql: &str, args: Vec<SqlValue>) -> Result<Vec<Row>> {
        match &self.readers {
            Some(readers) => {
                let loan = self.borrow_reader(readers).await?;
                let result = query(&loan.connection, sql, &args);
                self.give_back(readers, loan);
                result
            }
            None => {
                let writer = self.lock_writer().await?;
                query(connection(&writer)?, sql, &args)
            }
        }
    }

    /// Runs a read that may scan many rows on the blocking pool.
    pub(crate) async fn read_scan(&self, sql: &str, args: Vec<SqlValue>) -> Result<Vec<Row>> {
        let sql = sql.to_owned();
        self.off_thread(move |conn| query(conn, &sql, &args)).await
    }

    /// Runs `work` on the blocking pool with one connection, inside one read transaction:
    /// every statement it runs sees the same snapshot of the database, so (for instance) a
    /// list's page and its total agree while writers commit.
    pub(crate) async fn read_snapshot<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Snapshot<'_>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.off_thread(move |conn| in_read_transaction(conn, work)).await
    }

    /// Runs `work` on the blocking pool with a reader connection, or with the one connection of
    /// an in-memory database (held, so writers wait until `work` is done).
    async fn off_thread<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        match &self.readers {
            Some(readers) => {
                let loan = self.borrow_reader(readers).await?;
                let (loan, result) = blocking(move || {
                    let result = work(&loan.connection);
                    Ok((loan, result))
                })
                .await?;
                self.give_back(readers, loan);
                result
            }
            None => {
                let writer = self.lock_writer().await?;
                blocking(move || work(connection(&writer)?)).await
            }
        }
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE`).
    pub(crate) async fn begin(&self) -> Result<SqliteTx> {
        let writer = self.lock_writer().await?;
        let conn = connection(&writer)?;
        // The writer's own busy timeout is zero, so this fails at once when another process
        // holds the lock, instead of blocking an async thread...
        match conn.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => Ok(SqliteTx { writer: Some(writer) }),
            Err(err) if is_busy(&err) => {
                // ...and the wait for that process happens on the blocking pool.
                let busy_timeout = self.busy_timeout;
                blocking(move || begin_waiting(writer, busy_timeout)).await
            }
            Err(err) => Err(map_error(err)),
        }
    }

    /// Runs the whole write transaction `work` on the blocking pool, for writes too big to run
    /// inline: the audit writer's batches of hundreds of rows, whose statements (and the
    /// checkpoint that a commit now and then runs) would hold an async worker for milliseconds,
    /// and every request queued on that worker with it.
    pub(crate) async fn write_off_thread<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut SqliteTx) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let writer = self.lock_writer().await?;
        let busy_timeout = self.busy_timeout;
        blocking(move || {
            let mut tx = begin_waiting(writer, busy_timeout)?;
            let value = work(&mut tx)?;
            tx.commit()?;
            Ok(value)
        })
        .await
    }

    /// Applies `migrations` not applied yet, each in its own transaction, recording them in
    /// sqlx's `_sqlx_migrations` table (same layout and checksums), so databases migrated by
    /// either stay compatible.
    pub(crate) async fn migrate(&self, migrations: &'static [Migration]) -> Result<()> {
        let writer = self.lock_writer().await?;
        let busy_timeout = self.busy_timeout;
        blocking(move || waiting(connection(&writer)?, busy_timeout, |conn| run_migrations(conn, migrations))).await
    }

    /// Merges each FTS5 index of `indexes` into one segment, then checkpoints the write-ahead
    /// log into the database file and truncates it (see [`SqlStore::optimize`](super::SqlStore::optimize)).
    pub(crate) async fn optimize(&self, indexes: Vec<&'static str>) -> Result<()> {
        self.write_off_thread(move |tx| {
            indexes.into_iter().try_for_each(|index| {
                tx.execute(&format!("INSERT INTO {index}({index}) VALUES ('optimize')"), &[]).map(drop)
            })
        })
        .await?;
        let writer = self.lock_writer().await?;
        let busy_timeout = self.busy_timeout;
        blocking(move || {
            waiting(connection(&writer)?, busy_timeout, |conn| {
                // Answers one row: (busy, log pages, checkpointed pages).
                conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).map_err(map_error)
            })
        })
        .await
    }

    /// Closes every connection. Later calls fail with [`Error::Unavailable`].
    pub(crate) async fn close(&self) {
        if let Some(readers) = &self.readers {
            readers.permits.close();
            readers.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clear();
        }
        // Waits for a transaction in progress to finish.
        self.writer.lock().await.take();
    }

    async fn lock_writer(&self) -> Result<OwnedMutexGuard<Option<Connection>>> {
        tokio::time::timeout(self.acquire_timeout, self.writer.clone().lock_owned()).await.map_err(|_| {
            Error::unavailable(format!(
                "timed out after {:?} waiting for the database's writer connection",
                self.acquire_timeout
            ))
        })
    }

    async fn borrow_reader(&self, readers: &Readers) -> Result<Loan> {
        let permit = tokio::time::timeout(self.acquire_timeout, readers.permits.clone().acquire_owned())
            .await
            .map_err(|_| {
                Error::unavailable(format!(
                    "timed out after {:?} waiting for a database connection",
                    self.acquire_timeout
                ))
            })?
            .map_err(|_| closed())?;
        let idle = readers.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).pop();
        let connection = match idle {
            Some(connection) => connection,
            // At most `max_connections` are ever opened (one per permit); opening takes well
            // under a millisecond and happens once per connection.
            None => open_connection(&self.reader_uri, Role::Reader, self.busy_timeout)?,
        };
        Ok(Loan { connection, _permit: permit })
    }

    fn give_back(&self, readers: &Readers, loan: Loan) {
        if !readers.permits.is_closed() {
            readers.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(loan.connection);
        }
    }
}

/// `BEGIN IMMEDIATE`, waiting up to `busy_timeout` for another process's write lock: only on
/// the blocking pool.
fn begin_waiting(writer: OwnedMutexGuard<Option<Connection>>, busy_timeout: Duration) -> Result<SqliteTx> {
    waiting(connection(&writer)?, busy_timeout, |conn| conn.execute_batch("BEGIN IMMEDIATE").map_err(map_error))?;
    Ok(SqliteTx { writer: Some(writer) })
}

/// Runs `work` on the writer connection `conn` with its busy timeout raised to `busy_timeout`,
/// so it waits that long for another process's lock; the writer's timeout is otherwise zero
/// (see [`SqliteDb::begin`]). Only on the blocking pool.
fn waiting<T>(conn: &Connection, busy_timeout: Duration, work: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    conn.busy_timeout(busy_timeout).map_err(map_error)?;
    let result = work(conn);
    conn.busy_timeout(Duration::ZERO).map_err(map_error)?;
    result
}

/// One connection inside a read transaction (see [`SqliteDb::read_snapshot`]).
pub(crate) struct Snapshot<'c> {
    connection: &'c Connection,
}

impl Snapshot<'_> {
    pub(crate) fn query(&self, sql: &str, args: &[SqlValue]) -> Result<Vec<Row>> {
        query(self.connection, sql, args)
    }
}

fn in_read_transaction<T>(conn: &Connection, work: impl FnOnce(&Snapshot<'_>) -> Result<T>) -> Result<T> {
    conn.execute_batch("BEGIN").map_err(map_error)?;
    let result = work(&Snapshot { connection: conn });
    // Ending the transaction releases its snapshot of the write-ahead log; a reader that kept
    // one open would stop checkpoints from ever finishing.
    let ended = conn.execute_batch("COMMIT").map_err(map_error);
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    let value = result?;
    ended.map(|()| value)
}

/// An open write transaction; dropped without [`SqliteTx::commit`], it rolls back.
pub(crate) struct SqliteTx {
    /// `None` once committed.
    writer: Option<OwnedMutexGuard<Option<Connection>>>,
}

impl SqliteTx {
    fn connection(&self) -> Result<&Connection> {
        connection(self.writer.as_ref().ok_or_else(|| Error::Internal("transaction already committed".into()))?)
    }

    pub(crate) fn fetch(&mut self, sql: &str, args: &[SqlValue]) -> Result<Vec<Row>> {
        query(self.connection()?, sql, args)
    }

    pub(crate) fn execute(&mut self, sql: &str, args: &[SqlValue]) -> Result<u64> {
        let conn = self.connection()?;
        let mut statement = conn.prepare_cached(sql).map_err(map_error)?;
        bind(&mut statement, args)?;
        // Stepping through a statement's rows (if it has any) runs it to completion.
        let mut rows = statement.raw_query();
        while rows.next().map_err(map_error)?.is_some() {}
        Ok(conn.changes())
    }

    /// The transaction's connection, for queries written against a snapshot (a list read
    /// inside a unit of work sees the unit's own writes).
    pub(crate) fn snapshot(&self) -> Result<Snapshot<'_>> {
        Ok(Snapshot { connection: self.connection()? })
    }

    pub(crate) fn commit(mut self) -> Result<()> {
        self.connection()?.execute_batch("COMMIT").map_err(map_error)?;
        self.writer = None;
        Ok(())
    }
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if let Some(Some(conn)) = self.writer.as_deref() {
            // Not committed (an error, or the task was cancelled). A failing ROLLBACK means
            // SQLite already rolled back on its own.
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Writer,
    Reader,
}

fn open_connection(uri: &str, role: Role, busy_timeout: Duration) -> Result<Connection> {
    let access = match role {
        Role::Writer => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        Role::Reader => OpenFlags::SQLITE_OPEN_READ_ONLY,
    };
    // NO_MUTEX: a connection is only ever used by one thread at a time (it moves between them).
    let flags = access | OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(uri, flags).map_err(|e| match map_error(e) {
        Error::Store { message, source } => {
            Error::Unavailable { message: format!("cannot open the database: {message}"), source }
        }
        other => other,
    })?;
    // Every distinct statement of the store stays prepared (there are a few hundred).
    conn.set_prepared_statement_cache_capacity(512);
    conn.busy_timeout(busy_timeout).map_err(map_error)?;
    conn.execute_batch(
        "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -32768; PRAGMA temp_store = MEMORY;",
    )
    .map_err(map_error)?;
    if role == Role::Writer {
        // `journal_mode` answers with a row (the mode now in force; `memory` for in-memory).
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(())).map_err(map_error)?;
        // See SqliteDb::begin: the writer waits for other processes on the blocking pool only.
        conn.busy_timeout(Duration::ZERO).map_err(map_error)?;
    }
    Ok(conn)
}

/// The `file:` URI for a `sqlite:` URL, and whether it names an in-memory database.
///
/// Accepted: `sqlite::memory:`, `sqlite://relative/path.db`, `sqlite:///absolute/path.db`,
/// `sqlite:path.db`, each optionally followed by SQLite's own URI parameters (`?mode=ro`, …).
fn file_uri(url: &str) -> Result<(String, bool)> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| Error::invalid(format!("bad SQLite URL `{url}`")))?;
    let (path, params) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory = path == ":memory:" || params.split('&').any(|p| p == "mode=memory");
    if path.is_empty() {
        return Err(Error::invalid(format!("bad SQLite URL `{url}`: no file name")));
    }
    // An absolute path gets an empty authority (`file:///abs`), so a path written with extra
    // leading slashes (`sqlite:////tmp/x.db`) is still a path, not a host.
    let mut uri = String::from(if path.starts_with('/') { "file://" } else { "file:" });
    for c in path.chars() {
        match c {
            // The characters a URI path gives a meaning to.
            '%' => uri.push_str("%25"),
            '?' => uri.push_str("%3f"),
            '#' => uri.push_str("%23"),
            c => uri.push(c),
        }
    }
    if !params.is_empty() {
        uri.push('?');
        uri.push_str(params);
    }
    Ok((uri, in_memory))
}

/// `uri` without a `mode=` parameter: readers open read-only, and SQLite refuses a URI whose
/// mode (`mode=rwc`, common in sqlx URLs) asks for more than the open flags allow.
fn without_mode(uri: &str) -> String {
    let Some((path, params)) = uri.split_once('?') else { return uri.to_owned() };
    let kept: Vec<&str> = params.split('&').filter(|p| !p.starts_with("mode=")).collect();
    if kept.is_empty() { path.to_owned() } else { format!("{path}?{}", kept.join("&")) }
}

fn connection(guard: &OwnedMutexGuard<Option<Connection>>) -> Result<&Connection> {
    guard.as_ref().ok_or_else(closed)
}

fn closed() -> Error {
    Error::unavailable("the store is closed")
}

/// Runs `work` on tokio's blocking pool.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(|e| Error::Internal(format!("a database task failed: {e}")))?
}

fn bind(statement: &mut rusqlite::Statement<'_>, args: &[SqlValue]) -> Result<()> {
    let expected = statement.parameter_count();
    if expected != args.len() {
        return Err(Error::Internal(format!("statement takes {expected} parameters, {} given", args.len())));
    }
    super::codec::check_texts(args)?;
    for (index, arg) in args.iter().enumerate() {
        let value = match arg {
            SqlValue::Int(v) => v.map_or(Value::Null, Value::Integer),
            SqlValue::Real(v) => v.map_or(Value::Null, Value::Real),
            SqlValue::Text(v) => v.clone().map_or(Value::Null, Value::Text),
            SqlValue::Bool(v) => v.map_or(Value::Null, |b| Value::Integer(i64::from(b))),
        };
        statement.raw_bind_parameter(index + 1, value).map_err(map_error)?;
    }
    Ok(())
}

fn query(conn: &Connection, sql: &str, args: &[SqlValue]) -> Result<Vec<Row>> {
    let mut statement = conn.prepare_cached(sql).map_err(map_error)?;
    bind(&mut statement, args)?;
    let columns: Arc<[String]> = statement.column_names().into_iter().map(str::to_owned).collect();
    let width = columns.len();
    let mut rows = statement.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(map_error)? {
        let values =
            (0..width).map(|i| row.get::<_, Value>(i)).collect::<rusqlite::Result<Vec<_>>>().map_err(map_error)?;
        out.push(Row::Local(LocalRow::new(columns.clone(), values)));
    }
    Ok(out)
}

fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(err.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
}

/// Maps a SQLite error onto the crate's error kinds (the same kinds the PostgreSQL side uses),
/// keeping it as the source of store and unavailable errors.
pub(crate) fn map_error(err: rusqlite::Error) -> Error {
    let mapped = if let rusqlite::Error::SqliteFailure(failure, message) = &err {
        let message = message.clone().unwrap_or_else(|| failure.to_string());
        match failure.extended_code {
            // BUSY, LOCKED and their extended codes: the file is locked by someone else.
            code if matches!(code & 0xff, 5 | 6) => Error::unavailable(format!("the database is locked: {message}")),
            // UNIQUE and PRIMARY KEY violations.
            2067 | 1555 => Error::Conflict(format!("a record with the same key already exists ({message})")),
            // CHECK and NOT NULL violations.
            275 | 1299 => Error::InvalidArgument(format!("the value breaks a rule of the database: {message}")),
            _ => Error::store(message),
        }
    } else {
        Error::store(err.to_string())
    };
    mapped.because(err)
}

fn run_migrations(conn: &Connection, migrations: &[Migration]) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS _sqlx_migrations (
            version BIGINT PRIMARY KEY,
            description TEXT NOT NULL,
            installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
            success BOOLEAN NOT NULL,
            checksum BLOB NOT NULL,
            execution_time BIGINT NOT NULL
        );",
    )
    .map_err(map_error)?;
    let applied: Vec<(i64, bool, Vec<u8>)> = {
        let mut statement = conn
            .prepare("SELECT version, success, checksum FROM _sqlx_migrations ORDER BY version")
            .map_err(map_error)?;
        statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .map_err(map_error)?
            .collect::<rusqlite::Result<_>>()
            .map_err(map_error)?
    };
    for (version, success, checksum) in &applied {
        if !success {
            return Err(Error::store(format!(
                "migration {version} failed part-way earlier; the database needs repair"
            )));
        }
        match migrations.iter().find(|m| m.version == *version) {
            None => {
                return Err(Error::store(format!(
                    "the database has migration {version}, which this crm-agent does not know (a newer version made it)"
                )));
            }
            Some(m) if Sha384::digest(m.sqlite.as_bytes()).as_slice() != checksum.as_slice() => {
                return Err(Error::store(format!(
                    "migration {version} ({}) changed after it was applied",
                    m.description
                )));
            }
            Some(_) => {}
        }
    }
    for m in migrations.iter().filter(|m| !applied.iter().any(|(v, ..)| *v == m.version)) {
        let started = Instant::now();
        conn.execute_batch("BEGIN IMMEDIATE").map_err(map_error)?;
        let result = conn.execute_batch(m.sqlite).and_then(|()| {
            conn.execute(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                 VALUES (?1, ?2, TRUE, ?3, ?4)",
                rusqlite::params![
                    m.version,
                    m.description,
                    Sha384::digest(m.sqlite.as_bytes()).as_slice(),
                    i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX)
                ],
            )
        });
        match result.and_then(|_| conn.execute_batch("COMMIT")) {
            Ok(()) => {}
            Err(err) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(Error::store(format!(
                    "migration {} ({}) failed: {}",
                    m.version,
                    m.description,
                    map_error(err)
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_become_file_uris() {
        assert_eq!(file_uri("sqlite::memory:").unwrap(), ("file::memory:".into(), true));
        assert_eq!(file_uri("sqlite://crm.db").unwrap(), ("file:crm.db".into(), false));
        assert_eq!(file_uri("sqlite:///tmp/a b.db").unwrap(), ("file:///tmp/a b.db".into(), false));
        assert_eq!(file_uri("sqlite:////tmp/x.db").unwrap(), ("file:////tmp/x.db".into(), false));
        assert_eq!(file_uri("sqlite:x%y.db?mode=ro").unwrap(), ("file:x%25y.db?mode=ro".into(), false));
        assert!(file_uri("sqlite://shared?mode=memory&cache=shared").unwrap().1);
        assert!(file_uri("sqlite://").is_err());
        assert!(file_uri("postgres://x").is_err());
        assert_eq!(without_mode("file:a.db?mode=rwc"), "file:a.db");
        assert_eq!(without_mode("file:a.db?cache=private&mode=rwc"), "file:a.db?cache=private");
        assert_eq!(without_mode("file:a.db"), "file:a.db");
    }
}
