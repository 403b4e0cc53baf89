//! [`with_bookkeeping`]: a host store in front of a store of the SDK's own, which keeps the
//! assistant's bookkeeping (organizations, conversations, pending actions, audit events,
//! idempotency keys, API tokens, rate budgets) for a host that does not.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::methods::with_host_methods;
use super::{IdempotencyClaim, RateBudget, Scope, Store, StoreOp};
use crate::domain::*;
use crate::error::Result;

/// The groups the SDK keeps for itself when the host does not: tenants and the assistant's
/// own records. CRM entities are never taken from `own`, so a host that leaves out, say,
/// deals gets no deal tools rather than deals stored somewhere it does not know. Members and
/// roles point at employees, so they stay with the host's people (a host that builds its
/// users' contexts itself needs neither).
pub const BOOKKEEPING: &[StoreOp] = &[
    StoreOp::Organizations,
    StoreOp::Audit,
    StoreOp::Idempotency,
    StoreOp::Conversations,
    StoreOp::PendingActions,
    StoreOp::ApiTokens,
    StoreOp::RateLimits,
];

/// Puts `host` in front of `own`: each [bookkeeping](BOOKKEEPING) group goes to the host when
/// it supports it and to `own` otherwise; everything else goes to the host.
pub fn with_bookkeeping(host: Arc<dyn Store>, own: Arc<dyn Store>) -> Arc<dyn Store> {
    Arc::new(BookkeepingStore { host, own })
}

/// See [`with_bookkeeping`].
struct BookkeepingStore {
    host: Arc<dyn Store>,
    own: Arc<dyn Store>,
}

impl BookkeepingStore {
    /// The store that answers for `op`.
    fn pick(&self, op: StoreOp) -> &dyn Store {
        if BOOKKEEPING.contains(&op) && !self.host.supports(op) { &*self.own } else { &*self.host }
    }
}

/// `impl Store for BookkeepingStore`: every host method goes to the store [`pick`] names for
/// its group; of the methods computed from them, the audit batch follows the audit group
/// and the CRM ones (stats, imports) go to the host.
///
/// [`pick`]: BookkeepingStore::pick
macro_rules! bookkeeping_store_impl {
    (
        computed_from_host { $( $crm_name:ident ( $($crm_arg:ident : $crm_ty:ty),* $(,)? ) -> $crm_ret:ty ; )* }
        $( $section:ident { $(
            $group:ident { $( $name:ident ( $($arg:ident : $ty:ty),* $(,)? ) -> $ret:ty ; )* }
        )* } )*
    ) => {
        #[async_trait]
        impl Store for BookkeepingStore {
            fn supports(&self, op: StoreOp) -> bool {
                self.pick(op).supports(op)
            }

            $($($(
                async fn $name(&self, $($arg: $ty),*) -> Result<$ret> {
                    self.pick(StoreOp::$group).$name($($arg),*).await
                }
            )*)*)*

            $(
                async fn $crm_name(&self, $($crm_arg: $crm_ty),*) -> Result<$crm_ret> {
                    self.host.$crm_name($($crm_arg),*).await
                }
            )*
        }

        /// The [`Store`] methods [`BookkeepingStore`] routes.
        #[cfg(test)]
        const ROUTED: &[&str] = &[$(stringify!($crm_name),)* $($($(stringify!($name),)*)*)*];
    };
}

with_host_methods!(
    bookkeeping_store_impl,
    computed_from_host {
        import_customers(scope: &Scope, batch: Vec<NewCustomer>) -> Vec<CustomerId>;
        customer_stats(scope: &Scope) -> CustomerStats;
        import_leads(scope: &Scope, batch: Vec<NewLead>) -> Vec<LeadId>;
        lead_stats(scope: &Scope) -> LeadStats;
        import_deals(scope: &Scope, batch: Vec<NewDeal>) -> Vec<DealId>;
        deal_stats(scope: &Scope) -> DealStats;
        issue_stats(scope: &Scope) -> IssueStats;
        activity_stats(scope: &Scope) -> ActivityStats;
        dashboard_stats(scope: &Scope, now: Timestamp) -> DashboardStats;
        sales_funnel(scope: &Scope) -> SalesFunnel;
        revenue_by_period(scope: &Scope, buckets: &[(Date, Date)]) -> Vec<RevenueBucket>;
        employee_performance(scope: &Scope) -> Vec<EmployeePerformance>;
    }
    computed {
        Audit {
            record_audits(events: Vec<(OrganizationId, NewAuditEvent)>) -> ();
        }
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    /// The names of the [`Store`] trait's methods, read from its source.
    fn trait_methods() -> Vec<&'static str> {
        let source = include_str!("mod.rs");
        let start = source.find("pub trait Store:").expect("the Store trait");
        let end = start + source[start..].find("\n}\n").expect("the end of the Store trait");
        source[start..end]
            .lines()
            .filter_map(|line| line.strip_prefix("    async fn ").or_else(|| line.strip_prefix("    fn ")))
            .map(|rest| &rest[..rest.find(['(', '<']).expect("a method signature")])
            .collect()
    }

    /// A method added to the trait must be added to the host list (methods.rs) or to the
    /// computed ones above; otherwise hosts and the router would silently answer the trait's
    /// default.
    #[test]
    fn every_store_method_is_routed_or_left_to_its_default_on_purpose() {
        let methods = trait_methods();
        assert!(methods.len() > 80, "read {} methods", methods.len());
        let by_default = ["supports", "transaction", "aggregate_records"];
        let missing: Vec<_> =
            methods.iter().filter(|name| !ROUTED.contains(name) && !by_default.contains(name)).collect();
        assert!(missing.is_empty(), "not routed: {missing:?}");
        for name in ROUTED {
            assert!(methods.contains(name), "{name} is routed but is not a Store method");
        }
        for method in super::super::methods::HOST_METHODS {
            assert!(ROUTED.contains(&method.name), "{} is not routed", method.name);
        }
    }
}
