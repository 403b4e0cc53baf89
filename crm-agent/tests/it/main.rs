//! The integration tests, as one test binary: sqlx, rusqlite, axum, rmcp and reqwest are linked
//! once instead of once per file. Every module uses `SqlStore` on SQLite; each states what else
//! it needs. PostgreSQL runs happen when `CRM_AGENT_TEST_POSTGRES` is set (and the `postgres`
//! feature is on).
#![cfg(feature = "sqlite")]

mod common;

#[cfg(feature = "gemini")]
mod agent;
mod aggregate;
mod auth;
mod bad_input;
#[cfg(feature = "cli")]
mod cli;
mod conformance;
#[cfg(feature = "mcp")]
mod connections;
mod gemini_fixtures;
mod history;
mod host_store;
#[cfg(all(feature = "http", feature = "gemini"))]
mod http;
#[cfg(all(feature = "cli", feature = "postgres"))]
mod instances;
mod isolation;
mod list_queries;
#[cfg(feature = "oauth")]
mod oauth;
mod policy;
mod seed;
mod tools;
