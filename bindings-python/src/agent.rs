//! `crm_agent.Agent`: the core's `CrmAgent` for Python, every operation in a blocking form
//! (GIL released, Ctrl-C honoured) and an `_async` form (an awaitable on the running loop).

use std::future::Future;
use std::sync::{Arc, Mutex, Weak};

use crm_agent::agent::AgentOptions;
use crm_agent::domain::{ActionId, ConfirmationMode, ConversationId, NewOrganization, PageRequest};
use crm_agent::model::{GeminiClient, GeminiConfig};
use crm_agent::tools::Toolset;
use crm_agent::{CrmAgent, Error, Policy, SqlStore, SqlStoreOptions, Store, UserContext};
use pyo3::prelude::*;
use serde::Serialize;
use serde_json::Value;

use crate::context::PyUserContext;
use crate::convert::{from_py, to_py};
use crate::errors::IntoPyResult;
use crate::runtime::{awaitable, closed, runtime, wait};
use crate::store::PythonStore;
use crate::stream::PyChatStream;

/// Everything needed to build the agent again (in a `fork()`ed child).
struct AgentConfig {
    database: String,
    database_schema: Option<String>,
    store: Option<PythonStore>,
    gemini: GeminiConfig,
    options: AgentOptions,
    policy: Arc<Policy>,
}

impl AgentConfig {
    async fn build(&self) -> crm_agent::Result<CrmAgent> {
        let mut options = SqlStoreOptions::new(&self.database);
        if let Some(schema) = &self.database_schema {
            options = options.schema(schema);
        }
        let own = SqlStore::connect_with(options).await?;
        own.migrate().await?;
        let store: Arc<dyn Store> = match &self.store {
            Some(python) => python.in_front_of(own),
            None => Arc::new(own),
        };
        CrmAgent::builder(store)
            .policy(self.policy.clone())
            .model(Arc::new(GeminiClient::new(self.gemini.clone())?))
            .options(self.options.clone())
            .build()
    }
}

/// The agent as built in one process.
struct Built {
    pid: u32,
    agent: CrmAgent,
}

/// A JSON result on its way to Python.
struct Json(Value);

impl<'py> IntoPyObject<'py> for Json {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.0)
    }
}

fn json<T: Serialize>(value: T) -> crm_agent::Result<Value> {
    serde_json::to_value(value).map_err(|e| Error::Internal(e.to_string()))
}

/// The assistant: tools, chat, confirmations and conversations for the host's users.
#[pyclass(frozen, module = "crm_agent._native", name = "Agent")]
pub(crate) struct PyAgent {
    config: Arc<AgentConfig>,
    built: Arc<Mutex<Option<Built>>>,
}

/// Every agent of the process, for [`_before_fork`] and the exit hook.
static AGENTS: Mutex<Vec<Weak<Mutex<Option<Built>>>>> = Mutex::new(Vec::new());

/// Called by `os.register_at_fork(before=...)`: writes out the audit events still queued in
/// this process, so no agent is in the middle of a database write when the process forks.
/// (SQLite keeps its lock bookkeeping in process memory; a child forked during a write
/// inherits a lock that nobody in it holds. Forking while calls are running from other
/// threads stays unsafe for SQLite files, as SQLite itself documents.)
#[pyfunction]
pub(crate) fn _before_fork(py: Python<'_>) -> PyResult<()> {
    flush_live_agents(py, None)
}

/// Writes out the audit events every live agent of this process still has queued, waiting at
/// most `limit` (a database that is down must not hold a process's exit forever).
pub(crate) fn flush_live_agents(py: Python<'_>, limit: Option<std::time::Duration>) -> PyResult<()> {
    let pid = std::process::id();
    let agents: Vec<CrmAgent> = {
        let mut live = AGENTS.lock().unwrap_or_else(|p| p.into_inner());
        live.retain(|weak| weak.strong_count() > 0);
        live.iter()
            .filter_map(Weak::upgrade)
            .filter_map(|slot| match &*slot.lock().unwrap_or_else(|p| p.into_inner()) {
                Some(built) if built.pid == pid => Some(built.agent.clone()),
                _ => None,
            })
            .collect()
    };
    if agents.is_empty() {
        return Ok(());
    }
    let flush = async move {
        for agent in agents {
            agent.registry().flush_audit().await;
        }
    };
    wait(py, async move {
        match limit {
            Some(limit) => {
                let _unwritten = tokio::time::timeout(limit, flush).await;
            }
            None => flush.await,
        }
        Ok::<_, PyErr>(())
    })
}

impl PyAgent {
    /// The agent of this process: built again after a `fork()` (the parent's connections and
    /// runtime threads do not exist in the child).
    fn agent(&self, py: Python<'_>) -> PyResult<CrmAgent> {
        let pid = std::process::id();
        {
            let built = self.built.lock().unwrap_or_else(|p| p.into_inner());
            match &*built {
                Some(b) if b.pid == pid => return Ok(b.agent.clone()),
                None => return Err(closed("this Agent")),
                Some(_) => {}
            }
        }
        let config = self.config.clone();
        let agent = wait(py, async move { config.build().await })?;
        *self.built.lock().unwrap_or_else(|p| p.into_inner()) = Some(Built { pid, agent: agent.clone() });
        Ok(agent)
    }

    fn ctx(&self, ctx: &PyUserContext) -> PyResult<Arc<UserContext>> {
        ctx.resolve(&self.config.policy).py()
    }

    /// Runs `op` and waits for it.
    fn run<F, Fut>(&self, py: Python<'_>, op: F) -> PyResult<Py<PyAny>>
    where
        F: FnOnce(CrmAgent) -> Fut,
        Fut: Future<Output = crm_agent::Result<Value>> + Send,
    {
        let future = op(self.agent(py)?);
        let value = wait(py, future)?;
        Ok(to_py(py, &value)?.unbind())
    }

    /// Starts `op` and answers an awaitable of its result.
    fn spawn<'py, F, Fut>(&self, py: Python<'py>, op: F) -> PyResult<Bound<'py, PyAny>>
    where
        F: FnOnce(CrmAgent) -> Fut,
        Fut: Future<Output = crm_agent::Result<Value>> + Send + 'static,
    {
        let future = op(self.agent(py)?);
        awaitable(py, async move { future.await.map(Json) })
    }
}

fn args_json(args: Option<&Bound<'_, PyAny>>) -> PyResult<Value> {
    match args {
        None => Ok(Value::Object(Default::default())),
        Some(args) => from_py(args),
    }
}

fn page(limit: u32, cursor: Option<String>) -> PageRequest {
    match cursor {
        Some(cursor) => PageRequest::after(limit, cursor),
        None => PageRequest::first(limit),
    }
}

#[pymethods]
impl PyAgent {
    /// Opens the agent. `database` is the SDK's own database (`sqlite:///path.db`,
    /// `sqlite::memory:` — the default — or `postgresql://…`), migrated on open. With `store`
    /// (a `crm_agent.Store`), CRM records come from the host's store and the database keeps
    /// only tenants and the assistant's records. Gemini settings default to `GEMINI_API_KEY`,
    /// `GEMINI_BASE_URL` and `GEMINI_MODEL`. `database_schema` keeps crm-agent's tables in
    /// their own PostgreSQL schema (created when missing).
    #[new]
    #[pyo3(signature = (database=None, store=None, gemini_api_key=None, gemini_base_url=None, model=None, policy=None, *, database_schema=None, confirmation=None, max_steps=None, toolsets=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        database: Option<String>,
        store: Option<Bound<'_, PyAny>>,
        gemini_api_key: Option<String>,
        gemini_base_url: Option<String>,
        model: Option<String>,
        policy: Option<String>,
        database_schema: Option<String>,
        confirmation: Option<String>,
        max_steps: Option<u32>,
        toolsets: Option<Vec<String>>,
    ) -> PyResult<Self> {
        let mut gemini = GeminiConfig::from_env();
        if let Some(key) = gemini_api_key {
            gemini.api_key = Some(key);
        }
        if let Some(url) = gemini_base_url {
            gemini = gemini.with_base_url(url);
        }
        if let Some(model) = model {
            gemini = gemini.with_model(model);
        }
        let policy = match policy {
            Some(toml) => Policy::from_toml(&toml).py()?,
            None => Policy::builtin(),
        };
        let mut options = AgentOptions::default();
        if let Some(mode) = confirmation {
            options.confirmation =
                Some(serde_json::from_value::<ConfirmationMode>(Value::String(mode)).map_err(Error::from).py()?);
        }
        if let Some(steps) = max_steps {
            options.max_steps = steps;
        }
        if let Some(sets) = toolsets {
            let sets = sets
                .into_iter()
                .map(|s| serde_json::from_value::<Toolset>(Value::String(s)).map_err(Error::from))
                .collect::<crm_agent::Result<Vec<_>>>()
                .py()?;
            options.toolsets = Some(sets);
        }
        let store = store.map(|s| PythonStore::new(&s)).transpose()?;
        let config = Arc::new(AgentConfig {
            database: database.unwrap_or_else(|| "sqlite::memory:".to_owned()),
            database_schema,
            store,
            gemini,
            options,
            policy: Arc::new(policy),
        });
        let build = config.clone();
        let agent = wait(py, async move { build.build().await })?;
        let built = Arc::new(Mutex::new(Some(Built { pid: std::process::id(), agent })));
        AGENTS.lock().unwrap_or_else(|p| p.into_inner()).push(Arc::downgrade(&built));
        Ok(PyAgent { config, built })
    }

    /// The tools `ctx` may use: name, title, description, `parameters` (JSON Schema) and
    /// annotations.
    fn tools(&self, py: Python<'_>, ctx: &PyUserContext) -> PyResult<Py<PyAny>> {
        let (agent, ctx) = (self.agent(py)?, self.ctx(ctx)?);
        Ok(to_py(py, &Value::Array(agent.describe_tools(&ctx)))?.unbind())
    }

    /// Runs one tool as `ctx` (authorized, validated, scoped and audited like every call).
    #[pyo3(signature = (ctx, name, args=None))]
    fn call_tool(
        &self,
        py: Python<'_>,
        ctx: &PyUserContext,
        name: String,
        args: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Py<PyAny>> {
        let (ctx, args) = (self.ctx(ctx)?, args_json(args)?);
        self.run(py, move |agent| async move { agent.call_tool(&ctx, &name, args).await })
    }

    /// `call_tool`, awaitable.
    #[pyo3(signature = (ctx, name, args=None))]
    fn call_tool_async<'py>(
        &self,
        py: Python<'py>,
        ctx: &PyUserContext,
        name: String,
        args: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (ctx, args) = (self.ctx(ctx)?, args_json(args)?);
        self.spawn(py, move |agent| async move { agent.call_tool(&ctx, &name, args).await })
    }

    /// Sends `message` as `ctx` (into `conversation_id`, or a new conversation) and streams the
    /// turn's events; iterate with `for` or `async for`.
    #[pyo3(signature = (ctx, message, conversation_id=None))]
    fn chat(
        &self,
        py: Python<'_>,
        ctx: &PyUserContext,
        message: String,
        conversation_id: Option<String>,
    ) -> PyResult<PyChatStream> {
        let (agent, ctx) = (self.agent(py)?, self.ctx(ctx)?);
        let runtime = runtime();
        let _inside = runtime.enter();
        Ok(PyChatStream::new(agent.chat(&ctx, message, conversation_id.map(ConversationId::from))))
    }

    /// Confirms one of `ctx`'s pending actions: the write runs once; answers the action and
    /// the tool's result.
    fn confirm(&self, py: Python<'_>, ctx: &PyUserContext, action_id: String) -> PyResult<Py<PyAny>> {
        let ctx = self.ctx(ctx)?;
        self.run(py, move |agent| async move { json(agent.confirm(&ctx, &ActionId::from(action_id)).await?) })
    }

    /// `confirm`, awaitable.
    fn confirm_async<'py>(
        &self,
        py: Python<'py>,
        ctx: &PyUserContext,
        action_id: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let ctx = self.ctx(ctx)?;
        self.spawn(py, move |agent| async move { json(agent.confirm(&ctx, &ActionId::from(action_id)).await?) })
    }

    /// Rejects one of `ctx`'s pending actions; nothing is written.
    fn reject(&self, py: Python<'_>, ctx: &PyUserContext, action_id: String) -> PyResult<Py<PyAny>> {
        let ctx = self.ctx(ctx)?;
        self.run(py, move |agent| async move { json(agent.reject(&ctx, &ActionId::from(action_id)).await?) })
    }

    /// `reject`, awaitable.
    fn reject_async<'py>(
        &self,
        py: Python<'py>,
        ctx: &PyUserContext,
        action_id: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let ctx = self.ctx(ctx)?;
        self.spawn(py, move |agent| async move { json(agent.reject(&ctx, &ActionId::from(action_id)).await?) })
    }

    /// `ctx`'s conversations, newest first: `{"items", "total", "next_cursor"}`.
    #[pyo3(signature = (ctx, limit=20, cursor=None))]
    fn conversations(
        &self,
        py: Python<'_>,
        ctx: &PyUserContext,
        limit: u32,
        cursor: Option<String>,
    ) -> PyResult<Py<PyAny>> {
        let ctx = self.ctx(ctx)?;
        self.run(py, move |agent| async move { json(agent.conversations(&ctx, &page(limit, cursor)).await?) })
    }

    /// `conversations`, awaitable.
    #[pyo3(signature = (ctx, limit=20, cursor=None))]
    fn conversations_async<'py>(
        &self,
        py: Python<'py>,
        ctx: &PyUserContext,
        limit: u32,
        cursor: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let ctx = self.ctx(ctx)?;
        self.spawn(py, move |agent| async move { json(agent.conversations(&ctx, &page(limit, cursor)).await?) })
    }

    /// One of `ctx`'s conversations with its latest `limit` messages, oldest first.
    #[pyo3(signature = (ctx, conversation_id, limit=50))]
    fn conversation(
        &self,
        py: Python<'_>,
        ctx: &PyUserContext,
        conversation_id: String,
        limit: u32,
    ) -> PyResult<Py<PyAny>> {
        let ctx = self.ctx(ctx)?;
        self.run(py, move |agent| async move {
            json(agent.conversation(&ctx, &ConversationId::from(conversation_id), limit).await?)
        })
    }

    /// `conversation`, awaitable.
    #[pyo3(signature = (ctx, conversation_id, limit=50))]
    fn conversation_async<'py>(
        &self,
        py: Python<'py>,
        ctx: &PyUserContext,
        conversation_id: String,
        limit: u32,
    ) -> PyResult<Bound<'py, PyAny>> {
        let ctx = self.ctx(ctx)?;
        self.spawn(py, move |agent| async move {
            json(agent.conversation(&ctx, &ConversationId::from(conversation_id), limit).await?)
        })
    }

    /// Renames one of `ctx`'s conversations.
    fn rename_conversation(
        &self,
        py: Python<'_>,
        ctx: &PyUserContext,
        conversation_id: String,
        title: String,
    ) -> PyResult<Py<PyAny>> {
        let ctx = self.ctx(ctx)?;
        self.run(py, move |agent| async move {
            json(agent.rename_conversation(&ctx, &ConversationId::from(conversation_id), &title).await?)
        })
    }

    /// `rename_conversation`, awaitable.
    fn rename_conversation_async<'py>(
        &self,
        py: Python<'py>,
        ctx: &PyUserContext,
        conversation_id: String,
        title: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let ctx = self.ctx(ctx)?;
        self.spawn(py, move |agent| async move {
            json(agent.rename_conversation(&ctx, &ConversationId::from(conversation_id), &title).await?)
        })
    }

    /// Deletes one of `ctx`'s conversations (decided actions are kept, unlinked).
    fn delete_conversation(&self, py: Python<'_>, ctx: &PyUserContext, conversation_id: String) -> PyResult<()> {
        let ctx = self.ctx(ctx)?;
        self.run(py, move |agent| async move {
            agent.delete_conversation(&ctx, &ConversationId::from(conversation_id)).await.map(|()| Value::Null)
        })
        .map(drop)
    }

    /// `delete_conversation`, awaitable.
    fn delete_conversation_async<'py>(
        &self,
        py: Python<'py>,
        ctx: &PyUserContext,
        conversation_id: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let ctx = self.ctx(ctx)?;
        self.spawn(py, move |agent| async move {
            agent.delete_conversation(&ctx, &ConversationId::from(conversation_id)).await.map(|()| Value::Null)
        })
    }

    /// The model, whether chat is available, who `ctx` is and how many tools they have.
    fn status(&self, py: Python<'_>, ctx: &PyUserContext) -> PyResult<Py<PyAny>> {
        let ctx = self.ctx(ctx)?;
        self.run(py, move |agent| async move { json(agent.status(&ctx).await?) })
    }

    /// `status`, awaitable.
    fn status_async<'py>(&self, py: Python<'py>, ctx: &PyUserContext) -> PyResult<Bound<'py, PyAny>> {
        let ctx = self.ctx(ctx)?;
        self.spawn(py, move |agent| async move { json(agent.status(&ctx).await?) })
    }

    /// The organization with `slug`, created with its defaults when missing: how a host maps
    /// its own tenants onto crm-agent organizations. Answers the organization (use its `id`
    /// in `UserContext`).
    #[pyo3(signature = (slug, name=None))]
    fn ensure_organization(&self, py: Python<'_>, slug: String, name: Option<String>) -> PyResult<Py<PyAny>> {
        let policy = self.config.policy.clone();
        self.run(py, move |agent| async move {
            let new = NewOrganization::named(name.unwrap_or_else(|| slug.clone()), slug);
            json(crm_agent::provision::ensure_organization(agent.store().as_ref(), &policy, new).await?)
        })
    }

    /// The context of `user_id` from the store's members and roles (for hosts that keep their
    /// users in crm-agent's tables, e.g. the demo data).
    #[pyo3(signature = (user_id, organization=None))]
    fn context(&self, py: Python<'_>, user_id: String, organization: Option<String>) -> PyResult<PyUserContext> {
        let agent = self.agent(py)?;
        let ctx =
            wait(
                py,
                async move { UserContext::resolve(agent.store().as_ref(), &user_id, organization.as_deref()).await },
            )?;
        Ok(PyUserContext::from_core(&ctx))
    }

    /// Fills the database with the deterministic demo data (organizations, people, records).
    fn seed_demo(&self, py: Python<'_>) -> PyResult<()> {
        self.run(py, move |agent| async move {
            let options = crm_agent::seed::SeedOptions::default();
            crm_agent::seed::seed_demo(agent.store().as_ref(), &options).await.map(|_| Value::Null)
        })
        .map(drop)
    }

    /// For the benchmark (`bindings-python/bench`): `iterations` calls of `name` made in Rust,
    /// one after another, with no Python in between; answers the mean seconds per call, the
    /// baseline the binding's overhead is measured against.
    #[cfg(feature = "bench")]
    fn _time_call_tool_in_rust(
        &self,
        py: Python<'_>,
        ctx: &PyUserContext,
        name: String,
        args: &Bound<'_, PyAny>,
        iterations: u32,
    ) -> PyResult<f64> {
        let (agent, ctx, args) = (self.agent(py)?, self.ctx(ctx)?, from_py(args)?);
        wait(py, async move {
            let started = std::time::Instant::now();
            for _ in 0..iterations {
                agent.call_tool(&ctx, &name, args.clone()).await?;
            }
            Ok::<_, Error>(started.elapsed().as_secs_f64() / f64::from(iterations.max(1)))
        })
    }

    /// For the benchmark: one chat turn consumed in Rust; answers (events, seconds).
    #[cfg(feature = "bench")]
    fn _time_chat_in_rust(&self, py: Python<'_>, ctx: &PyUserContext, message: String) -> PyResult<(usize, f64)> {
        let (agent, ctx) = (self.agent(py)?, self.ctx(ctx)?);
        wait(py, async move {
            let started = std::time::Instant::now();
            let events = futures::StreamExt::count(agent.chat(&ctx, message, None)).await;
            Ok::<_, PyErr>((events, started.elapsed().as_secs_f64()))
        })
    }

    /// Releases the database connections; later calls raise.
    fn close(&self) {
        self.built.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}
