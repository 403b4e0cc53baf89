//! API tokens: stored by hash, per user, revoked once.

use std::sync::atomic::Ordering;

use super::*;

/// A secret hash no other call returns (64 lowercase hex digits, as SHA-256 gives).
pub(super) fn fresh_hash() -> String {
    let n = UNIQUE.fetch_add(1, Ordering::Relaxed);
    format!("{:032x}{:032x}", u128::from(std::process::id()), (u128::from(n) << 64) | 0xfeed)
}

pub(super) fn new_token(user: &str, name: &str, created_at: Timestamp) -> NewApiToken {
    let secret_hash = fresh_hash();
    NewApiToken {
        user_id: user.into(),
        name: name.into(),
        prefix: format!("crm_{}", &secret_hash[56..]),
        secret_hash,
        created_at,
        expires_at: None,
        limits: ToolLimits::default(),
    }
}

pub(super) async fn api_tokens_round_trip(store: Arc<dyn Store>) -> CheckResult {
    let (org, scope) = tenant(&*store, "tokens").await?;
    let t0 = micros_now();
    let first_new = new_token("u1", "Claude Desktop", t0);
    let first = store.create_api_token(&scope, first_new.clone()).await.step("create")?;
    ensure_eq!(first.organization_id, org.id);
    ensure_eq!(
        (first.user_id.clone(), first.name.clone(), first.prefix.clone()),
        ("u1".to_string(), "Claude Desktop".to_string(), first_new.prefix.clone())
    );
    ensure_eq!((first.created_at, first.expires_at, first.revoked_at), (t0, None, None));
    ensure!(first.id.as_str().len() > 4, "an id is assigned");
    let json = serde_json::to_string(&first).map_err(|e| e.to_string())?;
    ensure!(!json.contains(&first_new.secret_hash), "a token never carries its secret hash: {json}");
    ensure!(first.is_active(t0 + Duration::days(3650)), "a token without expiry stays active");

    let mut second_new = new_token("u1", "CI", t0 + Duration::seconds(1));
    second_new.expires_at = Some(t0 + Duration::days(30));
    // Limits are kept as given: a store that dropped them would widen the token.
    second_new.limits = ToolLimits { read_only: true, toolsets: Some([Toolset::Sales, Toolset::Support].into()) };
    let second = store.create_api_token(&scope, second_new.clone()).await.step("create expiring")?;
    ensure_eq!((second.created_at, second.expires_at), (second_new.created_at, second_new.expires_at));
    ensure_eq!(second.limits, second_new.limits);
    ensure_eq!(first.limits, ToolLimits::default());
    let third = store
        .create_api_token(&scope, new_token("u1", "Laptop", t0 + Duration::seconds(2)))
        .await
        .step("create third")?;
    let theirs = store.create_api_token(&scope, new_token("u2", "Theirs", t0)).await.step("create u2")?;
    ensure!(BTreeSet::from([&first.id, &second.id, &third.id, &theirs.id]).len() == 4, "every token has its own id");

    // Lists: that user's tokens, newest first, as created.
    let listed = store.list_api_tokens(&scope, "u1").await.step("list")?;
    ensure_eq!(listed, vec![third.clone(), second.clone(), first.clone()], "u1's tokens, newest first");
    ensure_eq!(store.list_api_tokens(&scope, "u2").await.step("list u2")?, vec![theirs.clone()]);
    ensure_eq!(store.list_api_tokens(&scope, "u3").await.step("list u3")?, Vec::<ApiToken>::new());

    // Found by hash, in any organization, with nothing else needed.
    ensure_eq!(store.find_api_token(&first_new.secret_hash).await.step("find")?, first.clone());
    ensure_eq!(store.find_api_token(&second_new.secret_hash).await.step("find second")?, second.clone());

    // Revoke: the token says when, and keeps every other value.
    let t1 = t0 + Duration::minutes(5);
    let revoked = store.revoke_api_token(&scope, "u1", &second.id, t1).await.step("revoke")?;
    ensure_eq!(revoked.revoked_at, Some(t1));
    ensure_eq!(ApiToken { revoked_at: None, ..revoked.clone() }, second.clone(), "revoking changes nothing else");
    ensure!(!revoked.is_active(t1), "a revoked token is not active");
    // Revoked tokens are still listed and found (the caller decides).
    ensure_eq!(
        store.list_api_tokens(&scope, "u1").await.step("list after revoke")?,
        vec![third.clone(), revoked.clone(), first.clone()]
    );
    ensure_eq!(store.find_api_token(&second_new.secret_hash).await.step("find revoked")?, revoked.clone());
    ensure_eq!(store.find_api_token(&first_new.secret_hash).await.step("find first")?, first.clone());

    // Shapes are checked before anything is written.
    let invalid = ErrorKind::InvalidArgument;
    let bad = |f: &dyn Fn(&mut NewApiToken)| {
        let mut token = new_token("u1", "Bad", t0);
        f(&mut token);
        token
    };
    for (token, what) in [
        (bad(&|t| t.user_id = String::new()), "no user"),
        (bad(&|t| t.name = "  ".into()), "blank name"),
        (bad(&|t| t.name = "x".repeat(MAX_SHORT_TEXT + 1)), "long name"),
        (bad(&|t| t.secret_hash = "abc123".into()), "short hash"),
        (bad(&|t| t.secret_hash = "z".repeat(64)), "hash that is not hex"),
        (bad(&|t| t.secret_hash = "secret-token-in-clear".into()), "a secret instead of a hash"),
        (bad(&|t| t.expires_at = Some(t0)), "expires when created"),
        (bad(&|t| t.expires_at = Some(t0 - Duration::hours(1))), "expires before created"),
    ] {
        expect_kind(store.create_api_token(&scope, token).await, invalid, what)?;
    }
    ensure_eq!(store.list_api_tokens(&scope, "u1").await.step("list after bad")?.len(), 3, "nothing written");

    // Unknown ids.
    expect_kind(
        store.revoke_api_token(&scope, "u1", &ApiTokenId::from("tok_000000000000000000000000"), t1).await,
        ErrorKind::NotFound,
        "revoke a missing token",
    )?;
    Ok(())
}

pub(super) async fn api_tokens_are_per_user(store: Arc<dyn Store>) -> CheckResult {
    let (org_a, a) = tenant(&*store, "tok-a").await?;
    let (_, b) = tenant(&*store, "tok-b").await?;
    let now = micros_now();
    let new = new_token("owner", "Mine", now);
    let token = store.create_api_token(&a, new.clone()).await.step("create")?;
    // The same user id has a token of its own in B.
    let in_b = store.create_api_token(&b, new_token("owner", "In B", now)).await.step("create in b")?;

    let nf = ErrorKind::NotFound;
    for (scope, user, who) in [(&a, "colleague", "a colleague"), (&b, "owner", "the same user in another organization")]
    {
        expect_kind(store.revoke_api_token(scope, user, &token.id, now).await, nf, &format!("{who}: revoke"))?;
        let listed = store.list_api_tokens(scope, user).await.step("list")?;
        ensure!(listed.iter().all(|t| t.id != token.id), "{who} listed the owner's token");
    }
    ensure_eq!(store.list_api_tokens(&a, "colleague").await.step("colleague list")?, Vec::<ApiToken>::new());
    ensure_eq!(store.list_api_tokens(&b, "owner").await.step("list in b")?, vec![in_b.clone()]);
    expect_kind(store.revoke_api_token(&a, "owner", &in_b.id, now).await, nf, "revoke B's token from A")?;

    // Untouched, and still found (with its own organization) by hash.
    ensure_eq!(store.list_api_tokens(&a, "owner").await.step("owner list")?, vec![token.clone()]);
    let found = store.find_api_token(&new.secret_hash).await.step("find")?;
    ensure_eq!(found.clone(), token.clone());
    ensure_eq!((found.organization_id, found.user_id, found.revoked_at), (org_a.id, "owner".to_string(), None));
    Ok(())
}

pub(super) async fn revoking_a_token_keeps_the_first_time(store: Arc<dyn Store>) -> CheckResult {
    let (_, scope) = tenant(&*store, "revoke").await?;
    let t0 = micros_now();
    let token = store.create_api_token(&scope, new_token("u1", "Twice", t0)).await.step("create")?;
    let t1 = t0 + Duration::minutes(1);
    let first = store.revoke_api_token(&scope, "u1", &token.id, t1).await.step("revoke")?;
    ensure_eq!(first.revoked_at, Some(t1));
    let again = store.revoke_api_token(&scope, "u1", &token.id, t1 + Duration::hours(1)).await.step("revoke again")?;
    ensure_eq!(again, first.clone(), "a second revocation changes nothing");
    ensure_eq!(store.list_api_tokens(&scope, "u1").await.step("list")?, vec![first.clone()]);

    // Concurrent revocations: every one succeeds and reports the one time that stuck.
    let raced = store.create_api_token(&scope, new_token("u1", "Raced", t0)).await.step("create")?;
    let attempts = (0..10).map(|i| {
        let (store, scope, id) = (store.clone(), scope.clone(), raced.id.clone());
        async move { store.revoke_api_token(&scope, "u1", &id, t1 + Duration::seconds(i)).await }
    });
    let mut times = BTreeSet::new();
    for result in join_all(attempts).await {
        times.insert(result.step("concurrent revoke")?.revoked_at);
    }
    ensure_eq!(times.len(), 1, "every revocation reports the same time: {times:?}");
    let stuck = times.into_iter().next().flatten();
    ensure!(
        stuck.is_some_and(|t| t >= t1 && t < t1 + Duration::seconds(10)),
        "the time is one of the revocations': {stuck:?}"
    );
    let stored = store.list_api_tokens(&scope, "u1").await.step("list")?;
    ensure_eq!(stored.iter().find(|t| t.id == raced.id).map(|t| t.revoked_at), Some(stuck));

    // is_active follows revocation and expiry, on values read back.
    let mut expiring = new_token("u1", "Expiring", t0);
    expiring.expires_at = Some(t0 + Duration::hours(1));
    let hash = expiring.secret_hash.clone();
    store.create_api_token(&scope, expiring).await.step("create expiring")?;
    let expiring = store.find_api_token(&hash).await.step("find expiring")?;
    ensure!(expiring.is_active(t0), "active when created");
    ensure!(expiring.is_active(t0 + Duration::minutes(59)), "active before it expires");
    ensure!(!expiring.is_active(t0 + Duration::hours(1)), "not active when it expires");
    ensure!(!expiring.is_active(t0 + Duration::days(1)), "not active after it expired");
    ensure!(!first.is_active(t0 + Duration::seconds(30)), "a revoked token is not active, even before it was revoked");
    let fresh = store.create_api_token(&scope, new_token("u1", "Fresh", t0)).await.step("create fresh")?;
    ensure!(fresh.is_active(t1), "a new token is active");
    let revoked = store.revoke_api_token(&scope, "u1", &fresh.id, t1).await.step("revoke fresh")?;
    ensure!(!revoked.is_active(t1), "revoked: not active");
    ensure!(!revoked.is_active(t0), "revoked: not active at any time");
    Ok(())
}

pub(super) async fn api_token_hashes_are_unique(store: Arc<dyn Store>) -> CheckResult {
    let (_, a) = tenant(&*store, "hash-a").await?;
    let (_, b) = tenant(&*store, "hash-b").await?;
    let now = micros_now();
    let original = new_token("u1", "Original", now);
    let token = store.create_api_token(&a, original.clone()).await.step("create")?;
    // The same hash again: for the same user, another user, another organization.
    for (scope, user, what) in [(&a, "u1", "same user"), (&a, "u2", "another user"), (&b, "u1", "another organization")]
    {
        let mut copy = new_token(user, "Copy", now + Duration::seconds(1));
        copy.secret_hash = original.secret_hash.clone();
        expect_kind(
            store.create_api_token(scope, copy).await,
            ErrorKind::Conflict,
            &format!("duplicate hash: {what}"),
        )?;
    }
    // Nothing was written by the refused ones.
    ensure_eq!(store.list_api_tokens(&a, "u1").await.step("list")?, vec![token.clone()]);
    ensure_eq!(store.list_api_tokens(&a, "u2").await.step("list u2")?, Vec::<ApiToken>::new());
    ensure_eq!(store.list_api_tokens(&b, "u1").await.step("list b")?, Vec::<ApiToken>::new());
    ensure_eq!(store.find_api_token(&original.secret_hash).await.step("find")?, token.clone());

    // Unknown hashes are not found, whatever their shape.
    let nf = ErrorKind::NotFound;
    expect_kind(store.find_api_token(&fresh_hash()).await, nf, "unknown hash")?;
    expect_kind(store.find_api_token("").await, nf, "empty hash")?;
    expect_kind(store.find_api_token("not a hash").await, nf, "malformed hash")?;
    expect_kind(store.find_api_token(&original.prefix).await, nf, "a token's prefix")?;
    expect_kind(store.find_api_token(token.id.as_str()).await, nf, "a token's id")?;
    Ok(())
}
