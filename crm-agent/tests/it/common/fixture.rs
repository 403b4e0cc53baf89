//! The one way tests build their world: a seeded store with every demo user resolved, the
//! tool registry, and on request an agent over the fake model ([`Fixture::builder`]).

use std::sync::Arc;
#[cfg(feature = "gemini")]
use std::time::Duration;

#[cfg(feature = "gemini")]
use crm_agent::CrmAgent;
#[cfg(feature = "gemini")]
use crm_agent::agent::AgentOptions;
use crm_agent::domain::*;
#[cfg(feature = "gemini")]
use crm_agent::model::gemini::RetryPolicy;
#[cfg(feature = "gemini")]
use crm_agent::model::{GeminiClient, GeminiConfig};
use crm_agent::seed::{SeedOptions, seed_demo};
use crm_agent::{Role, SqlStore, Store, ToolRegistry, UserContext};
#[cfg(feature = "gemini")]
use fake_gemini::{FakeGemini, Script};
use serde_json::Value;

pub struct Fixture {
    pub registry: ToolRegistry,
    pub store: Arc<SqlStore>,
    pub owner: UserContext,
    pub rep: UserContext,
    pub support: UserContext,
    pub customer: UserContext,
    pub globex: UserContext,
    /// An acme employee with no roles at all (only with [`FixtureBuilder::roleless_employee`];
    /// otherwise a context of that name with no employee record).
    pub nobody: UserContext,
    /// The fake model, when the fixture was built with [`FixtureBuilder::model`].
    #[cfg(feature = "gemini")]
    pub fake: Option<FakeGemini>,
    /// An agent over the fake model, when the fixture was built with [`FixtureBuilder::model`].
    #[cfg(feature = "gemini")]
    pub agent: Option<CrmAgent>,
    pub dir: tempfile::TempDir,
}

/// Builds a [`Fixture`]: a seeded SQLite store, the demo users resolved, and on request an
/// agent over the fake model. Every test that needs such a world starts here.
pub struct FixtureBuilder {
    seed: SeedOptions,
    roleless_employee: bool,
    #[cfg(feature = "gemini")]
    script: Option<Value>,
    #[cfg(feature = "gemini")]
    retry: RetryPolicy,
    #[cfg(feature = "gemini")]
    options: AgentOptions,
}

impl FixtureBuilder {
    /// How much demo data to seed.
    pub fn seed(mut self, seed: SeedOptions) -> Self {
        self.seed = seed;
        self
    }

    /// Also creates the acme employee with no roles ([`Fixture::nobody`]).
    pub fn roleless_employee(mut self) -> Self {
        self.roleless_employee = true;
        self
    }

    /// Starts the fake model with this script and builds an agent over it.
    #[cfg(feature = "gemini")]
    pub fn model(mut self, script: Value) -> Self {
        self.script = Some(script);
        self
    }

    /// How the agent's Gemini client retries (default: three quick attempts).
    #[cfg(feature = "gemini")]
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The agent's options.
    #[cfg(feature = "gemini")]
    pub fn agent_options(mut self, options: AgentOptions) -> Self {
        self.options = options;
        self
    }

    pub async fn build(self) -> Fixture {
        let (store, dir) = super::sqlite_store().await;
        seed_demo(&store, &self.seed).await.unwrap();
        let store = Arc::new(store);
        let user = |id: &'static str| {
            let store = store.clone();
            async move { UserContext::resolve(&*store, id, None).await.unwrap() }
        };
        let owner = user("acme-owner").await;
        let mut nobody = UserContext::new("acme-nobody", owner.organization_id.clone(), Role::Employee);
        if self.roleless_employee {
            let employee = store
                .create_employee(&owner.scope().unwrap(), NewEmployee::named("No", "Roles", "no.roles@acme.example"))
                .await
                .unwrap();
            nobody.employee_id = Some(employee.id);
        }
        #[cfg(feature = "gemini")]
        let (fake, agent) = match self.script {
            Some(script) => {
                let fake = FakeGemini::start(Script::from_json(&script.to_string()).unwrap()).await.unwrap();
                let model = Arc::new(GeminiClient::new(gemini_config(&fake).with_retry(self.retry)).unwrap());
                let agent = CrmAgent::builder(store.clone()).model(model).options(self.options).build().unwrap();
                (Some(fake), Some(agent))
            }
            None => (None, None),
        };
        Fixture {
            registry: ToolRegistry::new(store.clone()),
            rep: user("acme-rep").await,
            support: user("acme-support").await,
            customer: user("acme-customer").await,
            globex: user("globex-owner").await,
            owner,
            nobody,
            #[cfg(feature = "gemini")]
            fake,
            #[cfg(feature = "gemini")]
            agent,
            store,
            dir,
        }
    }
}

#[cfg(feature = "gemini")]
/// The Gemini client's settings for the fake model: its URL, a test key and model name, and
/// [`quick_retry`].
pub fn gemini_config(fake: &FakeGemini) -> GeminiConfig {
    GeminiConfig::new("test-key").with_base_url(fake.base_url()).with_model("gemini-test").with_retry(quick_retry())
}

#[cfg(feature = "gemini")]
/// Three attempts with short pauses, so retry tests stay fast.
pub fn quick_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        max_retry_delay: Duration::from_secs(2),
    }
}

impl Fixture {
    /// A fixture builder: the demo's default seed sizes until [`FixtureBuilder::seed`].
    pub fn builder() -> FixtureBuilder {
        FixtureBuilder {
            seed: SeedOptions::default(),
            roleless_employee: false,
            #[cfg(feature = "gemini")]
            script: None,
            #[cfg(feature = "gemini")]
            retry: quick_retry(),
            #[cfg(feature = "gemini")]
            options: AgentOptions::default(),
        }
    }
}

/// The smallest seed that still has every kind of record.
pub fn tiny_seed() -> SeedOptions {
    SeedOptions { customers: 5, leads: 2, deals: 2, issues: 1, orders: 1, activities: 1, ..SeedOptions::default() }
}

/// The tool tests' world: a mid-sized seed, and an employee with no roles.
pub async fn fixture() -> Fixture {
    Fixture::builder()
        .seed(SeedOptions {
            customers: 20,
            leads: 20,
            deals: 20,
            issues: 10,
            orders: 8,
            activities: 8,
            ..SeedOptions::default()
        })
        .roleless_employee()
        .build()
        .await
}

impl Fixture {
    pub async fn call(&self, ctx: &UserContext, tool: &str, args: Value) -> crm_agent::Result<Value> {
        self.registry.call(ctx, tool, args).await
    }

    /// The first id of a list tool's result, as `ctx` sees it.
    pub async fn first_id(&self, ctx: &UserContext, list_tool: &str, args: Value) -> String {
        let page = self.call(ctx, list_tool, args).await.unwrap();
        page["items"][0]["id"].as_str().unwrap_or_else(|| panic!("{list_tool} returned no items: {page}")).to_owned()
    }
}
