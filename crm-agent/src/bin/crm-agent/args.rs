//! The argument groups several commands share: the database and user to act as, the model, how the
//! MCP endpoint is exposed (with its OAuth setup), and what HTTP clients can hold open.

use crm_agent::model::{GeminiClient, GeminiConfig};
use crm_agent::{CrmAgent, SqlStore, UserContext};

/// Default database: a SQLite file in the working directory.
pub(crate) const DEFAULT_DB: &str = "sqlite://crm-agent.db";

/// The database and the user a command acts as.
#[derive(clap::Args)]
pub(crate) struct ActAs {
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
    pub(crate) async fn open(&self) -> crm_agent::Result<(std::sync::Arc<SqlStore>, UserContext)> {
        let store = std::sync::Arc::new(SqlStore::open(&self.db).await?);
        let ctx = UserContext::resolve(&*store, &self.user, self.org.as_deref()).await?;
        Ok((store, ctx))
    }
}

/// Which Gemini model to talk to (the environment's settings unless given).
#[derive(clap::Args)]
pub(crate) struct ModelArgs {
    /// The model (default: GEMINI_MODEL, else a current GA Flash model).
    #[arg(long)]
    model: Option<String>,
    /// The Gemini API base URL (default: GEMINI_BASE_URL, else the public endpoint).
    #[arg(long)]
    gemini_base_url: Option<String>,
}

impl ModelArgs {
    /// An agent over `store` with this model (API key from GEMINI_API_KEY).
    pub(crate) fn agent(&self, store: std::sync::Arc<SqlStore>) -> crm_agent::Result<CrmAgent> {
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
pub(crate) struct McpExposure {
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
    pub(crate) fn apply(
        self,
        http: &mut crm_agent::mcp::http::McpHttpOptions,
        mcp: &mut crm_agent::mcp::McpOptions,
    ) -> OAuthArgs {
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
pub(crate) struct OAuthArgs {
    /// Accept OAuth access tokens from this authorization server (its issuer URL), beside API
    /// tokens; clients find it in /.well-known/oauth-protected-resource.
    #[arg(long, env = "CRM_AGENT_OAUTH_ISSUER")]
    pub(crate) oauth_issuer: Option<String>,
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
    pub(crate) async fn authenticator(
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
pub(crate) struct ConnectionArgs {
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
    pub(crate) fn limits(&self) -> crm_agent::mcp::http::ConnectionLimits {
        crm_agent::mcp::http::ConnectionLimits {
            header_read_timeout: std::time::Duration::from_secs(self.header_read_timeout),
            idle_timeout: std::time::Duration::from_secs(self.idle_timeout),
            max_connections: self.max_connections,
        }
    }
}
