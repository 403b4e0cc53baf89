//! The policy engine, tested as Cedar does: a plain reference table of
//! (principal kind, role grants, permission) → decision, and a property test checking the engine
//! against an independent, string-based reference implementation.

use std::collections::BTreeSet;

use crm_agent::policy::{Action, Decision, Grant, Permission, Policy, Resource};
use crm_agent::{Role, UserContext};
use proptest::prelude::*;

fn ctx(role: Role, grants: &[&str]) -> UserContext {
    let mut ctx = UserContext::new("u", "org", role);
    ctx.grants = grants.iter().map(|g| g.parse().unwrap()).collect();
    ctx
}

/// (principal, the employee's role grants, permission, allowed?)
const TABLE: &[(Role, &[&str], &str, bool)] = &[
    (Role::Owner, &[], "customer:delete", true),
    (Role::Owner, &[], "role:update", true),
    (Role::PlatformAdmin, &[], "audit:read", true),
    (Role::Customer, &[], "customer:read", true),
    (Role::Customer, &[], "issue:create", true),
    (Role::Customer, &[], "issue:read", true),
    (Role::Customer, &[], "order:read", true),
    (Role::Customer, &[], "payment:read", true),
    (Role::Customer, &[], "issue:update", false),
    (Role::Customer, &[], "customer:update", false),
    (Role::Customer, &[], "lead:read", false),
    (Role::Customer, &[], "deal:read", false),
    (Role::Customer, &[], "employee:read", false),
    (Role::Customer, &[], "analytics:read", false),
    (Role::Customer, &[], "role:read", false),
    (Role::Customer, &["*:*"], "lead:read", false), // customers' grants never come from roles
    (Role::Employee, &[], "customer:read", false),
    (Role::Employee, &[], "organization:read", true),
    (Role::Employee, &[], "pipeline:read", true),
    (Role::Employee, &["customer:read"], "customer:read", true),
    (Role::Employee, &["customer:read"], "customer:update", false),
    (Role::Employee, &["customer:*"], "customer:delete", true),
    (Role::Employee, &["customer:*"], "lead:read", false),
    (Role::Employee, &["*:read"], "audit:read", true),
    (Role::Employee, &["*:read"], "deal:update", false),
    (Role::Employee, &["*:*"], "role:delete", true),
    (Role::Employee, &["lead:read", "deal:update"], "deal:update", true),
    (Role::Employee, &["lead:read", "deal:update"], "deal:read", false),
    // Backdating records is granted by name only: no wildcard over resources includes it.
    (Role::Owner, &[], "data:import", false),
    (Role::PlatformAdmin, &[], "data:import", false),
    (Role::Employee, &["*:*"], "data:import", false),
    (Role::Employee, &["data:import"], "data:import", true),
    (Role::Employee, &["data:*"], "data:import", true),
    (Role::Employee, &["data:import"], "customer:create", false),
];

#[test]
fn the_reference_table_holds() {
    let policy = Policy::builtin();
    for (role, grants, permission, allowed) in TABLE {
        let permission: Permission = permission.parse().unwrap();
        let decision = policy.decide(&ctx(*role, grants), permission);
        assert_eq!(decision.is_allowed(), *allowed, "{role:?} with {grants:?} asking {permission}");
        if let Decision::Deny { missing, reason } = decision {
            assert_eq!(missing, permission);
            assert!(reason.contains(&permission.to_string()), "the denial names the permission: {reason}");
            for grant in *grants {
                assert!(!reason.contains(grant), "the denial never lists the caller's grants: {reason}");
            }
        }
    }
}

/// The reference: does any grant string match the permission string, part by part?
fn reference(role: Role, grants: &[String], permission: &str) -> bool {
    let customer = ["customer:read", "issue:read", "issue:create", "order:read", "payment:read", "organization:read"];
    let employee_base = ["organization:read", "pipeline:read"];
    let import = permission == "data:import";
    let matches = |grant: &str| {
        let (gr, ga) = grant.split_once(':').unwrap();
        let (pr, pa) = permission.split_once(':').unwrap();
        (gr == pr || (gr == "*" && !import)) && (ga == "*" || ga == pa)
    };
    match role {
        Role::Owner | Role::PlatformAdmin => !import,
        Role::Customer => customer.contains(&permission),
        Role::Employee => employee_base.iter().any(|g| matches(g)) || grants.iter().any(|g| matches(g)),
    }
}

fn grant_strategy() -> impl Strategy<Value = String> {
    let resources: Vec<String> = Resource::ALL.iter().map(|r| r.to_string()).chain(["*".to_string()]).collect();
    let actions: Vec<String> = Action::ALL.iter().map(|a| a.to_string()).chain(["*".to_string()]).collect();
    (prop::sample::select(resources), prop::sample::select(actions))
        .prop_map(|(r, a)| format!("{r}:{a}"))
        // `customer:import` and `data:read` are no permissions, and no grants either.
        .prop_filter("a grant that exists", |grant| grant.parse::<Grant>().is_ok())
}

fn permission_strategy() -> impl Strategy<Value = Permission> {
    prop::sample::select(Permission::all().collect::<Vec<_>>())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_engine_agrees_with_the_reference(
        role in prop::sample::select(Role::ALL.to_vec()),
        grants in prop::collection::vec(grant_strategy(), 0..6),
        permission in permission_strategy(),
    ) {
        let mut user = UserContext::new("u", "org", role);
        user.grants = grants.iter().map(|g| g.parse::<Grant>().unwrap()).collect::<BTreeSet<_>>();
        let decision = Policy::builtin().decide(&user, permission);
        prop_assert_eq!(decision.is_allowed(), reference(role, &grants, &permission.to_string()));
    }
}

#[test]
fn a_host_policy_file_maps_its_own_roles_and_grants() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/policy.toml");
    let policy = Policy::from_file(&path).unwrap();
    assert_eq!(policy.principal_for("vendor").unwrap(), Role::Owner);
    assert_eq!(policy.principal_for("admin").unwrap(), Role::PlatformAdmin);
    assert_eq!(policy.principal_for("owner").unwrap(), Role::Owner);
    assert!(policy.principal_for("wizard").is_err());
    let customer = ctx(Role::Customer, &[]);
    assert!(policy.decide(&customer, "issue:create".parse().unwrap()).is_allowed());
    assert!(!policy.decide(&customer, "payment:read".parse().unwrap()).is_allowed(), "this host hides payments");
    let roles: Vec<String> = policy.system_roles().into_iter().map(|r| r.name).collect();
    assert_eq!(roles, ["account_manager", "support"]);
    // Sections left out keep the built-in values.
    assert!(policy.decide(&ctx(Role::Owner, &[]), "role:delete".parse().unwrap()).is_allowed());
    assert!(Policy::from_toml("[principals.robot]\ngrants = []").unwrap_err().to_string().contains("robot"));
    assert!(Policy::from_toml("[principals.customer]\ngrants = [\"lead:fly\"]").is_err());
}

#[test]
fn permissions_of_lists_exactly_what_decide_allows() {
    let policy = Policy::builtin();
    let rep = ctx(Role::Employee, &["lead:*", "deal:read"]);
    let held: BTreeSet<String> = policy.permissions_of(&rep).iter().map(ToString::to_string).collect();
    let expected: BTreeSet<String> =
        ["lead:read", "lead:create", "lead:update", "lead:delete", "deal:read", "pipeline:read", "organization:read"]
            .map(String::from)
            .into();
    assert_eq!(held, expected);
    // Everything but `data:import`, which is granted by name only.
    let owner = policy.permissions_of(&ctx(Role::Owner, &[]));
    assert_eq!(owner.len(), Permission::all().count() - 1);
    assert!(!owner.contains(&Permission::IMPORT));
    assert_eq!(Permission::all().count(), (Resource::ALL.len() - 1) * (Action::ALL.len() - 1) + 1);
}

#[tokio::test]
async fn new_organizations_get_the_policys_system_roles() {
    use crm_agent::domain::NewOrganization;
    use crm_agent::{Scope, Store};
    let store = crm_agent::SqlStore::open("sqlite::memory:").await.unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/policy.toml");
    let policy = Policy::from_file(&path).unwrap();
    let org = crm_agent::provision::create_organization(&store, &policy, NewOrganization::named("Host", "host"))
        .await
        .unwrap();
    let scope = Scope::organization(org.id);
    let roles: Vec<String> = store.list_roles(&scope).await.unwrap().into_iter().map(|r| r.name).collect();
    assert_eq!(roles, ["account_manager", "support"]);
    assert_eq!(store.list_pipelines(&scope).await.unwrap().len(), 1, "and the default pipeline");
    // Running it again adds nothing.
    crm_agent::provision::ensure_defaults(&store, &policy, &scope).await.unwrap();
    assert_eq!(store.list_roles(&scope).await.unwrap().len(), 2);
}

/// Hosts that give their users policy roles directly get exactly those roles' grants.
#[test]
fn grants_of_named_policy_roles() {
    let policy = Policy::builtin();
    let support = policy.grants_of_roles(&["support_agent".into()]).unwrap();
    let expected: std::collections::BTreeSet<_> =
        policy.system_roles().into_iter().find(|r| r.name == "support_agent").unwrap().grants.into_iter().collect();
    assert_eq!(support, expected);
    assert!(policy.grants_of_roles(&[]).unwrap().is_empty());
    let err = policy.grants_of_roles(&["support_agent".into(), "pirate".into()]).unwrap_err();
    assert_eq!(err.kind(), crm_agent::ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("unknown role `pirate`") && err.to_string().contains("sales_rep"), "{err}");
}

#[test]
fn a_host_context_reads_role_names_grants_and_system_roles() {
    let policy = Policy::from_toml("[role_names]\nmanager = \"employee\"\n").unwrap();
    let explicit: crm_agent::policy::Grant = "deal:read".parse().unwrap();
    let ctx = policy.host_context("u1", "org_1", "manager", [explicit], &["support_agent".into()]).unwrap();
    assert_eq!(ctx.role, crm_agent::Role::Employee);
    let support = policy.grants_of_roles(&["support_agent".into()]).unwrap();
    assert!(ctx.grants.contains(&explicit) && support.is_subset(&ctx.grants));
    assert_eq!(ctx.grants.len(), support.len() + usize::from(!support.contains(&explicit)));
    for (role, roles) in [("wizard", vec![]), ("manager", vec!["pirate".to_owned()])] {
        let err = policy.host_context("u1", "org_1", role, [], &roles).unwrap_err();
        assert_eq!(err.kind(), crm_agent::ErrorKind::InvalidArgument, "{role} {roles:?}");
    }
}
