//! OAuth access tokens: JWTs verified against an issuer's published keys, opaque tokens by
//! introspection, and what `/mcp` answers to each. The issuer here is a small axum app that
//! publishes RFC 8414 metadata, a key set and an introspection endpoint, and signs tokens with
//! the keys in `oauth_keys/`. (The whole flow against a real authorization server, Django with
//! django-oauth-toolkit and the official MCP client, is `examples/django`'s test.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::routing::{get, post};
use crm_agent::auth::create_token;
use crm_agent::auth::oauth::{ClientCredentials, OAuthAuthenticator, OAuthConfig};
use crm_agent::mcp::McpServer;
use crm_agent::{ErrorKind, UserContext};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::common::fixture::{Fixture, fixture};

const RSA: &str = include_str!("oauth_keys/rsa.pem");
const RSA_FOREIGN: &str = include_str!("oauth_keys/rsa-foreign.pem");
const EC: &str = include_str!("oauth_keys/ec.pem");
const RESOURCE: &str = "http://127.0.0.1:1/mcp";

/// The issuer's state: the keys it publishes, how often they were fetched, and the opaque
/// tokens its introspection endpoint knows.
#[derive(Clone, Default)]
struct Issuer {
    url: Arc<Mutex<String>>,
    keys: Arc<Mutex<Vec<Jwk>>>,
    key_fetches: Arc<AtomicUsize>,
    opaque: Arc<Mutex<Vec<(String, Value)>>>,
    introspections: Arc<AtomicUsize>,
}

fn public_jwk(pem: &str, alg: Algorithm, kid: &str) -> Jwk {
    let key = encoding_key(pem, alg);
    let mut jwk = Jwk::from_encoding_key(&key, alg).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    jwk
}

fn encoding_key(pem: &str, alg: Algorithm) -> EncodingKey {
    match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
        _ => EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
    }
}

async fn metadata(State(issuer): State<Issuer>) -> axum::Json<Value> {
    let url = issuer.url.lock().unwrap().clone();
    axum::Json(json!({
        "issuer": url,
        "jwks_uri": format!("{url}/jwks"),
        "introspection_endpoint": format!("{url}/introspect"),
        "authorization_endpoint": format!("{url}/authorize"),
        "token_endpoint": format!("{url}/token"),
    }))
}

async fn jwks(State(issuer): State<Issuer>) -> axum::Json<JwkSet> {
    issuer.key_fetches.fetch_add(1, Ordering::SeqCst);
    axum::Json(JwkSet { keys: issuer.keys.lock().unwrap().clone() })
}

/// RFC 7662, for the client `crm-agent` with secret `s3cret` only.
async fn introspect(
    State(issuer): State<Issuer>,
    headers: axum::http::HeaderMap,
    body: String,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    issuer.introspections.fetch_add(1, Ordering::SeqCst);
    let expected = "Basic Y3JtLWFnZW50OnMzY3JldA=="; // crm-agent:s3cret
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected) {
        return (axum::http::StatusCode::UNAUTHORIZED, "client authentication failed").into_response();
    }
    let token = body.split('&').find_map(|pair| pair.strip_prefix("token=")).unwrap_or_default().to_owned();
    let known = issuer.opaque.lock().unwrap().iter().find(|(t, _)| *t == token).map(|(_, answer)| answer.clone());
    axum::Json(known.unwrap_or_else(|| json!({"active": false}))).into_response()
}

/// Starts the issuer, publishing the RSA key `rsa-1` and the EC key `ec-1`.
async fn start_issuer() -> Issuer {
    let issuer = Issuer::default();
    *issuer.keys.lock().unwrap() =
        vec![public_jwk(RSA, Algorithm::RS256, "rsa-1"), public_jwk(EC, Algorithm::ES256, "ec-1")];
    let app = axum::Router::new()
        .route("/.well-known/oauth-authorization-server/o", get(metadata))
        .route("/o/jwks", get(jwks))
        .route("/o/introspect", post(introspect))
        .with_state(issuer.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    *issuer.url.lock().unwrap() = format!("http://{}/o", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    issuer
}

impl Issuer {
    fn url(&self) -> String {
        self.url.lock().unwrap().clone()
    }

    /// A token signed with `pem` as `kid`, with these claims over sensible defaults (issued by
    /// this issuer, for [`RESOURCE`], an hour left).
    fn sign(&self, pem: &str, alg: Algorithm, kid: &str, claims: Value) -> String {
        let now = chrono::Utc::now().timestamp();
        let mut all = json!({"iss": self.url(), "aud": RESOURCE, "exp": now + 3600, "iat": now, "scope": "crm:write"});
        let Value::Object(claims) = claims else { panic!("claims are an object") };
        for (k, v) in claims {
            all[k] = v;
        }
        let mut header = Header::new(alg);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, &all, &encoding_key(pem, alg)).unwrap()
    }

    fn rsa(&self, claims: Value) -> String {
        self.sign(RSA, Algorithm::RS256, "rsa-1", claims)
    }
}

async fn authenticator(issuer: &Issuer, f: &Fixture, configure: impl FnOnce(&mut OAuthConfig)) -> OAuthAuthenticator {
    let mut config = OAuthConfig::new(issuer.url(), RESOURCE);
    config.introspection_client = Some(ClientCredentials { id: "crm-agent".into(), secret: "s3cret".into() });
    configure(&mut config);
    OAuthAuthenticator::discover(config, f.store.clone()).await.unwrap()
}

fn refused(result: crm_agent::Result<UserContext>, kind: ErrorKind, reason: &str) {
    match result {
        Ok(ctx) => panic!("accepted as {}, expected {kind:?} ({reason})", ctx.user_id),
        Err(e) => {
            assert_eq!(e.kind(), kind, "{e}");
            assert!(e.to_string().contains(reason), "`{e}` does not say `{reason}`");
        }
    }
}

#[tokio::test]
async fn a_jwt_from_the_issuer_acts_as_its_member_narrowed_by_its_scopes() {
    let f = fixture().await;
    let issuer = start_issuer().await;
    let auth = authenticator(&issuer, &f, |_| {}).await;

    let writer = auth.authenticate(&issuer.rsa(json!({"sub": "acme-rep"}))).await.unwrap();
    assert_eq!((writer.user_id.as_str(), &writer.organization_id), ("acme-rep", &f.rep.organization_id));
    assert_eq!(writer.role, f.rep.role);
    assert!(!writer.limits.read_only);

    let reader = issuer.sign(EC, Algorithm::ES256, "ec-1", json!({"sub": "acme-owner", "scope": "openid crm:read"}));
    let reader = auth.authenticate(&reader).await.unwrap();
    assert_eq!(reader.user_id, "acme-owner");
    assert!(reader.limits.read_only, "crm:read alone is read-only");
    // Scopes narrow the tools through the same path as a read-only API token.
    let refused_write = f.registry.call(&reader, "create_customer", json!({"name": "Scoped Ltd"})).await;
    assert_eq!(refused_write.unwrap_err().kind(), ErrorKind::PermissionDenied);
    assert!(f.registry.call(&reader, "list_customers", json!({})).await.is_ok());
    // …and never widen: a customer with crm:write is still only that customer.
    let customer = auth.authenticate(&issuer.rsa(json!({"sub": "acme-customer"}))).await.unwrap();
    assert_eq!(customer.customer_id, f.customer.customer_id);

    // The organization claim picks the membership; one the user lacks is refused.
    let auth = authenticator(&issuer, &f, |c| c.organization_claim = Some("org".into())).await;
    let named = auth.authenticate(&issuer.rsa(json!({"sub": "globex-owner", "org": "globex"}))).await.unwrap();
    assert_eq!(named.organization_id, f.globex.organization_id);
    refused(
        auth.authenticate(&issuer.rsa(json!({"sub": "acme-rep", "org": "globex"}))).await,
        ErrorKind::Unauthenticated,
        "not a member",
    );
    // Another user claim, and crm-agent's own API tokens beside OAuth.
    let auth = authenticator(&issuer, &f, |c| c.user_claim = "username".into()).await;
    let by_name = auth.authenticate(&issuer.rsa(json!({"sub": "42", "username": "acme-support"}))).await.unwrap();
    assert_eq!(by_name.user_id, "acme-support");
    let api_token = create_token(f.store.as_ref(), &f.rep, "beside oauth", None).await.unwrap().secret;
    assert_eq!(auth.authenticate(&api_token).await.unwrap().user_id, "acme-rep");

    // An issuer configured with a trailing slash still accepts tokens naming the issuer as its
    // metadata spells it; a token without a `kid` is checked with the only key of its algorithm.
    let auth = authenticator(&issuer, &f, |c| c.issuer.push('/')).await;
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"iss": issuer.url(), "aud": RESOURCE, "exp": now + 60, "sub": "acme-rep", "scope": "crm:read"});
    let no_kid =
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &encoding_key(RSA, Algorithm::RS256)).unwrap();
    assert_eq!(auth.authenticate(&no_kid).await.unwrap().user_id, "acme-rep");
}

#[tokio::test]
async fn bad_tokens_are_refused_each_for_its_reason() {
    let f = fixture().await;
    let issuer = start_issuer().await;
    let auth = authenticator(&issuer, &f, |_| {}).await;
    let now = chrono::Utc::now().timestamp();
    let cases = [
        (issuer.rsa(json!({"sub": "acme-rep", "aud": "https://other.example/mcp"})), "another audience"),
        (issuer.rsa(json!({"sub": "acme-rep", "exp": now - 120})), "expired"),
        (issuer.rsa(json!({"sub": "acme-rep", "iss": "https://elsewhere.example"})), "another issuer"),
        (issuer.rsa(json!({"sub": "acme-rep", "nbf": now + 600})), "not valid yet"),
        // Signed by a key the issuer never published, under its key id.
        (issuer.sign(RSA_FOREIGN, Algorithm::RS256, "rsa-1", json!({"sub": "acme-rep"})), "signature"),
        (issuer.rsa(json!({"sub": "nobody-here"})), "not a member"),
        (issuer.rsa(json!({"scope": "crm:write"})), "no `sub` claim"),
        ("not.a.jwt".to_owned(), "malformed"),
        // An opaque token the issuer does not know: introspection says inactive.
        ("opaque-unknown".to_owned(), "not active"),
    ];
    for (token, reason) in cases {
        refused(auth.authenticate(&token).await, ErrorKind::Unauthenticated, reason);
    }
    // Tokens lacking what every access token must name.
    for missing in ["exp", "aud", "iss"] {
        let mut claims =
            json!({"iss": issuer.url(), "aud": RESOURCE, "exp": now + 60, "sub": "acme-rep", "scope": "crm:write"});
        claims.as_object_mut().unwrap().remove(missing);
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("rsa-1".into());
        let token = jsonwebtoken::encode(&header, &claims, &encoding_key(RSA, Algorithm::RS256)).unwrap();
        refused(auth.authenticate(&token).await, ErrorKind::Unauthenticated, "lacks exp, iss or aud");
    }
    // `alg: none`, unsigned.
    let b64 = |v: Value| base64url(v.to_string().as_bytes());
    let unsigned = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "JWT"})),
        b64(json!({"iss": issuer.url(), "aud": RESOURCE, "exp": now + 60, "sub": "acme-owner", "scope": "crm:write"}))
    );
    assert!(auth.authenticate(&unsigned).await.is_err(), "an unsigned token is refused");
    // A symmetric (HS256) token, as in the attack that signs with the public key as an HMAC
    // secret: refused for its algorithm before any key is looked at.
    let hs = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &json!({"sub": "acme-owner", "iss": issuer.url(), "aud": RESOURCE, "exp": now + 60}),
        &EncodingKey::from_secret(b"public").unwrap(),
    )
    .unwrap();
    refused(auth.authenticate(&hs).await, ErrorKind::Unauthenticated, "algorithm");
    // Neither scope: the token is good but allows nothing.
    refused(
        auth.authenticate(&issuer.rsa(json!({"sub": "acme-rep", "scope": "openid profile"}))).await,
        ErrorKind::PermissionDenied,
        "neither",
    );
}

#[tokio::test]
async fn a_checked_token_is_trusted_until_its_expiry_only() {
    let f = fixture().await;
    let issuer = start_issuer().await;
    let auth = authenticator(&issuer, &f, |c| {
        c.leeway = std::time::Duration::ZERO;
        c.cache_ttl = std::time::Duration::from_secs(60);
    })
    .await;
    let exp = chrono::Utc::now().timestamp() + 2;
    let token = issuer.rsa(json!({"sub": "acme-rep", "exp": exp}));
    assert_eq!(auth.authenticate(&token).await.unwrap().user_id, "acme-rep");
    // Past its expiry the cached identity is gone, though the cache keeps others for a minute.
    while chrono::Utc::now().timestamp() <= exp {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    refused(auth.authenticate(&token).await, ErrorKind::Unauthenticated, "expired");
}

#[tokio::test]
async fn refusals_are_remembered_so_garbage_does_not_reach_the_issuer() {
    let f = fixture().await;
    let issuer = start_issuer().await;
    let auth = authenticator(&issuer, &f, |_| {}).await;
    for _ in 0..20 {
        refused(auth.authenticate("opaque-garbage").await, ErrorKind::Unauthenticated, "not active");
    }
    assert_eq!(issuer.introspections.load(Ordering::SeqCst), 1, "one introspection for twenty tries");
    let unscoped = issuer.rsa(json!({"sub": "acme-rep", "scope": "openid"}));
    for _ in 0..3 {
        refused(auth.authenticate(&unscoped).await, ErrorKind::PermissionDenied, "neither");
    }
}

#[tokio::test]
async fn concurrent_unknown_keys_fetch_the_key_set_once() {
    let f = fixture().await;
    let issuer = start_issuer().await;
    let auth = authenticator(&issuer, &f, |_| {}).await;
    issuer.keys.lock().unwrap().push(public_jwk(RSA_FOREIGN, Algorithm::RS256, "rsa-2"));
    let tokens: Vec<String> = (0..10)
        .map(|i| issuer.sign(RSA_FOREIGN, Algorithm::RS256, "rsa-2", json!({"sub": "acme-rep", "jti": i})))
        .collect();
    let checks = tokens.iter().map(|token| auth.authenticate(token));
    for result in futures::future::join_all(checks).await {
        assert_eq!(result.unwrap().user_id, "acme-rep");
    }
    assert_eq!(issuer.key_fetches.load(Ordering::SeqCst), 2, "discovery, then one refetch for all ten");
}

#[tokio::test]
async fn rotated_keys_are_refetched_at_most_once_an_interval() {
    let f = fixture().await;
    let issuer = start_issuer().await;
    let auth = authenticator(&issuer, &f, |_| {}).await;
    assert_eq!(issuer.key_fetches.load(Ordering::SeqCst), 1, "discovery reads the key set");
    auth.authenticate(&issuer.rsa(json!({"sub": "acme-rep"}))).await.unwrap();
    assert_eq!(issuer.key_fetches.load(Ordering::SeqCst), 1, "a known kid needs no fetch");

    issuer.keys.lock().unwrap().push(public_jwk(RSA_FOREIGN, Algorithm::RS256, "rsa-2"));
    let rotated = issuer.sign(RSA_FOREIGN, Algorithm::RS256, "rsa-2", json!({"sub": "acme-rep"}));
    assert_eq!(auth.authenticate(&rotated).await.unwrap().user_id, "acme-rep");
    assert_eq!(issuer.key_fetches.load(Ordering::SeqCst), 2, "an unknown kid refetches");

    let unknown = issuer.sign(RSA_FOREIGN, Algorithm::RS256, "rsa-3", json!({"sub": "acme-rep"}));
    for _ in 0..5 {
        refused(auth.authenticate(&unknown).await, ErrorKind::Unauthenticated, "signing key is unknown");
    }
    assert_eq!(issuer.key_fetches.load(Ordering::SeqCst), 2, "refetches are rate-limited");
}

#[tokio::test]
async fn opaque_tokens_are_introspected_and_checked() {
    let f = fixture().await;
    let issuer = start_issuer().await;
    let exp = chrono::Utc::now().timestamp() + 600;
    *issuer.opaque.lock().unwrap() = vec![
        (
            "opaque-good".into(),
            json!({"active": true, "aud": [RESOURCE], "exp": exp, "username": "acme-rep", "scope": "crm:read"}),
        ),
        ("opaque-no-aud".into(), json!({"active": true, "exp": exp, "username": "acme-rep", "scope": "crm:read"})),
        (
            "opaque-other".into(),
            json!({"active": true, "aud": "https://other/mcp", "username": "acme-rep", "scope": "crm:read"}),
        ),
        (
            "opaque-old".into(),
            json!({"active": true, "aud": RESOURCE, "exp": exp - 3600, "username": "acme-rep", "scope": "crm:read"}),
        ),
    ];
    let auth = authenticator(&issuer, &f, |c| c.user_claim = "username".into()).await;
    let ctx = auth.authenticate("opaque-good").await.unwrap();
    assert_eq!(ctx.user_id, "acme-rep");
    assert!(ctx.limits.read_only);
    refused(auth.authenticate("opaque-no-aud").await, ErrorKind::Unauthenticated, "another audience");
    refused(auth.authenticate("opaque-other").await, ErrorKind::Unauthenticated, "another audience");
    refused(auth.authenticate("opaque-old").await, ErrorKind::Unauthenticated, "expired");

    // Without client credentials crm-agent cannot introspect: such tokens are refused.
    let auth = authenticator(&issuer, &f, |c| c.introspection_client = None).await;
    refused(auth.authenticate("opaque-good").await, ErrorKind::Unauthenticated, "introspect");
}

#[tokio::test]
async fn mcp_points_clients_at_the_issuer_and_refuses_with_oauth_challenges() {
    let f = fixture().await;
    let issuer = start_issuer().await;
    let auth = authenticator(&issuer, &f, |_| {}).await;
    let server = McpServer::per_request(f.registry.clone(), Default::default());
    let app = crm_agent::mcp::http::router(server, Arc::new(auth.clone()), Default::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(crm_agent::mcp::http::serve(listener, app, Default::default(), std::future::pending()));
    let http = reqwest::Client::new();

    for path in ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"] {
        let metadata: Value = http.get(format!("{base}{path}")).send().await.unwrap().json().await.unwrap();
        assert_eq!(metadata["resource"], RESOURCE, "{path}");
        assert_eq!(metadata["authorization_servers"], json!([issuer.url()]), "{path}");
        assert_eq!(metadata["scopes_supported"], json!(["crm:read", "crm:write"]), "{path}");
    }

    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let post = |token: Option<String>| {
        let request =
            http.post(format!("{base}/mcp")).header("accept", "application/json, text/event-stream").json(&initialize);
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    };
    let challenge = |response: &reqwest::Response| {
        response.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    };
    let metadata_url = "resource_metadata=\"http://127.0.0.1:1/.well-known/oauth-protected-resource/mcp\"";

    let anonymous = post(None).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(challenge(&anonymous).contains(metadata_url), "{}", challenge(&anonymous));
    assert!(challenge(&anonymous).contains("scope=\"crm:read crm:write\""));
    assert!(!challenge(&anonymous).contains("invalid_token"));

    let expired = issuer.rsa(json!({"sub": "acme-rep", "exp": chrono::Utc::now().timestamp() - 120}));
    let expired = post(Some(expired)).send().await.unwrap();
    assert_eq!(expired.status(), 401);
    assert!(challenge(&expired).contains("error=\"invalid_token\"") && challenge(&expired).contains(metadata_url));

    let unscoped = post(Some(issuer.rsa(json!({"sub": "acme-rep", "scope": "openid"})))).send().await.unwrap();
    assert_eq!(unscoped.status(), 403);
    assert!(challenge(&unscoped).contains("error=\"insufficient_scope\""), "{}", challenge(&unscoped));
    let body: Value = unscoped.json().await.unwrap();
    assert_eq!(body["error"]["code"], "permission_denied");

    let good = post(Some(issuer.rsa(json!({"sub": "acme-rep"})))).send().await.unwrap();
    assert_eq!(good.status(), 200);
    let api_token = create_token(f.store.as_ref(), &f.rep, "beside oauth", None).await.unwrap().secret;
    assert_eq!(post(Some(api_token)).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn the_api_routes_take_oauth_tokens_with_the_same_answers() {
    let f = fixture().await;
    let issuer = start_issuer().await;
    let auth = authenticator(&issuer, &f, |_| {}).await;
    let agent = crm_agent::CrmAgent::builder(f.store.clone()).build().unwrap();
    let (state, _shutdown) = crm_agent::http::HttpState::new(agent, auth, Default::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = crm_agent::http::router(state);
    tokio::spawn(crm_agent::mcp::http::serve(listener, app, Default::default(), std::future::pending()));
    let tools = |token: String| reqwest::Client::new().get(format!("{base}/api/tools")).bearer_auth(token).send();

    let reader = tools(issuer.rsa(json!({"sub": "acme-owner", "scope": "crm:read"}))).await.unwrap();
    assert_eq!(reader.status(), 200);
    let names: Vec<String> =
        reader.json::<Vec<Value>>().await.unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect();
    assert!(names.contains(&"list_customers".to_owned()) && !names.contains(&"create_customer".to_owned()));

    let expired =
        tools(issuer.rsa(json!({"sub": "acme-rep", "exp": chrono::Utc::now().timestamp() - 120}))).await.unwrap();
    assert_eq!(expired.status(), 401);
    let challenge = expired.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains("resource_metadata=") && challenge.contains("invalid_token"), "{challenge}");

    let unscoped = tools(issuer.rsa(json!({"sub": "acme-rep", "scope": "openid"}))).await.unwrap();
    assert_eq!(unscoped.status(), 403);
    assert!(unscoped.headers()["www-authenticate"].to_str().unwrap().contains("insufficient_scope"));
}

/// Base64url without padding (RFC 4648 §5), as JWS segments are written.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}
