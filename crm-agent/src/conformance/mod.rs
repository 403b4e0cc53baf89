//! The store conformance suite: what every [`Store`] must do, as runnable checks.
//!
//! Public behind the `conformance` feature so a host store — in Rust, or in Python/Node through
//! the bindings — can prove itself:
//!
//! ```no_run
//! # async fn demo() {
//! use std::sync::Arc;
//! use crm_agent::conformance::{run, StoreFactory};
//! let factory: StoreFactory = Arc::new(|| Box::pin(async {
//!     let store = crm_agent::SqlStore::open("sqlite::memory:").await?;
//!     Ok(Arc::new(store) as Arc<dyn crm_agent::Store>)
//! }));
//! let report = run(factory).await;
//! report.assert_passed();
//! # }
//! ```
//!
//! Each case gets a fresh store from the factory and builds its own organizations, so cases are
//! independent. A case whose [`StoreOp`]s the store does not support is skipped, not failed.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{Datelike, Duration, Utc};
use futures::future::join_all;

use crate::domain::*;
use crate::error::{ErrorKind, Result};
use crate::provision;
use crate::store::{RateBudget, Scope, Store, StoreOp, aggregate};

// The cases, by concern; `fixtures` first, so its check macros are in scope in the others.
#[macro_use]
mod fixtures;
mod actions;
mod assistant;
mod concurrency;
mod crm;
mod isolation;
mod organization;
mod queries;
mod tokens;

use actions::*;
use assistant::*;
use concurrency::*;
use crm::*;
use fixtures::*;
use isolation::*;
use organization::*;
use queries::*;
use tokens::*;

/// Makes a fresh, empty, migrated store for one case.
pub type StoreFactory = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<Arc<dyn Store>>> + Send>> + Send + Sync>;

/// How one case ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every check held.
    Passed,
    /// A check failed; the message says which.
    Failed(String),
    /// The store does not support what the case needs.
    Skipped(String),
}

/// The result of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The case's name.
    pub name: &'static str,
    /// How it ended.
    pub outcome: Outcome,
}

/// The results of a run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// One entry per case, in suite order.
    pub cases: Vec<CaseResult>,
}

impl Report {
    /// The failed cases.
    pub fn failures(&self) -> Vec<&CaseResult> {
        self.cases.iter().filter(|c| matches!(c.outcome, Outcome::Failed(_))).collect()
    }

    /// How many cases passed.
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.outcome == Outcome::Passed).count()
    }

    /// Panics with every failure listed unless all cases passed or were skipped.
    pub fn assert_passed(&self) {
        let failures = self.failures();
        assert!(failures.is_empty(), "store conformance failures:\n{}", self.summary());
        assert!(self.passed() > 0, "no conformance case ran");
    }

    /// One line per case.
    pub fn summary(&self) -> String {
        self.cases
            .iter()
            .map(|c| match &c.outcome {
                Outcome::Passed => format!("ok      {}", c.name),
                Outcome::Failed(m) => format!("FAILED  {}: {m}", c.name),
                Outcome::Skipped(m) => format!("skipped {}: {m}", c.name),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

type CheckResult = std::result::Result<(), String>;
type CaseFuture = Pin<Box<dyn Future<Output = CheckResult> + Send>>;

/// One case of the suite.
pub struct Case {
    /// Its name.
    pub name: &'static str,
    /// The store operations it needs.
    pub needs: &'static [StoreOp],
    run: fn(Arc<dyn Store>) -> CaseFuture,
}

macro_rules! case {
    ($name:ident, [$($op:ident),* $(,)?]) => {
        Case { name: stringify!($name), needs: &[$(StoreOp::$op),*], run: |store| Box::pin($name(store)) }
    };
    // Needs shared by several cases, as a constant.
    ($name:ident, $needs:expr) => {
        Case { name: stringify!($name), needs: $needs, run: |store| Box::pin($name(store)) }
    };
}

/// What the aggregate cases need: everything `populate` writes, and the stats.
const AGGREGATE_NEEDS: &[StoreOp] = &[
    StoreOp::Organizations,
    StoreOp::ReadCustomers,
    StoreOp::WriteCustomers,
    StoreOp::ReadLeads,
    StoreOp::WriteLeads,
    StoreOp::ConvertLeads,
    StoreOp::ReadDeals,
    StoreOp::WriteDeals,
    StoreOp::ReadPipelines,
    StoreOp::ReadIssues,
    StoreOp::WriteIssues,
    StoreOp::WriteOrders,
    StoreOp::WritePayments,
    StoreOp::ReadActivities,
    StoreOp::WriteActivities,
    StoreOp::ReadEmployees,
    StoreOp::WriteEmployees,
];

/// Every case of the suite, in order.
pub fn cases() -> Vec<Case> {
    vec![
        case!(organizations_and_members, [Organizations, Members, Roles, ReadEmployees, WriteEmployees]),
        case!(customers_crud_and_filters, [Organizations, ReadCustomers, WriteCustomers, WriteEmployees]),
        case!(pagination_totals, [Organizations, ReadCustomers, WriteCustomers]),
        case!(customer_dates_and_orders, [Organizations, ReadCustomers, WriteCustomers]),
        case!(deal_dates_and_orders, [Organizations, ReadDeals, WriteDeals, ReadPipelines]),
        case!(overdue_activities, [Organizations, ReadActivities, WriteActivities]),
        case!(aggregate_records_match_reference, [Organizations, ReadDeals, WriteDeals, ReadPipelines]),
        case!(
            leads_history_and_conversion,
            [Organizations, ReadLeads, WriteLeads, ConvertLeads, ReadPipelines, WriteEmployees, ReadCustomers]
        ),
        case!(concurrent_conversion_is_idempotent, [Organizations, WriteLeads, ConvertLeads, ReadCustomers]),
        case!(
            deals_and_pipelines,
            [Organizations, ReadDeals, WriteDeals, ReadPipelines, WritePipelines, WriteCustomers]
        ),
        case!(issues_numbers_and_comments, [Organizations, ReadIssues, WriteIssues, WriteCustomers, WriteEmployees]),
        case!(
            orders_and_payments,
            [Organizations, ReadOrders, WriteOrders, ReadPayments, WritePayments, WriteCustomers]
        ),
        case!(activities_crud, [Organizations, ReadActivities, WriteActivities, WriteCustomers, WriteEmployees]),
        case!(roles_and_employees, [Organizations, Roles, ReadEmployees, WriteEmployees]),
        case!(aggregates_match_reference, AGGREGATE_NEEDS),
        case!(aggregates_follow_updates, AGGREGATE_NEEDS),
        case!(
            tenant_isolation,
            [
                Organizations,
                Members,
                Roles,
                ReadCustomers,
                WriteCustomers,
                ReadLeads,
                WriteLeads,
                ConvertLeads,
                ReadDeals,
                WriteDeals,
                ReadPipelines,
                ReadIssues,
                WriteIssues,
                ReadOrders,
                WriteOrders,
                ReadPayments,
                WritePayments,
                ReadActivities,
                WriteActivities,
                ReadEmployees,
                WriteEmployees,
                Audit
            ]
        ),
        case!(
            customer_scope,
            [
                Organizations,
                Roles,
                ReadCustomers,
                WriteCustomers,
                ReadLeads,
                WriteLeads,
                ConvertLeads,
                ReadDeals,
                WriteDeals,
                ReadIssues,
                WriteIssues,
                ReadOrders,
                WriteOrders,
                ReadPayments,
                WritePayments,
                ReadActivities,
                WriteActivities,
                ReadEmployees,
                WriteEmployees,
                Audit
            ]
        ),
        case!(customer_isolation, [Organizations, ReadCustomers, WriteCustomers]),
        case!(issue_isolation, [Organizations, ReadCustomers, WriteCustomers, ReadIssues, WriteIssues]),
        case!(concurrent_numbers, [Organizations, WriteIssues, WriteOrders, WriteCustomers]),
        case!(
            opposite_moves_at_once,
            [Organizations, ReadDeals, WriteDeals, ReadPipelines, ReadCustomers, WriteCustomers]
        ),
        case!(closing_on_a_new_day_at_once, [Organizations, ReadDeals, WriteDeals, ReadPipelines]),
        case!(
            failed_multi_row_writes_roll_back,
            [Organizations, ReadLeads, WriteLeads, ConvertLeads, ReadCustomers, WriteEmployees, ReadPipelines]
        ),
        case!(audit_events, [Organizations, Audit]),
        case!(conversations_crud_and_pages, [Organizations, Conversations]),
        case!(assistant_records_are_per_user, [Organizations, Conversations, PendingActions, WriteCustomers]),
        case!(messages_append_in_order, [Organizations, Conversations]),
        case!(concurrent_appends_keep_batches_whole, [Organizations, Conversations]),
        case!(append_is_atomic, [Organizations, Conversations]),
        case!(deleting_a_conversation_cascades, [Organizations, Conversations, PendingActions]),
        case!(pending_action_lifecycle, [Organizations, Conversations, PendingActions]),
        case!(a_run_cut_off_reads_as_failed, [Organizations, PendingActions]),
        case!(units_of_work_commit_together, [Organizations, ReadCustomers, WriteCustomers]),
        case!(rate_budgets_are_leaky_buckets, [Organizations, RateLimits]),
        case!(concurrent_decisions_have_one_winner, [Organizations, PendingActions]),
        case!(pending_action_filters, [Organizations, Conversations, PendingActions]),
        case!(api_tokens_round_trip, [Organizations, ApiTokens]),
        case!(api_tokens_are_per_user, [Organizations, ApiTokens]),
        case!(revoking_a_token_keeps_the_first_time, [Organizations, ApiTokens]),
        case!(api_token_hashes_are_unique, [Organizations, ApiTokens]),
    ]
}

/// Runs every case against fresh stores from `factory`, one after another.
pub async fn run(factory: StoreFactory) -> Report {
    run_cases(factory, cases()).await
}

/// Runs the given cases.
pub async fn run_cases(factory: StoreFactory, cases: Vec<Case>) -> Report {
    let mut report = Report::default();
    for case in cases {
        let outcome = match factory().await {
            Err(e) => Outcome::Failed(format!("could not create a store: {e}")),
            Ok(store) => match case.needs.iter().find(|op| !store.supports(**op)) {
                Some(op) => Outcome::Skipped(format!("store does not support {op:?}")),
                None => match (case.run)(store).await {
                    Ok(()) => Outcome::Passed,
                    Err(message) => Outcome::Failed(message),
                },
            },
        };
        report.cases.push(CaseResult { name: case.name, outcome });
    }
    report
}
