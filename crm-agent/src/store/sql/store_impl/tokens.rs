//! API tokens in the SQL store.

use super::shared::*;
use crate::domain::*;
use crate::error::{Error, Result};
use crate::store::Scope;
use crate::store::sql::SqlStore;
use crate::store::sql::codec::{self, SqlValue};
use crate::store::sql::entities as e;

pub(super) async fn create_api_token(store: &SqlStore, scope: &Scope, new: NewApiToken) -> Result<ApiToken> {
    new.validate()?;
    let table = &e::API_TOKENS;
    let user_id = new.user_id.clone();
    let values = vec![
        ("user_id", new.user_id.into()),
        ("name", new.name.into()),
        ("prefix", new.prefix.into()),
        ("secret_hash", new.secret_hash.into()),
        ("expires_at", codec::opt_ts(new.expires_at.map(codec::truncate))),
        ("revoked_at", SqlValue::Int(None)),
        ("limits", if new.limits.is_none() { SqlValue::Text(None) } else { codec::json(&new.limits)? }),
    ];
    let mut tx = store.begin().await?;
    // `secret_hash` is the table's only unique column besides the fresh id: a conflict here
    // is a hash already stored (in any organization).
    let id = tx.insert_entity(table, scope, values, Some(new.created_at), false).await.map_err(|err| match err {
        Error::Conflict(_) => Error::conflict("an API token with this secret hash already exists"),
        other => other,
    })?;
    let row = tx.owned_row(table, table.columns, scope, &user_id, &id).await?;
    tx.commit().await?;
    e::api_token_from_row(&row)
}

pub(super) async fn list_api_tokens(store: &SqlStore, scope: &Scope, user_id: &str) -> Result<Vec<ApiToken>> {
    let table = &e::API_TOKENS;
    let w = owned(store.dialect, scope, table, user_id);
    let sql = format!("SELECT {} FROM {} WHERE {} ORDER BY id DESC", table.columns, table.name, w.sql());
    store.read(&sql, w.args).await?.iter().map(e::api_token_from_row).collect()
}

pub(super) async fn revoke_api_token(
    store: &SqlStore,
    scope: &Scope,
    user_id: &str,
    id: &ApiTokenId,
    now: Timestamp,
) -> Result<ApiToken> {
    let table = &e::API_TOKENS;
    let mut tx = store.begin().await?;
    // Only a token not revoked yet takes `now`, so the first revocation time stays (of two
    // concurrent revocations on PostgreSQL, the second re-checks and matches nothing).
    let mut w = owned(tx.dialect(), scope, table, user_id);
    w.push("id = ? AND revoked_at IS NULL", [id.as_str().into()]);
    let mut args: Vec<SqlValue> = vec![codec::ts(codec::truncate(now))];
    let sql = format!("UPDATE {} SET revoked_at = ? WHERE {}", table.name, w.sql());
    args.extend(w.args);
    tx.execute(&sql, args).await?;
    let row = tx.owned_row(table, table.columns, scope, user_id, id.as_str()).await?;
    tx.commit().await?;
    e::api_token_from_row(&row)
}

pub(super) async fn find_api_token(store: &SqlStore, secret_hash: &str) -> Result<ApiToken> {
    let table = &e::API_TOKENS;
    // No scope: this is how a request's scope is found. One lookup through the index of the
    // UNIQUE constraint on `secret_hash`.
    let sql = format!("SELECT {} FROM {} WHERE secret_hash = ?", table.columns, table.name);
    let rows = store.read(&sql, vec![secret_hash.into()]).await?;
    // The message does not repeat the hash.
    rows.first().map(e::api_token_from_row).transpose()?.ok_or_else(|| Error::not_found(table.entity, "(by secret)"))
}
