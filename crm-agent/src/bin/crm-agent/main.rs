//! The `crm-agent` command line: its commands and their flags, each command run by its own module.

#[macro_use]
mod output;

mod args;
mod call;
mod chat;
mod confirm;
mod list;
mod mcp;
mod net;
mod seed;
mod serve;
mod token;
mod tools;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::args::{ActAs, ConnectionArgs, DEFAULT_DB, McpExposure, ModelArgs};
use crate::list::Entity;
use crate::serve::DemoMode;
use crate::token::TokenAction;

#[derive(Parser)]
#[command(name = "crm-agent", version, about = "An embeddable, tenant-safe CRM assistant")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create or upgrade the database schema.
    Migrate {
        /// Database URL (sqlite://FILE or postgres://…).
        #[arg(long, env = "CRM_AGENT_DB", default_value = DEFAULT_DB)]
        db: String,
    },
    /// Fill an empty database with the deterministic demo organizations `acme` and `globex`.
    Seed {
        /// Database URL (sqlite://FILE or postgres://…).
        #[arg(long, env = "CRM_AGENT_DB", default_value = DEFAULT_DB)]
        db: String,
        /// Customers in acme (globex gets a fifth).
        #[arg(long, default_value_t = 60)]
        customers: usize,
        /// Leads in acme.
        #[arg(long, default_value_t = 80)]
        leads: usize,
        /// Deals in acme.
        #[arg(long, default_value_t = 100)]
        deals: usize,
        /// Issues in acme.
        #[arg(long, default_value_t = 40)]
        issues: usize,
        /// Orders in acme.
        #[arg(long, default_value_t = 40)]
        orders: usize,
        /// Activities in acme.
        #[arg(long, default_value_t = 60)]
        activities: usize,
        /// Random seed (same seed, same data).
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Do nothing (successfully) when the database already holds data.
        #[arg(long)]
        if_empty: bool,
        /// Hide the progress bars.
        #[arg(long)]
        quiet: bool,
    },
    /// List the tools one user may use (or, with --markdown, document the whole catalogue).
    Tools {
        /// Database URL.
        #[arg(long, env = "CRM_AGENT_DB", default_value = DEFAULT_DB)]
        db: String,
        /// The user to act as (e.g. acme-rep).
        #[arg(long, required_unless_present = "markdown")]
        user: Option<String>,
        /// The organization (id or slug), when the user belongs to several.
        #[arg(long)]
        org: Option<String>,
        /// Print the declarations as JSON.
        #[arg(long)]
        json: bool,
        /// Print the Markdown reference of every tool (docs/tools.md) and exit.
        #[arg(long)]
        markdown: bool,
    },
    /// Run one tool as a user, through the registry (policy, validation, scope, audit), and
    /// print its JSON result.
    Call {
        /// The tool's name.
        tool: String,
        #[command(flatten)]
        who: ActAs,
        /// The arguments as a JSON object.
        #[arg(long, default_value = "{}")]
        args: String,
    },
    /// Run the assistant as a web service: chat API, conversations, MCP at /mcp and the web chat
    /// page. On an empty database it migrates, seeds the demo data and prints the demo users'
    /// tokens.
    Serve {
        /// Database URL (sqlite://FILE or postgres://…).
        #[arg(long, env = "CRM_AGENT_DB", default_value = DEFAULT_DB)]
        db: String,
        /// Where to listen.
        #[arg(long, env = "CRM_AGENT_ADDR", default_value = "127.0.0.1:8000")]
        addr: std::net::SocketAddr,
        /// No demo mode, even when the demo users exist (no picker, no demo tokens).
        #[arg(long)]
        no_demo: bool,
        /// Offer the demo users' picker to clients on any address (by default only to clients
        /// on this machine: it hands out owners' tokens).
        #[arg(long, conflicts_with = "no_demo")]
        demo: bool,
        /// MCP at /mcp without sessions, each POST answered with plain JSON (for several
        /// instances behind a load balancer, sharing only the database).
        #[arg(long)]
        mcp_stateless: bool,
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        exposure: McpExposure,
        #[command(flatten)]
        connections: ConnectionArgs,
    },
    /// Send one message to the assistant as a user and stream its answer: text on stdout,
    /// tool activity on stderr (or, with --json, every event as one JSON object per line).
    Chat {
        #[command(flatten)]
        who: ActAs,
        #[command(flatten)]
        model: ModelArgs,
        /// Continue this conversation (default: start a new one).
        #[arg(long)]
        conversation: Option<String>,
        /// The message.
        #[arg(long)]
        message: String,
        /// Print the events as JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// Confirm a write the assistant proposed: it runs once, as the user.
    Confirm {
        /// The action id from the `confirmation_required` event.
        action_id: String,
        #[command(flatten)]
        who: ActAs,
    },
    /// Reject a write the assistant proposed: it never runs.
    Reject {
        /// The action id from the `confirmation_required` event.
        action_id: String,
        #[command(flatten)]
        who: ActAs,
    },
    /// Serve the tools over MCP: on stdin/stdout as the token's user (paste into an MCP client's
    /// config), or with --http on Streamable HTTP at /mcp, a bearer token per request.
    Mcp {
        /// Database URL (sqlite://FILE or postgres://…).
        #[arg(long, env = "CRM_AGENT_DB", default_value = DEFAULT_DB)]
        db: String,
        /// The API token to act with (stdio).
        #[arg(long, env = "CRM_AGENT_TOKEN", required_unless_present = "http")]
        token: Option<String>,
        /// Serve Streamable HTTP on this address instead of stdio (e.g. 127.0.0.1:8001).
        #[arg(long)]
        http: Option<std::net::SocketAddr>,
        /// HTTP: no sessions, plain JSON responses (for several processes behind a load balancer).
        #[arg(long)]
        stateless: bool,
        #[command(flatten)]
        exposure: McpExposure,
        #[command(flatten)]
        connections: ConnectionArgs,
    },
    /// Manage API tokens (for MCP clients and other programs acting as a user).
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// List records as one user sees them (scoped to their organization and, for customers,
    /// their own records), as JSON.
    List {
        /// What to list.
        entity: Entity,
        #[command(flatten)]
        who: ActAs,
        /// Page size.
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Boxed: every command's state lives in this one future, too large for the stack.
    match Box::pin(run(cli)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error ({}): {}", err.kind(), err.detail());
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> crm_agent::Result<()> {
    match cli.command {
        Command::Migrate { db } => seed::migrate(db).await?,
        Command::Seed { db, customers, leads, deals, issues, orders, activities, seed, if_empty, quiet } => {
            seed::seed(db, customers, leads, deals, issues, orders, activities, seed, if_empty, quiet).await?
        }
        Command::Tools { db, user, org, json, markdown } => tools::tools(db, user, org, json, markdown).await?,
        Command::Call { tool, who, args } => call::call(tool, who, args).await?,
        Command::Serve { db, addr, no_demo, demo, mcp_stateless, model, exposure, connections } => {
            let demo = DemoMode { off: no_demo, any_client: demo };
            serve::serve(db, addr, demo, mcp_stateless, model, exposure, connections.limits()).await?
        }
        Command::Chat { who, model, conversation, message, json } => {
            chat::chat(who, model, conversation, message, json).await?
        }
        Command::Confirm { action_id, who } => confirm::confirm(action_id, who).await?,
        Command::Reject { action_id, who } => confirm::reject(action_id, who).await?,
        Command::Mcp { db, token, http, stateless, exposure, connections } => {
            mcp::mcp(db, token, http, stateless, exposure, connections).await?
        }
        Command::Token { action } => token::token(action).await?,
        Command::List { entity, who, limit } => list::list(entity, who, limit).await?,
    }
    Ok(())
}
