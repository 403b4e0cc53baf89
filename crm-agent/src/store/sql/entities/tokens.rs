//! API tokens, rows of one user like the assistant's. `secret_hash` is written and matched but
//! never read back: it is not in `columns`, and the domain type has no field for it.

use super::Table;
use crate::domain::*;
use crate::error::Result;
use crate::store::sql::codec::Row;
use crate::store::sql::query::Visibility;

pub(crate) const API_TOKENS: Table = Table {
    name: "api_tokens",
    entity: "API token",
    visibility: Visibility::UserOwned,
    columns: "id, organization_id, user_id, name, prefix, created_at, expires_at, revoked_at, limits",
    id_prefix: "tok",
};

pub(crate) fn api_token_from_row(r: &Row) -> Result<ApiToken> {
    Ok(ApiToken {
        id: r.id("id")?,
        organization_id: r.id("organization_id")?,
        user_id: r.text("user_id")?,
        name: r.text("name")?,
        prefix: r.text("prefix")?,
        created_at: r.ts("created_at")?,
        expires_at: r.opt_ts("expires_at")?,
        revoked_at: r.opt_ts("revoked_at")?,
        limits: r.opt_json("limits")?.unwrap_or_default(),
    })
}
