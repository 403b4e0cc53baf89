//! A seeded store and registry with every demo user, shared by the tool tests.

use std::sync::Arc;

use crm_agent::domain::*;
use crm_agent::seed::{SeedOptions, seed_demo};
use crm_agent::{Role, SqlStore, Store, ToolRegistry, UserContext};
use serde_json::Value;

pub struct Fixture {
    pub registry: ToolRegistry,
    pub store: Arc<SqlStore>,
    pub owner: UserContext,
    pub rep: UserContext,
    pub support: UserContext,
    pub customer: UserContext,
    pub globex: UserContext,
    /// An acme employee with no roles at all.
    pub nobody: UserContext,
    _dir: tempfile::TempDir,
}

pub async fn fixture() -> Fixture {
    let (store, dir) = super::sqlite_store().await;
    let options = SeedOptions {
        customers: 20,
        leads: 20,
        deals: 20,
        issues: 10,
        orders: 8,
        activities: 8,
        ..SeedOptions::default()
    };
    seed_demo(&store, &options).await.unwrap();
    let store = Arc::new(store);
    let owner = UserContext::resolve(&*store, "acme-owner", None).await.unwrap();
    let nobody_employee = store
        .create_employee(&owner.scope().unwrap(), NewEmployee::named("No", "Roles", "no.roles@acme.example"))
        .await
        .unwrap();
    let mut nobody = UserContext::new("acme-nobody", owner.organization_id.clone(), Role::Employee);
    nobody.employee_id = Some(nobody_employee.id);
    Fixture {
        registry: ToolRegistry::new(store.clone()),
        rep: UserContext::resolve(&*store, "acme-rep", None).await.unwrap(),
        support: UserContext::resolve(&*store, "acme-support", None).await.unwrap(),
        customer: UserContext::resolve(&*store, "acme-customer", None).await.unwrap(),
        globex: UserContext::resolve(&*store, "globex-owner", None).await.unwrap(),
        owner,
        nobody,
        store,
        _dir: dir,
    }
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
