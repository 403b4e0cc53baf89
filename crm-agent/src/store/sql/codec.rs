//! Values in and out of SQL: one small enum for binds, one row wrapper for reads, and the
//! conversions between domain types and columns (money ↔ cents, time ↔ microseconds,
//! dates ↔ `YYYY-MM-DD`, JSON ↔ TEXT).

use std::str::FromStr;
#[cfg(feature = "sqlite")]
use std::sync::Arc;

#[cfg(feature = "sqlite")]
use rusqlite::types::Value;
use rust_decimal::prelude::ToPrimitive;
use serde::de::DeserializeOwned;
#[cfg(feature = "postgres")]
use sqlx::postgres::{PgArguments, PgRow};
#[cfg(feature = "postgres")]
use sqlx::query::Query;
#[cfg(feature = "postgres")]
use sqlx::{Postgres, Row as _};

use crate::domain::{Date, Money, Timestamp};
use crate::error::{Error, Result};

/// A bound parameter. NULLs are typed, because PostgreSQL checks a parameter's declared type
/// against its column.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SqlValue {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
    Bool(Option<bool>),
}

impl From<i64> for SqlValue {
    fn from(v: i64) -> Self {
        SqlValue::Int(Some(v))
    }
}
impl From<Option<i64>> for SqlValue {
    fn from(v: Option<i64>) -> Self {
        SqlValue::Int(v)
    }
}
impl From<bool> for SqlValue {
    fn from(v: bool) -> Self {
        SqlValue::Bool(Some(v))
    }
}
impl From<String> for SqlValue {
    fn from(v: String) -> Self {
        SqlValue::Text(Some(v))
    }
}
impl From<&str> for SqlValue {
    fn from(v: &str) -> Self {
        SqlValue::Text(Some(v.to_owned()))
    }
}
impl From<&String> for SqlValue {
    fn from(v: &String) -> Self {
        SqlValue::Text(Some(v.clone()))
    }
}
impl From<Option<String>> for SqlValue {
    fn from(v: Option<String>) -> Self {
        SqlValue::Text(v)
    }
}
impl From<Option<&str>> for SqlValue {
    fn from(v: Option<&str>) -> Self {
        SqlValue::Text(v.map(str::to_owned))
    }
}

/// Money as integer cents. Callers have validated it (≤ 2 decimals, within range).
pub(crate) fn cents(value: Money) -> Result<i64> {
    (value * Money::from(100)).trunc().to_i64().ok_or_else(|| Error::invalid(format!("amount {value} is out of range")))
}

pub(crate) fn money(value: Money) -> Result<SqlValue> {
    Ok(SqlValue::Int(Some(cents(value)?)))
}

pub(crate) fn opt_money(value: Option<Money>) -> Result<SqlValue> {
    Ok(SqlValue::Int(value.map(cents).transpose()?))
}

pub(crate) fn from_cents(cents: i64) -> Money {
    Money::new(cents, 2)
}

/// A count or position held in memory (a `usize`), as the INTEGER column it is stored in.
pub(crate) fn count(n: usize) -> SqlValue {
    SqlValue::from(i64::try_from(n).unwrap_or(i64::MAX))
}

pub(crate) fn ts(value: Timestamp) -> SqlValue {
    SqlValue::Int(Some(value.timestamp_micros()))
}

pub(crate) fn opt_ts(value: Option<Timestamp>) -> SqlValue {
    SqlValue::Int(value.map(|t| t.timestamp_micros()))
}

/// Now, truncated to what the database keeps (microseconds), so a record read back compares
/// equal to the one returned by create.
pub(crate) fn now() -> Timestamp {
    truncate(chrono::Utc::now())
}

pub(crate) fn truncate(t: Timestamp) -> Timestamp {
    Timestamp::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t)
}

pub(crate) fn date(value: Date) -> SqlValue {
    SqlValue::Text(Some(value.format("%Y-%m-%d").to_string()))
}

pub(crate) fn opt_date(value: Option<Date>) -> SqlValue {
    SqlValue::Text(value.map(|d| d.format("%Y-%m-%d").to_string()))
}

pub(crate) fn json<T: serde::Serialize + ?Sized>(value: &T) -> Result<SqlValue> {
    Ok(SqlValue::Text(Some(serde_json::to_string(value).map_err(|e| Error::Internal(e.to_string()))?)))
}

pub(crate) fn text<T: std::fmt::Display>(value: T) -> SqlValue {
    SqlValue::Text(Some(value.to_string()))
}

pub(crate) fn opt_text<T: std::fmt::Display>(value: Option<T>) -> SqlValue {
    SqlValue::Text(value.map(|v| v.to_string()))
}

/// Refuses text holding a NUL character before it reaches a database: PostgreSQL rejects it
/// with an encoding error, and SQLite stores it but cuts strings at it in some functions (its
/// search matcher reads it as the end of the pattern). Every text a store is given passes here.
pub(crate) fn check_texts(args: &[SqlValue]) -> Result<()> {
    let has_nul = |arg: &SqlValue| matches!(arg, SqlValue::Text(Some(text)) if text.contains('\0'));
    match args.iter().any(has_nul) {
        true => Err(Error::invalid("text may not contain NUL characters (\\u0000)")),
        false => Ok(()),
    }
}

#[cfg(feature = "postgres")]
pub(crate) fn bind_pg<'q>(
    mut query: Query<'q, Postgres, PgArguments>,
    args: Vec<SqlValue>,
) -> Result<Query<'q, Postgres, PgArguments>> {
    check_texts(&args)?;
    for arg in args {
        query = match arg {
            SqlValue::Int(v) => query.bind(v),
            SqlValue::Real(v) => query.bind(v),
            SqlValue::Text(v) => query.bind(v),
            SqlValue::Bool(v) => query.bind(v),
        };
    }
    Ok(query)
}

/// A result row of either database.
pub(crate) enum Row {
    /// SQLite (read by rusqlite into owned values).
    #[cfg(feature = "sqlite")]
    Local(LocalRow),
    #[cfg(feature = "postgres")]
    Pg(PgRow),
}

/// A SQLite row: the statement's column names (shared by all rows of one result) and values.
#[cfg(feature = "sqlite")]
pub(crate) struct LocalRow {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

#[cfg(feature = "sqlite")]
impl LocalRow {
    pub(crate) fn new(columns: Arc<[String]>, values: Vec<Value>) -> Self {
        LocalRow { columns, values }
    }

    fn value(&self, column: &str) -> Result<&Value> {
        self.columns
            .iter()
            .position(|c| c == column)
            .map(|i| &self.values[i])
            .ok_or_else(|| Error::store(format!("no column `{column}` in the result")))
    }

    fn opt_text(&self, column: &str) -> Result<Option<String>> {
        match self.value(column)? {
            Value::Null => Ok(None),
            Value::Text(s) => Ok(Some(s.clone())),
            Value::Integer(i) => Ok(Some(i.to_string())),
            Value::Real(r) => Ok(Some(r.to_string())),
            Value::Blob(b) => String::from_utf8(b.clone())
                .map(Some)
                .map_err(|_| Error::store(format!("column `{column}` holds bytes that are not text"))),
        }
    }

    fn opt_int(&self, column: &str) -> Result<Option<i64>> {
        match self.value(column)? {
            Value::Null => Ok(None),
            Value::Integer(i) => Ok(Some(*i)),
            // SQLite's own conversion of a REAL read as an integer (e.g. an aggregate of REALs),
            // which truncates toward zero and saturates as `as` does.
            #[allow(clippy::cast_possible_truncation, reason = "SQLite's REAL to INTEGER conversion truncates")]
            Value::Real(r) => Ok(Some(*r as i64)),
            Value::Text(s) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| Error::store(format!("column `{column}` holds `{s}`, not a number"))),
            Value::Blob(_) => Err(Error::store(format!("column `{column}` holds bytes, not a number"))),
        }
    }
}

#[cfg(feature = "postgres")]
fn decode_error(column: &str, err: sqlx::Error) -> Error {
    Error::store(format!("cannot read column `{column}`: {err}")).because(err)
}

impl Row {
    pub(crate) fn opt_text(&self, column: &str) -> Result<Option<String>> {
        match self {
            #[cfg(feature = "sqlite")]
            Row::Local(r) => r.opt_text(column),
            #[cfg(feature = "postgres")]
            Row::Pg(r) => r.try_get(column).map_err(|e| decode_error(column, e)),
        }
    }

    pub(crate) fn text(&self, column: &str) -> Result<String> {
        self.opt_text(column)?.ok_or_else(|| Error::store(format!("column `{column}` is NULL")))
    }

    pub(crate) fn opt_int(&self, column: &str) -> Result<Option<i64>> {
        match self {
            #[cfg(feature = "sqlite")]
            Row::Local(r) => r.opt_int(column),
            #[cfg(feature = "postgres")]
            Row::Pg(r) => r.try_get(column).map_err(|e| decode_error(column, e)),
        }
    }

    pub(crate) fn int(&self, column: &str) -> Result<i64> {
        Ok(self.opt_int(column)?.unwrap_or(0))
    }

    pub(crate) fn count(&self, column: &str) -> Result<u64> {
        Ok(u64::try_from(self.int(column)?).unwrap_or(0))
    }

    pub(crate) fn boolean(&self, column: &str) -> Result<bool> {
        match self {
            // SQLite keeps booleans as integers.
            #[cfg(feature = "sqlite")]
            Row::Local(r) => {
                Ok(r.opt_int(column)?.ok_or_else(|| Error::store(format!("column `{column}` is NULL")))? != 0)
            }
            #[cfg(feature = "postgres")]
            Row::Pg(r) => r.try_get(column).map_err(|e| decode_error(column, e)),
        }
    }

    pub(crate) fn money(&self, column: &str) -> Result<Money> {
        Ok(from_cents(self.int(column)?))
    }

    pub(crate) fn opt_money(&self, column: &str) -> Result<Option<Money>> {
        Ok(self.opt_int(column)?.map(from_cents))
    }

    pub(crate) fn small(&self, column: &str) -> Result<u8> {
        u8::try_from(self.int(column)?).map_err(|_| Error::store(format!("column `{column}` is out of range")))
    }

    pub(crate) fn opt_small(&self, column: &str) -> Result<Option<u8>> {
        self.opt_int(column)?
            .map(|v| u8::try_from(v).map_err(|_| Error::store(format!("column `{column}` is out of range"))))
            .transpose()
    }

    pub(crate) fn opt_u32(&self, column: &str) -> Result<Option<u32>> {
        self.opt_int(column)?
            .map(|v| u32::try_from(v).map_err(|_| Error::store(format!("column `{column}` is out of range"))))
            .transpose()
    }

    pub(crate) fn ts(&self, column: &str) -> Result<Timestamp> {
        self.opt_ts(column)?.ok_or_else(|| Error::store(format!("column `{column}` is NULL")))
    }

    pub(crate) fn opt_ts(&self, column: &str) -> Result<Option<Timestamp>> {
        self.opt_int(column)?
            .map(|micros| {
                Timestamp::from_timestamp_micros(micros)
                    .ok_or_else(|| Error::store(format!("column `{column}` is not a time")))
            })
            .transpose()
    }

    pub(crate) fn date(&self, column: &str) -> Result<Date> {
        self.opt_date(column)?.ok_or_else(|| Error::store(format!("column `{column}` is NULL")))
    }

    pub(crate) fn opt_date(&self, column: &str) -> Result<Option<Date>> {
        self.opt_text(column)?
            .map(|s| Date::parse_from_str(&s, "%Y-%m-%d").map_err(|e| Error::store(format!("column `{column}`: {e}"))))
            .transpose()
    }

    pub(crate) fn json<T: DeserializeOwned>(&self, column: &str) -> Result<T> {
        self.opt_json(column)?.ok_or_else(|| Error::store(format!("column `{column}` is NULL")))
    }

    pub(crate) fn opt_json<T: DeserializeOwned>(&self, column: &str) -> Result<Option<T>> {
        self.opt_text(column)?
            .map(|text| {
                serde_json::from_str(&text).map_err(|e| Error::store(format!("column `{column}` holds bad JSON: {e}")))
            })
            .transpose()
    }

    /// A column holding a validated enum or id.
    pub(crate) fn parse<T: FromStr>(&self, column: &str) -> Result<T>
    where
        T::Err: std::fmt::Display,
    {
        let text = self.text(column)?;
        text.parse().map_err(|e| Error::store(format!("column `{column}` holds `{text}`: {e}")))
    }

    pub(crate) fn id<T: From<String>>(&self, column: &str) -> Result<T> {
        Ok(T::from(self.text(column)?))
    }

    pub(crate) fn opt_id<T: From<String>>(&self, column: &str) -> Result<Option<T>> {
        Ok(self.opt_text(column)?.map(T::from))
    }
}

/// A new record id: a short type prefix, the creation time in milliseconds (so ids sort by
/// age and pagination by id is newest-first), and 64 more bits.
///
/// The 64 bits begin with the microseconds of the creation time within its millisecond, then
/// a counter of this process that starts at random: ids sort exactly by creation time, to the
/// microsecond, and records created in the same microsecond by one process list in the order
/// their ids were made. So a list by id, newest first, agrees with `created_at`, however writes
/// of several threads interleave, and an import's historical times give historical ids. Ids of
/// other processes differ in the counter's random start.
pub(crate) fn new_id(prefix: &str, created_at: Timestamp) -> String {
    format!("{prefix}_{:028x}", id_bits(created_at))
}

/// The 112 bits after the prefix (see [`new_id`]).
fn id_bits(created_at: Timestamp) -> u128 {
    const COUNTER_BITS: u32 = 53;
    // Before 1970 (never, for a record made now): the first id of 1970.
    let micros = u64::try_from(created_at.timestamp_micros()).unwrap_or(0);
    let (millis, within) = (micros / 1000, micros % 1000);
    let counter = ID_COUNTER
        .get_or_init(|| std::sync::atomic::AtomicU64::new(rand::random::<u64>()))
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        & ((1 << COUNTER_BITS) - 1);
    (u128::from(millis) << 64) | u128::from((within << COUNTER_BITS) | counter)
}

/// The counter in the low bits of this process's ids.
static ID_COUNTER: std::sync::OnceLock<std::sync::atomic::AtomicU64> = std::sync::OnceLock::new();

/// `n` new ids that increase one after another and all sort after `after` (an id of the same
/// prefix, e.g. the newest row of the same parent), even when `after` came from a clock that
/// runs ahead of ours.
///
/// Rows that are read back in id order (a conversation's messages) take their ids from here:
/// `after` may come from another process, whose ids [`new_id`] knows nothing of.
pub(crate) fn new_ids_after(prefix: &str, created_at: Timestamp, after: Option<&str>, n: usize) -> Vec<String> {
    let floor = after
        .and_then(|id| id.strip_prefix(prefix)?.strip_prefix('_'))
        .filter(|hex| hex.len() == 28)
        .and_then(|hex| u128::from_str_radix(hex, 16).ok());
    let first = id_bits(created_at);
    let first = match floor {
        Some(floor) if floor >= first => floor + 1,
        _ => first,
    };
    // The counter moves past the batch, so a later id of this process never repeats one of it.
    for _ in 1..n {
        id_bits(created_at);
    }
    (0..n as u128).map(|i| format!("{prefix}_{:028x}", first + i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_round_trips_through_cents() {
        let m = Money::new(123456, 2);
        assert_eq!(from_cents(cents(m).unwrap()), m);
        assert_eq!(cents(Money::new(5, 0)).unwrap(), 500);
    }

    #[test]
    fn ids_sort_by_creation_time() {
        let early = new_id("cus", Timestamp::from_timestamp(1_000, 0).unwrap());
        let late = new_id("cus", Timestamp::from_timestamp(2_000, 0).unwrap());
        assert!(early < late);
        let now = Timestamp::from_timestamp(3_000, 0).unwrap();
        let ids: Vec<String> = (0..100).map(|_| new_id("cus", now)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids of one microsecond follow the order they are made in");
        assert_eq!(early.len(), "cus_".len() + 28);
        // Within a millisecond, the microseconds decide: an id made later for an earlier time
        // (a write that waited for its lock) sorts before.
        let later_time = new_id("cus", Timestamp::from_timestamp_micros(5_000_000_700).unwrap());
        let earlier_time = new_id("cus", Timestamp::from_timestamp_micros(5_000_000_200).unwrap());
        assert!(earlier_time < later_time);

        let now = Timestamp::from_timestamp(4_000, 0).unwrap();
        let batch = new_ids_after("msg", now, None, 5);
        assert_eq!(batch.len(), 5);
        assert!(batch.windows(2).all(|w| w[0] < w[1]));
        assert!(batch.iter().all(|id| id.len() == "msg_".len() + 28));
        let next = new_ids_after("msg", now, batch.last().map(String::as_str), 3);
        assert!(batch.last().unwrap() < &next[0] && next.windows(2).all(|w| w[0] < w[1]));
        // A floor from a clock ahead of ours still comes first.
        let ahead = new_id("msg", Timestamp::from_timestamp(6_000, 0).unwrap());
        let after_ahead = new_ids_after("msg", now, Some(&ahead), 2);
        assert!(ahead < after_ahead[0] && after_ahead[0] < after_ahead[1]);
        // A floor of another shape is ignored.
        assert_eq!(new_ids_after("msg", now, Some("cus_zz"), 1).len(), 1);
        assert!(new_ids_after("msg", now, None, 0).is_empty());
    }
}
