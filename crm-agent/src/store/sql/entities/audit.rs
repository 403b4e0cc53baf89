//! Audit events: their table, how a row becomes one, and their filter.

use super::Table;
use crate::domain::*;
use crate::error::Result;
use crate::store::sql::codec::{self, Row};
use crate::store::sql::query::{Visibility, Where};

pub(crate) const AUDIT: Table = Table {
    name: "audit_events",
    entity: "audit event",
    visibility: Visibility::Internal,
    columns: "id, organization_id, user_id, action, outcome, error_kind, duration_us, arguments, record_type, \
              record_id, changes, at",
    id_prefix: "aud",
};

pub(crate) fn audit_from_row(r: &Row) -> Result<AuditEvent> {
    Ok(AuditEvent {
        id: r.text("id")?,
        organization_id: r.id("organization_id")?,
        user_id: r.text("user_id")?,
        action: r.text("action")?,
        outcome: r.parse("outcome")?,
        error_kind: r.opt_text("error_kind")?,
        duration_us: u64::try_from(r.int("duration_us")?).unwrap_or(0),
        arguments: r.json("arguments")?,
        record_type: r.opt_text("record_type")?,
        record_id: r.opt_text("record_id")?,
        changes: r.opt_json("changes")?.unwrap_or_default(),
        at: r.ts("at")?,
    })
}

pub(crate) fn audit_filter(w: &mut Where, f: &AuditFilter) {
    w.eq("user_id", f.user_id.as_deref());
    w.eq("action", f.action.as_deref());
    w.eq("outcome", f.outcome.map(codec::text));
    w.eq("record_id", f.record_id.as_deref());
}
