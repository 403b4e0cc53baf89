//! Pipelines, leads (with their history and conversion) and deals of the SQL store.

use std::collections::{BTreeMap, BTreeSet};

use super::shared::*;
use crate::domain::*;
use crate::error::{Error, Result};
use crate::store::sql::SqlStore;
use crate::store::sql::codec::{self, SqlValue};
use crate::store::sql::entities as e;
use crate::store::sql::query::Where;
use crate::store::{Scope, Store};

pub(super) async fn list_pipelines(store: &SqlStore, scope: &Scope) -> Result<Vec<Pipeline>> {
    let org = scope.organization_id().as_str();
    let pipelines = store
        .read("SELECT id, organization_id, name, is_default, created_at FROM pipelines WHERE organization_id = ? ORDER BY is_default DESC, id", vec![org.into()])
        .await?;
    let stages = store
        .read(
            &format!(
                "SELECT {} FROM pipeline_stages WHERE organization_id = ? ORDER BY pipeline_id, position, id",
                e::STAGE_COLUMNS
            ),
            vec![org.into()],
        )
        .await?;
    let mut by_pipeline: BTreeMap<String, Vec<PipelineStage>> = BTreeMap::new();
    for row in &stages {
        let stage = e::stage_from_row(row)?;
        by_pipeline.entry(stage.pipeline_id.0.clone()).or_default().push(stage);
    }
    pipelines
        .iter()
        .map(|r| {
            let id: String = r.text("id")?;
            Ok(Pipeline {
                stages: by_pipeline.remove(&id).unwrap_or_default(),
                id: PipelineId(id),
                organization_id: r.id("organization_id")?,
                name: r.text("name")?,
                is_default: r.boolean("is_default")?,
                created_at: r.ts("created_at")?,
            })
        })
        .collect()
}

pub(super) async fn create_pipeline(store: &SqlStore, scope: &Scope, new: NewPipeline) -> Result<Pipeline> {
    require_organization_scope(scope, "create pipelines")?;
    new.validate()?;
    let created_at = codec::now();
    let id = codec::new_id("pip", created_at);
    let org = scope.organization_id().as_str();
    let mut tx = store.begin().await?;
    if new.is_default {
        tx.execute("UPDATE pipelines SET is_default = ? WHERE organization_id = ?", vec![false.into(), org.into()])
            .await?;
    }
    tx.insert(
        "pipelines",
        vec![
            ("id", id.as_str().into()),
            ("organization_id", org.into()),
            ("name", new.name.as_str().into()),
            ("is_default", new.is_default.into()),
            ("created_at", codec::ts(created_at)),
        ],
    )
    .await?;
    let stages = new
        .stages
        .iter()
        .map(|s| {
            vec![
                ("id", SqlValue::from(codec::new_id("stg", created_at))),
                ("organization_id", org.into()),
                ("pipeline_id", id.as_str().into()),
                ("name", s.name.as_str().into()),
                ("position", i64::from(s.position).into()),
                ("probability", i64::from(s.probability).into()),
                ("is_closed_won", s.is_closed_won.into()),
                ("is_closed_lost", s.is_closed_lost.into()),
            ]
        })
        .collect();
    tx.insert_many("pipeline_stages", stages).await?;
    tx.commit().await?;
    store
        .list_pipelines(scope)
        .await?
        .into_iter()
        .find(|p| p.id.as_str() == id)
        .ok_or_else(|| Error::Internal("pipeline vanished".into()))
}

pub(super) async fn list_leads(
    store: &SqlStore,
    scope: &Scope,
    filter: &LeadFilter,
    page: &PageRequest,
) -> Result<Page<Lead>> {
    let mut w = store.filter(scope, &e::LEADS);
    e::lead_filter(&mut w, filter)?;
    e::lead_totals(&mut w, scope, filter);
    store.list_of(&e::LEADS, w, page, e::lead_order(filter), e::lead_from_row).await
}

pub(super) async fn get_lead(store: &SqlStore, scope: &Scope, id: &LeadId) -> Result<Lead> {
    store.get_of(&e::LEADS, scope, id.as_str(), e::lead_from_row).await
}

pub(super) async fn create_lead(store: &SqlStore, scope: &Scope, new: NewLead) -> Result<Lead> {
    require_organization_scope(scope, "create leads")?;
    new.validate()?;
    let mut tx = store.begin().await?;
    tx.ensure_all(scope, e::lead_refs(new.assigned_to.as_ref(), new.stage_id.as_ref())).await?;
    let id = tx.insert_entity(&e::LEADS, scope, e::lead_insert(&new)?, new.created_at, true).await?;
    let row = tx.read_entity(&e::LEADS, scope, &id).await?;
    tx.commit().await?;
    e::lead_from_row(&row)
}

pub(super) async fn update_lead(
    store: &SqlStore,
    scope: &Scope,
    id: &LeadId,
    patch: LeadPatch,
    history: Option<NewLeadHistory>,
) -> Result<Lead> {
    require_organization_scope(scope, "change leads")?;
    patch.validate()?;
    if let Some(h) = &history {
        h.validate()?;
    }
    let mut tx = store.begin().await?;
    tx.ensure_all(scope, e::lead_refs(patch.assigned_to.value(), patch.stage_id.value())).await?;
    // Read (and on PostgreSQL lock) the lead inside the transaction: the history's "from"
    // values and the converted check must see the row this update replaces.
    let current = e::lead_from_row(&tx.lock_entity(&e::LEADS, scope, id.as_str()).await?)?;
    if current.converted && patch.qualification_status.is_some_and(|s| s != current.qualification_status) {
        return Err(Error::conflict("the lead has been converted; its qualification status cannot change"));
    }
    let history = history.map(|h| NewLeadHistory {
        from_stage_id: if h.to_stage_id.is_some() { current.stage_id.clone() } else { h.from_stage_id },
        from_score: if h.to_score.is_some() { Some(current.score) } else { h.from_score },
        ..h
    });
    let row = tx.update_entity(&e::LEADS, scope, id.as_str(), e::lead_patch(&patch)?).await?;
    if let Some(h) = history {
        tx.ensure_all(
            scope,
            vec![
                e::stage_ref(h.from_stage_id.as_ref().map(StageId::as_str)),
                e::stage_ref(h.to_stage_id.as_ref().map(StageId::as_str)),
            ],
        )
        .await?;
        let changed_at = codec::now();
        tx.insert(
            "lead_history",
            vec![
                ("id", codec::new_id("lhi", changed_at).into()),
                ("organization_id", scope.organization_id().as_str().into()),
                ("lead_id", id.as_str().into()),
                ("from_stage_id", codec::opt_text(h.from_stage_id.as_ref())),
                ("to_stage_id", codec::opt_text(h.to_stage_id.as_ref())),
                ("from_score", SqlValue::Int(h.from_score.map(i64::from))),
                ("to_score", SqlValue::Int(h.to_score.map(i64::from))),
                ("changed_by", h.changed_by.into()),
                ("note", h.note.into()),
                ("changed_at", codec::ts(changed_at)),
            ],
        )
        .await?;
    }
    tx.commit().await?;
    e::lead_from_row(&row)
}

pub(super) async fn lead_history(store: &SqlStore, scope: &Scope, id: &LeadId) -> Result<Vec<LeadHistory>> {
    // Checks the lead is visible first, so a foreign id is "not found" rather than empty.
    store.row_by_id(e::LEADS.name, "id", e::LEADS.entity, scope, e::LEADS.visibility, id.as_str()).await?;
    let rows = store
        .read(
            &format!(
                "SELECT {} FROM lead_history WHERE organization_id = ? AND lead_id = ? ORDER BY changed_at, id",
                e::LEAD_HISTORY_COLUMNS
            ),
            vec![scope.organization_id().as_str().into(), id.as_str().into()],
        )
        .await?;
    rows.iter().map(e::lead_history_from_row).collect()
}

pub(super) async fn convert_lead(
    store: &SqlStore,
    scope: &Scope,
    id: &LeadId,
    customer: NewCustomer,
) -> Result<LeadConversion> {
    require_organization_scope(scope, "convert leads")?;
    customer.validate()?;
    let now = codec::now();
    let customer_id = codec::new_id(e::CUSTOMERS.id_prefix, now);
    let mut tx = store.begin().await?;
    // Claim the lead with a conditional update: of two concurrent conversions exactly one
    // changes the row (PostgreSQL re-checks `converted = false` after the first commits).
    let mut filter = Where::scoped(tx.dialect(), scope, e::LEADS.visibility);
    filter.push("id = ? AND converted = ?", [SqlValue::from(id.as_str()), SqlValue::from(false)]);
    let sql = format!(
        "UPDATE leads SET converted = ?, converted_at = ?, converted_customer_id = ?, qualification_status = ?, updated_at = ? WHERE {}",
        filter.sql()
    );
    let mut args: Vec<SqlValue> = vec![
        true.into(),
        codec::ts(now),
        customer_id.as_str().into(),
        QualificationStatus::Converted.as_str().into(),
        codec::ts(now),
    ];
    args.extend(filter.args);
    let claimed = tx.execute(&sql, args).await?;
    if claimed == 0 {
        drop(tx);
        let lead = store.get_lead(scope, id).await?;
        let existing = lead
            .converted_customer_id
            .clone()
            .ok_or_else(|| Error::conflict("the lead is marked converted but has no customer"))?;
        let customer = store.get_customer(scope, &existing).await?;
        return Ok(LeadConversion { lead, customer, newly_converted: false });
    }
    let mut new = customer;
    new.converted_from_lead = Some(id.clone());
    tx.ensure_all(scope, e::customer_refs(new.assigned_to.as_ref(), None)).await?;
    let mut values = e::customer_insert(&new)?;
    values.push(("id", customer_id.as_str().into()));
    values.push(("organization_id", scope.organization_id().as_str().into()));
    let created_at = new.created_at.map(codec::truncate).unwrap_or(now);
    values.push(("created_at", codec::ts(created_at)));
    values.push(("updated_at", codec::ts(created_at)));
    tx.insert(e::CUSTOMERS.name, values).await?;
    let customer = e::customer_from_row(&tx.read_entity(&e::CUSTOMERS, scope, &customer_id).await?)?;
    let lead = e::lead_from_row(&tx.read_entity(&e::LEADS, scope, id.as_str()).await?)?;
    tx.commit().await?;
    Ok(LeadConversion { lead, customer, newly_converted: true })
}

pub(super) async fn import_leads(store: &SqlStore, scope: &Scope, batch: Vec<NewLead>) -> Result<Vec<LeadId>> {
    require_organization_scope(scope, "import leads")?;
    let mut rows = Vec::with_capacity(batch.len());
    let mut employees = BTreeSet::new();
    let mut stages = BTreeSet::new();
    for new in &batch {
        new.validate()?;
        employees.extend(new.assigned_to.as_ref().map(EmployeeId::as_str));
        stages.extend(new.stage_id.as_ref().map(StageId::as_str));
        rows.push((e::lead_insert(new)?, new.created_at));
    }
    let mut tx = store.begin().await?;
    tx.ensure_all_exist(scope, &e::EMPLOYEES, employees).await?;
    for stage in stages {
        tx.ensure_visible(scope, &e::stage_ref(Some(stage))).await?;
    }
    let ids = tx.import_entities(&e::LEADS, scope, rows).await?;
    tx.commit().await?;
    Ok(ids.into_iter().map(LeadId).collect())
}

pub(super) async fn lead_stats(store: &SqlStore, scope: &Scope) -> Result<LeadStats> {
    store.sql_lead_stats(scope).await
}

pub(super) async fn list_deals(
    store: &SqlStore,
    scope: &Scope,
    filter: &DealFilter,
    page: &PageRequest,
) -> Result<Page<Deal>> {
    let mut w = store.filter(scope, &e::DEALS);
    e::deal_filter(&mut w, filter)?;
    e::deal_totals(&mut w, scope, filter);
    store.list_of(&e::DEALS, w, page, e::deal_order(filter), e::deal_from_row).await
}

pub(super) async fn get_deal(store: &SqlStore, scope: &Scope, id: &DealId) -> Result<Deal> {
    store.get_of(&e::DEALS, scope, id.as_str(), e::deal_from_row).await
}

pub(super) async fn create_deal(store: &SqlStore, scope: &Scope, new: NewDeal) -> Result<Deal> {
    require_organization_scope(scope, "create deals")?;
    new.validate()?;
    let mut tx = store.begin().await?;
    tx.ensure_all(
        scope,
        vec![
            e::table_ref(&e::CUSTOMERS, new.customer_id.as_ref().map(CustomerId::as_str)),
            e::table_ref(&e::LEADS, new.lead_id.as_ref().map(LeadId::as_str)),
            e::table_ref(&e::EMPLOYEES, new.assigned_to.as_ref().map(EmployeeId::as_str)),
        ],
    )
    .await?;
    tx.stage_in_pipeline(scope, &new.pipeline_id, &new.stage_id).await?;
    let id = tx.insert_entity(&e::DEALS, scope, e::deal_insert(&new)?, new.created_at, true).await?;
    let row = tx.read_entity(&e::DEALS, scope, &id).await?;
    tx.commit().await?;
    e::deal_from_row(&row)
}

pub(super) async fn update_deal(store: &SqlStore, scope: &Scope, id: &DealId, patch: DealPatch) -> Result<Deal> {
    require_organization_scope(scope, "change deals")?;
    patch.validate()?;
    let mut tx = store.begin().await?;
    let current = e::deal_from_row(&tx.read_entity(&e::DEALS, scope, id.as_str()).await?)?;
    tx.ensure_all(
        scope,
        vec![
            e::table_ref(&e::CUSTOMERS, patch.customer_id.value().map(CustomerId::as_str)),
            e::table_ref(&e::LEADS, patch.lead_id.value().map(LeadId::as_str)),
            e::table_ref(&e::EMPLOYEES, patch.assigned_to.value().map(EmployeeId::as_str)),
        ],
    )
    .await?;
    if patch.pipeline_id.is_some() || patch.stage_id.is_some() {
        let pipeline = patch.pipeline_id.as_ref().unwrap_or(&current.pipeline_id);
        let stage = patch.stage_id.as_ref().unwrap_or(&current.stage_id);
        tx.stage_in_pipeline(scope, pipeline, stage).await?;
    }
    let row = tx.update_entity(&e::DEALS, scope, id.as_str(), e::deal_patch(&patch)?).await?;
    tx.commit().await?;
    e::deal_from_row(&row)
}

pub(super) async fn import_deals(store: &SqlStore, scope: &Scope, batch: Vec<NewDeal>) -> Result<Vec<DealId>> {
    require_organization_scope(scope, "import deals")?;
    let mut rows = Vec::with_capacity(batch.len());
    let (mut customers, mut leads, mut employees, mut stages) =
        (BTreeSet::new(), BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for new in &batch {
        new.validate()?;
        customers.extend(new.customer_id.as_ref().map(CustomerId::as_str));
        leads.extend(new.lead_id.as_ref().map(LeadId::as_str));
        employees.extend(new.assigned_to.as_ref().map(EmployeeId::as_str));
        stages.insert((&new.pipeline_id, &new.stage_id));
        rows.push((e::deal_insert(new)?, new.created_at));
    }
    let mut tx = store.begin().await?;
    tx.ensure_all_exist(scope, &e::CUSTOMERS, customers).await?;
    tx.ensure_all_exist(scope, &e::LEADS, leads).await?;
    tx.ensure_all_exist(scope, &e::EMPLOYEES, employees).await?;
    for (pipeline, stage) in stages {
        tx.stage_in_pipeline(scope, pipeline, stage).await?;
    }
    let ids = tx.import_entities(&e::DEALS, scope, rows).await?;
    tx.commit().await?;
    Ok(ids.into_iter().map(DealId).collect())
}

pub(super) async fn deal_stats(store: &SqlStore, scope: &Scope) -> Result<DealStats> {
    store.sql_deal_stats(scope).await
}
