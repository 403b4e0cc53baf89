//! An axum service that already has users and its own sign-in, and adds crm-agent's assistant.
//!
//! The host keeps its users (here in memory: a name, a password, an organization and a role)
//! and signs them in with a session cookie; programs use an API key of the host's. crm-agent
//! never sees either: [`HostAuth`] turns them into a [`UserContext`], and the assistant's routes
//! (`/assistant/api/…`) and the MCP endpoint (`/mcp`) are mounted into the host's own router.
//!
//! ```text
//! POST /login                    {"username", "password"} → Set-Cookie: session=…
//! GET  /                         the host's own page: who is signed in
//! POST /assistant/api/chat       a chat turn (Server-Sent Events), as the signed-in user
//! GET  /assistant/api/status     and every other route of crm_agent::http::api_router
//! POST /mcp                      MCP (Streamable HTTP) with `Authorization: Bearer <host API key>`
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::header::{AUTHORIZATION, COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, StatusCode, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use crm_agent::auth::RequestAuthenticator;
use crm_agent::domain::NewOrganization;
use crm_agent::http::{HttpOptions, HttpState, ShutdownTrigger};
use crm_agent::mcp::McpServer;
use crm_agent::mcp::http::McpHttpOptions;
use crm_agent::{CrmAgent, Error, Policy, Result, Store, UserContext};
use serde::Deserialize;

/// A user of the host application.
#[derive(Debug, Clone)]
pub struct HostUser {
    /// The host's user name, also the user id crm-agent records.
    pub username: String,
    /// The password (an example: a real host keeps a hash).
    pub password: String,
    /// The host's tenant: it becomes a crm-agent organization with this slug.
    pub organization: String,
    /// `owner`, `employee` or `customer`, as the policy names them.
    pub role: String,
    /// An employee's roles, from the policy's system roles (`sales_rep`, `support_agent`…).
    pub roles: Vec<String>,
    /// The key programs (MCP clients) use to act as this user.
    pub api_key: String,
}

/// The host's sign-in: its users, and the sessions they opened.
pub struct HostAuth {
    users: Vec<HostUser>,
    sessions: Mutex<HashMap<String, String>>,
    organizations: HashMap<String, crm_agent::domain::OrganizationId>,
    policy: Arc<Policy>,
}

impl HostAuth {
    /// The user with this name and password.
    fn sign_in(&self, username: &str, password: &str) -> Option<&HostUser> {
        self.users.iter().find(|u| u.username == username && u.password == password)
    }

    /// Opens a session for `user`; answers the cookie value.
    fn open_session(&self, user: &HostUser) -> String {
        let session = format!("{:032x}", rand::random::<u128>());
        self.sessions.lock().unwrap_or_else(|p| p.into_inner()).insert(session.clone(), user.username.clone());
        session
    }

    /// The signed-in user of a request: a session cookie, or the host's API key as a bearer token.
    fn user_of(&self, headers: &HeaderMap) -> Option<&HostUser> {
        let session = headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|cookies| cookies.split(';'))
            .find_map(|cookie| cookie.trim().strip_prefix("session="));
        if let Some(session) = session {
            let username = self.sessions.lock().unwrap_or_else(|p| p.into_inner()).get(session).cloned();
            return username.and_then(|name| self.users.iter().find(|u| u.username == name));
        }
        let key = headers.get(AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ")?;
        self.users.iter().find(|u| u.api_key == key)
    }
}

/// How crm-agent learns who is calling: the host's own session or API key, turned into a
/// context under crm-agent's policy. Nothing of crm-agent's token machinery is involved.
#[async_trait::async_trait]
impl RequestAuthenticator for HostAuth {
    async fn authenticate_request(&self, request: &Parts) -> Result<UserContext> {
        let user = self.user_of(&request.headers).ok_or_else(|| {
            Error::Unauthenticated("sign in at POST /login, or send the API key of your account".into())
        })?;
        let organization = self.organizations[&user.organization].clone();
        let mut ctx = self.policy.host_context(&user.username, organization, &user.role, [], &user.roles)?;
        ctx.display_name = Some(user.username.clone());
        Ok(ctx)
    }

    fn challenge(&self) -> String {
        "Bearer realm=\"example\"".to_owned()
    }
}

/// The host's application with the assistant mounted, and the trigger that ends open chat
/// streams when it shuts down.
pub async fn app(agent: CrmAgent, users: Vec<HostUser>) -> Result<(Router, ShutdownTrigger)> {
    let policy = agent.registry().policy().clone();
    let mut organizations = HashMap::new();
    for user in &users {
        if !organizations.contains_key(&user.organization) {
            let new = NewOrganization::named(user.organization.clone(), user.organization.clone());
            let created = crm_agent::provision::ensure_organization(agent.store().as_ref(), &policy, new).await?;
            organizations.insert(user.organization.clone(), created.id);
        }
    }
    let auth = Arc::new(HostAuth { users, sessions: Mutex::default(), organizations, policy });

    let mcp = McpServer::per_request(agent.registry().clone(), Default::default());
    let mcp_options = McpHttpOptions { stateless: true, ..McpHttpOptions::default() };
    let (assistant, shutdown) = HttpState::new(agent, auth.clone(), HttpOptions::default());

    let app = Router::new()
        .route("/", get(home))
        .route("/login", post(login))
        .with_state(auth.clone())
        .nest("/assistant", crm_agent::http::api_router(assistant))
        .merge(crm_agent::mcp::http::router(mcp, auth, mcp_options));
    Ok((app, shutdown))
}

#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

async fn login(State(auth): State<Arc<HostAuth>>, Json(login): Json<Login>) -> Response {
    match auth.sign_in(&login.username, &login.password) {
        Some(user) => {
            let session = auth.open_session(user);
            let cookie = format!("session={session}; HttpOnly; SameSite=Strict; Path=/");
            ([(SET_COOKIE, cookie)], Json(serde_json::json!({"signed_in": user.username}))).into_response()
        }
        None => (StatusCode::UNAUTHORIZED, "wrong user name or password").into_response(),
    }
}

async fn home(State(auth): State<Arc<HostAuth>>, headers: HeaderMap) -> String {
    match auth.user_of(&headers) {
        Some(user) => format!("Hello {} ({} of {})", user.username, user.role, user.organization),
        None => "Hello, stranger: POST /login first".to_owned(),
    }
}

/// The example binary's users: `alice`, owner of `acme`, and `bob`, one of its sales reps.
pub fn example_users() -> Vec<HostUser> {
    let user = |name: &str, role: &str, roles: &[&str]| HostUser {
        username: name.to_owned(),
        password: format!("{name}-password"),
        organization: "acme".to_owned(),
        role: role.to_owned(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        api_key: format!("host-key-{name}"),
    };
    vec![user("alice", "owner", &[]), user("bob", "employee", &["sales_rep"])]
}

/// The store crm-agent works on: the example's own SQLite file.
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(crm_agent::SqlStore::open(url).await?))
}
