//! Audit events, idempotency keys and rate budgets in the SQL store.

use crate::domain::*;
use crate::error::{Error, Result};
use crate::store::sql::codec::{self, SqlValue};
use crate::store::sql::entities as e;
use crate::store::sql::query::SortOrder;
#[cfg(feature = "sqlite")]
use crate::store::sql::query::insert_statements;
use crate::store::sql::{Pools, SqlStore};
use crate::store::{IdempotencyClaim, RateBudget, Scope, Store};

pub(super) async fn record_audit(store: &SqlStore, scope: &Scope, event: NewAuditEvent) -> Result<()> {
    // Audit events of customer users are recorded too: the scope's organization is what counts.
    store.record_audits(vec![(scope.organization_id().clone(), event)]).await
}

pub(super) async fn record_audits(store: &SqlStore, events: Vec<(OrganizationId, NewAuditEvent)>) -> Result<()> {
    let rows = events
        .into_iter()
        .map(|(organization, event)| {
            let at = codec::truncate(event.at);
            Ok(vec![
                ("id", SqlValue::from(codec::new_id(e::AUDIT.id_prefix, at))),
                ("organization_id", organization.0.into()),
                ("user_id", event.user_id.into()),
                ("action", event.action.into()),
                ("outcome", codec::text(event.outcome)),
                ("error_kind", event.error_kind.into()),
                ("duration_us", i64::try_from(event.duration_us).unwrap_or(i64::MAX).into()),
                ("arguments", codec::json(&event.arguments)?),
                ("record_type", event.record_type.into()),
                ("record_id", event.record_id.into()),
                ("changes", if event.changes.is_empty() { SqlValue::Text(None) } else { codec::json(&event.changes)? }),
                ("at", codec::ts(at)),
            ])
        })
        .collect::<Result<Vec<_>>>()?;
    match &store.pools {
        // A batch is hundreds of rows: off the async workers (see SqliteDb::write_off_thread).
        #[cfg(feature = "sqlite")]
        Pools::Sqlite(db) => {
            let statements = insert_statements(e::AUDIT.name, rows);
            db.write_off_thread(move |tx| statements.iter().try_for_each(|(sql, args)| tx.execute(sql, args).map(drop)))
                .await
        }
        _ => {
            let mut tx = store.begin().await?;
            tx.insert_many(e::AUDIT.name, rows).await?;
            tx.commit().await
        }
    }
}

pub(super) async fn claim_idempotency_key(
    store: &SqlStore,
    scope: &Scope,
    user_id: &str,
    key: &str,
    tool: &str,
    fingerprint: &str,
    now: Timestamp,
) -> Result<IdempotencyClaim> {
    let org = scope.organization_id().as_str();
    let expired = now - crate::store::IDEMPOTENCY_WINDOW;
    let mut tx = store.begin().await?;
    tx.execute(
        "DELETE FROM idempotency_keys WHERE organization_id = ? AND user_id = ? AND idem_key = ? AND created_at < ?",
        vec![org.into(), user_id.into(), key.into(), codec::ts(expired)],
    )
    .await?;
    let inserted = tx
        .execute(
            "INSERT INTO idempotency_keys \
             (organization_id, user_id, idem_key, tool, request_hash, status, result, created_at) \
             VALUES (?, ?, ?, ?, ?, 'pending', NULL, ?) ON CONFLICT (organization_id, user_id, idem_key) DO NOTHING",
            vec![org.into(), user_id.into(), key.into(), tool.into(), fingerprint.into(), codec::ts(now)],
        )
        .await?;
    let claim = if inserted == 1 {
        IdempotencyClaim::Claimed
    } else {
        let rows = tx
            .fetch(
                "SELECT tool, request_hash, status, result FROM idempotency_keys \
                 WHERE organization_id = ? AND user_id = ? AND idem_key = ?",
                vec![org.into(), user_id.into(), key.into()],
            )
            .await?;
        let row = rows.first().ok_or_else(|| Error::Internal("idempotency key vanished".into()))?;
        if row.text("tool")? != tool {
            return Err(Error::conflict(format!(
                "idempotency key `{key}` was already used for `{}`",
                row.text("tool")?
            )));
        }
        // Keys claimed before fingerprints were kept have none, and match any arguments.
        if row.opt_text("request_hash")?.is_some_and(|stored| stored != fingerprint) {
            return Err(Error::conflict(format!(
                "idempotency key `{key}` was already used with other arguments; use a new key for a new request"
            )));
        }
        match row.opt_text("result")? {
            Some(result) if row.text("status")? == "done" => {
                IdempotencyClaim::Done(serde_json::from_str(&result).map_err(|e| Error::store(e.to_string()))?)
            }
            _ => IdempotencyClaim::InProgress,
        }
    };
    tx.commit().await?;
    Ok(claim)
}

pub(super) async fn complete_idempotency_key(
    store: &SqlStore,
    scope: &Scope,
    user_id: &str,
    key: &str,
    result: &serde_json::Value,
) -> Result<()> {
    let mut tx = store.begin().await?;
    tx.execute(
        "UPDATE idempotency_keys SET status = 'done', result = ? WHERE organization_id = ? AND user_id = ? AND idem_key = ?",
        vec![codec::json(result)?, scope.organization_id().as_str().into(), user_id.into(), key.into()],
    )
    .await?;
    tx.commit().await
}

pub(super) async fn release_idempotency_key(store: &SqlStore, scope: &Scope, user_id: &str, key: &str) -> Result<()> {
    let mut tx = store.begin().await?;
    tx.execute(
        "DELETE FROM idempotency_keys WHERE organization_id = ? AND user_id = ? AND idem_key = ? AND status = 'pending'",
        vec![scope.organization_id().as_str().into(), user_id.into(), key.into()],
    )
    .await?;
    tx.commit().await
}

pub(super) async fn take_rate_budget(
    store: &SqlStore,
    scope: &Scope,
    user_id: &str,
    bucket: &str,
    budget: RateBudget,
    cost: u32,
    now: Timestamp,
) -> Result<Option<chrono::Duration>> {
    if cost == 0 || cost > budget.burst {
        return Err(Error::invalid(format!("a rate budget's cost is 1 to its burst ({}), not {cost}", budget.burst)));
    }
    // The row keeps when the budget would be full again ("ready at"); taking `cost` units
    // pushes that `cost` intervals later, which is allowed while it stays within `burst`
    // intervals of now. Checked and written in one statement, so processes cannot both
    // spend the last units.
    let interval = budget.interval().num_microseconds().unwrap_or(i64::MAX).max(1);
    let (now, spend, limit) = (now.timestamp_micros(), interval * i64::from(cost), interval * i64::from(budget.burst));
    let greatest = if store.dialect == crate::store::sql::Dialect::Postgres { "GREATEST" } else { "MAX" };
    let sql = format!(
        "INSERT INTO rate_limits (organization_id, user_id, bucket, ready_at) VALUES (?, ?, ?, ?) \
         ON CONFLICT (organization_id, user_id, bucket) DO UPDATE \
         SET ready_at = {greatest}(rate_limits.ready_at, ?) + ? \
         WHERE {greatest}(rate_limits.ready_at, ?) + ? <= ?"
    );
    let key: Vec<SqlValue> = vec![scope.organization_id().as_str().into(), user_id.into(), bucket.into()];
    let mut args = key.clone();
    args.extend([now + spend, now, spend, now, spend, now + limit].map(SqlValue::from));
    let mut tx = store.begin().await?;
    if tx.execute(&sql, args).await? == 1 {
        tx.commit().await?;
        return Ok(None);
    }
    let sql = "SELECT ready_at FROM rate_limits WHERE organization_id = ? AND user_id = ? AND bucket = ?";
    let ready_at = tx.fetch(sql, key).await?.first().map(|row| row.int("ready_at")).transpose()?.unwrap_or(now);
    Ok(Some(chrono::Duration::microseconds((ready_at.max(now) + spend - (now + limit)).max(1))))
}

pub(super) async fn list_audit_events(
    store: &SqlStore,
    scope: &Scope,
    filter: &AuditFilter,
    page: &PageRequest,
) -> Result<Page<AuditEvent>> {
    let mut w = store.filter(scope, &e::AUDIT);
    e::audit_filter(&mut w, filter);
    store.list_of(&e::AUDIT, w, page, SortOrder::NEWEST_FIRST, e::audit_from_row).await
}
