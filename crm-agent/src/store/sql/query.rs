//! The generic query shapes every entity shares: scope clauses, filter building, keyset
//! pagination, get-by-id, insert, update and in-scope reference checks.

use super::codec::{Row, SqlValue};
#[cfg(feature = "sqlite")]
use super::sqlite::Snapshot;
use super::{Dialect, Pools, SqlStore, Tx};
use crate::domain::{CustomFields, Date, DateRange, Page, PageRequest, Sort, TimeRange};
use crate::error::{Error, Result};
use crate::store::Scope;

/// The text columns a table's `search` filter matches, and the SQLite FTS5 trigram index over
/// exactly those columns (`<table>_search`, kept by migration 0008's triggers).
pub(crate) struct TextSearch {
    pub(crate) index: &'static str,
    pub(crate) columns: &'static [&'static str],
}

/// Who may see the rows of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Visibility {
    /// Organization-wide data with no customer link: invisible to customer scopes.
    Internal,
    /// The `customers` table: a customer scope sees its own row only.
    CustomerRecord,
    /// Rows with a `customer_id` column: a customer scope sees its own.
    CustomerOwned,
    /// `issue_comments`: a customer scope sees comments on its own issues.
    IssueComment,
    /// Configuration every member may see (pipelines and stages).
    Shared,
    /// The assistant's per-user records (conversations, messages, pending actions): the caller
    /// adds the owner's `user_id`, which is what restricts them, in a customer scope too.
    UserOwned,
}

/// A `WHERE` clause under construction: the scope first, then each filter, ANDed.
pub(crate) struct Where {
    dialect: Dialect,
    clauses: Vec<String>,
    pub(crate) args: Vec<SqlValue>,
    /// The SQLite search clause among `clauses`, which a list may rewrite (see [`IndexedSearch`]).
    indexed_search: Option<IndexedSearch>,
    /// Where a list may count these rows instead (see [`Where::count_from_totals`]).
    totals: Option<Box<TotalsCount>>,
}

/// A totals table (migrations 0007 and 0012) and the filter on its group columns that counts the same
/// rows as a list's filter.
struct TotalsCount {
    table: &'static str,
    filter: Where,
}

/// A `search` filter through a SQLite FTS5 index, as [`SqlStore::page_of`] runs it.
///
/// Its clause, `rowid IN (SELECT rowid FROM <index> WHERE <index> MATCH ?)`, leaves the plan to
/// SQLite, which cannot know how many rows a text matches: it walks the scope's index (the
/// organization's active customers, say) and checks each row against the matches. That is right
/// for a broad text, whose first page turns up within a few hundred rows, but a text that matches
/// one customer still paid for the walk over every row in scope (6 ms over 100k customers).
/// So a list reads the index's matches first, in the same snapshot: when there are at most
/// [`FEW_MATCHES`], it reads just those rows by rowid instead.
struct IndexedSearch {
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    index: &'static str,
    /// Positions of the clause in `clauses` and of its argument, the FTS5 phrase, in `args`.
    clause: usize,
    arg: usize,
}

/// Most index matches a list reads row by row (each a rowid lookup of about a microsecond);
/// above this it lets SQLite walk the scope's index.
#[cfg(feature = "sqlite")]
const FEW_MATCHES: usize = 500;

impl Where {
    /// No clause yet: extra conditions to [`Where::and`] onto a scoped one.
    pub(crate) fn new(dialect: Dialect) -> Self {
        Where { dialect, clauses: Vec::new(), args: Vec::new(), indexed_search: None, totals: None }
    }

    /// Adds every clause (and its arguments) of `other`.
    pub(crate) fn and(&mut self, other: Where) {
        if let Some(search) = other.indexed_search {
            self.indexed_search = Some(IndexedSearch {
                clause: search.clause + self.clauses.len(),
                arg: search.arg + self.args.len(),
                ..search
            });
        }
        self.clauses.extend(other.clauses);
        self.args.extend(other.args);
    }

    /// The scope's clause for a table of `visibility`.
    pub(crate) fn scoped(dialect: Dialect, scope: &Scope, visibility: Visibility) -> Self {
        let mut w = Where {
            dialect,
            clauses: Vec::with_capacity(4),
            args: Vec::with_capacity(4),
            indexed_search: None,
            totals: None,
        };
        w.push("organization_id = ?", [SqlValue::from(scope.organization_id().as_str())]);
        if let Some(customer) = scope.customer_id() {
            let customer = SqlValue::from(customer.as_str());
            match visibility {
                Visibility::Internal => w.push("1 = 0", []),
                Visibility::CustomerRecord => w.push("id = ?", [customer]),
                Visibility::CustomerOwned => w.push("customer_id = ?", [customer]),
                Visibility::IssueComment => w.push(
                    "issue_id IN (SELECT id FROM issues WHERE organization_id = ? AND customer_id = ?)",
                    [SqlValue::from(scope.organization_id().as_str()), customer],
                ),
                Visibility::Shared | Visibility::UserOwned => {}
            }
        }
        w
    }

    pub(crate) fn push(&mut self, clause: &str, args: impl IntoIterator<Item = SqlValue>) {
        self.clauses.push(clause.to_owned());
        self.args.extend(args);
    }

    /// `column = value` when the filter is given.
    pub(crate) fn eq<T: Into<SqlValue>>(&mut self, column: &str, value: Option<T>) {
        if let Some(value) = value {
            self.push(&format!("{column} = ?"), [value.into()]);
        }
    }

    /// `column <op> value` when the filter is given.
    pub(crate) fn cmp<T: Into<SqlValue>>(&mut self, column: &str, op: &str, value: Option<T>) {
        if let Some(value) = value {
            self.push(&format!("{column} {op} ?"), [value.into()]);
        }
    }

    /// Case-insensitive substring match on any of `search`'s columns.
    ///
    /// On SQLite a text of three characters or more goes through the table's FTS5 trigram
    /// index (migration 0008): its phrase query is the same substring match, case-folded, and
    /// reads the matching rows' ids from the index instead of testing every row in scope.
    pub(crate) fn search(&mut self, search: &TextSearch, text: Option<&str>) {
        let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else { return };
        if self.dialect == Dialect::Sqlite && text.chars().count() >= 3 {
            // Inside a double-quoted FTS5 string every character is literal but `"` (doubled).
            let phrase = format!("\"{}\"", text.replace('"', "\"\""));
            let index = search.index;
            self.indexed_search = Some(IndexedSearch { index, clause: self.clauses.len(), arg: self.args.len() });
            self.push(&format!("rowid IN (SELECT rowid FROM {index} WHERE {index} MATCH ?)"), [SqlValue::from(phrase)]);
            return;
        }
        let escaped: String = text
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        let pattern = format!("%{escaped}%");
        // SQLite's LIKE is case-insensitive (ASCII); PostgreSQL needs ILIKE.
        let op = match self.dialect {
            Dialect::Sqlite => "LIKE",
            Dialect::Postgres => "ILIKE",
        };
        let columns = search.columns;
        let clause = columns.iter().map(|c| format!("{c} {op} ? ESCAPE '\\'")).collect::<Vec<_>>().join(" OR ");
        self.push(&format!("({clause})"), columns.iter().map(|_| SqlValue::from(pattern.as_str())));
    }

    /// Lets a list count its rows from the totals `table` (one row per group, with its count
    /// `n`), filtered on the group columns by `group_filter`, instead of counting the rows
    /// themselves: a few rows to add up instead of an index range of, say, 50,000 active
    /// customers. Only for a filter the totals can answer exactly, in a whole organization's
    /// scope: the caller checks both. The triggers that keep the totals write in the same
    /// transaction as the rows, so both agree in any snapshot.
    pub(crate) fn count_from_totals(
        &mut self,
        table: &'static str,
        scope: &Scope,
        group_filter: impl FnOnce(&mut Where),
    ) {
        let mut filter = Where::scoped(self.dialect, scope, Visibility::Shared);
        group_filter(&mut filter);
        self.totals = Some(Box::new(TotalsCount { table, filter }));
    }

    /// `column` (an instant in microseconds) within `range`.
    pub(crate) fn time_range(&mut self, column: &str, range: &TimeRange) {
        self.cmp(column, ">=", range.after.map(|t| t.timestamp_micros()));
        self.cmp(column, "<", range.before.map(|t| t.timestamp_micros()));
    }

    /// `column` (a `YYYY-MM-DD` text, which orders as the days do) within `range`.
    pub(crate) fn date_range(&mut self, column: &str, range: &DateRange) {
        self.cmp(column, ">=", range.from.map(day));
        self.cmp(column, "<=", range.to.map(day));
    }

    /// `created_at` within `range`. Ids begin with their creation time's millisecond (see
    /// `codec::new_id`), so the span also bounds `id`: the list then reads only the span's part
    /// of the `(organization_id, id)` index, where it would otherwise test every row in scope.
    pub(crate) fn created(&mut self, id_prefix: &str, range: &TimeRange) {
        let id_at_millis =
            |millis: i64| format!("{id_prefix}_{:028x}", u128::from(u64::try_from(millis).unwrap_or(0)) << 64);
        if let Some(after) = range.after {
            self.push("id >= ?", [SqlValue::from(id_at_millis(after.timestamp_micros().div_euclid(1000)))]);
        }
        if let Some(before) = range.before {
            let ceiling = (before.timestamp_micros() + 999).div_euclid(1000);
            self.push("id < ?", [SqlValue::from(id_at_millis(ceiling))]);
        }
        self.time_range("created_at", range);
    }

    /// Equality on each custom field (keys were validated to `[A-Za-z0-9_]`).
    pub(crate) fn custom_fields(&mut self, fields: &CustomFields) -> Result<()> {
        for (key, value) in fields {
            crate::domain::check::custom_field_key("custom_fields", key)?;
            match self.dialect {
                Dialect::Sqlite => {
                    // Compare the JSON type too, so `true` never matches a stored 1 (and the other
                    // way round), as in PostgreSQL's jsonb equality; numbers compare as numbers.
                    let path = || SqlValue::from(format!("$.\"{key}\""));
                    let (json_types, bound) = match value {
                        serde_json::Value::String(s) => {
                            ("json_type(custom_fields, ?) = 'text'", SqlValue::from(s.as_str()))
                        }
                        serde_json::Value::Bool(b) => {
                            let json_type = if *b {
                                "json_type(custom_fields, ?) = 'true'"
                            } else {
                                "json_type(custom_fields, ?) = 'false'"
                            };
                            (json_type, SqlValue::Int(Some(i64::from(*b))))
                        }
                        serde_json::Value::Number(n) => match n.as_i64() {
                            Some(i) => ("json_type(custom_fields, ?) IN ('integer', 'real')", SqlValue::Int(Some(i))),
                            None => ("json_type(custom_fields, ?) IN ('integer', 'real')", SqlValue::Real(n.as_f64())),
                        },
                        _ => {
                            return Err(Error::invalid(format!(
                                "custom field filter `{key}` must be a string, number or boolean"
                            )));
                        }
                    };
                    self.push(
                        &format!("({json_types} AND json_extract(custom_fields, ?) = ?)"),
                        [path(), path(), bound],
                    );
                }
                Dialect::Postgres => {
                    if !(value.is_string() || value.is_number() || value.is_boolean()) {
                        return Err(Error::invalid(format!(
                            "custom field filter `{key}` must be a string, number or boolean"
                        )));
                    }
                    self.push(
                        "(custom_fields::jsonb -> ?) = CAST(? AS jsonb)",
                        [SqlValue::from(key.as_str()), SqlValue::from(value.to_string())],
                    );
                }
            }
        }
        Ok(())
    }

    pub(crate) fn sql(&self) -> String {
        self.clauses.join(" AND ")
    }
}

/// The order of a list: by id (which is creation order), or by a column with id breaking ties in
/// the same direction. Rows without a value in the column come after all others either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SortOrder {
    key: Option<SortKey>,
    descending: bool,
}

/// A column a list can be ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SortKey {
    pub(crate) column: &'static str,
    pub(crate) kind: KeyKind,
    /// Whether the column may be NULL (those rows come last, in id order).
    pub(crate) nullable: bool,
}

/// How a sort column's values are read and bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// BIGINT: amounts in cents, scores, instants in microseconds.
    Int,
    /// TEXT: names, titles, `YYYY-MM-DD` dates.
    Text,
}

impl SortKey {
    pub(crate) const fn int(column: &'static str) -> Self {
        SortKey { column, kind: KeyKind::Int, nullable: false }
    }

    pub(crate) const fn text(column: &'static str) -> Self {
        SortKey { column, kind: KeyKind::Text, nullable: false }
    }

    pub(crate) const fn or_null(self) -> Self {
        SortKey { nullable: true, ..self }
    }
}

impl SortOrder {
    pub(crate) const NEWEST_FIRST: SortOrder = SortOrder { key: None, descending: true };
    pub(crate) const OLDEST_FIRST: SortOrder = SortOrder { key: None, descending: false };

    /// By `key` (`None`: by id), ascending or descending.
    pub(crate) fn by(key: Option<SortKey>, descending: bool) -> Self {
        SortOrder { key, descending }
    }

    /// A filter's sort: its field's column (`None` for creation order, the default), newest
    /// first when the filter names no sort.
    pub(crate) fn of<F: Copy>(sort: Option<Sort<F>>, key: impl Fn(F) -> Option<SortKey>) -> Self {
        match sort {
            None => SortOrder::NEWEST_FIRST,
            Some(sort) => SortOrder::by(key(sort.field), sort.descending),
        }
    }

    fn direction(&self) -> (&'static str, &'static str) {
        if self.descending { ("<", "DESC") } else { (">", "ASC") }
    }
}

/// Largest page the store serves (tools cap lower, at 100).
const STORE_MAX_LIMIT: u32 = 1000;

impl SqlStore {
    /// One page of `table` rows matching `filter`, plus the total count.
    pub(crate) async fn page_of(
        &self,
        table: &str,
        columns: &str,
        filter: Where,
        page: &PageRequest,
        order: SortOrder,
    ) -> Result<Page<Row>> {
        let list = ListQuery::new(table, columns, filter, page, order)?;
        match &self.pools {
            #[cfg(feature = "sqlite")]
            Pools::Sqlite(db) => db.read_snapshot(move |snapshot| list.run_on_sqlite(snapshot)).await,
            #[cfg(feature = "sqlite")]
            Pools::Bound(bound) if self.dialect == Dialect::Sqlite => {
                bound.on_sqlite(move |connection| list.run_on_sqlite(connection)).await
            }
            _ => {
                let mut rows = match list.page_query() {
                    Some((sql, args)) => self.read_scan(&sql, args).await?,
                    None => Vec::new(),
                };
                if let Some((sql, args)) = list.room_after(&rows).and_then(|room| list.null_query(room)) {
                    rows.extend(self.read_scan(&sql, args).await?);
                }
                let total = match list.total_without_counting(&rows) {
                    Some(total) => total,
                    None => {
                        let (sql, args) = list.count_query();
                        count_of(&self.read_scan(&sql, args).await?)?
                    }
                };
                list.finish(rows, total)
            }
        }
    }

    /// The row of `table` with `id`, if the scope can see it.
    pub(crate) async fn row_by_id(
        &self,
        table: &str,
        columns: &str,
        entity: &'static str,
        scope: &Scope,
        visibility: Visibility,
        id: &str,
    ) -> Result<Row> {
        let mut filter = Where::scoped(self.dialect, scope, visibility);
        filter.push("id = ?", [SqlValue::from(id)]);
        let sql = format!("SELECT {columns} FROM {table} WHERE {}", filter.sql());
        self.read(&sql, filter.args).await?.into_iter().next().ok_or_else(|| Error::not_found(entity, id))
    }
}

/// A list's page and total as SQL: the statements [`SqlStore::page_of`] runs.
///
/// A page continues after its cursor's row by keyset: `(key, id) < (?, ?)` (or `>`), which the
/// `(organization_id, key, id)` indexes serve. Over a column that may be NULL the page is read in
/// two parts, the rows with a value first and then, if the page has room, those without (by
/// id), so each part is one index range rather than a sort of every row in scope.
struct ListQuery {
    /// `table`, or `table NOT INDEXED` once an indexed search reads its few matches by rowid.
    from: String,
    columns: String,
    filter: Where,
    limit: u32,
    order: SortOrder,
    /// Where the previous page ended.
    after: Option<Cursor>,
}

/// The last row of a page: its sort value (if the list has a sort key) and id.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Cursor {
    /// The sort column, so a cursor is never used with another order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(default)]
    descending: bool,
    #[serde(default)]
    value: serde_json::Value,
    id: String,
}

impl ListQuery {
    fn new(table: &str, columns: &str, filter: Where, page: &PageRequest, order: SortOrder) -> Result<Self> {
        let after = page.cursor.as_deref().map(|c| decode_cursor(c, &order)).transpose()?;
        Ok(ListQuery {
            from: table.to_owned(),
            columns: columns.to_owned(),
            filter,
            limit: page.limit.clamp(1, STORE_MAX_LIMIT),
            order,
            after,
        })
    }

    /// The rows with a value in the sort column (every row when the list is by id), one more
    /// than asked for (it tells whether there is a next page); `None` when the cursor is past
    /// them already.
    fn page_query(&self) -> Option<(String, Vec<SqlValue>)> {
        let ListQuery { from, columns, filter, limit, order, after } = self;
        let (op, direction) = order.direction();
        let mut sql = format!("SELECT {columns} FROM {from} WHERE {}", filter.sql());
        let mut args = filter.args.clone();
        match order.key {
            None => {
                if let Some(after) = after {
                    sql.push_str(&format!(" AND id {op} ?"));
                    args.push(SqlValue::from(after.id.as_str()));
                }
                sql.push_str(&format!(" ORDER BY id {direction} LIMIT {}", limit + 1));
            }
            Some(key) => {
                if after.as_ref().is_some_and(|a| a.value.is_null()) {
                    return None;
                }
                let column = key.column;
                if key.nullable {
                    sql.push_str(&format!(" AND {column} IS NOT NULL"));
                }
                if let Some(after) = after {
                    sql.push_str(&format!(" AND ({column}, id) {op} (?, ?)"));
                    args.extend([key_value(&after.value), SqlValue::from(after.id.as_str())]);
                }
                let order_by = format!("ORDER BY {column} {direction}, id {direction}");
                // The page's ids are found first, then only their rows read: when the matches
                // must be sorted, the database sorts keys from an index rather than whole rows
                // (17,000 open deals of one month by value: 6 ms instead of 65 on SQLite).
                let ids = sql.replacen(&format!("SELECT {columns} "), "SELECT id ", 1);
                let table = from.split_whitespace().next().unwrap_or(from);
                sql = format!(
                    "SELECT {columns} FROM {table} WHERE id IN ({ids} {order_by} LIMIT {}) {order_by}",
                    limit + 1
                );
            }
        }
        Some((sql, args))
    }

    /// The rows without a value in a nullable sort column, by id, to fill a page that has room
    /// for `room` more rows (plus one to tell whether there are more).
    fn null_query(&self, room: usize) -> Option<(String, Vec<SqlValue>)> {
        let key = self.order.key.filter(|k| k.nullable)?;
        let (op, direction) = self.order.direction();
        let mut sql = format!(
            "SELECT {} FROM {} WHERE {} AND {} IS NULL",
            self.columns,
            self.from,
            self.filter.sql(),
            key.column
        );
        let mut args = self.filter.args.clone();
        if let Some(after) = self.after.as_ref().filter(|a| a.value.is_null()) {
            sql.push_str(&format!(" AND id {op} ?"));
            args.push(SqlValue::from(after.id.as_str()));
        }
        sql.push_str(&format!(" ORDER BY id {direction} LIMIT {}", room + 1));
        Some((sql, args))
    }

    /// How many more rows the page needs from [`ListQuery::null_query`] after `rows` with a value,
    /// or `None` when it needs none.
    fn room_after(&self, rows: &[Row]) -> Option<usize> {
        let limit = self.limit as usize;
        self.order.key.filter(|k| k.nullable)?;
        (rows.len() <= limit).then(|| limit - rows.len())
    }

    fn count_query(&self) -> (String, Vec<SqlValue>) {
        match &self.filter.totals {
            Some(totals) => (
                format!(
                    "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n FROM {} WHERE {}",
                    totals.table,
                    totals.filter.sql()
                ),
                totals.filter.args.clone(),
            ),
            None => (
                format!("SELECT COUNT(*) AS n FROM {} WHERE {}", self.from, self.filter.sql()),
                self.filter.args.clone(),
            ),
        }
    }

    /// A first page that is not full already holds every match: no need to count.
    fn total_without_counting(&self, rows: &[Row]) -> Option<u64> {
        (self.after.is_none() && rows.len() <= self.limit as usize).then_some(rows.len() as u64)
    }

    fn finish(&self, mut rows: Vec<Row>, total: u64) -> Result<Page<Row>> {
        let has_more = rows.len() > self.limit as usize;
        rows.truncate(self.limit as usize);
        let next_cursor = match rows.last() {
            Some(last) if has_more => Some(self.cursor_after(last)?),
            _ => None,
        };
        Ok(Page { items: rows, total, next_cursor })
    }

    fn cursor_after(&self, row: &Row) -> Result<String> {
        let id = row.text("id")?;
        let Some(key) = self.order.key else { return Ok(encode_hex(&id)) };
        let value = match key.kind {
            KeyKind::Int => row.opt_int(key.column)?.map(serde_json::Value::from),
            KeyKind::Text => row.opt_text(key.column)?.map(serde_json::Value::from),
        };
        let cursor = Cursor {
            key: Some(key.column.to_owned()),
            descending: self.order.descending,
            value: value.unwrap_or_default(),
            id,
        };
        Ok(encode_hex(&serde_json::to_string(&cursor).map_err(|e| Error::Internal(e.to_string()))?))
    }

    /// The whole list in one SQLite snapshot: an indexed search's matches first (see
    /// [`IndexedSearch`]), then the page, then the count if the page does not tell it.
    #[cfg(feature = "sqlite")]
    fn run_on_sqlite(mut self, snapshot: &Snapshot<'_>) -> Result<Page<Row>> {
        if let Some(search) = self.filter.indexed_search.take() {
            let probe = format!("SELECT rowid FROM {0} WHERE {0} MATCH ? LIMIT {1}", search.index, FEW_MATCHES + 1);
            let phrase = self.filter.args[search.arg].clone();
            let matches = snapshot.query(&probe, &[phrase])?;
            if matches.len() <= FEW_MATCHES {
                let rowids = matches.iter().map(|r| r.int("rowid")).collect::<Result<Vec<i64>>>()?;
                let rowids = serde_json::to_string(&rowids).map_err(|e| Error::Internal(e.to_string()))?;
                self.filter.clauses[search.clause] = "rowid IN (SELECT value FROM json_each(?))".to_owned();
                self.filter.args[search.arg] = SqlValue::from(rowids);
                // Without this SQLite would still walk the scope's index and probe the list.
                self.from.push_str(" NOT INDEXED");
            }
        }
        let mut rows = match self.page_query() {
            Some((sql, args)) => snapshot.query(&sql, &args)?,
            None => Vec::new(),
        };
        if let Some((sql, args)) = self.room_after(&rows).and_then(|room| self.null_query(room)) {
            rows.extend(snapshot.query(&sql, &args)?);
        }
        let total = match self.total_without_counting(&rows) {
            Some(total) => total,
            None => {
                let (sql, args) = self.count_query();
                count_of(&snapshot.query(&sql, &args)?)?
            }
        };
        self.finish(rows, total)
    }
}

/// The statements that insert `rows` into `table`: multi-row `VALUES`, in chunks that stay under
/// both databases' parameter limits.
pub(crate) fn insert_statements(table: &str, rows: Vec<Vec<(&'static str, SqlValue)>>) -> Vec<(String, Vec<SqlValue>)> {
    let Some(first) = rows.first() else { return Vec::new() };
    let columns = first.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ");
    let per_row = first.len();
    let rows_per_statement = (30_000 / per_row).max(1);
    let tuple = format!("({})", vec!["?"; per_row].join(", "));
    let mut statements = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(rows_per_statement).collect();
        let sql = format!("INSERT INTO {table} ({columns}) VALUES {}", vec![tuple.as_str(); chunk.len()].join(", "));
        statements.push((sql, chunk.into_iter().flat_map(|row| row.into_iter().map(|(_, v)| v)).collect()));
    }
    statements
}

fn day(date: Date) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn count_of(rows: &[Row]) -> Result<u64> {
    rows.first().map(|r| r.count("n")).transpose().map(|n| n.unwrap_or(0))
}

impl Tx {
    /// The row of `table` with `id` inside the transaction, if the scope can see it.
    pub(crate) async fn row_by_id(
        &mut self,
        table: &str,
        columns: &str,
        entity: &'static str,
        scope: &Scope,
        visibility: Visibility,
        id: &str,
    ) -> Result<Row> {
        let mut filter = Where::scoped(self.dialect(), scope, visibility);
        filter.push("id = ?", [SqlValue::from(id)]);
        let sql = format!("SELECT {columns} FROM {table} WHERE {}", filter.sql());
        self.fetch(&sql, filter.args).await?.into_iter().next().ok_or_else(|| Error::not_found(entity, id))
    }

    /// Fails with "not found" unless `id` is a row of `table` the scope can see. This is how
    /// every referenced id (assignee, customer, stage, …) is kept inside the tenant.
    pub(crate) async fn ensure_visible(&mut self, scope: &Scope, reference: &Reference<'_>) -> Result<()> {
        let Some(id) = reference.id else { return Ok(()) };
        self.row_by_id(reference.table, "id", reference.entity, scope, reference.visibility, id).await.map(drop)
    }

    /// Inserts one row.
    pub(crate) async fn insert(&mut self, table: &str, values: Vec<(&'static str, SqlValue)>) -> Result<()> {
        let columns: Vec<&str> = values.iter().map(|(c, _)| *c).collect();
        let sql =
            format!("INSERT INTO {table} ({}) VALUES ({})", columns.join(", "), vec!["?"; columns.len()].join(", "));
        self.execute(&sql, values.into_iter().map(|(_, v)| v).collect()).await.map(drop)
    }

    /// Inserts many rows (see [`insert_statements`]).
    pub(crate) async fn insert_many(&mut self, table: &str, rows: Vec<Vec<(&'static str, SqlValue)>>) -> Result<()> {
        for (sql, args) in insert_statements(table, rows) {
            self.execute(&sql, args).await?;
        }
        Ok(())
    }

    /// Updates the scope-visible row `id` of `table`; "not found" when there is none.
    pub(crate) async fn update(
        &mut self,
        table: &str,
        entity: &'static str,
        scope: &Scope,
        visibility: Visibility,
        id: &str,
        values: Vec<(&'static str, SqlValue)>,
    ) -> Result<()> {
        if values.is_empty() {
            // Nothing to change: still report a missing or foreign id.
            return self.row_by_id(table, "id", entity, scope, visibility, id).await.map(drop);
        }
        let mut filter = Where::scoped(self.dialect(), scope, visibility);
        filter.push("id = ?", [SqlValue::from(id)]);
        let assignments: Vec<String> = values.iter().map(|(c, _)| format!("{c} = ?")).collect();
        let sql = format!("UPDATE {table} SET {} WHERE {}", assignments.join(", "), filter.sql());
        let mut args: Vec<SqlValue> = values.into_iter().map(|(_, v)| v).collect();
        args.extend(filter.args);
        match self.execute(&sql, args).await? {
            0 => Err(Error::not_found(entity, id)),
            _ => Ok(()),
        }
    }

    /// The next per-organization number of `kind` for `year` (1, 2, …), inside this transaction,
    /// so it rolls back with a failed insert and concurrent writers never share one.
    pub(crate) async fn next_number(&mut self, scope: &Scope, kind: &str, year: i32) -> Result<u64> {
        let rows = self
            .fetch(
                "INSERT INTO number_sequences (organization_id, kind, year, last_value) VALUES (?, ?, ?, 1) \
                 ON CONFLICT (organization_id, kind, year) DO UPDATE SET last_value = number_sequences.last_value + 1 \
                 RETURNING last_value",
                vec![scope.organization_id().as_str().into(), kind.into(), i64::from(year).into()],
            )
            .await?;
        let value = rows
            .first()
            .map(|r| r.int("last_value"))
            .transpose()?
            .ok_or_else(|| Error::Internal("no number allocated".into()))?;
        u64::try_from(value).map_err(|_| Error::store(format!("the number sequence holds {value}, not a count")))
    }
}

/// A referenced id that must be visible in the writer's scope.
pub(crate) struct Reference<'a> {
    pub(crate) table: &'static str,
    pub(crate) entity: &'static str,
    pub(crate) visibility: Visibility,
    pub(crate) id: Option<&'a str>,
}

/// Cursors are opaque to callers: the last row's id (and sort value, for a list in another
/// order than by id), hex-encoded so nobody mistakes one for an id.
fn encode_hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_cursor(cursor: &str, order: &SortOrder) -> Result<Cursor> {
    let bad = || Error::invalid("`cursor` is not a cursor returned by this list");
    if !cursor.len().is_multiple_of(2) || cursor.len() > 4096 {
        return Err(bad());
    }
    let bytes = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&cursor[i..i + 2], 16).map_err(|_| bad()))
        .collect::<Result<Vec<u8>>>()?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let other_order = || Error::invalid("`cursor` continues a list in another order: ask for the first page again");
    let Some(key) = order.key else {
        return match text.starts_with('{') {
            true => Err(other_order()),
            false => Ok(Cursor { key: None, descending: order.descending, value: serde_json::Value::Null, id: text }),
        };
    };
    let cursor: Cursor = serde_json::from_str(&text).map_err(|_| other_order())?;
    if cursor.key.as_deref() != Some(key.column) || cursor.descending != order.descending {
        return Err(other_order());
    }
    let fits = match &cursor.value {
        serde_json::Value::Null => key.nullable,
        serde_json::Value::Number(n) => key.kind == KeyKind::Int && n.is_i64(),
        serde_json::Value::String(_) => key.kind == KeyKind::Text,
        _ => false,
    };
    if !fits {
        return Err(bad());
    }
    Ok(cursor)
}

/// A cursor's sort value, checked by [`decode_cursor`], as a bound argument.
fn key_value(value: &serde_json::Value) -> SqlValue {
    match value {
        serde_json::Value::Number(n) => SqlValue::Int(n.as_i64()),
        serde_json::Value::String(s) => SqlValue::from(s.as_str()),
        _ => SqlValue::Text(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = "cus_0193a5b2c3d4e5f6a7b8c9d0e1f2";
        let by_id = SortOrder::NEWEST_FIRST;
        assert_eq!(decode_cursor(&encode_hex(id), &by_id).unwrap().id, id);
        assert_eq!(decode_cursor("zz", &by_id).unwrap_err().kind(), crate::ErrorKind::InvalidArgument);
        let by_name = SortOrder::by(Some(SortKey::text("name")), false);
        let keyed = r#"{"key":"name","descending":false,"value":"Acme","id":"cus_1"}"#;
        assert_eq!(decode_cursor(&encode_hex(keyed), &by_name).unwrap().value, "Acme");
        // A cursor of one order is refused by another, both ways.
        for (cursor, order) in
            [(keyed, by_id), (id, by_name), (keyed, SortOrder::by(Some(SortKey::text("name")), true))]
        {
            let err = decode_cursor(&encode_hex(cursor), &order).unwrap_err();
            assert!(err.to_string().contains("another order"), "{err}");
        }
        // A value of the wrong kind, or NULL for a column that has no NULLs.
        let by_value = SortOrder::by(Some(SortKey::int("value")), false);
        for value in [r#""5""#, "null", "1.5"] {
            let cursor = format!(r#"{{"key":"value","descending":false,"value":{value},"id":"dea_1"}}"#);
            assert!(decode_cursor(&encode_hex(&cursor), &by_value).is_err(), "{value}");
        }
    }

    /// A `search` filter and its SQLite index must name the same columns, or an indexed search
    /// would quietly match other columns than the unindexed one.
    #[tokio::test]
    async fn every_search_index_covers_exactly_its_columns() {
        use super::super::entities::*;
        let store = SqlStore::open("sqlite::memory:").await.unwrap();
        for search in SEARCHES {
            let sql = "SELECT name FROM pragma_table_info(?) ORDER BY cid";
            let rows = store.read(sql, vec![SqlValue::from(search.index)]).await.unwrap();
            let names: Vec<String> = rows.iter().map(|r| r.text("name").unwrap()).collect();
            assert_eq!(names, search.columns, "{}", search.index);
        }
    }
}
