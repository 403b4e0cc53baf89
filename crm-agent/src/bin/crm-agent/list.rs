//! The `list` command: one kind of record as one user sees them, as JSON.

use clap::ValueEnum;
use crm_agent::Store;
use crm_agent::domain::{
    CustomerFilter, DealFilter, EmployeeFilter, IssueFilter, LeadFilter, OrderFilter, PageRequest,
};

use crate::args::ActAs;

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Entity {
    Customers,
    Leads,
    Deals,
    Issues,
    Orders,
    Employees,
    Dashboard,
}

/// `crm-agent list`.
pub(crate) async fn list(entity: Entity, who: ActAs, limit: u32) -> crm_agent::Result<()> {
    let (store, ctx) = who.open().await?;
    let scope = ctx.scope()?;
    let page = PageRequest::first(limit);
    let json = match entity {
        Entity::Customers => {
            serde_json::to_value(store.list_customers(&scope, &CustomerFilter::default(), &page).await?)
        }
        Entity::Leads => serde_json::to_value(store.list_leads(&scope, &LeadFilter::default(), &page).await?),
        Entity::Deals => serde_json::to_value(store.list_deals(&scope, &DealFilter::default(), &page).await?),
        Entity::Issues => serde_json::to_value(store.list_issues(&scope, &IssueFilter::default(), &page).await?),
        Entity::Orders => serde_json::to_value(store.list_orders(&scope, &OrderFilter::default(), &page).await?),
        Entity::Employees => {
            serde_json::to_value(store.list_employees(&scope, &EmployeeFilter::default(), &page).await?.map(|mut e| {
                e.redact_sensitive();
                e
            }))
        }
        Entity::Dashboard => serde_json::to_value(store.dashboard_stats(&scope, chrono::Utc::now()).await?),
    }
    .map_err(|e| crm_agent::Error::Internal(e.to_string()))?;
    out!("{}", serde_json::to_string_pretty(&json).map_err(|e| crm_agent::Error::Internal(e.to_string()))?);
    Ok(())
}
