//! The generic query shapes every entity shares: scope clauses, filter building, keyset
//! pagination, get-by-id, insert, update and in-scope reference checks.

use super::codec::{Row, SqlValue};
#[cfg(feature = "sqlite")]
use super::sqlite::Snapshot;
use super::{Dialect, Pools, SqlStore, Tx};
use crate::domain::{CustomFields, Page, PageRequest};
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

/// A totals table of migration 0007 and the filter on its group columns that counts the same
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

/// Sort direction of a list (by id, which sorts by creation time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SortOrder {
    NewestFirst,
    OldestFirst,
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
            #[cfg(feature = "postgres")]
            Pools::Postgres(_) => {
                let (sql, args) = list.page_query();
                let rows = self.read_scan(&sql, args).await?;
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
struct ListQuery {
    /// `table`, or `table NOT INDEXED` once an indexed search reads its few matches by rowid.
    from: String,
    columns: String,
    filter: Where,
    limit: u32,
    /// The cursor's id and the comparison that continues after it.
    after: Option<(&'static str, String)>,
    direction: &'static str,
}

impl ListQuery {
    fn new(table: &str, columns: &str, filter: Where, page: &PageRequest, order: SortOrder) -> Result<Self> {
        let (cursor_op, direction) = match order {
            SortOrder::NewestFirst => ("<", "DESC"),
            SortOrder::OldestFirst => (">", "ASC"),
        };
        let after = page.cursor.as_deref().map(decode_cursor).transpose()?.map(|id| (cursor_op, id));
        Ok(ListQuery {
            from: table.to_owned(),
            columns: columns.to_owned(),
            filter,
            limit: page.limit.clamp(1, STORE_MAX_LIMIT),
            after,
            direction,
        })
    }

    /// The page, with one row more than asked for (it tells whether there is a next page).
    fn page_query(&self) -> (String, Vec<SqlValue>) {
        let ListQuery { from, columns, filter, limit, direction, .. } = self;
        let mut sql = format!("SELECT {columns} FROM {from} WHERE {}", filter.sql());
        let mut args = filter.args.clone();
        if let Some((op, id)) = &self.after {
            sql.push_str(&format!(" AND id {op} ?"));
            args.push(SqlValue::from(id.as_str()));
        }
        sql.push_str(&format!(" ORDER BY id {direction} LIMIT {}", limit + 1));
        (sql, args)
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
        let next_cursor =
            if has_more { rows.last().map(|r| r.text("id")).transpose()?.map(|id| encode_cursor(&id)) } else { None };
        Ok(Page { items: rows, total, next_cursor })
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
        let (sql, args) = self.page_query();
        let rows = snapshot.query(&sql, &args)?;
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
        Ok(value as u64)
    }
}

/// A referenced id that must be visible in the writer's scope.
pub(crate) struct Reference<'a> {
    pub(crate) table: &'static str,
    pub(crate) entity: &'static str,
    pub(crate) visibility: Visibility,
    pub(crate) id: Option<&'a str>,
}

/// Cursors are opaque to callers; they carry the last id seen, hex-encoded so nobody mistakes
/// one for an id.
fn encode_cursor(id: &str) -> String {
    id.bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_cursor(cursor: &str) -> Result<String> {
    let bad = || Error::invalid("`cursor` is not a cursor returned by this list");
    if !cursor.len().is_multiple_of(2) || cursor.len() > 256 {
        return Err(bad());
    }
    let bytes = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&cursor[i..i + 2], 16).map_err(|_| bad()))
        .collect::<Result<Vec<u8>>>()?;
    String::from_utf8(bytes).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = "cus_0193a5b2c3d4e5f6a7b8c9d0e1f2";
        assert_eq!(decode_cursor(&encode_cursor(id)).unwrap(), id);
        assert_eq!(decode_cursor("zz").unwrap_err().kind(), crate::ErrorKind::InvalidArgument);
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
