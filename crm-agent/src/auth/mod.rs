//! API tokens: issuing them, and turning a bearer token into the [`UserContext`] it stands for.
//!
//! A secret is `crm_` followed by 64 random hex digits (256 bits); the store keeps only its
//! SHA-256 (a slow password hash buys nothing for secrets this long, and every MCP request
//! checks one). A token carries exactly its creator's identity: each authentication resolves
//! the creator's membership as it is *now* (role, employee record, grants), so a demoted or
//! removed user's tokens shrink or stop with them.
//!
//! Resolving a membership takes a few queries, so [`TokenAuthenticator`] keeps what it resolved
//! for a short time (`ttl`, default 5 s). A change of who someone is made in this process — a
//! token revoked, a role created, changed or assigned through the tools — applies at once:
//! every authenticator of the process resolves its identities again. One made elsewhere
//! (another process, a direct store write) applies within `ttl`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use sha2::{Digest, Sha256};

use crate::context::UserContext;
use crate::domain::{ApiToken, ApiTokenId, NewApiToken, ToolLimits};
use crate::error::{Error, ErrorKind, Result};
use crate::store::Store;

#[cfg(feature = "oauth")]
pub mod oauth;

/// What every crm-agent secret starts with (so leaked ones are easy to grep for).
pub const SECRET_PREFIX: &str = "crm_";

/// A token just created: the secret is shown once and never stored.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The secret to hand to the client (`Authorization: Bearer …`).
    pub secret: String,
    /// The stored token.
    pub token: ApiToken,
}

/// SHA-256 of a secret, lowercase hex.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Creates a token acting as `ctx`'s user in `ctx`'s organization.
pub async fn create_token(
    store: &dyn Store,
    ctx: &UserContext,
    name: &str,
    expires_in: Option<chrono::Duration>,
) -> Result<IssuedToken> {
    create_limited_token(store, ctx, name, expires_in, ToolLimits::default()).await
}

/// [`create_token`] for a token that may do less than `ctx`'s user: only read, or only use
/// some toolsets. Whoever presents it gets a context with these `limits`.
///
/// A token is never more than the context that creates it: a context that is itself limited
/// passes its limits on, combined with `limits`.
pub async fn create_limited_token(
    store: &dyn Store,
    ctx: &UserContext,
    name: &str,
    expires_in: Option<chrono::Duration>,
    limits: ToolLimits,
) -> Result<IssuedToken> {
    let limits = limits.and(&ctx.limits);
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    let secret = format!("{SECRET_PREFIX}{}", hex::encode(bytes));
    let now = chrono::Utc::now();
    if expires_in.is_some_and(|d| d <= chrono::Duration::zero()) {
        return Err(Error::invalid("a token must expire in the future"));
    }
    let new = NewApiToken {
        user_id: ctx.user_id.clone(),
        name: name.trim().to_owned(),
        secret_hash: hash_secret(&secret),
        prefix: secret[..SECRET_PREFIX.len() + 8].to_owned(),
        created_at: now,
        expires_at: expires_in.map(|d| now + d),
        limits: limits.clone(),
    };
    let token = store.create_api_token(&ctx.scope()?, new).await?;
    if token.limits != limits {
        // A store that drops the limits would hand out a token worth more than asked.
        store.revoke_api_token(&ctx.scope()?, &ctx.user_id, &token.id, now).await?;
        return Err(Error::Unsupported("this store does not keep API token limits".into()));
    }
    Ok(IssuedToken { secret, token })
}

/// Counts the changes of who someone is made in this process (see the [module docs](self)).
static IDENTITY_CHANGES: AtomicU64 = AtomicU64::new(0);

/// Says that a token, a role or a membership changed in this process: identities cached before
/// now are resolved again.
pub(crate) fn identities_changed() {
    IDENTITY_CHANGES.fetch_add(1, Ordering::SeqCst);
}

/// Identities resolved from credentials, each kept until its time is up or until who someone
/// is changes in this process (see the [module docs](self)). Keyed by a hash of the
/// credential, never the credential itself. Cheap to clone.
#[derive(Clone)]
pub(crate) struct IdentityCache {
    ttl: Duration,
    entries: Arc<Mutex<HashMap<String, Cached>>>,
}

/// A resolved identity, until when it may be used, and the count of identity changes it saw.
#[derive(Clone)]
struct Cached {
    ctx: UserContext,
    until: Instant,
    changes: u64,
}

/// Most cached identities; past it the cache is cleared (it refills from the store).
const MAX_CACHED: usize = 10_000;

impl IdentityCache {
    /// A cache keeping identities for `ttl` (zero: keeps nothing).
    pub(crate) fn new(ttl: Duration) -> Self {
        IdentityCache { ttl, entries: Arc::default() }
    }

    pub(crate) fn ttl(&self) -> Duration {
        self.ttl
    }

    /// What to pass to [`insert`](Self::insert): read it *before* resolving an identity, so
    /// that a change made meanwhile leaves the entry stale.
    pub(crate) fn generation() -> u64 {
        IDENTITY_CHANGES.load(Ordering::SeqCst)
    }

    /// The identity cached under `key`, unless it is out of date.
    pub(crate) fn get(&self, key: &str) -> Option<UserContext> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let changes = IDENTITY_CHANGES.load(Ordering::SeqCst);
        match entries.get(key) {
            Some(entry) if Instant::now() < entry.until && entry.changes == changes => Some(entry.ctx.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Keeps `ctx` under `key` for the cache's time, or until `expires` if that is sooner.
    pub(crate) fn insert(&self, key: String, ctx: &UserContext, generation: u64, expires: Option<Instant>) {
        if self.ttl.is_zero() {
            return;
        }
        let until = Instant::now() + self.ttl;
        let until = expires.map_or(until, |expires| expires.min(until));
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_CACHED {
            entries.clear();
        }
        entries.insert(key, Cached { ctx: ctx.clone(), until, changes: generation });
    }
}

/// Turns bearer tokens into user contexts, with a short cache. Cheap to clone.
#[derive(Clone)]
pub struct TokenAuthenticator {
    store: Arc<dyn Store>,
    cache: IdentityCache,
}

impl std::fmt::Debug for TokenAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenAuthenticator").field("ttl", &self.cache.ttl()).finish_non_exhaustive()
    }
}

impl TokenAuthenticator {
    /// An authenticator over `store`, caching identities for 5 seconds.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self::with_ttl(store, Duration::from_secs(5))
    }

    /// An authenticator caching identities for `ttl` (zero: no cache).
    pub fn with_ttl(store: Arc<dyn Store>, ttl: Duration) -> Self {
        TokenAuthenticator { store, cache: IdentityCache::new(ttl) }
    }

    /// The user `secret` acts as. Unknown, revoked or expired tokens, and tokens whose user is
    /// no longer a member, are [`Error::Unauthenticated`] (with no hint of which).
    pub async fn authenticate(&self, secret: &str) -> Result<UserContext> {
        let secret = secret.trim();
        if !secret.starts_with(SECRET_PREFIX) || secret.len() > 200 {
            return Err(unknown());
        }
        let hash = hash_secret(secret);
        if let Some(ctx) = self.cache.get(&hash) {
            return Ok(ctx);
        }
        let generation = IdentityCache::generation();
        let token = match self.store.find_api_token(&hash).await {
            Ok(token) => token,
            Err(e) if e.kind() == ErrorKind::NotFound => return Err(unknown()),
            Err(e) => return Err(e),
        };
        if !token.is_active(chrono::Utc::now()) {
            return Err(unknown());
        }
        let mut ctx =
            match UserContext::resolve(self.store.as_ref(), &token.user_id, Some(token.organization_id.as_str())).await
            {
                Ok(ctx) => ctx,
                Err(e) if e.kind() == ErrorKind::NotFound => return Err(unknown()),
                Err(e) => return Err(e),
            };
        ctx.limits = token.limits;
        self.cache.insert(hash, &ctx, generation, None);
        Ok(ctx)
    }

    /// Revokes one of `ctx`'s tokens; it stops working at once in this process.
    pub async fn revoke(&self, ctx: &UserContext, id: &ApiTokenId) -> Result<ApiToken> {
        revoke_token(self.store.as_ref(), ctx, id).await
    }
}

/// Revokes one of `ctx`'s tokens; it stops working at once in this process (and within the
/// cache time in others).
pub async fn revoke_token(store: &dyn Store, ctx: &UserContext, id: &ApiTokenId) -> Result<ApiToken> {
    let token = store.revoke_api_token(&ctx.scope()?, &ctx.user_id, id, chrono::Utc::now()).await?;
    identities_changed();
    Ok(token)
}

fn unknown() -> Error {
    Error::Unauthenticated("the token is unknown, expired or revoked".into())
}

/// How the HTTP service (`/api` routes) and the MCP endpoint learn who is calling: a request
/// in, the [`UserContext`] it acts for out.
///
/// [`TokenAuthenticator`] reads crm-agent's API tokens. A host with sessions of its own (a
/// cookie, its own API keys, an OAuth access token) implements this trait and hands it to
/// [`HttpState::new`](crate::http::HttpState::new) or
/// [`mcp::http::router`](crate::mcp::http::router); `examples/rust-axum` does.
#[cfg(feature = "mcp")]
#[async_trait::async_trait]
pub trait RequestAuthenticator: Send + Sync + 'static {
    /// The user `request` acts for. A request without acceptable credentials is
    /// [`Error::Unauthenticated`] (answered `401`); credentials that are good but allow too
    /// little are [`Error::PermissionDenied`] (`403`, with [`forbidden_challenge`](Self::forbidden_challenge));
    /// any other error means the check itself failed (a store that is down: `503`, its details
    /// only in the log).
    async fn authenticate_request(&self, request: &::http::request::Parts) -> Result<UserContext>;

    /// The `WWW-Authenticate` challenge of a `401` answer (RFC 6750 form; crm-agent adds
    /// `error="invalid_token"` when the request did send credentials).
    fn challenge(&self) -> String {
        "Bearer realm=\"crm-agent\"".to_owned()
    }

    /// The `WWW-Authenticate` challenge of a `403` answer: the credentials are good but allow
    /// too little ([`Error::PermissionDenied`] from [`authenticate_request`](Self::authenticate_request),
    /// RFC 6750's `insufficient_scope`). `None`: no challenge.
    fn forbidden_challenge(&self) -> Option<String> {
        None
    }

    /// The OAuth protected-resource metadata (RFC 9728) the MCP router serves at
    /// `/.well-known/oauth-protected-resource`, when clients are to get tokens from an
    /// authorization server ([`oauth::OAuthAuthenticator`]).
    fn protected_resource_metadata(&self) -> Option<ResourceMetadata> {
        None
    }
}

/// RFC 9728 protected-resource metadata, and where it is served.
#[cfg(feature = "mcp")]
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceMetadata {
    /// The path of the resource it describes (`/mcp`), without a trailing slash; empty for a
    /// resource at its origin's root. The document is also served at
    /// `/.well-known/oauth-protected-resource` followed by this path.
    pub resource_path: String,
    /// The metadata document.
    pub document: serde_json::Value,
}

/// A shared authenticator (the host keeps using it too, e.g. for its sign-in routes).
#[cfg(feature = "mcp")]
#[async_trait::async_trait]
impl<T: RequestAuthenticator + ?Sized> RequestAuthenticator for Arc<T> {
    async fn authenticate_request(&self, request: &::http::request::Parts) -> Result<UserContext> {
        (**self).authenticate_request(request).await
    }

    fn challenge(&self) -> String {
        (**self).challenge()
    }

    fn forbidden_challenge(&self) -> Option<String> {
        (**self).forbidden_challenge()
    }

    fn protected_resource_metadata(&self) -> Option<ResourceMetadata> {
        (**self).protected_resource_metadata()
    }
}

/// Reads `Authorization: Bearer TOKEN`, or Django REST Framework's `Authorization: Token TOKEN`
/// (the scheme of the older Django frontend), as an API token.
#[cfg(feature = "mcp")]
#[async_trait::async_trait]
impl RequestAuthenticator for TokenAuthenticator {
    async fn authenticate_request(&self, request: &::http::request::Parts) -> Result<UserContext> {
        match bearer_token(request, true) {
            Some(token) => self.authenticate(token).await,
            None => Err(Error::Unauthenticated(
                "send `Authorization: Bearer TOKEN` (create one with `crm-agent token create`)".into(),
            )),
        }
    }
}

/// The token of `Authorization: Bearer TOKEN` (and, with `token_scheme`, of Django REST
/// Framework's `Authorization: Token TOKEN`).
#[cfg(feature = "mcp")]
pub(crate) fn bearer_token(request: &::http::request::Parts, token_scheme: bool) -> Option<&str> {
    let header = request.headers.get(::http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = header.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") || (token_scheme && scheme.eq_ignore_ascii_case("token"))).then_some(token)
}
