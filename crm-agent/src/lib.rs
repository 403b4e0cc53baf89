//! # crm-agent
//!
//! An AI assistant for an existing CRM backend, safe to put in front of real customers' data:
//! a Gemini chat loop that calls 60-odd CRM tools (customers, leads, deals, issues, orders,
//! employees, activities, analytics, roles) for the user who is asking, under a policy with hard
//! tenant isolation, through one audited call path; an MCP server for the same tools; and
//! stores on SQLite, PostgreSQL or the host's own tables.
//!
//! ## Quick start
//!
//! ```
//! # #[cfg(all(feature = "sqlite", feature = "gemini"))]
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> crm_agent::Result<()> {
//! use std::sync::Arc;
//!
//! use crm_agent::domain::NewOrganization;
//! use crm_agent::{ChatEvent, CrmAgent, Policy, Role, SqlStore, UserContext};
//! use futures::StreamExt;
//! use serde_json::json;
//!
//! // crm-agent's database (here in memory): organizations, conversations, the audit log and,
//! // unless a store of the host keeps them, the CRM records.
//! let store = Arc::new(SqlStore::open("sqlite::memory:").await?);
//! let acme = NewOrganization::named("Acme Corp", "acme");
//! let acme = crm_agent::provision::ensure_organization(store.as_ref(), &Policy::builtin(), acme).await?;
//!
//! // Gemini settings come from GEMINI_API_KEY, GEMINI_MODEL and GEMINI_BASE_URL.
//! let agent = CrmAgent::builder(store).build()?;
//!
//! // Who is asking: built from the host's own session.
//! let ctx = UserContext::new("user-42", acme.id, Role::Owner);
//!
//! // Any tool, directly: permission, validation, tenant scope and audit, as for the model.
//! let created = agent.call_tool(&ctx, "create_customer", json!({"name": "Initech"})).await?;
//! let customers = agent.call_tool(&ctx, "list_customers", json!({})).await?;
//! assert_eq!((created["name"].as_str(), customers["total"].as_u64()), (Some("Initech"), Some(1)));
//!
//! // A chat turn, streamed. Without an API key it ends with an error event saying so.
//! let mut events = agent.chat(&ctx, "How many customers do we have?", None);
//! while let Some(event) = events.next().await {
//!     match event {
//!         ChatEvent::Text { delta } => print!("{delta}"),
//!         ChatEvent::Error { message, .. } => println!("the turn failed: {message}"),
//!         other => println!("{}", other.to_sse()),
//!     }
//! }
//! agent.registry().flush_audit().await; // audit events are written in the background
//! # Ok(()) }
//! # #[cfg(not(all(feature = "sqlite", feature = "gemini")))]
//! # fn main() {}
//! ```
//!
//! `docs/` in the repository has the rest: the assistant's events and confirmations, the tool
//! catalogue, policies, MCP, the HTTP service, and the Python and Node bindings.
//!
//! ## The pieces, bottom up
//!
//! - [`domain`]: plain data for every entity, validated on input.
//! - [`UserContext`] / [`Scope`]: who is calling, and what a store may show them.
//! - [`Store`]: persistence only, always scoped. `SqlStore` implements it on SQLite and
//!   PostgreSQL; [`store::host`] forwards it to stores written in other languages.
//! - [`Policy`]: permissions of owners, employees (through roles) and customers.
//! - [`ToolRegistry`]: the tool catalogue, and [`ToolRegistry::call`], the one path every tool
//!   call takes (authorize, validate, scope, run, audit).
//! - [`CrmAgent`]: the chat loop over a [`model::Model`], confirmations of writes, conversations.
//! - `mcp` and `http`: the MCP server and the HTTP service of `crm-agent serve`.
//!
//! ## Crate features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `sqlite` | yes | `SqlStore` on SQLite (bundled, through rusqlite): the embedded store |
//! | `gemini` | yes | `model::GeminiClient` (reqwest with rustls), the default model of [`CrmAgent`] |
//! | `postgres` | | `SqlStore` on PostgreSQL (sqlx) |
//! | `mcp` | | `mcp`: the MCP server on stdio, and as an axum router for Streamable HTTP (rmcp, axum) |
//! | `oauth` | | `auth::oauth`: OAuth 2.1 access tokens on `/mcp` and `/api` (JWTs checked against the issuer's keys with jsonwebtoken, opaque ones by introspection; implies `mcp`) |
//! | `http` | | `http`: the HTTP service of `crm-agent serve` and its web chat page (implies `mcp`) |
//! | `demo` | | `seed`: the deterministic demo organizations |
//! | `cli` | | the `crm-agent` binary (clap, indicatif, tracing-subscriber; implies all of the above) |
//! | `cli-sqlite` | | the `crm-agent` binary without PostgreSQL (all of the above but `postgres`) |
//! | `conformance` | | `conformance`: the suite every [`Store`] must pass, for host stores |
//!
//! `--no-default-features --features sqlite` builds the store, policy, tools and agent loop
//! with neither an HTTP client nor a server; the host then passes a model of its own to
//! [`CrmAgentBuilder::model`](agent::CrmAgentBuilder::model).

mod actions;
pub mod agent;
pub mod auth;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
pub mod context;
pub mod domain;
pub mod error;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "mcp")]
mod limits;
#[cfg(feature = "mcp")]
pub mod mcp;
pub mod model;
pub mod policy;
pub mod provision;
#[cfg(feature = "demo")]
pub mod seed;
pub mod store;
#[cfg(any(feature = "gemini", feature = "oauth"))]
mod tls;
pub mod tools;

pub use agent::{AgentOptions, ChatEvent, ChatStream, CrmAgent, sse_encode};
pub use context::{Role, UserContext};
pub use error::{Error, ErrorKind, Result};
pub use policy::Policy;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use store::sql::{Dialect, SqlStore, SqlStoreOptions};
pub use store::{Scope, Store, StoreOp};
pub use tools::{Tool, ToolRegistry};

/// The Rust examples in `docs/` compile as doctests (`cargo test --doc`, from the repository:
/// the published crate does not carry `docs/`).
#[cfg(all(doctest, feature = "sqlite", feature = "gemini"))]
#[doc = include_str!("../../docs/assistant.md")]
struct AssistantDocs;

#[cfg(all(doctest, feature = "mcp"))]
#[doc = include_str!("../../docs/mcp.md")]
struct McpDocs;

#[cfg(doctest)]
#[doc = include_str!("../../docs/policy.md")]
struct PolicyDocs;
