//! OAuth 2.1 access tokens: crm-agent as a protected resource of the host's authorization
//! server (Django with django-oauth-toolkit, Keycloak, Auth0…), the way remote MCP clients
//! connect. See `docs/mcp.md`, "Connecting with OAuth".
//!
//! [`OAuthAuthenticator`] finds out about the authorization server from its issuer URL (RFC 8414
//! metadata, or OpenID Connect discovery), then accepts a bearer token when
//! - it is a JWT signed with one of the server's published keys (RS256 or ES256), naming the
//!   issuer, naming this resource as its audience (RFC 8707) and not expired (60 s of clock skew
//!   allowed); or
//! - it is any other token, and the server's introspection endpoint (RFC 7662) says it is
//!   active, for this audience, and not expired;
//! - or it is one of crm-agent's own API tokens (`crm_…`), which keep working beside OAuth.
//!
//! The token's user claim (`sub` by default) is the member's user id; the organization is the
//! one its organization claim names (when configured and present), else the user's only one.
//! A token for someone who is not a member is refused like an invalid one.
//!
//! Scopes narrow what the token may do, never widen it: the write scope (`crm:write`) allows
//! what the member may do; the read scope (`crm:read`) only the read-only tools (as a read-only
//! API token does); neither is `403 insufficient_scope`.
//!
//! A token checked once is not checked again for a few seconds (an identity cache, capped at
//! the token's expiry), so signatures are not verified per request; a refused token is refused
//! again from memory for as long, so that garbage cannot make crm-agent flood the authorization
//! server, and at most a few introspections run at once. The key set is read again every hour
//! (keeping the one it has while the server cannot be reached), and when a token names a key
//! (`kid`) the set lacks, at most every 30 seconds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use super::{
    IdentityCache, RequestAuthenticator, ResourceMetadata, SECRET_PREFIX, TokenAuthenticator, bearer_token, hash_secret,
};
use crate::context::UserContext;
use crate::domain::ToolLimits;
use crate::error::{Error, ErrorKind, Result};
use crate::store::Store;

/// How crm-agent checks OAuth access tokens.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    /// The authorization server's issuer identifier, e.g. `https://auth.example.com/o`.
    /// `https` is required, except on the loopback interface.
    pub issuer: String,
    /// This server's MCP endpoint as clients reach it, e.g. `https://crm.example.com/mcp`: the
    /// resource of the metadata clients read first (RFC 9728).
    pub resource: String,
    /// The audience tokens must name (default: `resource`, as RFC 8707 resource indicators
    /// make authorization servers write it).
    pub audience: Option<String>,
    /// The claim holding the member's user id.
    pub user_claim: String,
    /// The claim holding the organization (id or slug), if tokens carry one. Without it, or
    /// when a token lacks it, the user must belong to exactly one organization.
    pub organization_claim: Option<String>,
    /// The scope that allows reading (the read-only tools).
    pub read_scope: String,
    /// The scope that allows everything the member may do.
    pub write_scope: String,
    /// crm-agent's own client credentials at the authorization server, for introspecting
    /// tokens that are not JWTs. Without them such tokens are refused.
    pub introspection_client: Option<ClientCredentials>,
    /// Clock skew allowed on expiry.
    pub leeway: Duration,
    /// How long a checked token's identity is kept (never past the token's expiry).
    pub cache_ttl: Duration,
}

/// A confidential client's id and secret (HTTP basic authentication, RFC 6749 §2.3.1).
#[derive(Clone)]
pub struct ClientCredentials {
    /// The client id.
    pub id: String,
    /// The client secret.
    pub secret: String,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials").field("id", &self.id).finish_non_exhaustive()
    }
}

impl OAuthConfig {
    /// Tokens from `issuer` for `resource`, with the default claims (`sub`, no organization
    /// claim) and scopes (`crm:read`, `crm:write`).
    pub fn new(issuer: impl Into<String>, resource: impl Into<String>) -> Self {
        OAuthConfig {
            issuer: issuer.into(),
            resource: resource.into(),
            audience: None,
            user_claim: "sub".into(),
            organization_claim: None,
            read_scope: "crm:read".into(),
            write_scope: "crm:write".into(),
            introspection_client: None,
            leeway: Duration::from_secs(60),
            cache_ttl: Duration::from_secs(5),
        }
    }

    fn audience(&self) -> &str {
        self.audience.as_deref().unwrap_or(&self.resource)
    }
}

/// At most one refetch of the key set in this time, however many unknown `kid`s arrive.
const KEY_REFETCH_INTERVAL: Duration = Duration::from_secs(30);

/// How long a key set is used before it is read again (keys the server dropped stop working).
const KEY_MAX_AGE: Duration = Duration::from_secs(3600);

/// How long a call to the authorization server may take.
const SERVER_TIMEOUT: Duration = Duration::from_secs(10);

/// Most introspection requests in flight at once; more wait their turn.
const MAX_CONCURRENT_INTROSPECTIONS: usize = 8;

/// Most remembered refusals; past it they are forgotten (each is then checked once more).
const MAX_REFUSALS: usize = 10_000;

/// The authorization server as its metadata describes it.
#[derive(Debug, Clone)]
struct ServerMetadata {
    /// The issuer identifier exactly as the server writes it (tokens carry this spelling).
    issuer: String,
    jwks_uri: Option<String>,
    introspection_endpoint: Option<String>,
}

/// The verification keys of the authorization server, by `kid`, and when they were read.
struct KeySet {
    keys: Vec<(Option<String>, Algorithm, Arc<DecodingKey>)>,
    fetched: Instant,
}

impl KeySet {
    /// The key for a token's header: the one with its `kid`, or, for a token without one, the
    /// only key of its algorithm.
    fn find(&self, kid: Option<&str>, alg: Algorithm) -> Option<Arc<DecodingKey>> {
        let mut candidates = self.keys.iter().filter(|(_, key_alg, _)| *key_alg == alg);
        match kid {
            Some(kid) => candidates.find(|(key_id, _, _)| key_id.as_deref() == Some(kid)).map(|(_, _, k)| k.clone()),
            None => match (candidates.next(), candidates.next()) {
                (Some((_, _, key)), None) => Some(key.clone()),
                _ => None,
            },
        }
    }
}

/// Authenticates requests bearing OAuth access tokens (or crm-agent API tokens). Built with
/// [`discover`](Self::discover); cheap to clone.
#[derive(Clone)]
pub struct OAuthAuthenticator {
    inner: Arc<Inner>,
}

struct Inner {
    config: OAuthConfig,
    metadata: ServerMetadata,
    store: Arc<dyn Store>,
    api_tokens: TokenAuthenticator,
    http: reqwest::Client,
    keys: RwLock<Arc<KeySet>>,
    /// When the key set was last fetched for an unknown `kid` (not at discovery: keys rotated
    /// just after start are found at once); held while refetching, so one request fetches.
    keys_refetched: tokio::sync::Mutex<Option<Instant>>,
    introspections: tokio::sync::Semaphore,
    cache: IdentityCache,
    /// Tokens refused lately (by hash): until when, and the refusal.
    refusals: Mutex<HashMap<String, (Instant, ErrorKind, String)>>,
    /// The metadata document served at `/.well-known/oauth-protected-resource`.
    resource_metadata: ResourceMetadata,
    challenge: String,
    forbidden_challenge: String,
}

impl std::fmt::Debug for OAuthAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthAuthenticator")
            .field("config", &self.inner.config)
            .field("metadata", &self.inner.metadata)
            .finish_non_exhaustive()
    }
}

impl OAuthAuthenticator {
    /// Reads the authorization server's metadata (RFC 8414 first, then OpenID Connect
    /// discovery) and its key set. Fails when the server cannot be reached, its metadata names
    /// another issuer, or it offers neither keys nor (with client credentials) introspection.
    pub async fn discover(config: OAuthConfig, store: Arc<dyn Store>) -> Result<Self> {
        let issuer = parse_url("the issuer", &config.issuer)?;
        let resource = parse_url("the resource", &config.resource)?;
        crate::tls::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(SERVER_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Internal(format!("cannot build the HTTP client: {e}")))?;
        let metadata = fetch_server_metadata(&http, &issuer, &config.issuer).await?;
        if metadata.jwks_uri.is_none()
            && (metadata.introspection_endpoint.is_none() || config.introspection_client.is_none())
        {
            return Err(Error::invalid(format!(
                "the authorization server {} publishes no keys (jwks_uri), and crm-agent cannot introspect its tokens \
                 (it needs an introspection_endpoint and client credentials)",
                config.issuer
            )));
        }
        let keys = match &metadata.jwks_uri {
            Some(uri) => fetch_keys(&http, uri).await?,
            None => KeySet { keys: Vec::new(), fetched: Instant::now() },
        };
        let scopes = [config.read_scope.as_str(), config.write_scope.as_str()];
        let resource_metadata = ResourceMetadata {
            resource_path: resource_path(&resource),
            document: serde_json::json!({
                "resource": config.resource,
                "authorization_servers": [metadata.issuer],
                "scopes_supported": scopes,
                "bearer_methods_supported": ["header"],
                "resource_name": "crm-agent",
            }),
        };
        let metadata_url = resource_metadata_url(&resource);
        let challenge = format!("Bearer resource_metadata=\"{metadata_url}\", scope=\"{}\"", scopes.join(" "));
        let forbidden_challenge = format!(
            "Bearer error=\"insufficient_scope\", scope=\"{}\", resource_metadata=\"{metadata_url}\"",
            scopes.join(" ")
        );
        Ok(OAuthAuthenticator {
            inner: Arc::new(Inner {
                api_tokens: TokenAuthenticator::with_ttl(store.clone(), config.cache_ttl),
                cache: IdentityCache::new(config.cache_ttl),
                config,
                metadata,
                store,
                http,
                keys: RwLock::new(Arc::new(keys)),
                keys_refetched: tokio::sync::Mutex::new(None),
                introspections: tokio::sync::Semaphore::new(MAX_CONCURRENT_INTROSPECTIONS),
                refusals: Mutex::default(),
                resource_metadata,
                challenge,
                forbidden_challenge,
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &OAuthConfig {
        &self.inner.config
    }

    /// The user `token` acts for: an OAuth access token, or a crm-agent API token.
    /// Invalid, expired and foreign tokens, and tokens for non-members, are
    /// [`Error::Unauthenticated`]; a token with neither scope is [`Error::PermissionDenied`].
    pub async fn authenticate(&self, token: &str) -> Result<UserContext> {
        let token = token.trim();
        if token.starts_with(SECRET_PREFIX) {
            return self.inner.api_tokens.authenticate(token).await;
        }
        if token.is_empty() || token.len() > 8192 {
            return Err(invalid_token("the token is malformed"));
        }
        let key = hash_secret(token);
        if let Some(ctx) = self.inner.cache.get(&key) {
            return Ok(ctx);
        }
        if let Some(refusal) = self.refused_lately(&key) {
            return Err(refusal);
        }
        let generation = IdentityCache::generation();
        match self.check(token).await {
            Ok((ctx, expires)) => {
                self.inner.cache.insert(key, &ctx, generation, expires);
                Ok(ctx)
            }
            Err(error) => {
                self.remember_refusal(key, &error);
                Err(error)
            }
        }
    }

    /// Verifies or introspects a token: its member, and when it expires.
    async fn check(&self, token: &str) -> Result<(UserContext, Option<Instant>)> {
        let claims = if looks_like_jwt(token) && self.inner.metadata.jwks_uri.is_some() {
            self.verify_jwt(token).await?
        } else {
            self.introspect(token).await?
        };
        let ctx = self.identity(&claims).await?;
        let expires = claims.get("exp").and_then(Value::as_i64).and_then(|exp| {
            let left = exp.saturating_sub(chrono::Utc::now().timestamp());
            Instant::now().checked_add(Duration::from_secs(u64::try_from(left).unwrap_or(0)))
        });
        Ok((ctx, expires))
    }

    fn refused_lately(&self, key: &str) -> Option<Error> {
        let mut refusals = self.inner.refusals.lock().unwrap_or_else(|p| p.into_inner());
        match refusals.get(key) {
            Some((until, kind, reason)) if Instant::now() < *until => Some(match kind {
                ErrorKind::PermissionDenied => Error::PermissionDenied(reason.clone()),
                _ => Error::Unauthenticated(reason.clone()),
            }),
            Some(_) => {
                refusals.remove(key);
                None
            }
            None => None,
        }
    }

    /// Remembers a refusal for the cache's time, unless the check itself failed (the server
    /// was unreachable): that token may be good.
    fn remember_refusal(&self, key: String, error: &Error) {
        let kind = error.kind();
        if !matches!(kind, ErrorKind::Unauthenticated | ErrorKind::PermissionDenied)
            || self.inner.config.cache_ttl.is_zero()
        {
            return;
        }
        let mut refusals = self.inner.refusals.lock().unwrap_or_else(|p| p.into_inner());
        if refusals.len() >= MAX_REFUSALS {
            refusals.clear();
        }
        let reason = match error {
            Error::Unauthenticated(reason) | Error::PermissionDenied(reason) => reason.clone(),
            other => other.to_string(),
        };
        refusals.insert(key, (Instant::now() + self.inner.config.cache_ttl, kind, reason));
    }

    async fn verify_jwt(&self, token: &str) -> Result<Map<String, Value>> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid_token("the token is malformed"))?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(invalid_token("the token is signed with an algorithm crm-agent does not accept"));
        }
        let key = self.key(header.kid.as_deref(), header.alg).await?;
        let config = &self.inner.config;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.inner.metadata.issuer]);
        validation.set_audience(&[config.audience()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = config.leeway.as_secs();
        validation.validate_nbf = true;
        let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as Jwt;
            invalid_token(match e.kind() {
                Jwt::ExpiredSignature => "the token has expired",
                Jwt::ImmatureSignature => "the token is not valid yet",
                Jwt::InvalidAudience => "the token is for another audience",
                Jwt::InvalidIssuer => "the token is from another issuer",
                Jwt::InvalidSignature => "the token's signature does not verify",
                Jwt::MissingRequiredClaim(_) => "the token lacks exp, iss or aud",
                _ => "the token is malformed",
            })
        })?;
        Ok(data.claims)
    }

    /// The key that signed a token. The key set is read again when it is older than
    /// [`KEY_MAX_AGE`] (the server may have dropped a key), and when it does not know the `kid`
    /// (the server rotated its keys; at most every [`KEY_REFETCH_INTERVAL`]).
    async fn key(&self, kid: Option<&str>, alg: Algorithm) -> Result<Arc<DecodingKey>> {
        let Some(uri) = &self.inner.metadata.jwks_uri else {
            return Err(invalid_token("the token's signing key is unknown"));
        };
        let current = || self.inner.keys.read().unwrap_or_else(|p| p.into_inner()).clone();
        if current().fetched.elapsed() >= KEY_MAX_AGE {
            let _refetching = self.inner.keys_refetched.lock().await;
            if current().fetched.elapsed() >= KEY_MAX_AGE {
                match fetch_keys(&self.inner.http, uri).await {
                    Ok(keys) => *self.inner.keys.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(keys),
                    // Keys that verified an hour ago beat refusing everyone while it is down.
                    Err(error) => tracing::warn!(%error, "could not read the authorization server's keys again"),
                }
            }
        }
        let known = || current().find(kid, alg);
        if let Some(key) = known() {
            return Ok(key);
        }
        let mut refetched = self.inner.keys_refetched.lock().await;
        // Another request may have refetched while this one waited.
        if let Some(key) = known() {
            return Ok(key);
        }
        if refetched.is_some_and(|at| at.elapsed() < KEY_REFETCH_INTERVAL) {
            return Err(invalid_token("the token's signing key is unknown"));
        }
        *refetched = Some(Instant::now());
        let keys = fetch_keys(&self.inner.http, uri).await?;
        *self.inner.keys.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(keys);
        known().ok_or_else(|| invalid_token("the token's signing key is unknown"))
    }

    /// RFC 7662: asks the authorization server about a token, and checks what it says.
    async fn introspect(&self, token: &str) -> Result<Map<String, Value>> {
        let config = &self.inner.config;
        let (Some(endpoint), Some(client)) =
            (&self.inner.metadata.introspection_endpoint, &config.introspection_client)
        else {
            return Err(invalid_token("the token is not a JWT, and crm-agent is not set up to introspect tokens"));
        };
        let body = format!("token={}&token_type_hint=access_token", form_encode(token));
        let _turn = self
            .inner
            .introspections
            .acquire()
            .await
            .map_err(|_| Error::Internal("the introspection limiter is closed".into()))?;
        let response = self
            .inner
            .http
            .post(endpoint)
            .basic_auth(&client.id, Some(&client.secret))
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| server_unavailable("introspection", e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(Error::unavailable(format!(
                "the authorization server's introspection endpoint answered {status}"
            )));
        }
        let answer: Map<String, Value> = response.json().await.map_err(|e| server_unavailable("introspection", e))?;
        if answer.get("active") != Some(&Value::Bool(true)) {
            return Err(invalid_token("the token is not active"));
        }
        let now = chrono::Utc::now().timestamp();
        let leeway = i64::try_from(config.leeway.as_secs()).unwrap_or(i64::MAX);
        if answer.get("exp").and_then(Value::as_i64).is_some_and(|exp| exp.saturating_add(leeway) <= now) {
            return Err(invalid_token("the token has expired"));
        }
        if answer.get("iss").and_then(Value::as_str).is_some_and(|iss| !same_issuer(iss, &self.inner.metadata.issuer)) {
            return Err(invalid_token("the token is from another issuer"));
        }
        // An answer without an audience could be for any resource of the server: refused, as
        // the MCP authorization spec requires tokens issued for this resource.
        let audience = config.audience();
        let for_us = match answer.get("aud") {
            Some(Value::String(aud)) => aud == audience,
            Some(Value::Array(auds)) => auds.iter().any(|aud| aud.as_str() == Some(audience)),
            _ => false,
        };
        if !for_us {
            return Err(invalid_token("the token is for another audience"));
        }
        Ok(answer)
    }

    /// The member a token's claims name, narrowed by its scopes.
    async fn identity(&self, claims: &Map<String, Value>) -> Result<UserContext> {
        let config = &self.inner.config;
        let user = claim_text(claims, &config.user_claim)
            .ok_or_else(|| invalid_token(&format!("the token has no `{}` claim", config.user_claim)))?;
        let organization = config.organization_claim.as_deref().and_then(|claim| claim_text(claims, claim));
        let mut ctx = match UserContext::resolve(self.inner.store.as_ref(), &user, organization.as_deref()).await {
            Ok(ctx) => ctx,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(invalid_token("the token's user is not a member of an organization here"));
            }
            Err(e) if e.kind() == ErrorKind::InvalidArgument => {
                return Err(invalid_token(
                    "the token's user belongs to several organizations, and the token names none of them",
                ));
            }
            Err(e) => return Err(e),
        };
        let scopes = scopes(claims);
        ctx.limits = if scopes.contains(&config.write_scope.as_str()) {
            ToolLimits::default()
        } else if scopes.contains(&config.read_scope.as_str()) {
            ToolLimits { read_only: true, toolsets: None }
        } else {
            return Err(Error::PermissionDenied(format!(
                "the token has neither the `{}` nor the `{}` scope",
                config.read_scope, config.write_scope
            )));
        };
        Ok(ctx)
    }
}

#[async_trait::async_trait]
impl RequestAuthenticator for OAuthAuthenticator {
    async fn authenticate_request(&self, request: &::http::request::Parts) -> Result<UserContext> {
        match bearer_token(request, true) {
            Some(token) => self.authenticate(token).await,
            None => Err(Error::Unauthenticated(format!(
                "send `Authorization: Bearer TOKEN` with an access token from {}",
                self.inner.config.issuer
            ))),
        }
    }

    fn challenge(&self) -> String {
        self.inner.challenge.clone()
    }

    fn forbidden_challenge(&self) -> Option<String> {
        Some(self.inner.forbidden_challenge.clone())
    }

    fn protected_resource_metadata(&self) -> Option<ResourceMetadata> {
        Some(self.inner.resource_metadata.clone())
    }
}

/// Where RFC 9728 puts a resource's metadata: `/.well-known/oauth-protected-resource` followed
/// by the resource's path, on its origin.
fn resource_metadata_url(resource: &reqwest::Url) -> String {
    format!(
        "{}/.well-known/oauth-protected-resource{}",
        resource.origin().ascii_serialization(),
        resource_path(resource)
    )
}

/// The resource's path without a trailing slash (`https://host/mcp/` → `/mcp`; the root → ``).
fn resource_path(resource: &reqwest::Url) -> String {
    resource.path().trim_end_matches('/').to_owned()
}

/// The metadata documents tried for an issuer, in the order the MCP authorization spec gives:
/// RFC 8414's, then OpenID Connect's with the issuer's path inserted, then appended.
fn metadata_urls(issuer: &reqwest::Url) -> Vec<String> {
    let origin = issuer.origin().ascii_serialization();
    let path = issuer.path().trim_end_matches('/');
    let mut urls = vec![format!("{origin}/.well-known/oauth-authorization-server{path}")];
    if path.is_empty() {
        urls.push(format!("{origin}/.well-known/openid-configuration"));
    } else {
        urls.push(format!("{origin}/.well-known/openid-configuration{path}"));
        urls.push(format!("{origin}{path}/.well-known/openid-configuration"));
    }
    urls
}

async fn fetch_server_metadata(http: &reqwest::Client, url: &reqwest::Url, issuer: &str) -> Result<ServerMetadata> {
    let mut tried = Vec::new();
    for candidate in metadata_urls(url) {
        let response = http
            .get(&candidate)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| server_unavailable("metadata", e))?;
        if !response.status().is_success() {
            tried.push(format!("{candidate} ({})", response.status()));
            continue;
        }
        let Ok(document) = response.json::<Map<String, Value>>().await else {
            tried.push(format!("{candidate} (not a JSON object)"));
            continue;
        };
        let named = document.get("issuer").and_then(Value::as_str).unwrap_or_default();
        if !same_issuer(named, issuer) {
            return Err(Error::invalid(format!(
                "the authorization server's metadata at {candidate} names the issuer `{named}`, not `{issuer}`"
            )));
        }
        let endpoint = |key: &str| -> Result<Option<String>> {
            match document.get(key).and_then(Value::as_str) {
                Some(url) => Ok(Some(parse_url(key, url)?.to_string())),
                None => Ok(None),
            }
        };
        return Ok(ServerMetadata {
            issuer: named.to_owned(),
            jwks_uri: endpoint("jwks_uri")?,
            introspection_endpoint: endpoint("introspection_endpoint")?,
        });
    }
    Err(Error::unavailable(format!("no authorization server metadata for {issuer}: tried {}", tried.join(", "))))
}

/// The server's RS256 and ES256 signing keys; others (encryption keys, other algorithms) are
/// skipped.
async fn fetch_keys(http: &reqwest::Client, uri: &str) -> Result<KeySet> {
    let response = http.get(uri).send().await.map_err(|e| server_unavailable("key set", e))?;
    if !response.status().is_success() {
        return Err(Error::unavailable(format!("the authorization server's key set answered {}", response.status())));
    }
    let set: JwkSet = response.json().await.map_err(|e| server_unavailable("key set", e))?;
    let mut keys = Vec::new();
    for jwk in &set.keys {
        if jwk.common.public_key_use.as_ref().is_some_and(|u| *u != jsonwebtoken::jwk::PublicKeyUse::Signature) {
            continue;
        }
        let alg = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Algorithm::RS256,
            AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => Algorithm::ES256,
            _ => continue,
        };
        let named_fits = match jwk.common.key_algorithm {
            None => true,
            Some(named) => matches!(
                (named, alg),
                (KeyAlgorithm::RS256, Algorithm::RS256) | (KeyAlgorithm::ES256, Algorithm::ES256)
            ),
        };
        if !named_fits {
            continue;
        }
        if let Ok(key) = DecodingKey::from_jwk(jwk) {
            keys.push((jwk.common.key_id.clone(), alg, Arc::new(key)));
        }
    }
    Ok(KeySet { keys, fetched: Instant::now() })
}

fn parse_url(what: &str, url: &str) -> Result<reqwest::Url> {
    let parsed = reqwest::Url::parse(url).map_err(|e| Error::invalid(format!("{what} `{url}` is not a URL: {e}")))?;
    let loopback = parsed.host_str().is_some_and(|host| {
        host == "localhost"
            || host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    });
    if parsed.scheme() != "https" && !(parsed.scheme() == "http" && loopback) {
        return Err(Error::invalid(format!("{what} `{url}` must be https (http only on this machine)")));
    }
    Ok(parsed)
}

/// Issuers compare as strings (RFC 8414 §3.3), save a trailing slash.
fn same_issuer(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// Three base64url parts: a JWS in compact form.
fn looks_like_jwt(token: &str) -> bool {
    token.split('.').count() == 3 && token.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A claim as text: a string, or a number (some servers' user ids are).
fn claim_text(claims: &Map<String, Value>, name: &str) -> Option<String> {
    match claims.get(name)? {
        Value::String(text) if !text.trim().is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// The token's scopes: `scope` (space-separated, RFC 9068 and RFC 7662) or `scp` (a list, as
/// Okta and Azure write it).
fn scopes(claims: &Map<String, Value>) -> Vec<&str> {
    match (claims.get("scope"), claims.get("scp")) {
        (Some(Value::String(scope)), _) => scope.split_whitespace().collect(),
        (_, Some(Value::Array(scp))) => scp.iter().filter_map(Value::as_str).collect(),
        (_, Some(Value::String(scp))) => scp.split_whitespace().collect(),
        _ => Vec::new(),
    }
}

/// `application/x-www-form-urlencoded` of one value.
fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => out.push(char::from(byte)),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn invalid_token(reason: &str) -> Error {
    Error::Unauthenticated(reason.to_owned())
}

fn server_unavailable(what: &str, error: reqwest::Error) -> Error {
    Error::unavailable(format!("cannot read the authorization server's {what}: {error}")).because(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_urls_follow_the_mcp_order() {
        let with_path = reqwest::Url::parse("https://auth.example.com/o/").unwrap();
        assert_eq!(
            metadata_urls(&with_path),
            [
                "https://auth.example.com/.well-known/oauth-authorization-server/o",
                "https://auth.example.com/.well-known/openid-configuration/o",
                "https://auth.example.com/o/.well-known/openid-configuration",
            ]
        );
        let bare = reqwest::Url::parse("https://auth.example.com").unwrap();
        assert_eq!(
            metadata_urls(&bare),
            [
                "https://auth.example.com/.well-known/oauth-authorization-server",
                "https://auth.example.com/.well-known/openid-configuration",
            ]
        );
    }

    #[test]
    fn resource_metadata_sits_under_the_resource_path() {
        let resource = reqwest::Url::parse("https://crm.example.com:8443/mcp").unwrap();
        assert_eq!(
            resource_metadata_url(&resource),
            "https://crm.example.com:8443/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(resource_path(&resource), "/mcp");
        let root = reqwest::Url::parse("https://crm.example.com/").unwrap();
        assert_eq!(resource_metadata_url(&root), "https://crm.example.com/.well-known/oauth-protected-resource");
        assert_eq!(resource_path(&root), "");
    }

    #[test]
    fn only_https_or_loopback_http() {
        assert!(parse_url("x", "https://auth.example.com").is_ok());
        assert!(parse_url("x", "http://127.0.0.1:9000/o").is_ok());
        assert!(parse_url("x", "http://localhost/o").is_ok());
        assert!(parse_url("x", "http://auth.example.com").is_err());
        assert!(parse_url("x", "not a url").is_err());
    }

    #[test]
    fn scopes_come_from_scope_or_scp() {
        let claims = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(scopes(&claims(serde_json::json!({"scope": "crm:read  openid"}))), ["crm:read", "openid"]);
        assert_eq!(scopes(&claims(serde_json::json!({"scp": ["crm:write"]}))), ["crm:write"]);
        assert!(scopes(&claims(serde_json::json!({}))).is_empty());
    }

    #[test]
    fn form_encoding_escapes_reserved_bytes() {
        assert_eq!(form_encode("a+b/c=d e"), "a%2Bb%2Fc%3Dd+e");
    }
}
