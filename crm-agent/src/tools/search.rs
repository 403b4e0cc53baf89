//! `search_crm`: one query across customers, leads, deals and issues.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Access, Tool, ToolContext, Toolset};
use crate::context::Role;
use crate::domain::*;
use crate::error::{Error, Result};
use crate::policy::{Action, Permission, Resource};
use crate::store::StoreOp;

/// The kinds of record `search_crm` looks in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(super) enum SearchType {
    /// Customers (name, company, email, phone).
    Customer,
    /// Leads (name, email, company).
    Lead,
    /// Deals (title, notes).
    Deal,
    /// Issues (number, title, description).
    Issue,
}

impl SearchType {
    const ALL: [SearchType; 4] = [SearchType::Customer, SearchType::Lead, SearchType::Deal, SearchType::Issue];

    fn permission(self) -> Permission {
        let resource = match self {
            SearchType::Customer => Resource::Customer,
            SearchType::Lead => Resource::Lead,
            SearchType::Deal => Resource::Deal,
            SearchType::Issue => Resource::Issue,
        };
        Permission::new(resource, Action::Read)
    }
}

/// Arguments of `search_crm`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SearchArgs {
    /// Text to look for (case-insensitive, 2 to 200 characters).
    query: String,
    /// Which kinds of record to search (default: all you may read).
    #[serde(default)]
    types: Option<Vec<SearchType>>,
    /// Most hits per kind (1 to 20, default 5).
    #[serde(default)]
    #[schemars(range(min = 1, max = 20))]
    limit: Option<u32>,
}

/// One hit.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct SearchHit {
    /// The kind of record.
    #[serde(rename = "type")]
    pub kind: SearchType,
    /// Its id (use with the matching get_ tool).
    pub id: String,
    /// Its name, title or number.
    pub title: String,
    /// A second line: company, status, value.
    pub subtitle: String,
}

/// The result of `search_crm`.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct SearchResults {
    /// The hits, grouped by kind.
    pub hits: Vec<SearchHit>,
    /// Total matches per kind searched (may exceed the hits shown).
    pub totals: Vec<SearchTotal>,
    /// Kinds not searched because the caller may not read them.
    pub not_searched: Vec<SearchType>,
}

/// How many records of one kind matched.
#[derive(Debug, Serialize, JsonSchema)]
pub(super) struct SearchTotal {
    /// The kind.
    #[serde(rename = "type")]
    pub kind: SearchType,
    /// How many matched.
    pub total: u64,
}

pub(super) fn tools() -> Vec<Tool> {
    vec![Tool::builder("search_crm", "Search customers, leads, deals and issues at once by text. Returns typed hits with ids, and totals per type; only types you may read are searched.")
        .access(Access::Any(SearchType::ALL.iter().map(|t| t.permission()).collect()))
        .for_customers()
        .toolsets(&[Toolset::General])
        .needs(&[StoreOp::ReadCustomers, StoreOp::ReadIssues])
        .handler(|cx: ToolContext, args: SearchArgs| async move { search(&cx, args).await })]
}

async fn search(cx: &ToolContext, args: SearchArgs) -> Result<SearchResults> {
    let query = args.query.trim().to_owned();
    if query.chars().count() < 2 || query.chars().count() > 200 {
        return Err(Error::invalid("`query` must be 2 to 200 characters"));
    }
    let limit = args.limit.unwrap_or(5);
    if !(1..=20).contains(&limit) {
        return Err(Error::invalid(format!("`limit` must be between 1 and 20 (got {limit})")));
    }
    let page = PageRequest::first(limit);
    let wanted = args.types.unwrap_or_else(|| SearchType::ALL.to_vec());
    let mut result = SearchResults { hits: Vec::new(), totals: Vec::new(), not_searched: Vec::new() };
    for kind in wanted {
        // Customers only ever reach their own customer record and issues.
        let customer_kind = matches!(kind, SearchType::Customer | SearchType::Issue);
        if !cx.can(kind.permission()) || (cx.user.role == Role::Customer && !customer_kind) {
            result.not_searched.push(kind);
            continue;
        }
        let search = Some(query.clone());
        let total = match kind {
            SearchType::Customer => {
                let found =
                    cx.store.list_customers(&cx.scope, &CustomerFilter { search, ..Default::default() }, &page).await?;
                result.hits.extend(found.items.into_iter().map(|c| SearchHit {
                    kind,
                    id: c.id.0,
                    subtitle: format!("{} customer, {}", c.customer_type, c.status),
                    title: c.name,
                }));
                found.total
            }
            SearchType::Lead => {
                let found = cx.store.list_leads(&cx.scope, &LeadFilter { search, ..Default::default() }, &page).await?;
                result.hits.extend(found.items.into_iter().map(|l| SearchHit {
                    kind,
                    id: l.id.0,
                    subtitle: format!(
                        "{} lead{}",
                        l.qualification_status,
                        l.company.map(|c| format!(" at {c}")).unwrap_or_default()
                    ),
                    title: l.name,
                }));
                found.total
            }
            SearchType::Deal => {
                let found = cx.store.list_deals(&cx.scope, &DealFilter { search, ..Default::default() }, &page).await?;
                result.hits.extend(found.items.into_iter().map(|d| SearchHit {
                    kind,
                    id: d.id.0,
                    subtitle: format!("{} deal, {} {}", d.status, d.value, d.currency),
                    title: d.title,
                }));
                found.total
            }
            SearchType::Issue => {
                let found =
                    cx.store.list_issues(&cx.scope, &IssueFilter { search, ..Default::default() }, &page).await?;
                result.hits.extend(found.items.into_iter().map(|i| SearchHit {
                    kind,
                    id: i.id.0,
                    subtitle: format!("{} {} issue, {}", i.number, i.priority, i.status),
                    title: i.title,
                }));
                found.total
            }
        };
        result.totals.push(SearchTotal { kind, total });
    }
    Ok(result)
}
