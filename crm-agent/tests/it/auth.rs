//! API tokens end to end: a token acts as exactly its creator, as their membership is now, and
//! stops when revoked or expired.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use crm_agent::auth::{TokenAuthenticator, create_limited_token, create_token, hash_secret};
use crm_agent::domain::*;
use crm_agent::{ErrorKind, Role, Store, UserContext};

async fn seeded() -> (Arc<crm_agent::SqlStore>, tempfile::TempDir) {
    let f = common::fixture::Fixture::builder().seed(common::fixture::tiny_seed()).build().await;
    (f.store, f.dir)
}

#[tokio::test]
async fn a_token_is_its_creator_and_nothing_more() {
    let (store, _dir) = seeded().await;
    let rep = UserContext::resolve(&*store, "acme-rep", None).await.unwrap();
    let issued = create_token(store.as_ref(), &rep, "laptop", None).await.unwrap();
    assert!(issued.secret.starts_with("crm_") && issued.secret.len() == 68);
    assert_eq!(issued.token.prefix, &issued.secret[..12]);
    // Only the hash is stored: the secret appears nowhere in what the store returns.
    let listed = store.list_api_tokens(&rep.scope().unwrap(), "acme-rep").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(!serde_json::to_string(&listed).unwrap().contains(&issued.secret[12..]));
    assert_eq!(store.find_api_token(&hash_secret(&issued.secret)).await.unwrap().id, issued.token.id);

    let auth = TokenAuthenticator::with_ttl(store.clone(), Duration::ZERO);
    let ctx = auth.authenticate(&issued.secret).await.unwrap();
    assert_eq!(ctx, rep, "the same identity, grants included");

    // The token follows the membership as it is now: the user moved to an employee record
    // with no roles keeps only the base grants every employee has.
    let scope = rep.scope().unwrap();
    let bare =
        store.create_employee(&scope, NewEmployee::named("Re", "Assigned", "re.assigned@acme.example")).await.unwrap();
    store
        .put_member(
            &scope,
            NewMember {
                user_id: "acme-rep".into(),
                role: Role::Employee,
                employee_id: Some(bare.id.clone()),
                customer_id: None,
                display_name: "Rep".into(),
            },
        )
        .await
        .unwrap();
    let demoted = auth.authenticate(&issued.secret).await.unwrap();
    assert_eq!(demoted.employee_id, Some(bare.id));
    assert!(demoted.grants.is_empty(), "{:?}", demoted.grants);
    assert!(!rep.grants.is_empty());
}

#[tokio::test]
async fn unknown_revoked_and_expired_tokens_are_unauthenticated() {
    let (store, _dir) = seeded().await;
    let owner = UserContext::resolve(&*store, "acme-owner", None).await.unwrap();
    let auth = TokenAuthenticator::new(store.clone());
    for bad in ["", "Bearer x", "crm_", &format!("crm_{}", "0".repeat(64)), "not-even-a-token"] {
        assert_eq!(auth.authenticate(bad).await.unwrap_err().kind(), ErrorKind::Unauthenticated, "{bad:?}");
    }

    let issued = create_token(store.as_ref(), &owner, "ci", None).await.unwrap();
    assert_eq!(auth.authenticate(&issued.secret).await.unwrap().role, Role::Owner);
    // Revoked through this authenticator: refused at once, though its identity was cached.
    let revoked = auth.revoke(&owner, &issued.token.id).await.unwrap();
    assert!(revoked.revoked_at.is_some());
    assert_eq!(auth.authenticate(&issued.secret).await.unwrap_err().kind(), ErrorKind::Unauthenticated);
    // Nobody else can revoke (or see) your tokens.
    let other = create_token(store.as_ref(), &owner, "other", None).await.unwrap();
    let rep = UserContext::resolve(&*store, "acme-rep", None).await.unwrap();
    assert_eq!(auth.revoke(&rep, &other.token.id).await.unwrap_err().kind(), ErrorKind::NotFound);

    // Expired: stored with an expiry already past (as if created long ago).
    let secret = format!("crm_{}", "a".repeat(64));
    let past = chrono::Utc::now() - chrono::Duration::days(2);
    store
        .create_api_token(
            &owner.scope().unwrap(),
            NewApiToken {
                user_id: "acme-owner".into(),
                name: "old".into(),
                secret_hash: hash_secret(&secret),
                prefix: secret[..12].into(),
                created_at: past,
                expires_at: Some(past + chrono::Duration::days(1)),
                limits: Default::default(),
            },
        )
        .await
        .unwrap();
    assert_eq!(auth.authenticate(&secret).await.unwrap_err().kind(), ErrorKind::Unauthenticated);
    assert_eq!(
        create_token(store.as_ref(), &owner, "never", Some(chrono::Duration::seconds(-1))).await.unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

/// A role changed through the tools applies at once to the identities this process has cached
/// (the cache time is for changes made elsewhere).
#[tokio::test]
async fn a_role_change_applies_at_once_in_the_process_that_made_it() {
    let (store, _dir) = seeded().await;
    let registry = crm_agent::ToolRegistry::new(store.clone());
    let owner = UserContext::resolve(&*store, "acme-owner", None).await.unwrap();
    let rep = UserContext::resolve(&*store, "acme-rep", None).await.unwrap();
    let issued = create_token(store.as_ref(), &rep, "laptop", None).await.unwrap();
    let auth = TokenAuthenticator::with_ttl(store.clone(), Duration::from_secs(3600));
    let rename = serde_json::json!({"customer_id": "cus_whichever", "name": "Renamed"});
    let before = auth.authenticate(&issued.secret).await.unwrap();
    registry.check(&before, "update_customer", &rename).expect("a sales rep may update customers");

    let roles = store.list_roles(&owner.scope().unwrap()).await.unwrap();
    let sales_rep = roles.iter().find(|r| r.name == "sales_rep").expect("the sales_rep role");
    let kept: Vec<String> =
        sales_rep.grants.iter().map(ToString::to_string).filter(|p| p != "customer:update").collect();
    assert!(kept.len() < sales_rep.grants.len(), "{:?}", sales_rep.grants);
    let args = serde_json::json!({"role_id": sales_rep.id, "permissions": kept});
    registry.call(&owner, "update_role_permissions", args).await.unwrap();

    let after = auth.authenticate(&issued.secret).await.unwrap();
    let refused = registry.check(&after, "update_customer", &rename).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::PermissionDenied, "{refused}");
}

#[tokio::test]
async fn a_limited_token_reaches_only_its_tools_and_never_more_than_its_user() {
    let (store, _dir) = seeded().await;
    let registry = crm_agent::ToolRegistry::new(store.clone());
    let auth = TokenAuthenticator::new(store.clone());
    let owner = UserContext::resolve(&*store, "acme-owner", None).await.unwrap();
    let rep = UserContext::resolve(&*store, "acme-rep", None).await.unwrap();
    let names = |ctx: &UserContext| registry.list(ctx).iter().map(|t| t.name()).collect::<Vec<_>>();

    let read_only = ToolLimits { read_only: true, toolsets: None };
    let issued = create_limited_token(store.as_ref(), &owner, "reader", None, read_only.clone()).await.unwrap();
    assert_eq!(issued.token.limits, read_only);
    let reader = auth.authenticate(&issued.secret).await.unwrap();
    let listed = names(&reader);
    let reads: Vec<&str> = names(&owner).into_iter().filter(|n| !registry.get(n).unwrap().writes()).collect();
    assert_eq!(listed, reads, "exactly the owner's tools that change nothing");
    let refused = registry.call(&reader, "create_customer", serde_json::json!({"name": "Nope"})).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::PermissionDenied);
    assert!(refused.to_string().contains("may only read"), "{refused}");
    registry.call(&reader, "list_customers", serde_json::json!({})).await.expect("reads work");

    let sales = ToolLimits { read_only: false, toolsets: Some([Toolset::Sales].into()) };
    let issued = create_limited_token(store.as_ref(), &rep, "sales", None, sales).await.unwrap();
    let seller = auth.authenticate(&issued.secret).await.unwrap();
    let listed = names(&seller);
    assert!(listed.contains(&"create_deal") && !listed.contains(&"list_issues"), "{listed:?}");
    // The rep's own permissions still apply inside the toolset.
    assert!(listed.iter().all(|n| names(&rep).contains(n)), "{listed:?}");
    assert!(!listed.contains(&"create_role"));

    // A token made with a limited context keeps those limits too.
    let inherited =
        create_limited_token(store.as_ref(), &reader, "from reader", None, ToolLimits::default()).await.unwrap();
    assert!(inherited.token.limits.read_only);
    let both = ToolLimits { read_only: false, toolsets: Some([Toolset::Support].into()) };
    let disjoint = create_limited_token(store.as_ref(), &seller, "elsewhere", None, both).await.unwrap_err();
    assert_eq!(disjoint.kind(), ErrorKind::InvalidArgument, "{disjoint}");
}
