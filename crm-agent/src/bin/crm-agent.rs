//! The `crm-agent` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use crm_agent::domain::*;
use crm_agent::model::{GeminiClient, GeminiConfig};
use crm_agent::seed::{DemoSeedState, SeedOptions, demo_seed_state, seed_demo, unfinished_seed};
use crm_agent::store::sql::redact_url as redact;
use crm_agent::{ChatEvent, CrmAgent, SqlStore, Store, UserContext};
use futures::StreamExt;

/// `println!` on stdout, except that a reader gone away (`crm-agent call … | head`) ends the
/// program quietly, with success, where `println!` would panic.
macro_rules! out {
    () => { write_out(format_args!("\n")) };
    ($($arg:tt)*) => { write_out(format_args!("{}\n", format_args!($($arg)*))) };
}

/// `print!` likewise.
macro_rules! out_raw {
    ($($arg:tt)*) => { write_out(format_args!($($arg)*)) };
}

fn write_out(text: std::fmt::Arguments<'_>) {
    use std::io::Write;
    match std::io::stdout().lock().write_fmt(text) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            eprintln!("error (internal): cannot write to stdout: {e}");
            std::process::exit(1);
        }
    }
}

/// Default database: a SQLite file in the working directory.
const DEFAULT_DB: &str = "sqlite://crm-agent.db";

#[derive(Parser)]
#[command(name = "crm-agent", version, about = "An embeddable, tenant-safe CRM assistant")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The database and the user a command acts as.
#[derive(clap::Args)]
struct ActAs {
    /// Database URL (sqlite://FILE or postgres://…).
    #[arg(long, env = "CRM_AGENT_DB", default_value = DEFAULT_DB)]
    db: String,
    /// The user to act as (e.g. acme-owner).
    #[arg(long)]
    user: String,
    /// The organization (id or slug), when the user belongs to several.
    #[arg(long)]
    org: Option<String>,
}

impl ActAs {
    /// Opens the store and resolves the user's context.
    async fn open(&self) -> crm_agent::Result<(std::sync::Arc<SqlStore>, UserContext)> {
        let store = std::sync::Arc::new(SqlStore::open(&self.db).await?);
        let ctx = UserContext::resolve(&*store, &self.user, self.org.as_deref()).await?;
        Ok((store, ctx))
    }
}

/// Which Gemini model to talk to (the environment's settings unless given).
#[derive(clap::Args)]
struct ModelArgs {
    /// The model (default: GEMINI_MODEL, else a current GA Flash model).
    #[arg(long)]
    model: Option<String>,
    /// The Gemini API base URL (default: GEMINI_BASE_URL, else the public endpoint).
    #[arg(long)]
    gemini_base_url: Option<String>,
}

impl ModelArgs {
    /// An agent over `store` with this model (API key from GEMINI_API_KEY).
    fn agent(&self, store: std::sync::Arc<SqlStore>) -> crm_agent::Result<CrmAgent> {
        let mut config = GeminiConfig::from_env();
        if let Some(model) = &self.model {
            config = config.with_model(model);
        }
        if let Some(url) = &self.gemini_base_url {
            config = config.with_base_url(url);
        }
        CrmAgent::builder(store).model(std::sync::Arc::new(GeminiClient::new(config)?)).build()
    }
}

/// How the MCP endpoint is exposed (`mcp --http` and `serve`).
#[derive(clap::Args)]
struct McpExposure {
    /// MCP over HTTP: also accept this Origin (repeatable; http(s)://localhost and 127.0.0.1 on
    /// any port always are).
    #[arg(long = "allow-origin")]
    allow_origins: Vec<String>,
    /// MCP over HTTP: also accept this Host (repeatable; localhost, 127.0.0.1 and ::1 always are).
    #[arg(long = "allow-host")]
    allow_hosts: Vec<String>,
    /// Writes that need confirmation, from MCP clients that cannot ask their user: run them,
    /// trusting the client's own per-call approval (default: refuse them).
    #[arg(long)]
    trust_client_approval: bool,
    /// MCP tool calls a user may make a minute (bursts of a sixth of it), counted in the
    /// database so that every process on it shares the limit (0: no limit).
    #[arg(long, env = "CRM_AGENT_MCP_CALLS_PER_MINUTE", default_value_t = crm_agent::mcp::DEFAULT_CALLS_PER_MINUTE)]
    mcp_calls_per_minute: u32,
    /// MCP `tools/list`: tools per page, continued with `nextCursor` (default: all on one page).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    mcp_tools_page_size: Option<u32>,
    #[command(flatten)]
    oauth: OAuthArgs,
}

impl McpExposure {
    /// Sets the options; what is left is the OAuth setup, which needs the store and the bound
    /// address ([`OAuthArgs::authenticator`]).
    fn apply(self, http: &mut crm_agent::mcp::http::McpHttpOptions, mcp: &mut crm_agent::mcp::McpOptions) -> OAuthArgs {
        http.allowed_origins.extend(self.allow_origins);
        http.allowed_hosts.extend(self.allow_hosts);
        if self.trust_client_approval {
            mcp.unconfirmable_writes = crm_agent::mcp::UnconfirmableWrites::TrustClient;
        }
        mcp.calls_per_minute = (self.mcp_calls_per_minute > 0).then_some(self.mcp_calls_per_minute);
        mcp.tools_page_size = self.mcp_tools_page_size.map(|size| size as usize);
        self.oauth
    }
}

/// OAuth access tokens on the HTTP endpoints (`serve`, `mcp --http`); see docs/mcp.md.
#[derive(clap::Args)]
struct OAuthArgs {
    /// Accept OAuth access tokens from this authorization server (its issuer URL), beside API
    /// tokens; clients find it in /.well-known/oauth-protected-resource.
    #[arg(long, env = "CRM_AGENT_OAUTH_ISSUER")]
    oauth_issuer: Option<String>,
    /// The MCP endpoint's URL as clients reach it, https (default, on a loopback address only:
    /// http://ADDR/mcp).
    #[arg(long, env = "CRM_AGENT_OAUTH_RESOURCE", requires = "oauth_issuer")]
    oauth_resource: Option<String>,
    /// The audience tokens must name (default: the resource URL).
    #[arg(long, env = "CRM_AGENT_OAUTH_AUDIENCE", requires = "oauth_issuer")]
    oauth_audience: Option<String>,
    /// The token claim holding the member's user id.
    #[arg(long, env = "CRM_AGENT_OAUTH_USER_CLAIM", default_value = "sub")]
    oauth_user_claim: String,
    /// The token claim holding the organization (id or slug); without it a user must belong to
    /// one organization.
    #[arg(long, env = "CRM_AGENT_OAUTH_ORGANIZATION_CLAIM", requires = "oauth_issuer")]
    oauth_organization_claim: Option<String>,
    /// The scope that allows the read-only tools.
    #[arg(long, env = "CRM_AGENT_OAUTH_READ_SCOPE", default_value = "crm:read")]
    oauth_read_scope: String,
    /// The scope that allows everything the member may do.
    #[arg(long, env = "CRM_AGENT_OAUTH_WRITE_SCOPE", default_value = "crm:write")]
    oauth_write_scope: String,
    /// crm-agent's client id at the authorization server, to introspect tokens that are not JWTs.
    #[arg(long, env = "CRM_AGENT_OAUTH_CLIENT_ID", requires_all = ["oauth_client_secret", "oauth_issuer"])]
    oauth_client_id: Option<String>,
    /// The secret of --oauth-client-id.
    #[arg(long, env = "CRM_AGENT_OAUTH_CLIENT_SECRET", requires = "oauth_client_id", hide_env_values = true)]
    oauth_client_secret: Option<String>,
}

impl OAuthArgs {
    /// The authenticator of the HTTP endpoints: API tokens, and OAuth tokens with
    /// --oauth-issuer (whose server is asked about itself now, so a wrong issuer fails here).
    async fn authenticator(
        self,
        store: std::sync::Arc<SqlStore>,
        bound: std::net::SocketAddr,
    ) -> crm_agent::Result<std::sync::Arc<dyn crm_agent::auth::RequestAuthenticator>> {
        use crm_agent::auth::oauth::{ClientCredentials, OAuthAuthenticator, OAuthConfig};
        let Some(issuer) = self.oauth_issuer else {
            return Ok(std::sync::Arc::new(crm_agent::auth::TokenAuthenticator::new(store)));
        };
        let resource = match self.oauth_resource {
            Some(resource) => resource,
            None if bound.ip().is_loopback() => format!("http://{bound}/mcp"),
            None => {
                return Err(crm_agent::Error::invalid(format!(
                    "--oauth-issuer on {bound} needs --oauth-resource: the https URL clients reach /mcp at"
                )));
            }
        };
        let mut config = OAuthConfig::new(issuer, resource);
        config.audience = self.oauth_audience;
        config.user_claim = self.oauth_user_claim;
        config.organization_claim = self.oauth_organization_claim;
        config.read_scope = self.oauth_read_scope;
        config.write_scope = self.oauth_write_scope;
        if let (Some(id), Some(secret)) = (self.oauth_client_id, self.oauth_client_secret) {
            config.introspection_client = Some(ClientCredentials { id, secret });
        }
        let authenticator = OAuthAuthenticator::discover(config, store).await?;
        eprintln!("OAuth: tokens from {} for {}", authenticator.config().issuer, authenticator.config().resource);
        Ok(std::sync::Arc::new(authenticator))
    }
}

/// What HTTP clients can hold open (`serve`, `mcp --http`).
#[derive(clap::Args)]
struct ConnectionArgs {
    /// Seconds a request's header may take to arrive (also how long an idle kept-alive
    /// connection stays open).
    #[arg(long, env = "CRM_AGENT_HEADER_READ_TIMEOUT", default_value_t = 30)]
    header_read_timeout: u64,
    /// Seconds a connection may go with no byte moving either way, mid-request included.
    #[arg(long, env = "CRM_AGENT_IDLE_TIMEOUT", default_value_t = 60)]
    idle_timeout: u64,
    /// Most connections open at once; more wait until one closes.
    #[arg(long, env = "CRM_AGENT_MAX_CONNECTIONS", default_value_t = 1024)]
    max_connections: usize,
}

impl ConnectionArgs {
    fn limits(&self) -> crm_agent::mcp::http::ConnectionLimits {
        crm_agent::mcp::http::ConnectionLimits {
            header_read_timeout: std::time::Duration::from_secs(self.header_read_timeout),
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout),
            max_connections: self.max_connections,
        }
    }
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

#[derive(Subcommand)]
enum TokenAction {
    /// Create a token acting as USER; prints the secret once.
    Create {
        #[command(flatten)]
        who: ActAs,
        /// A name to recognise it by.
        #[arg(long, default_value = "api token")]
        name: String,
        /// Expire after this many days (default: never).
        #[arg(long)]
        expires: Option<u32>,
        /// Only tools that change nothing (whatever USER may do).
        #[arg(long)]
        read_only: bool,
        /// Only tools of this toolset (repeatable): customers, sales, support, activities,
        /// analytics, admin, general.
        #[arg(long = "toolset")]
        toolsets: Vec<crm_agent::domain::Toolset>,
    },
    /// List USER's tokens (never their secrets).
    List {
        #[command(flatten)]
        who: ActAs,
    },
    /// Revoke one of USER's tokens.
    Revoke {
        /// The token's id (from `token list`).
        id: String,
        #[command(flatten)]
        who: ActAs,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Entity {
    Customers,
    Leads,
    Deals,
    Issues,
    Orders,
    Employees,
    Dashboard,
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
        Command::Migrate { db } => {
            SqlStore::open(&db).await?;
            out!("migrated {}", redact(&db));
        }
        Command::Seed { db, customers, leads, deals, issues, orders, activities, seed, if_empty, quiet } => {
            let store = SqlStore::open(&db).await?;
            if if_empty && !store.is_empty().await? {
                if demo_seed_state(&store).await? == DemoSeedState::Unfinished {
                    return Err(unfinished_seed());
                }
                out!("{} already holds data; nothing seeded", redact(&db));
                return Ok(());
            }
            let progress = (!quiet).then(|| std::sync::Arc::new(ProgressBars::default()) as _);
            let options = SeedOptions { customers, leads, deals, issues, orders, activities, seed, progress };
            let started = std::time::Instant::now();
            let report = seed_demo(&store, &options).await?;
            store.optimize().await?;
            out!("seeded {} in {:.1}s", redact(&db), started.elapsed().as_secs_f64());
            for org in &report.organizations {
                out!("  organization {:<8} {}", org.slug, org.id);
            }
            for user in &report.users {
                let role =
                    user.employee_role.as_deref().map_or(user.role.to_string(), |r| format!("{} ({r})", user.role));
                out!("  user {:<14} {:<8} {role}", user.user_id, user.organization);
            }
        }
        Command::Tools { db, user, org, json, markdown } => {
            if markdown {
                out_raw!("{}", crm_agent::tools::tools_markdown(&crm_agent::tools::catalogue()));
                return Ok(());
            }
            let store = std::sync::Arc::new(SqlStore::open(&db).await?);
            let ctx = UserContext::resolve(&*store, user.as_deref().unwrap_or_default(), org.as_deref()).await?;
            let registry = crm_agent::ToolRegistry::new(store);
            let tools = registry.list(&ctx);
            if json {
                let importing = registry.may_import(&ctx);
                let declarations: Vec<_> = tools.iter().map(|t| t.declaration_for(false, importing)).collect();
                out!(
                    "{}",
                    serde_json::to_string_pretty(&declarations)
                        .map_err(|e| crm_agent::Error::Internal(e.to_string()))?
                );
            } else {
                for tool in &tools {
                    let a = tool.annotations();
                    let kind = if a.read_only {
                        "read"
                    } else if a.destructive {
                        "destructive"
                    } else {
                        "write"
                    };
                    out!("{:<28} {:<12} {}", tool.name(), kind, tool.permission_label());
                }
                eprintln!("{} tools for {} ({})", tools.len(), ctx.user_id, ctx.role);
            }
        }
        Command::Call { tool, who, args } => {
            let args: serde_json::Value = serde_json::from_str(&args)
                .map_err(|e| crm_agent::Error::invalid(format!("--args is not JSON: {e}")))?;
            let (store, ctx) = who.open().await?;
            let registry = crm_agent::ToolRegistry::new(store);
            let result = registry.call(&ctx, &tool, args).await;
            registry.flush_audit().await;
            let result = result?;
            out!("{}", serde_json::to_string_pretty(&result).map_err(|e| crm_agent::Error::Internal(e.to_string()))?);
        }
        Command::Serve { db, addr, no_demo, demo, mcp_stateless, model, exposure, connections } => {
            let demo = DemoMode { off: no_demo, any_client: demo };
            serve(db, addr, demo, mcp_stateless, model, exposure, connections.limits()).await?
        }
        Command::Chat { who, model, conversation, message, json } => {
            let (store, ctx) = who.open().await?;
            let agent = model.agent(store)?;
            let mut events = agent.chat(&ctx, message, conversation.map(ConversationId::from));
            let mut failure = None;
            while let Some(event) = events.next().await {
                if json {
                    out!("{}", to_json(&event, false)?);
                } else {
                    print_event(&event);
                }
                if let ChatEvent::Error { code, .. } = &event {
                    failure = Some(code.clone());
                }
            }
            agent.registry().flush_audit().await;
            // The error event was printed already; the exit status says the turn failed.
            if let Some(code) = failure {
                return Err(crm_agent::Error::Model {
                    message: format!("the turn ended with an error ({code}, above)"),
                    retryable: false,
                });
            }
        }
        Command::Confirm { action_id, who } => {
            let (store, ctx) = who.open().await?;
            let agent = CrmAgent::builder(store).model(std::sync::Arc::new(GeminiClient::from_env()?)).build()?;
            let confirmed = agent.confirm(&ctx, &ActionId::from(action_id)).await;
            agent.registry().flush_audit().await;
            out!("{}", to_json(&confirmed?, true)?);
        }
        Command::Reject { action_id, who } => {
            let (store, ctx) = who.open().await?;
            let agent = CrmAgent::builder(store).model(std::sync::Arc::new(GeminiClient::from_env()?)).build()?;
            out!("{}", to_json(&agent.reject(&ctx, &ActionId::from(action_id)).await?, true)?);
        }
        Command::Mcp { db, token, http, stateless, exposure, connections } => {
            use crm_agent::mcp::{McpOptions, McpServer};
            // Bound before the database is touched: a port in use changes nothing.
            let listener = match http {
                Some(addr) => Some(listen(addr).await?),
                None => None,
            };
            let store = std::sync::Arc::new(SqlStore::open(&db).await?);
            let registry = crm_agent::ToolRegistry::new(store.clone());
            let authenticator = crm_agent::auth::TokenAuthenticator::new(store.clone());
            let mut options = McpOptions::default();
            let mut http_options = crm_agent::mcp::http::McpHttpOptions { stateless, ..Default::default() };
            let oauth = exposure.apply(&mut http_options, &mut options);
            match listener {
                None => {
                    if oauth.oauth_issuer.is_some() {
                        return Err(crm_agent::Error::invalid("--oauth-issuer needs --http (stdio acts with --token)"));
                    }
                    let token = token.unwrap_or_default();
                    // Fail at start, not on the first request, when the token is wrong.
                    let ctx = authenticator.authenticate(&token).await?;
                    eprintln!("crm-agent MCP (stdio) as {} in {}", ctx.user_id, ctx.organization_id);
                    let server = McpServer::with_token(registry.clone(), authenticator, token, options);
                    let served = crm_agent::mcp::serve_stdio(server).await;
                    registry.flush_audit().await;
                    served?;
                }
                Some(listener) => {
                    let bound = listener.local_addr().map_err(|e| crm_agent::Error::Internal(e.to_string()))?;
                    let authenticator = oauth.authenticator(store, bound).await?;
                    let server = McpServer::per_request(registry.clone(), options);
                    let app = crm_agent::mcp::http::router(server, authenticator, http_options);
                    out!("MCP_URL=http://{bound}/mcp");
                    use std::io::Write as _;
                    let _ = std::io::stdout().flush();
                    crm_agent::mcp::http::serve(listener, app, connections.limits(), shutdown_signal())
                        .await
                        .map_err(|e| crm_agent::Error::Internal(format!("the HTTP server failed: {e}")))?;
                    registry.flush_audit().await;
                }
            }
        }
        Command::Token { action } => match action {
            TokenAction::Create { who, name, expires, read_only, toolsets } => {
                let (store, ctx) = who.open().await?;
                let expires = expires.map(|days| chrono::Duration::days(i64::from(days)));
                let toolsets = (!toolsets.is_empty()).then(|| toolsets.into_iter().collect());
                let limits = crm_agent::domain::ToolLimits { read_only, toolsets };
                let issued =
                    crm_agent::auth::create_limited_token(store.as_ref(), &ctx, &name, expires, limits).await?;
                eprintln!(
                    "token {} for {} in {} — the secret is shown only now:",
                    issued.token.id, ctx.user_id, ctx.organization_id
                );
                out!("{}", issued.secret);
            }
            TokenAction::List { who } => {
                let (store, ctx) = who.open().await?;
                out!("{}", to_json(&store.list_api_tokens(&ctx.scope()?, &ctx.user_id).await?, true)?);
            }
            TokenAction::Revoke { id, who } => {
                let (store, ctx) = who.open().await?;
                let authenticator = crm_agent::auth::TokenAuthenticator::new(store);
                out!("{}", to_json(&authenticator.revoke(&ctx, &ApiTokenId::from(id)).await?, true)?);
            }
        },
        Command::List { entity, who, limit } => {
            let (store, ctx) = who.open().await?;
            let scope = ctx.scope()?;
            let page = PageRequest::first(limit);
            let json = match entity {
                Entity::Customers => {
                    serde_json::to_value(store.list_customers(&scope, &CustomerFilter::default(), &page).await?)
                }
                Entity::Leads => serde_json::to_value(store.list_leads(&scope, &LeadFilter::default(), &page).await?),
                Entity::Deals => serde_json::to_value(store.list_deals(&scope, &DealFilter::default(), &page).await?),
                Entity::Issues => {
                    serde_json::to_value(store.list_issues(&scope, &IssueFilter::default(), &page).await?)
                }
                Entity::Orders => {
                    serde_json::to_value(store.list_orders(&scope, &OrderFilter::default(), &page).await?)
                }
                Entity::Employees => serde_json::to_value(
                    store.list_employees(&scope, &EmployeeFilter::default(), &page).await?.map(|mut e| {
                        e.redact_sensitive();
                        e
                    }),
                ),
                Entity::Dashboard => serde_json::to_value(store.dashboard_stats(&scope, chrono::Utc::now()).await?),
            }
            .map_err(|e| crm_agent::Error::Internal(e.to_string()))?;
            out!("{}", serde_json::to_string_pretty(&json).map_err(|e| crm_agent::Error::Internal(e.to_string()))?);
        }
    }
    Ok(())
}

fn to_json<T: serde::Serialize>(value: &T, pretty: bool) -> crm_agent::Result<String> {
    let text = if pretty { serde_json::to_string_pretty(value) } else { serde_json::to_string(value) };
    text.map_err(|e| crm_agent::Error::Internal(e.to_string()))
}

/// A chat event for a person at a terminal: the answer on stdout, the rest on stderr.
fn print_event(event: &ChatEvent) {
    use std::io::Write as _;
    match event {
        ChatEvent::Started { conversation_id } => eprintln!("[conversation {conversation_id}]"),
        ChatEvent::Text { delta } => {
            out_raw!("{delta}");
            let _ = std::io::stdout().flush();
        }
        ChatEvent::ToolCall { name, args, .. } => eprintln!("\n-> {name} {args}"),
        ChatEvent::ToolResult { name, ok, summary, .. } => {
            eprintln!("<- {name}: {} {summary}", if *ok { "ok" } else { "failed:" })
        }
        ChatEvent::ConfirmationRequired { action_id, summary, .. } => eprintln!(
            "\n[confirmation needed] {summary}\n  confirm: crm-agent confirm {action_id} --user USER\n  reject:  crm-agent reject {action_id} --user USER"
        ),
        ChatEvent::Done { usage } => {
            out!();
            eprintln!("[done: {} steps, {} tokens]", usage.steps, usage.total_tokens)
        }
        ChatEvent::Error { code, message, .. } => eprintln!("\n[error {code}] {message}"),
    }
}

/// `crm-agent seed`'s progress bars on standard error, one per entity.
#[derive(Default)]
struct ProgressBars {
    bars: std::sync::Mutex<std::collections::HashMap<&'static str, indicatif::ProgressBar>>,
}

impl crm_agent::seed::SeedProgress for ProgressBars {
    fn advanced(&self, entity: &'static str, done: usize, total: usize) {
        let mut bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
        let bar = bars.entry(entity).or_insert_with(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{prefix:>10} {bar:40} {pos}/{len} {per_sec} eta {eta}")
                    .expect("static template")
                    .progress_chars("=> "),
            );
            bar.set_prefix(entity);
            bar
        });
        bar.set_position(done as u64);
        if done >= total {
            bar.finish_and_clear();
        }
    }
}

/// The listening socket of `serve` and `mcp --http`. A port in use (or one this user may not
/// bind) is an unavailable resource, named in the message.
async fn listen(addr: std::net::SocketAddr) -> crm_agent::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        let reason = match e.kind() {
            std::io::ErrorKind::AddrInUse => "the address is already in use (is another server running?)".to_owned(),
            _ => e.to_string(),
        };
        crm_agent::Error::unavailable(format!("cannot listen on {addr}: {reason}"))
    })
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// `serve --no-demo` and `serve --demo`.
struct DemoMode {
    off: bool,
    any_client: bool,
}

/// `crm-agent serve`.
async fn serve(
    db: String,
    addr: std::net::SocketAddr,
    demo_mode: DemoMode,
    mcp_stateless: bool,
    model: ModelArgs,
    exposure: McpExposure,
    limits: crm_agent::mcp::http::ConnectionLimits,
) -> crm_agent::Result<()> {
    use crm_agent::http::{HttpOptions, HttpState, demo};
    use std::io::Write as _;
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CRM_AGENT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,rmcp=warn,hyper=warn")),
        )
        .try_init();
    // Bound first: a second `serve` on a port in use must fail before it migrates, seeds or
    // touches the running server's demo tokens.
    let listener = listen(addr).await?;
    let store = std::sync::Arc::new(SqlStore::open(&db).await?);
    if demo_seed_state(store.as_ref()).await? == DemoSeedState::Unfinished {
        return Err(unfinished_seed());
    }
    if store.is_empty().await? {
        eprintln!("{} is empty: seeding the demo organizations", redact(&db));
        seed_demo(store.as_ref(), &SeedOptions::default()).await?;
        store.optimize().await?;
    }
    let authenticator = crm_agent::auth::TokenAuthenticator::new(store.clone());
    let demo_users = if !demo_mode.off && demo::has_demo_users(store.as_ref()).await? {
        Some(demo::demo_users(store.as_ref(), &authenticator).await?)
    } else {
        None
    };
    let agent = model.agent(store.clone())?;
    let mut options = HttpOptions {
        demo_users: demo_users.clone(),
        demo_for_any_client: demo_mode.any_client,
        ..HttpOptions::default()
    };
    let oauth = exposure.apply(&mut options.mcp_http, &mut options.mcp);
    options.mcp_http.stateless = mcp_stateless;
    let model_name = agent.model().model_name().to_owned();
    let configured = agent.model().is_configured();
    let bound = listener.local_addr().map_err(|e| crm_agent::Error::Internal(e.to_string()))?;
    let (state, shutdown) = HttpState::new(agent.clone(), oauth.authenticator(store, bound).await?, options);
    let app = crm_agent::http::router(state);
    let url = format!("http://{bound}");
    out!("crm-agent serving {} on {url}", redact(&db));
    out!(
        "  model: {model_name} ({})",
        if configured {
            "API key configured"
        } else {
            "no GEMINI_API_KEY: chat answers with an error; tools, MCP and conversations work"
        }
    );
    out!("  web chat: {url}/   MCP: {url}/mcp   health: {url}/healthz");
    if let Some(users) = &demo_users {
        let who = if demo_mode.any_client { "any client" } else { "clients on this machine" };
        out!("  demo users (the page offers them to {who}; or send `Authorization: Bearer TOKEN`):");
        for user in users {
            out!("    {:<14} {:<8} {:<28} {}", user.user_id, user.organization, user.role, user.token);
        }
    }
    out!("CRM_AGENT_URL={url}");
    let _ = std::io::stdout().flush();
    let stop = async move {
        shutdown_signal().await;
        eprintln!("shutting down: ending open chat streams");
        shutdown.trigger();
    };
    crm_agent::mcp::http::serve(listener, app, limits, stop)
        .await
        .map_err(|e| crm_agent::Error::Internal(format!("the HTTP server failed: {e}")))?;
    agent.registry().flush_audit().await;
    Ok(())
}
