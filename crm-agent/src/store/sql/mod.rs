//! [`SqlStore`]: the [`Store`](super::Store) over sqlx, for SQLite (the embedded default) and
//! PostgreSQL (the scale-out path).
//!
//! Both databases share one schema (see `migrations/`) and one set of queries. Queries are
//! written with `?` placeholders and rewritten to `$n` for PostgreSQL; the few places where the
//! dialects differ (case-insensitive search, JSON custom-field filters) go through [`Dialect`].
//!
//! PostgreSQL runs on sqlx's pool. SQLite runs on rusqlite connections driven from this
//! process's threads (see `sqlite.rs` for why and how): one writer whose transactions start with
//! `BEGIN IMMEDIATE`, and a pool of readers beside it (WAL).
//!
//! Reads come in two kinds: `SqlStore::read` for lookups that touch a few rows, and
//! `SqlStore::read_scan` for lists, counts and aggregates, which may visit many. On SQLite the
//! first runs on the calling thread and the second on the blocking pool.

#[cfg(feature = "postgres")]
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "postgres")]
use sqlx::AssertSqlSafe;
#[cfg(feature = "postgres")]
use sqlx::migrate::{MigrationType, Migrator};
#[cfg(feature = "postgres")]
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::error::{Error, Result};

mod aggregates;
mod codec;
mod entities;
mod query;
#[cfg(feature = "sqlite")]
mod sqlite;
mod store_impl;
mod unit;

pub(crate) use codec::{Row, SqlValue};

/// The SQL flavour behind a [`SqlStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite 3 (bundled).
    Sqlite,
    /// PostgreSQL 13 or newer.
    Postgres,
}

#[derive(Clone)]
enum Pools {
    #[cfg(feature = "sqlite")]
    Sqlite(Arc<sqlite::SqliteDb>),
    #[cfg(feature = "postgres")]
    Postgres(PgPool),
    /// One open transaction: the store of a unit of work (see `unit.rs`).
    Bound(Arc<unit::Bound>),
}

/// How to open a [`SqlStore`]. `SqlStoreOptions::new(url)` has sensible defaults.
#[derive(Debug, Clone)]
pub struct SqlStoreOptions {
    url: String,
    schema: Option<String>,
    busy_timeout: Duration,
    max_connections: u32,
    acquire_timeout: Duration,
}

impl SqlStoreOptions {
    /// Options for `url`: `sqlite://path/to/file.db`, `sqlite::memory:`, or `postgres://…`.
    pub fn new(url: impl Into<String>) -> Self {
        SqlStoreOptions {
            url: url.into(),
            schema: None,
            busy_timeout: Duration::from_secs(5),
            max_connections: 8,
            acquire_timeout: Duration::from_secs(10),
        }
    }

    /// PostgreSQL only: use (and create if missing) this schema instead of `public`.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// SQLite only: how long to wait for another process's lock before failing with
    /// [`Error::Unavailable`] (default 5 s).
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Size of the connection pool (readers, for SQLite). Default 8.
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How long to wait for a free connection (or for PostgreSQL to answer) before failing
    /// with [`Error::Unavailable`]. Default 10 s.
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }
}

/// A [`Store`](super::Store) on SQLite or PostgreSQL. Cheap to clone (pools are shared).
#[derive(Clone)]
pub struct SqlStore {
    pools: Pools,
    dialect: Dialect,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore").field("dialect", &self.dialect).finish_non_exhaustive()
    }
}

impl SqlStore {
    /// Opens the database at `url` with default options. Does not migrate: call
    /// [`SqlStore::migrate`] (or use [`SqlStore::open`]).
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(SqlStoreOptions::new(url)).await
    }

    /// Opens and migrates the database at `url`: the one call most hosts need.
    pub async fn open(url: &str) -> Result<Self> {
        let store = Self::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Opens the database described by `options`.
    pub async fn connect_with(options: SqlStoreOptions) -> Result<Self> {
        let url = options.url.as_str();
        if url.starts_with("sqlite:") {
            Self::connect_sqlite(&options).await
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::connect_postgres(&options).await
        } else {
            Err(Error::invalid(format!(
                "unsupported database URL `{}`: use sqlite://FILE, sqlite::memory: or postgres://…",
                redact_url(url)
            )))
        }
    }

    #[cfg(feature = "sqlite")]
    async fn connect_sqlite(options: &SqlStoreOptions) -> Result<Self> {
        Ok(SqlStore { pools: Pools::Sqlite(sqlite::SqliteDb::open(options).await?), dialect: Dialect::Sqlite })
    }

    #[cfg(not(feature = "sqlite"))]
    async fn connect_sqlite(_: &SqlStoreOptions) -> Result<Self> {
        Err(not_built_with("sqlite"))
    }

    #[cfg(not(feature = "postgres"))]
    async fn connect_postgres(_: &SqlStoreOptions) -> Result<Self> {
        Err(not_built_with("postgres"))
    }

    #[cfg(feature = "postgres")]
    async fn connect_postgres(options: &SqlStoreOptions) -> Result<Self> {
        let mut connect =
            PgConnectOptions::from_str(&options.url).map_err(|e| Error::invalid(format!("bad PostgreSQL URL: {e}")))?;
        if let Some(schema) = &options.schema {
            if !schema.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || schema.is_empty() {
                return Err(Error::invalid(format!("schema name `{schema}` must be letters, digits and underscores")));
            }
            // Create the schema on a short-lived connection, then pin every pooled connection to it.
            let bootstrap = PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(options.acquire_timeout)
                .connect_with(connect.clone())
                .await
                .map_err(map_connect_error)?;
            sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA IF NOT EXISTS {schema}")))
                .execute(&bootstrap)
                .await
                .map_err(map_error)?;
            bootstrap.close().await;
            connect = connect.options([("search_path", schema.as_str())]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect)
            .await
            .map_err(map_connect_error)?;
        Ok(SqlStore { pools: Pools::Postgres(pool), dialect: Dialect::Postgres })
    }

    /// Which database this is.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Applies the schema migrations that have not run yet. Safe to call on every start.
    pub async fn migrate(&self) -> Result<()> {
        match &self.pools {
            #[cfg(feature = "sqlite")]
            Pools::Sqlite(db) => db.migrate(MIGRATIONS).await,
            #[cfg(feature = "postgres")]
            Pools::Postgres(pool) => postgres_migrator().run(pool).await.map_err(|e| match e {
                sqlx::migrate::MigrateError::Execute(inner) => map_error(inner),
                other => Error::store(format!("migration failed: {other}")),
            }),
            Pools::Bound(_) => Err(inside_unit("migrate")),
        }
    }

    /// Tidies the database after a bulk load (`crm-agent seed`, a large import), so the first
    /// queries after it run as fast as later ones. SQLite: each search index is merged into one
    /// segment (FTS5 `optimize`; a load leaves dozens, and a search reads every one of them),
    /// and the write-ahead log is checkpointed into the database file and emptied. PostgreSQL:
    /// `VACUUM (ANALYZE)` of the entity tables, so the planner knows the new row counts and the
    /// visibility map is set: an aggregate over a covering index then reads the index alone
    /// (an index-only scan of freshly loaded rows still visits every heap page).
    pub async fn optimize(&self) -> Result<()> {
        match &self.pools {
            #[cfg(feature = "sqlite")]
            Pools::Sqlite(db) => {
                let indexes: Vec<&'static str> = entities::SEARCHES.iter().map(|s| s.index).collect();
                db.optimize(indexes).await
            }
            #[cfg(feature = "postgres")]
            Pools::Postgres(pool) => {
                // This store's tables only (those of its schema), not every table in the database.
                use entities::{ACTIVITIES, CUSTOMERS, DEALS, EMPLOYEES, ISSUES, LEADS, ORDERS, PAYMENTS};
                let tables = [EMPLOYEES, CUSTOMERS, LEADS, DEALS, ISSUES, ORDERS, PAYMENTS, ACTIVITIES].map(|t| t.name);
                // VACUUM runs outside a transaction: the simple protocol, one statement.
                let vacuum = format!("VACUUM (ANALYZE) {}", tables.join(", "));
                sqlx::raw_sql(AssertSqlSafe(vacuum)).execute(pool).await.map(drop).map_err(map_error)
            }
            Pools::Bound(_) => Err(inside_unit("optimize")),
        }
    }

    /// Closes every connection (waiting for queries in flight).
    pub async fn close(&self) {
        match &self.pools {
            #[cfg(feature = "sqlite")]
            Pools::Sqlite(db) => db.close().await,
            #[cfg(feature = "postgres")]
            Pools::Postgres(pool) => pool.close().await,
            // The unit's handle ends its transaction; the pools belong to the store it came from.
            Pools::Bound(_) => {}
        }
    }

    /// Whether the database holds no organization yet (a fresh install to seed).
    pub async fn is_empty(&self) -> Result<bool> {
        let rows = self.read("SELECT COUNT(*) AS n FROM organizations", Vec::new()).await?;
        Ok(rows.first().map(|r| r.int("n")).transpose()?.unwrap_or(0) == 0)
    }

    // --- the small execution layer every query goes through ---------------------------------

    /// Runs a read that touches a few rows (a lookup by key) on a reader connection.
    pub(crate) async fn read(&self, sql: &str, args: Vec<SqlValue>) -> Result<Vec<Row>> {
        match &self.pools {
            #[cfg(feature = "sqlite")]
            Pools::Sqlite(db) => db.read(sql, args).await,
            #[cfg(feature = "postgres")]
            Pools::Postgres(pool) => read_postgres(pool, sql, args).await,
            Pools::Bound(bound) => bound.read(sql, args).await,
        }
    }

    /// Runs a read that may visit many rows (a list, a count, an aggregate) on a reader
    /// connection; on SQLite, off the async threads.
    pub(crate) async fn read_scan(&self, sql: &str, args: Vec<SqlValue>) -> Result<Vec<Row>> {
        match &self.pools {
            #[cfg(feature = "sqlite")]
            Pools::Sqlite(db) => db.read_scan(sql, args).await,
            #[cfg(feature = "postgres")]
            Pools::Postgres(pool) => read_postgres(pool, sql, args).await,
            Pools::Bound(bound) => bound.read(sql, args).await,
        }
    }

    /// Starts a write transaction.
    pub(crate) async fn begin(&self) -> Result<Tx> {
        match &self.pools {
            #[cfg(feature = "sqlite")]
            Pools::Sqlite(db) => Ok(Tx::Sqlite(db.begin().await?)),
            #[cfg(feature = "postgres")]
            Pools::Postgres(pool) => Ok(Tx::Pg(pool.begin().await.map_err(map_error)?)),
            Pools::Bound(bound) => Ok(Tx::Nested(bound.begin().await?)),
        }
    }
}

/// The error for an administrative operation asked of a unit of work's store.
fn inside_unit(operation: &str) -> Error {
    Error::unsupported(format!("`{operation}` runs on a store, not inside a unit of work"))
}

/// The error for a database URL whose driver this build of crm-agent leaves out.
#[cfg(not(all(feature = "sqlite", feature = "postgres")))]
fn not_built_with(feature: &str) -> Error {
    Error::unsupported(format!("this build of crm-agent has no {feature} support (Cargo feature `{feature}`)"))
}

/// Runs a read on PostgreSQL (both kinds of read: the pool serves them alike).
#[cfg(feature = "postgres")]
async fn read_postgres(pool: &PgPool, sql: &str, args: Vec<SqlValue>) -> Result<Vec<Row>> {
    let sql = to_postgres_placeholders(sql);
    let rows = codec::bind_pg(sqlx::query(AssertSqlSafe(sql)), args)?.fetch_all(pool).await.map_err(map_error)?;
    Ok(rows.into_iter().map(Row::Pg).collect())
}

/// An open write transaction. Dropped without [`Tx::commit`], it rolls back.
pub(crate) enum Tx {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlite::SqliteTx),
    #[cfg(feature = "postgres")]
    Pg(sqlx::Transaction<'static, sqlx::Postgres>),
    /// A call's transaction inside a unit of work: a savepoint of the unit's transaction.
    Nested(unit::Savepoint),
}

impl Tx {
    pub(crate) fn dialect(&self) -> Dialect {
        match self {
            #[cfg(feature = "sqlite")]
            Tx::Sqlite(_) => Dialect::Sqlite,
            #[cfg(feature = "postgres")]
            Tx::Pg(_) => Dialect::Postgres,
            Tx::Nested(savepoint) => savepoint.dialect(),
        }
    }

    /// Runs a query inside the transaction and returns its rows.
    pub(crate) async fn fetch(&mut self, sql: &str, args: Vec<SqlValue>) -> Result<Vec<Row>> {
        match self {
            #[cfg(feature = "sqlite")]
            Tx::Sqlite(tx) => tx.fetch(sql, &args),
            #[cfg(feature = "postgres")]
            Tx::Pg(tx) => {
                let sql = to_postgres_placeholders(sql);
                let rows = codec::bind_pg(sqlx::query(AssertSqlSafe(sql)), args)?
                    .fetch_all(&mut **tx)
                    .await
                    .map_err(map_error)?;
                Ok(rows.into_iter().map(Row::Pg).collect())
            }
            Tx::Nested(savepoint) => savepoint.fetch(sql, args).await,
        }
    }

    /// Runs a statement inside the transaction and returns how many rows it touched.
    pub(crate) async fn execute(&mut self, sql: &str, args: Vec<SqlValue>) -> Result<u64> {
        match self {
            #[cfg(feature = "sqlite")]
            Tx::Sqlite(tx) => tx.execute(sql, &args),
            #[cfg(feature = "postgres")]
            Tx::Pg(tx) => {
                let sql = to_postgres_placeholders(sql);
                Ok(codec::bind_pg(sqlx::query(AssertSqlSafe(sql)), args)?
                    .execute(&mut **tx)
                    .await
                    .map_err(map_error)?
                    .rows_affected())
            }
            Tx::Nested(savepoint) => savepoint.execute(sql, args).await,
        }
    }

    /// Commits.
    pub(crate) async fn commit(self) -> Result<()> {
        match self {
            #[cfg(feature = "sqlite")]
            Tx::Sqlite(tx) => tx.commit(),
            #[cfg(feature = "postgres")]
            Tx::Pg(tx) => tx.commit().await.map_err(map_error),
            Tx::Nested(savepoint) => savepoint.release().await,
        }
    }
}

/// Rewrites `?` placeholders as `$1, $2, …` (our SQL never has `?` inside string literals).
#[cfg(feature = "postgres")]
fn to_postgres_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// A schema migration. Most run the same SQL on both databases; where the dialects differ
/// (trigger syntax) a migration adds a file per database to its shared part. PostgreSQL runs them with sqlx's
/// migrator, SQLite with the SQLite side's own runner, which keeps sqlx's bookkeeping table.
pub(crate) struct Migration {
    version: i64,
    description: &'static str,
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    sqlite: &'static str,
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    postgres: &'static str,
}

impl Migration {
    const fn shared(version: i64, description: &'static str, sql: &'static str) -> Self {
        Migration { version, description, sqlite: sql, postgres: sql }
    }
}

/// Embedded with include_str! so builds need neither a database nor sqlx's macros.
static MIGRATIONS: &[Migration] = &[
    Migration::shared(1, "core", include_str!("../../../migrations/0001_core.sql")),
    Migration::shared(2, "idempotency", include_str!("../../../migrations/0002_idempotency.sql")),
    Migration::shared(3, "aggregate indexes", include_str!("../../../migrations/0003_aggregate_indexes.sql")),
    Migration::shared(4, "one default pipeline", include_str!("../../../migrations/0004_one_default_pipeline.sql")),
    Migration::shared(5, "assistant", include_str!("../../../migrations/0005_assistant.sql")),
    Migration::shared(6, "api tokens", include_str!("../../../migrations/0006_api_tokens.sql")),
    Migration {
        version: 7,
        description: "totals",
        sqlite: concat!(
            include_str!("../../../migrations/0007_totals.sql"),
            include_str!("../../../migrations/0007_totals_triggers.sqlite.sql")
        ),
        postgres: concat!(
            include_str!("../../../migrations/0007_totals.sql"),
            include_str!("../../../migrations/0007_totals_triggers.postgres.sql")
        ),
    },
    Migration {
        version: 8,
        description: "search indexes",
        sqlite: include_str!("../../../migrations/0008_search.sqlite.sql"),
        postgres: include_str!("../../../migrations/0008_search.postgres.sql"),
    },
    Migration {
        version: 9,
        description: "totals lock order",
        sqlite: include_str!("../../../migrations/0009_totals_lock_order.sqlite.sql"),
        postgres: include_str!("../../../migrations/0009_totals_lock_order.postgres.sql"),
    },
    Migration::shared(10, "list order indexes", include_str!("../../../migrations/0010_list_order_indexes.sql")),
    Migration::shared(
        11,
        "idempotency fingerprint",
        include_str!("../../../migrations/0011_idempotency_fingerprint.sql"),
    ),
    Migration {
        version: 12,
        description: "deal totals by currency",
        sqlite: concat!(
            include_str!("../../../migrations/0012_deal_totals_by_currency.sql"),
            include_str!("../../../migrations/0012_deal_totals_by_currency_triggers.sqlite.sql")
        ),
        postgres: concat!(
            include_str!("../../../migrations/0012_deal_totals_by_currency.sql"),
            include_str!("../../../migrations/0012_deal_totals_by_currency_triggers.postgres.sql")
        ),
    },
    Migration::shared(13, "audit records", include_str!("../../../migrations/0013_audit_records.sql")),
    Migration::shared(14, "rate limits", include_str!("../../../migrations/0014_rate_limits.sql")),
    Migration {
        version: 15,
        description: "deal close totals",
        sqlite: concat!(
            include_str!("../../../migrations/0015_deal_close_totals.sql"),
            include_str!("../../../migrations/0015_deal_close_totals_triggers.sqlite.sql")
        ),
        postgres: concat!(
            include_str!("../../../migrations/0015_deal_close_totals.sql"),
            include_str!("../../../migrations/0015_deal_close_totals_triggers.postgres.sql")
        ),
    },
    Migration::shared(16, "token limits", include_str!("../../../migrations/0016_token_limits.sql")),
];

#[cfg(feature = "postgres")]
fn postgres_migrator() -> Migrator {
    let migrations = MIGRATIONS
        .iter()
        .map(|m| {
            sqlx::migrate::Migration::new(
                m.version,
                m.description.into(),
                MigrationType::Simple,
                AssertSqlSafe(m.postgres).into_sql_str(),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

#[cfg(feature = "postgres")]
use sqlx::SqlSafeStr as _;

/// `url` with its password replaced by `***`, fit for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(feature = "postgres")]
fn map_connect_error(err: sqlx::Error) -> Error {
    match map_error(err) {
        Error::Store { message, source } => {
            Error::Unavailable { message: format!("cannot connect to the database: {message}"), source }
        }
        other => other,
    }
}

/// Maps a sqlx (PostgreSQL) error onto the crate's error kinds, keeping it as the source of
/// store and unavailable errors.
#[cfg(feature = "postgres")]
pub(crate) fn map_error(err: sqlx::Error) -> Error {
    let mapped = match &err {
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let message = db.message().to_owned();
            match code.as_str() {
                // Unique violations.
                "23505" => Error::Conflict(format!("a record with the same key already exists ({message})")),
                // CHECK and NOT NULL violations.
                "23514" | "23502" => {
                    Error::InvalidArgument(format!("the value breaks a rule of the database: {message}"))
                }
                // PostgreSQL: shutting down, too many connections, read-only, serialization.
                c if c.starts_with("57P") || c.starts_with("53") || c == "25006" || c == "40001" || c == "40P01" => {
                    Error::unavailable(message)
                }
                _ => Error::store(message),
            }
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => {
            Error::unavailable(err.to_string())
        }
        sqlx::Error::WorkerCrashed => Error::unavailable(err.to_string()),
        _ => Error::store(err.to_string()),
    };
    mapped.because(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "postgres")]
    fn placeholders_are_numbered_for_postgres() {
        assert_eq!(to_postgres_placeholders("a = ? AND b IN (?, ?)"), "a = $1 AND b IN ($2, $3)");
    }

    #[test]
    fn what_customers_may_search_is_what_the_store_searches() {
        use crate::policy::CustomerRecord;
        assert_eq!(CustomerRecord::Customer.searched_fields(), entities::CUSTOMER_SEARCH.columns);
        assert_eq!(CustomerRecord::Issue.searched_fields(), entities::ISSUE_SEARCH.columns);
        assert_eq!(CustomerRecord::Order.searched_fields(), entities::ORDER_SEARCH.columns);
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redact_url("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
    }
}
