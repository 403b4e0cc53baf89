//! # crm-agent
//!
//! An embeddable SDK that gives an existing CRM backend an AI assistant that is safe to put in
//! front of real customers' data: typed CRM entities, a pluggable [`Store`] with hard tenant
//! isolation, SQLite and PostgreSQL stores, and (in later layers) a policy engine, the tool
//! catalogue, a Gemini agent loop and an MCP server.
//!
//! The pieces, bottom up:
//! - [`domain`]: plain data for every entity, validated on input.
//! - [`UserContext`] / [`Scope`]: who is calling, and what the store may show them.
//! - [`Store`]: persistence only, always scoped; [`SqlStore`] implements it on SQLite (rusqlite) and PostgreSQL (sqlx).
//! - [`seed`]: deterministic demo data (`crm-agent seed`).
//!
//! ```no_run
//! # async fn demo() -> crm_agent::Result<()> {
//! use crm_agent::{domain::*, SqlStore, Store, UserContext};
//!
//! let store = SqlStore::open("sqlite://crm.db").await?;
//! crm_agent::seed::seed_demo(&store, &crm_agent::seed::SeedOptions::default()).await?;
//! let ctx = UserContext::resolve(&store, "acme-owner", None).await?;
//! let page = store
//!     .list_customers(&ctx.scope()?, &CustomerFilter::default(), &PageRequest::first(20))
//!     .await?;
//! println!("{} customers", page.total);
//! # Ok(()) }
//! ```

pub mod actions;
pub mod agent;
pub mod auth;
pub mod context;
pub mod domain;
pub mod error;
pub mod http;
pub mod mcp;
pub mod model;
pub mod policy;
pub mod provision;
pub mod seed;
pub mod store;
pub mod tools;

pub use agent::{AgentOptions, ChatEvent, ChatStream, CrmAgent, sse_encode};
pub use context::{Role, UserContext};
pub use error::{Error, ErrorKind, Result};
pub use policy::Policy;
pub use store::sql::{Dialect, SqlStoreOptions};
pub use store::{Scope, SqlStore, Store, StoreOp};
pub use tools::{Tool, ToolRegistry};
