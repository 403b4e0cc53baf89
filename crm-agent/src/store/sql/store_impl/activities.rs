//! Activities of the SQL store.

use super::shared::*;
use crate::domain::*;
use crate::error::Result;
use crate::store::Scope;
use crate::store::sql::SqlStore;
use crate::store::sql::entities as e;

pub(super) async fn list_activities(
    store: &SqlStore,
    scope: &Scope,
    filter: &ActivityFilter,
    page: &PageRequest,
) -> Result<Page<Activity>> {
    let mut w = store.filter(scope, &e::ACTIVITIES);
    e::activity_filter(&mut w, filter);
    store.list_of(&e::ACTIVITIES, w, page, e::activity_order(filter), e::activity_from_row).await
}

pub(super) async fn get_activity(store: &SqlStore, scope: &Scope, id: &ActivityId) -> Result<Activity> {
    store.get_of(&e::ACTIVITIES, scope, id.as_str(), e::activity_from_row).await
}

pub(super) async fn create_activity(store: &SqlStore, scope: &Scope, new: NewActivity) -> Result<Activity> {
    require_organization_scope(scope, "create activities")?;
    new.validate()?;
    let mut tx = store.begin().await?;
    tx.ensure_all(
        scope,
        e::activity_refs(
            new.customer_id.as_ref(),
            new.lead_id.as_ref(),
            new.deal_id.as_ref(),
            new.assigned_to.as_ref(),
        ),
    )
    .await?;
    let id = tx.insert_entity(&e::ACTIVITIES, scope, e::activity_insert(&new), new.created_at, true).await?;
    let row = tx.read_entity(&e::ACTIVITIES, scope, &id).await?;
    tx.commit().await?;
    e::activity_from_row(&row)
}

pub(super) async fn update_activity(
    store: &SqlStore,
    scope: &Scope,
    id: &ActivityId,
    patch: ActivityPatch,
) -> Result<Activity> {
    require_organization_scope(scope, "change activities")?;
    patch.validate()?;
    let mut tx = store.begin().await?;
    tx.ensure_all(
        scope,
        e::activity_refs(
            patch.customer_id.value(),
            patch.lead_id.value(),
            patch.deal_id.value(),
            patch.assigned_to.value(),
        ),
    )
    .await?;
    let row = tx.update_entity(&e::ACTIVITIES, scope, id.as_str(), e::activity_patch(&patch)).await?;
    tx.commit().await?;
    e::activity_from_row(&row)
}

pub(super) async fn activity_stats(store: &SqlStore, scope: &Scope) -> Result<ActivityStats> {
    store.sql_activity_stats(scope).await
}
