//! Per-user rate limits (chat turns, MCP tool calls), kept in the store so that every process
//! on one database shares them ([`Store::take_rate_budget`]).
//!
//! A store without rate budgets (a host store that keeps none) gets the same limit kept in this
//! process. Busy users take their budget from the store a few units at a time and spend them
//! here (a lease, dropped after a second if unspent), so a burst of MCP calls does not write to
//! the store on every call. A lease is as large as the user's calls of the last second (up to
//! its cap), so little of it goes unspent; what does is lost, never handed out twice, so a limit
//! is never exceeded across processes (a client that slows down may be refused up to one lease
//! early).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::context::UserContext;
use crate::domain::OrganizationId;
use crate::error::{Error, ErrorKind, Result};
use crate::store::{RateBudget, Scope, Store};

/// How long leased units stay usable.
const LEASE_LIFE: Duration = Duration::from_secs(1);

/// Most users whose leases or local budgets are remembered; past it the idle ones are dropped.
const MAX_USERS: usize = 100_000;

/// A named per-user limit over a store.
pub(crate) struct RateLimiter {
    bucket: &'static str,
    budget: RateBudget,
    /// Most units taken from the store at once (1: every unit is taken when spent).
    max_lease: u32,
    store: Arc<dyn Store>,
    users: Mutex<HashMap<(OrganizationId, String), UserState>>,
}

#[derive(Default)]
struct UserState {
    /// Units taken from the store and not spent yet, until `lease_until`.
    leased: u32,
    lease_until: Option<Instant>,
    /// The user's calls in the current window of [`LEASE_LIFE`], which began at `window_start`,
    /// and in the one before: the next lease asks for as many as the last window saw.
    calls: u32,
    calls_before: u32,
    window_start: Option<Instant>,
    /// The budget kept here when the store has none: its "ready at" time.
    local_ready_at: Option<Instant>,
}

impl UserState {
    /// Counts a call at `now`, moving the window on when a lease's life has passed.
    fn count_call(&mut self, now: Instant) {
        match self.window_start {
            Some(start) if now.duration_since(start) < LEASE_LIFE => {}
            Some(start) => {
                // A window skipped entirely saw no calls.
                self.calls_before = if now.duration_since(start) < 2 * LEASE_LIFE { self.calls } else { 0 };
                self.calls = 0;
                self.window_start = Some(now);
            }
            None => self.window_start = Some(now),
        }
        self.calls += 1;
    }
}

impl RateLimiter {
    /// A limit named `bucket` of `budget` per user, taking up to `max_lease` units from the
    /// store at a time.
    pub(crate) fn new(store: Arc<dyn Store>, bucket: &'static str, budget: RateBudget, max_lease: u32) -> Self {
        RateLimiter {
            bucket,
            budget,
            max_lease: max_lease.clamp(1, budget.burst),
            store,
            users: Mutex::new(HashMap::new()),
        }
    }

    /// The limit's budget.
    pub(crate) fn budget(&self) -> RateBudget {
        self.budget
    }

    /// Spends one unit of `user`'s budget, or says how long until one is there
    /// (`Err(Ok(wait))`); `Err(Err(e))` when the store fails.
    pub(crate) async fn check(&self, user: &UserContext) -> std::result::Result<(), Result<Duration>> {
        let key = (user.organization_id.clone(), user.user_id.clone());
        let lease = {
            let mut users = self.lock();
            let state = users.entry(key.clone()).or_default();
            let now = Instant::now();
            state.count_call(now);
            if state.leased > 0 && state.lease_until.is_some_and(|until| now < until) {
                state.leased -= 1;
                return Ok(());
            }
            // Expect as many calls in the next second as in the last one.
            state.calls_before.clamp(1, self.max_lease)
        };
        let scope = Scope::organization(user.organization_id.clone());
        let mut cost = lease;
        loop {
            match self
                .store
                .take_rate_budget(&scope, &user.user_id, self.bucket, self.budget, cost, chrono::Utc::now())
                .await
            {
                Ok(None) => {
                    let mut users = self.lock();
                    let state = users.entry(key).or_default();
                    let now = Instant::now();
                    // Calls that refilled at the same time each add what they took.
                    let live = state.lease_until.is_some_and(|until| now < until);
                    state.leased = if live { state.leased + cost - 1 } else { cost - 1 };
                    state.lease_until = Some(now + LEASE_LIFE);
                    return Ok(());
                }
                Ok(Some(_)) if cost > 1 => cost = 1,
                Ok(Some(wait)) => return Err(Ok(wait.to_std().unwrap_or(Duration::from_secs(1)))),
                Err(e) if e.kind() == ErrorKind::Unsupported => return self.check_here(key),
                Err(e) => return Err(Err(e)),
            }
        }
    }

    /// [`RateLimiter::check`] on a budget kept in this process.
    fn check_here(&self, key: (OrganizationId, String)) -> std::result::Result<(), Result<Duration>> {
        let interval = self.budget.interval().to_std().unwrap_or(Duration::from_secs(1));
        let now = Instant::now();
        let mut users = self.lock();
        let state = users.entry(key).or_default();
        let ready_at = state.local_ready_at.map_or(now, |at| at.max(now)) + interval;
        let limit = now + interval * self.budget.burst;
        if ready_at <= limit {
            state.local_ready_at = Some(ready_at);
            Ok(())
        } else {
            Err(Ok(ready_at - limit))
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(OrganizationId, String), UserState>> {
        let mut users = self.users.lock().unwrap_or_else(|p| p.into_inner());
        if users.len() > MAX_USERS {
            let now = Instant::now();
            users.retain(|_, state| {
                state.lease_until.is_some_and(|until| now < until) || state.local_ready_at.is_some_and(|at| now < at)
            });
        }
        users
    }
}

/// The error of a call refused by a rate limit: try again after `wait`.
pub(crate) fn rate_limited(what: &str, budget: RateBudget, wait: Duration) -> Error {
    Error::unavailable(format!(
        "rate limit: at most {} {what} a minute per user; try again in {} s",
        budget.per_minute,
        whole_seconds(wait)
    ))
}

/// `wait` in whole seconds, rounded up: what a refused caller is told to wait.
pub(crate) fn whole_seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;
    use crate::context::Role;

    fn user(id: &str) -> UserContext {
        UserContext::new(id, "org_limits", Role::Employee)
    }

    /// Two limiters over one store (two processes on one database) share each user's budget:
    /// a burst spent through one leaves nothing for the other, and other users are untouched.
    #[tokio::test]
    async fn processes_on_one_store_share_a_users_budget() {
        let store: Arc<dyn Store> = Arc::new(crate::SqlStore::open("sqlite::memory:").await.unwrap());
        let budget = RateBudget::per_minute(60);
        let first = RateLimiter::new(store.clone(), "calls", budget, 10);
        let second = RateLimiter::new(store.clone(), "calls", budget, 10);
        let rep = user("rep");
        for i in 0..budget.burst {
            assert!(first.check(&rep).await.is_ok(), "call {i} of the burst");
        }
        let refused = |result: std::result::Result<(), Result<Duration>>| matches!(result, Err(Ok(wait)) if wait > Duration::ZERO);
        assert!(refused(first.check(&rep).await));
        assert!(refused(second.check(&rep).await));
        assert!(second.check(&user("owner")).await.is_ok());
    }

    /// A store that keeps no budgets gets the same limit kept in the process.
    #[tokio::test]
    async fn a_store_without_budgets_is_limited_here() {
        struct NoBudgets;
        impl Store for NoBudgets {}
        let limiter = RateLimiter::new(Arc::new(NoBudgets), "calls", RateBudget { per_minute: 60, burst: 3 }, 1);
        let rep = user("rep");
        for _ in 0..3 {
            assert!(limiter.check(&rep).await.is_ok());
        }
        assert!(matches!(limiter.check(&rep).await, Err(Ok(wait)) if wait <= Duration::from_secs(1)));
    }
}
