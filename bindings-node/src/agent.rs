//! The agent: `openAgent` and the methods `index.cjs` wraps into the `Agent` class.

use std::sync::{Arc, RwLock};

use crm_agent::domain::{ActionId, ConversationId, NewOrganization, PageRequest, PendingActionFilter};
use crm_agent::provision::ensure_organization;
use crm_agent::seed::{SeedOptions, seed_demo};
use crm_agent::store::host::{HostStore, with_bookkeeping};
use crm_agent::{CrmAgent, SqlStore, Store, UserContext};
use futures::FutureExt;
use napi::Env;
use napi::bindgen_prelude::{AsyncBlock, AsyncBlockBuilder, Either, within_runtime_if_available};
use napi_derive::napi;
use serde_json::{Value, json};

use crate::chat::NativeChat;
use crate::context::{self, Context};
use crate::errors::{self, napi_result};
use crate::host::{Dispatch, JsBackend};
use crate::options::OpenOptions;

/// A page of a list: `{ limit?, cursor? }`.
#[napi(object)]
#[derive(Default)]
pub struct PageOptions {
    /// Page size (1–100, default 20).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageOptions {
    fn to_core(options: Option<PageOptions>) -> PageRequest {
        let options = options.unwrap_or_default();
        let limit = options.limit.unwrap_or(PageRequest::DEFAULT_LIMIT);
        match options.cursor {
            Some(cursor) => PageRequest::after(limit, cursor),
            None => PageRequest::first(limit),
        }
    }
}

/// How much demo data `seedDemo` creates (defaults: the CLI's).
#[napi(object)]
#[derive(Default)]
pub struct SeedDemoOptions {
    /// Customers in `acme`.
    pub customers: Option<u32>,
    /// Leads in `acme`.
    pub leads: Option<u32>,
    /// Deals in `acme`.
    pub deals: Option<u32>,
    /// Issues in `acme`.
    pub issues: Option<u32>,
    /// Orders in `acme`.
    pub orders: Option<u32>,
    /// Activities in `acme`.
    pub activities: Option<u32>,
    /// Random seed (same seed, same data).
    pub seed: Option<u32>,
}

/// The assistant, as `index.cjs` sees it.
#[napi]
pub struct NativeAgent {
    /// `None` once closed.
    agent: RwLock<Option<CrmAgent>>,
    /// The SDK's own SQL store (the whole store, or the bookkeeping beside a host store).
    sql: Arc<SqlStore>,
}

/// Opens an agent: the SQL database of `options.database`, in front of it a host store when
/// `hostMethods` and `hostDispatch` are given, a Gemini model and a policy.
#[napi]
pub async fn open_agent(
    options: OpenOptions,
    host_methods: Option<Vec<String>>,
    host_dispatch: Option<Dispatch>,
) -> napi::Result<NativeAgent> {
    // Everything that can fail on bad options fails before the database is touched.
    let model = options.model()?;
    let policy = Arc::new(options.policy()?);
    let agent_options = options.agent_options()?;
    let sql = Arc::new(napi_result(SqlStore::open(options.database()).await)?);
    let store: Arc<dyn Store> = match (host_methods, host_dispatch) {
        (Some(methods), Some(dispatch)) => {
            let host: Arc<dyn Store> = Arc::new(HostStore::new(JsBackend::new(Arc::new(dispatch), 0, methods)));
            with_bookkeeping(host, sql.clone())
        }
        (None, None) => sql.clone(),
        _ => return Err(errors::invalid("hostMethods and hostDispatch go together")),
    };
    let agent = CrmAgent::builder(store).policy(policy).model(Arc::new(model)).options(agent_options).build();
    Ok(NativeAgent::new(napi_result(agent)?, sql))
}

impl NativeAgent {
    /// Wraps an agent built elsewhere (the benchmark's).
    pub(crate) fn new(agent: CrmAgent, sql: Arc<SqlStore>) -> Self {
        NativeAgent { agent: RwLock::new(Some(agent)), sql }
    }

    /// The agent, unless closed.
    pub(crate) fn agent(&self) -> napi::Result<CrmAgent> {
        let guard = self.agent.read().unwrap_or_else(|p| p.into_inner());
        guard.clone().ok_or_else(|| errors::to_napi(crm_agent::Error::unavailable("the agent is closed")))
    }

    /// The agent, and the caller's context (JSON text) read under the agent's policy.
    pub(crate) fn acting(&self, ctx: &str) -> napi::Result<(CrmAgent, UserContext)> {
        let agent = self.agent()?;
        let ctx = context::parse(ctx, agent.registry().policy())?;
        Ok((agent, ctx))
    }
}

/// Serializes a result for JavaScript.
fn to_json<T: serde::Serialize>(value: &T) -> napi::Result<Value> {
    serde_json::to_value(value).map_err(|e| errors::to_napi(crm_agent::Error::Internal(e.to_string())))
}

#[napi]
impl NativeAgent {
    /// The tools `ctx` may use, as JSON text: `[{name, title, description, parameters,
    /// annotations}]` (one `JSON.parse` in JavaScript is much cheaper than building
    /// dozens of schemas property by property).
    #[napi]
    pub fn tools(&self, ctx: String) -> napi::Result<String> {
        let (agent, ctx) = self.acting(&ctx)?;
        // The same description as `GET /api/tools` and the Python binding.
        serde_json::to_string(&agent.describe_tools(&ctx))
            .map_err(|e| errors::to_napi(crm_agent::Error::Internal(e.to_string())))
    }

    /// Runs one tool as `ctx` (policy, validation, scope and audit as always; no confirmation:
    /// the host is acting, not the model). Answers the result's JSON text, or a promise of it.
    ///
    /// The call is first polled right here on the JS thread, inside the runtime's context. A
    /// tool without I/O, or whose store work is keyed SQLite reads and uncontended writes (they
    /// run on the calling thread, see `store/sql/sqlite.rs`), finishes there and answers at
    /// once, with no thread hop and no promise to set up. A call that has to wait (a list or
    /// count scanning on the blocking pool, a write queued behind another, PostgreSQL, a JS
    /// store) continues as a tokio task and answers a promise, so its waiting never blocks the
    /// JS thread. Polling every call to its end on the JS thread (woken through a threadsafe
    /// function) was measured too: no faster one call at a time, slower with calls in parallel.
    #[napi(ts_return_type = "string | Promise<string>")]
    pub fn call_tool(
        &self,
        env: Env,
        ctx: String,
        name: String,
        args: String,
    ) -> napi::Result<Either<String, AsyncBlock<String>>> {
        let (agent, ctx) = self.acting(&ctx)?;
        // Arguments and result cross as JSON text: cheaper than napi's value-by-value conversion.
        let args: Value = serde_json::from_str(&args).map_err(|e| errors::invalid(format!("the arguments: {e}")))?;
        let mut call = Box::pin(async move {
            let result = agent.call_tool(&ctx, &name, args).await?;
            serde_json::to_string(&result).map_err(|e| crm_agent::Error::Internal(e.to_string()))
        });
        match within_runtime_if_available(|| (&mut call).now_or_never()) {
            Some(result) => napi_result(result).map(Either::A),
            None => {
                AsyncBlockBuilder::new(async move { call.await.map_err(errors::to_napi) }).build(&env).map(Either::B)
            }
        }
    }

    /// Starts a chat turn; its events come from the returned stream.
    #[napi]
    pub fn chat(&self, ctx: String, message: String, conversation_id: Option<String>) -> napi::Result<NativeChat> {
        let (agent, ctx) = self.acting(&ctx)?;
        // The turn is spawned on the runtime; enter it from this (JS) thread.
        let stream =
            within_runtime_if_available(|| agent.chat(&ctx, message, conversation_id.map(ConversationId::from)));
        Ok(NativeChat::new(stream))
    }

    /// Confirms a pending action: it runs once, as `ctx`.
    #[napi]
    pub async fn confirm(&self, ctx: String, action_id: String) -> napi::Result<Value> {
        let (agent, ctx) = self.acting(&ctx)?;
        to_json(&napi_result(agent.confirm(&ctx, &ActionId::from(action_id)).await)?)
    }

    /// Rejects a pending action: it never runs.
    #[napi]
    pub async fn reject(&self, ctx: String, action_id: String) -> napi::Result<Value> {
        let (agent, ctx) = self.acting(&ctx)?;
        to_json(&napi_result(agent.reject(&ctx, &ActionId::from(action_id)).await)?)
    }

    /// `ctx`'s pending actions, newest first; `filter` is `{conversation_id?, status?}`.
    #[napi]
    pub async fn pending_actions(
        &self,
        ctx: String,
        filter: Option<Value>,
        page: Option<PageOptions>,
    ) -> napi::Result<Value> {
        let (agent, ctx) = self.acting(&ctx)?;
        let filter: PendingActionFilter = match filter {
            Some(filter) => serde_json::from_value(filter).map_err(|e| errors::invalid(e.to_string()))?,
            None => PendingActionFilter::default(),
        };
        let page = PageOptions::to_core(page);
        to_json(&napi_result(agent.pending_actions(&ctx, &filter, &page).await)?)
    }

    /// `ctx`'s conversations, newest first.
    #[napi]
    pub async fn conversations(&self, ctx: String, page: Option<PageOptions>) -> napi::Result<Value> {
        let (agent, ctx) = self.acting(&ctx)?;
        to_json(&napi_result(agent.conversations(&ctx, &PageOptions::to_core(page)).await)?)
    }

    /// One of `ctx`'s conversations with its latest `limit` messages (default 50), oldest first.
    #[napi]
    pub async fn conversation(&self, ctx: String, id: String, limit: Option<u32>) -> napi::Result<Value> {
        let (agent, ctx) = self.acting(&ctx)?;
        let detail = agent.conversation(&ctx, &ConversationId::from(id), limit.unwrap_or(50)).await;
        to_json(&napi_result(detail)?)
    }

    /// Renames one of `ctx`'s conversations.
    #[napi]
    pub async fn rename_conversation(&self, ctx: String, id: String, title: String) -> napi::Result<Value> {
        let (agent, ctx) = self.acting(&ctx)?;
        to_json(&napi_result(agent.rename_conversation(&ctx, &ConversationId::from(id), &title).await)?)
    }

    /// Deletes one of `ctx`'s conversations.
    #[napi]
    pub async fn delete_conversation(&self, ctx: String, id: String) -> napi::Result<()> {
        let (agent, ctx) = self.acting(&ctx)?;
        napi_result(agent.delete_conversation(&ctx, &ConversationId::from(id)).await)
    }

    /// The model, whether it is configured and reachable, who `ctx` is, how many tools.
    #[napi]
    pub async fn status(&self, ctx: String) -> napi::Result<Value> {
        let (agent, ctx) = self.acting(&ctx)?;
        to_json(&napi_result(agent.status(&ctx).await)?)
    }

    /// The context of `userId` from the store's members and roles (`organization`: an id or
    /// slug, needed when the user belongs to several).
    #[napi]
    pub async fn resolve_context(&self, user_id: String, organization: Option<String>) -> napi::Result<Context> {
        let agent = self.agent()?;
        let ctx = UserContext::resolve(agent.store().as_ref(), &user_id, organization.as_deref()).await;
        Ok(Context::from_core(napi_result(ctx)?))
    }

    /// The organization with `new.slug`, created with its defaults (pipeline, system roles)
    /// when there is none yet: how a host maps its own tenants onto crm-agent organizations.
    /// `new` is `{name, slug, industry?, website?, settings?}`.
    #[napi]
    pub async fn ensure_organization(&self, new: Value) -> napi::Result<Value> {
        let agent = self.agent()?;
        let new: NewOrganization = serde_json::from_value(new).map_err(|e| errors::invalid(e.to_string()))?;
        let policy = agent.registry().policy().clone();
        to_json(&napi_result(ensure_organization(agent.store().as_ref(), &policy, new).await)?)
    }

    /// Fills the SDK's SQL database with the deterministic demo organizations `acme` and
    /// `globex` (for examples and tests). Answers `{organizations, users}`.
    #[napi]
    pub async fn seed_demo(&self, options: Option<SeedDemoOptions>) -> napi::Result<Value> {
        self.agent()?;
        let given = options.unwrap_or_default();
        let defaults = SeedOptions::default();
        let size = |value: Option<u32>, default: usize| value.map_or(default, |v| v as usize);
        let options = SeedOptions {
            customers: size(given.customers, defaults.customers),
            leads: size(given.leads, defaults.leads),
            deals: size(given.deals, defaults.deals),
            issues: size(given.issues, defaults.issues),
            orders: size(given.orders, defaults.orders),
            activities: size(given.activities, defaults.activities),
            seed: given.seed.map_or(defaults.seed, u64::from),
            progress: None,
        };
        let report = napi_result(seed_demo(self.sql.as_ref(), &options).await)?;
        Ok(json!({
            "organizations": report.organizations,
            "users": report.users.iter().map(|u| json!({
                "user_id": u.user_id,
                "organization": u.organization,
                "role": u.role,
                "employee_role": u.employee_role,
            })).collect::<Vec<_>>(),
        }))
    }

    /// Waits for queued audit events, then closes the database. Later calls fail with
    /// `UNAVAILABLE`. Safe to call twice.
    #[napi]
    pub async fn close(&self) -> napi::Result<()> {
        let agent = self.agent.write().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(agent) = agent {
            agent.registry().flush_audit().await;
            drop(agent);
            self.sql.close().await;
        }
        Ok(())
    }
}
