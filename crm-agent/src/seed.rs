//! Deterministic demo data: two organizations, `acme` and `globex`, with the demo users the
//! README lists (`acme-owner`, `acme-rep`, `acme-support`, `acme-customer`, `globex-owner`) and
//! realistic records. `crm-agent seed` and `crm-agent serve` (on an empty database) both call
//! [`seed_demo`].
//!
//! The same options give the same records (names, amounts, statuses, relations) on every run;
//! only ids and creation times (relative to now) differ. Large sizes go through the stores'
//! bulk `import_*` methods in batches, with an optional progress bar.

use std::sync::Arc;

use chrono::{Datelike, Duration, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::context::Role;
use crate::domain::*;
use crate::error::{Error, Result};
use crate::provision;
use crate::store::{Scope, Store};

/// How much demo data to create.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// Customers in `acme` (globex gets a fifth, at least 5).
    pub customers: usize,
    /// Leads in `acme`.
    pub leads: usize,
    /// Deals in `acme`.
    pub deals: usize,
    /// Support issues in `acme`.
    pub issues: usize,
    /// Orders in `acme` (completed ones get a payment).
    pub orders: usize,
    /// Activities in `acme`.
    pub activities: usize,
    /// The random seed: the same seed gives the same data.
    pub seed: u64,
    /// Told how far each entity has come (the CLI draws progress bars with it).
    pub progress: Option<Arc<dyn SeedProgress>>,
}

/// Follows a large seed as it goes.
pub trait SeedProgress: Send + Sync {
    /// `done` of the `total` records of `entity` (`customers`, `leads`, …) are written; called
    /// with `done == total` once the entity is complete.
    fn advanced(&self, entity: &'static str, done: usize, total: usize);
}

impl std::fmt::Debug for dyn SeedProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SeedProgress")
    }
}

impl Default for SeedOptions {
    fn default() -> Self {
        SeedOptions {
            customers: 60,
            leads: 80,
            deals: 100,
            issues: 40,
            orders: 40,
            activities: 60,
            seed: 42,
            progress: None,
        }
    }
}

/// A demo login created by [`seed_demo`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoUser {
    /// The user id to sign in as (e.g. `acme-owner`).
    pub user_id: String,
    /// The organization's slug.
    pub organization: String,
    /// What kind of principal.
    pub role: Role,
    /// Their employee role (`sales_rep`, …), for employees.
    pub employee_role: Option<String>,
}

/// What [`seed_demo`] created.
#[derive(Debug, Clone)]
pub struct SeedReport {
    /// The organizations, `acme` first.
    pub organizations: Vec<Organization>,
    /// The demo logins.
    pub users: Vec<DemoUser>,
}

const FIRST_NAMES: &[&str] = &[
    "Ada", "Ben", "Chloe", "Diego", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Liam", "Maya", "Noah",
    "Olga", "Priya", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera", "Wen", "Ximena", "Yusuf", "Zoe",
];
const LAST_NAMES: &[&str] = &[
    "Adams", "Baker", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Jensen", "Kowalski", "Lopez",
    "Moreau", "Nakamura", "Okafor", "Patel", "Quinn", "Rossi", "Schmidt", "Tanaka", "Usman", "Varga", "Weber", "Xu",
    "Young", "Zhang",
];
const COMPANY_WORDS: &[&str] = &[
    "Northwind",
    "Blue Harbor",
    "Summit",
    "Ironwood",
    "Bright Path",
    "Cedar",
    "Falcon",
    "Granite",
    "Harbor Point",
    "Lumen",
    "Maple",
    "Nimbus",
    "Orchid",
    "Pioneer",
    "Redwood",
    "Silverline",
    "Tidewater",
    "Vertex",
    "Willow",
    "Zenith",
];
const COMPANY_SUFFIXES: &[&str] =
    &["Labs", "Logistics", "Foods", "Health", "Systems", "Retail", "Energy", "Studio", "Partners", "Works"];
const INDUSTRIES: &[&str] = &[
    "software",
    "logistics",
    "food",
    "healthcare",
    "manufacturing",
    "retail",
    "energy",
    "media",
    "finance",
    "education",
];
const CITIES: &[(&str, &str)] = &[
    ("Berlin", "Germany"),
    ("Lagos", "Nigeria"),
    ("Austin", "USA"),
    ("Lyon", "France"),
    ("Osaka", "Japan"),
    ("Toronto", "Canada"),
    ("Porto", "Portugal"),
    ("Pune", "India"),
    ("Krakow", "Poland"),
    ("Denver", "USA"),
];
/// (product, sku, unit price in cents)
const PRODUCTS: &[(&str, &str, i64)] = &[
    ("Starter licence", "LIC-START", 4_900),
    ("Team licence", "LIC-TEAM", 19_900),
    ("Onboarding package", "SVC-ONB", 150_000),
    ("Support plan (year)", "SUP-YEAR", 240_000),
    ("Hardware kit", "HW-KIT", 89_900),
    ("Training day", "SVC-TRAIN", 120_000),
    ("Maintenance visit", "MNT-VISIT", 35_000),
];
const ISSUE_TITLES: &[&str] = &[
    "Delivery arrived late",
    "Invoice shows the wrong amount",
    "Cannot log in to the portal",
    "Damaged item in shipment",
    "Question about renewal terms",
    "Feature not working as documented",
    "Missing items in order",
    "Request for a refund",
    "Slow response from support",
    "Data export fails",
];
const DEPARTMENTS: &[&str] = &["Sales", "Support", "Operations", "Marketing", "Finance"];

struct Gen {
    rng: ChaCha8Rng,
}

impl Gen {
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.random_range(0..items.len())]
    }
    fn person(&mut self) -> (String, String) {
        (self.pick(FIRST_NAMES).to_string(), self.pick(LAST_NAMES).to_string())
    }
    fn company(&mut self) -> String {
        format!("{} {}", self.pick(COMPANY_WORDS), self.pick(COMPANY_SUFFIXES))
    }
    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }
    fn days_ago(&mut self, max: i64) -> Timestamp {
        let seconds = self.rng.random_range(0..max.max(1) * 86_400);
        Utc::now() - Duration::seconds(seconds)
    }
    fn money(&mut self, min: i64, max: i64) -> Money {
        Money::new(self.rng.random_range(min..=max) * 100, 2)
    }
}

fn email(first: &str, last: &str, domain: &str, n: usize) -> String {
    format!("{}.{}{}@{}", first.to_lowercase(), last.to_lowercase(), n, domain)
}

/// One entity's progress, reported to the options' [`SeedProgress`] if there is one.
struct Progress<'a> {
    observer: Option<&'a dyn SeedProgress>,
    entity: &'static str,
    done: usize,
    total: usize,
}

impl<'a> Progress<'a> {
    fn new(options: &'a SeedOptions, entity: &'static str, total: usize) -> Self {
        Progress { observer: options.progress.as_deref(), entity, done: 0, total }
    }

    fn set(&mut self, done: usize) {
        self.done = done;
        if let Some(observer) = self.observer {
            observer.advanced(self.entity, done, self.total);
        }
    }

    fn inc(&mut self) {
        self.set(self.done + 1);
    }

    fn finish(mut self) {
        self.set(self.total);
    }
}

/// Rows per bulk-import batch.
const BATCH: usize = 5_000;

/// Seeds both demo organizations. Fails with a conflict if `acme` already exists.
pub async fn seed_demo(store: &dyn Store, options: &SeedOptions) -> Result<SeedReport> {
    match demo_seed_state(store).await? {
        DemoSeedState::Absent => {}
        DemoSeedState::Complete => {
            return Err(Error::conflict("the demo organization `acme` already exists; seed an empty database"));
        }
        DemoSeedState::Unfinished => return Err(unfinished_seed()),
    }
    let acme = seed_organization(store, OrgPlan::acme(), options, options.seed).await?;
    let small = SeedOptions {
        customers: (options.customers / 5).max(5),
        leads: (options.leads / 5).max(5),
        deals: (options.deals / 5).max(5),
        issues: (options.issues / 5).max(3),
        orders: (options.orders / 5).max(3),
        activities: (options.activities / 5).max(3),
        ..options.clone()
    };
    let globex = seed_organization(store, OrgPlan::globex(), &small, options.seed.wrapping_add(1)).await?;
    // The last write: until it, the database reads as a seed that stopped part-way.
    let (acme, mut users) = acme;
    let mut settings = acme.settings;
    settings.extra.remove(SEEDING_MARK);
    let patch = OrganizationPatch { settings: Some(settings), ..Default::default() };
    let acme = store.update_organization(&Scope::organization(acme.id), patch).await?;
    users.extend(globex.1);
    Ok(SeedReport { organizations: vec![acme, globex.0], users })
}

/// The setting `acme` is created with and loses when the whole demo data is in: a database
/// holding it is a seed that was stopped part-way (a killed process), which neither `seed` nor
/// `serve` builds on.
const SEEDING_MARK: &str = "demo_seed_in_progress";

/// How far the demo data in a store got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoSeedState {
    /// No demo data.
    Absent,
    /// A seed started and did not finish: part of the demo data is there.
    Unfinished,
    /// The demo data is all there.
    Complete,
}

/// How far the demo data in `store` got.
pub async fn demo_seed_state(store: &dyn Store) -> Result<DemoSeedState> {
    match store.find_organization("acme").await {
        Ok(acme) if acme.settings.extra.contains_key(SEEDING_MARK) => Ok(DemoSeedState::Unfinished),
        Ok(_) => Ok(DemoSeedState::Complete),
        Err(e) if e.kind() == crate::ErrorKind::NotFound => Ok(DemoSeedState::Absent),
        Err(e) => Err(e),
    }
}

/// The error for a database holding a seed that stopped part-way, saying how to recover.
pub fn unfinished_seed() -> Error {
    Error::conflict(
        "this database holds part of the demo data: a seed of it stopped before it finished. Start again from \
         an empty database: delete the SQLite file with its -wal and -shm files (or, on PostgreSQL, drop and \
         re-create the database or schema), then seed again",
    )
}

/// A demo login who works for the organization.
struct StaffMember {
    user_id: &'static str,
    role: Role,
    employee_role: Option<&'static str>,
    first: &'static str,
    last: &'static str,
    title: &'static str,
    department: &'static str,
}

const fn staff(
    user_id: &'static str,
    role: Role,
    employee_role: Option<&'static str>,
    (first, last): (&'static str, &'static str),
    title: &'static str,
    department: &'static str,
) -> StaffMember {
    StaffMember { user_id, role, employee_role, first, last, title, department }
}

struct OrgPlan {
    slug: &'static str,
    name: &'static str,
    industry: &'static str,
    domain: &'static str,
    staff: Vec<StaffMember>,
    customer_login: Option<&'static str>,
    instructions: &'static str,
}

impl OrgPlan {
    fn acme() -> Self {
        OrgPlan {
            slug: "acme",
            name: "Acme Corporation",
            industry: "manufacturing",
            domain: "acme.example",
            staff: vec![
                staff("acme-owner", Role::Owner, None, ("Alice", "Owner"), "Chief Executive", "Operations"),
                staff("acme-rep", Role::Employee, Some("sales_rep"), ("Riley", "Rep"), "Account Executive", "Sales"),
                staff(
                    "acme-support",
                    Role::Employee,
                    Some("support_agent"),
                    ("Sam", "Support"),
                    "Support Specialist",
                    "Support",
                ),
            ],
            customer_login: Some("acme-customer"),
            instructions: "Answer concisely. Amounts are in USD.",
        }
    }

    fn globex() -> Self {
        OrgPlan {
            slug: "globex",
            name: "Globex Industries",
            industry: "energy",
            domain: "globex.example",
            staff: vec![staff(
                "globex-owner",
                Role::Owner,
                None,
                ("Gloria", "Boss"),
                "Managing Director",
                "Operations",
            )],
            customer_login: None,
            instructions: "Be formal.",
        }
    }
}

/// What every step of [`seed_organization`] works in: the store, the organization's scope, its
/// plan, and the options saying how many records of each kind to make.
#[derive(Clone, Copy)]
struct OrgSeeding<'a> {
    store: &'a dyn Store,
    scope: &'a Scope,
    plan: &'a OrgPlan,
    options: &'a SeedOptions,
}

/// Seeds one organization as `plan` describes. Every random choice is drawn from one generator
/// seeded with `seed`, by each step in turn, so the same options give the same records.
async fn seed_organization(
    store: &dyn Store,
    plan: OrgPlan,
    options: &SeedOptions,
    seed: u64,
) -> Result<(Organization, Vec<DemoUser>)> {
    let mut g = Gen { rng: ChaCha8Rng::seed_from_u64(seed) };
    let organization = provision_organization(store, &plan).await?;
    let scope = Scope::organization(organization.id.clone());
    let roles = store.list_roles(&scope).await?;
    let pipeline = store
        .list_pipelines(&scope)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| Error::Internal("no default pipeline".into()))?;
    let mut users = Vec::new();
    let step = OrgSeeding { store, scope: &scope, plan: &plan, options };

    let employees = seed_employees(step, &mut g, &roles, &mut users).await?;
    let sellers: Vec<EmployeeId> = employees.iter().map(|e| e.id.clone()).collect();
    let customer_ids = seed_customers(step, &mut g, &sellers, &mut users).await?;
    seed_leads(step, &mut g, &pipeline, &sellers).await?;
    let today = Utc::now().date_naive();
    seed_deals(step, &mut g, &pipeline, &customer_ids, &sellers, today).await?;
    let order_ids = seed_orders(step, &mut g, &customer_ids).await?;
    seed_issues(step, &mut g, &employees, &customer_ids, &order_ids).await?;
    seed_activities(step, &mut g, &customer_ids, &sellers, today).await?;

    Ok((organization, users))
}

/// Creates the organization `plan` describes, with the defaults provisioning gives it (the
/// built-in roles and the default pipeline).
async fn provision_organization(store: &dyn Store, plan: &OrgPlan) -> Result<Organization> {
    let organization = provision::create_organization(
        store,
        &crate::Policy::builtin(),
        NewOrganization {
            name: plan.name.into(),
            slug: plan.slug.into(),
            industry: Some(plan.industry.into()),
            website: Some(format!("https://{}", plan.domain)),
            settings: OrganizationSettings {
                assistant_instructions: Some(plan.instructions.into()),
                // Created with the organization itself, so no partial seed lacks it.
                extra: (plan.slug == "acme")
                    .then(|| (SEEDING_MARK.to_owned(), serde_json::Value::Bool(true)))
                    .into_iter()
                    .collect(),
                ..Default::default()
            },
            active: true,
            created_at: None,
        },
    )
    .await?;
    Ok(organization)
}

/// The staff: the demo logins of `plan` first (each a member, added to `users`), then colleagues.
async fn seed_employees(
    step: OrgSeeding<'_>,
    g: &mut Gen,
    roles: &[RoleDefinition],
    users: &mut Vec<DemoUser>,
) -> Result<Vec<Employee>> {
    let OrgSeeding { store, scope, plan, .. } = step;
    let mut employees: Vec<Employee> = Vec::new();
    for StaffMember { user_id, role, employee_role, first, last, title, department } in &plan.staff {
        let mut new = NewEmployee::named(*first, *last, format!("{}@{}", user_id, plan.domain));
        new.user_id = Some((*user_id).into());
        new.job_title = Some((*title).into());
        new.department = Some((*department).into());
        new.hire_date = Some(Utc::now().date_naive() - Duration::days(g.rng.random_range(200..2000)));
        new.salary = Some(g.money(60_000, 140_000));
        let mut employee = store.create_employee(scope, new).await?;
        if let Some(role_name) = employee_role {
            let role = roles
                .iter()
                .find(|r| r.name == *role_name)
                .ok_or_else(|| Error::Internal(format!("no role {role_name}")))?;
            employee = store.assign_role(scope, &employee.id, &role.id).await?;
        }
        store
            .put_member(
                scope,
                NewMember {
                    user_id: (*user_id).into(),
                    role: *role,
                    employee_id: Some(employee.id.clone()),
                    customer_id: None,
                    display_name: format!("{first} {last}"),
                },
            )
            .await?;
        users.push(DemoUser {
            user_id: (*user_id).into(),
            organization: plan.slug.into(),
            role: *role,
            employee_role: employee_role.map(str::to_owned),
        });
        employees.push(employee);
    }
    for i in 0..6 {
        let (first, last) = g.person();
        let mut new = NewEmployee::named(&first, &last, email(&first, &last, plan.domain, i));
        new.department = Some((*g.pick(DEPARTMENTS)).into());
        new.job_title = Some(if new.department.as_deref() == Some("Sales") {
            "Account Executive".into()
        } else {
            "Specialist".into()
        });
        new.hire_date = Some(Utc::now().date_naive() - Duration::days(g.rng.random_range(30..3000)));
        new.salary = Some(g.money(45_000, 120_000));
        new.commission_rate = Some(Money::new(g.rng.random_range(0..15) * 100, 2));
        new.manager_id = Some(employees[0].id.clone());
        let employee = store.create_employee(scope, new).await?;
        let role_name = *g.pick(&["sales_rep", "sales_manager", "support_agent", "viewer"]);
        if let Some(role) = roles.iter().find(|r| r.name == role_name) {
            store.assign_role(scope, &employee.id, &role.id).await?;
        }
        employees.push(employee);
    }
    Ok(employees)
}

/// Customers, in batches. The first is the customer login of `plan`, when it has one (a member,
/// added to `users`).
async fn seed_customers(
    step: OrgSeeding<'_>,
    g: &mut Gen,
    sellers: &[EmployeeId],
    users: &mut Vec<DemoUser>,
) -> Result<Vec<CustomerId>> {
    let OrgSeeding { store, scope, plan, options } = step;
    let mut bar = Progress::new(options, "customers", options.customers);
    let mut customer_ids: Vec<CustomerId> = Vec::with_capacity(options.customers);
    let mut made = 0;
    while made < options.customers {
        let n = BATCH.min(options.customers - made);
        let mut batch = Vec::with_capacity(n);
        for i in made..made + n {
            let business = g.chance(0.6);
            let (first, last) = g.person();
            let company = g.company();
            let (city, country) = *g.pick(CITIES);
            let mut new = NewCustomer::named(if business { company.clone() } else { format!("{first} {last}") });
            new.customer_type = if business { CustomerType::Business } else { CustomerType::Individual };
            new.company_name = business.then(|| company.clone());
            new.email = Some(email(&first, &last, &format!("{}.example", company.to_lowercase().replace(' ', "-")), i));
            new.phone = Some(format!("+1-555-{:04}", g.rng.random_range(0..10_000)));
            new.city = Some(city.into());
            new.country = Some(country.into());
            new.industry = Some((*g.pick(INDUSTRIES)).into());
            new.status = *g.pick(&[
                CustomerStatus::Active,
                CustomerStatus::Active,
                CustomerStatus::Active,
                CustomerStatus::Prospect,
                CustomerStatus::Vip,
                CustomerStatus::Inactive,
            ]);
            new.assigned_to = g.chance(0.8).then(|| g.pick(sellers).clone());
            new.credit_limit = g.chance(0.5).then(|| g.money(1_000, 50_000));
            new.source = Some((*g.pick(&["website", "referral", "event", "partner"])).into());
            new.tags = if g.chance(0.3) { vec!["key-account".into()] } else { Vec::new() };
            if g.chance(0.25) {
                new.custom_fields.insert("tier".into(), serde_json::json!(*g.pick(&["gold", "silver", "bronze"])));
            }
            new.created_at = Some(g.days_ago(720));
            if let (0, Some(login)) = (i, plan.customer_login) {
                new.user_id = Some(login.into());
                new.status = CustomerStatus::Active;
                new.tags = vec!["portal".into()];
            }
            batch.push(new);
        }
        customer_ids.extend(store.import_customers(scope, batch).await?);
        made += n;
        bar.set(made);
    }
    bar.finish();
    if let (Some(login), Some(first)) = (plan.customer_login, customer_ids.first()) {
        let customer = store.get_customer(scope, first).await?;
        store
            .put_member(
                scope,
                NewMember {
                    user_id: login.into(),
                    role: Role::Customer,
                    employee_id: None,
                    customer_id: Some(first.clone()),
                    display_name: customer.name,
                },
            )
            .await?;
        users.push(DemoUser {
            user_id: login.into(),
            organization: plan.slug.into(),
            role: Role::Customer,
            employee_role: None,
        });
    }
    Ok(customer_ids)
}

/// Leads, in batches, at the open stages of `pipeline`; a few are then converted into customers.
async fn seed_leads(step: OrgSeeding<'_>, g: &mut Gen, pipeline: &Pipeline, sellers: &[EmployeeId]) -> Result<()> {
    let OrgSeeding { store, scope, options, .. } = step;
    let open_stages: Vec<&PipelineStage> = pipeline.stages.iter().filter(|s| !s.is_closed()).collect();
    let mut bar = Progress::new(options, "leads", options.leads);
    let mut lead_ids: Vec<LeadId> = Vec::with_capacity(options.leads);
    let mut made = 0;
    while made < options.leads {
        let n = BATCH.min(options.leads - made);
        let mut batch = Vec::with_capacity(n);
        for i in made..made + n {
            let (first, last) = g.person();
            let company = g.company();
            let mut new = NewLead::named(format!("{first} {last}"));
            new.email = Some(email(&first, &last, "leads.example", i));
            new.company = Some(company);
            new.job_title = Some((*g.pick(&["CTO", "Head of Operations", "Buyer", "Founder", "IT Manager"])).into());
            new.source = *g.pick(LeadSource::ALL);
            new.qualification_status = *g.pick(&[
                QualificationStatus::New,
                QualificationStatus::New,
                QualificationStatus::Contacted,
                QualificationStatus::Qualified,
                QualificationStatus::Unqualified,
                QualificationStatus::Lost,
            ]);
            new.score = g.rng.random_range(0..=100);
            new.estimated_value = Some(g.money(1_000, 80_000));
            new.assigned_to = g.chance(0.85).then(|| g.pick(sellers).clone());
            new.stage_id = Some(g.pick(&open_stages).id.clone());
            new.created_at = Some(g.days_ago(365));
            batch.push(new);
        }
        lead_ids.extend(store.import_leads(scope, batch).await?);
        made += n;
        bar.set(made);
    }
    bar.finish();
    // A few conversions, through the real (atomic, idempotent) path.
    let conversions = (options.leads / 20).min(200);
    for lead_id in lead_ids.iter().take(conversions) {
        let lead = store.get_lead(scope, lead_id).await?;
        let mut customer = NewCustomer::named(lead.company.clone().unwrap_or_else(|| lead.name.clone()));
        customer.customer_type = CustomerType::Business;
        customer.email = lead.email.clone();
        customer.assigned_to = lead.assigned_to.clone();
        store.convert_lead(scope, lead_id, customer).await?;
    }
    Ok(())
}

/// Deals, in batches, at the stages of `pipeline`: a deal's status follows its stage.
async fn seed_deals(
    step: OrgSeeding<'_>,
    g: &mut Gen,
    pipeline: &Pipeline,
    customer_ids: &[CustomerId],
    sellers: &[EmployeeId],
    today: Date,
) -> Result<()> {
    let OrgSeeding { store, scope, options, .. } = step;
    let mut bar = Progress::new(options, "deals", options.deals);
    let mut made = 0;
    while made < options.deals {
        let n = BATCH.min(options.deals - made);
        let mut batch = Vec::with_capacity(n);
        for _ in made..made + n {
            let stage = g.pick(&pipeline.stages).clone();
            let mut new = NewDeal::new(
                format!("{} for {}", g.pick(PRODUCTS).0, g.company()),
                pipeline.id.clone(),
                stage.id.clone(),
                g.money(500, 120_000),
            );
            new.customer_id = (!customer_ids.is_empty()).then(|| g.pick(customer_ids).clone());
            new.probability = stage.probability;
            new.priority = *g.pick(Priority::ALL);
            new.assigned_to = g.chance(0.9).then(|| g.pick(sellers).clone());
            new.expected_close_date = Some(today + Duration::days(g.rng.random_range(-60..180)));
            new.status = if stage.is_closed_won {
                DealStatus::Won
            } else if stage.is_closed_lost {
                DealStatus::Lost
            } else {
                DealStatus::Open
            };
            if new.status != DealStatus::Open {
                new.actual_close_date = Some(today - Duration::days(g.rng.random_range(0..540)));
            }
            if new.status == DealStatus::Lost {
                new.lost_reason = Some((*g.pick(&["price", "timing", "competitor", "no budget"])).into());
            }
            new.created_at = Some(g.days_ago(540));
            batch.push(new);
        }
        store.import_deals(scope, batch).await?;
        made += n;
        bar.set(made);
    }
    bar.finish();
    Ok(())
}

/// Orders with items, the first three of the first customer; completed ones are paid.
async fn seed_orders(
    step: OrgSeeding<'_>,
    g: &mut Gen,
    customer_ids: &[CustomerId],
) -> Result<Vec<(OrderId, CustomerId)>> {
    let OrgSeeding { store, scope, options, .. } = step;
    let mut bar = Progress::new(options, "orders", options.orders);
    let mut order_ids: Vec<(OrderId, CustomerId)> = Vec::new();
    for i in 0..options.orders {
        let customer = if i < 3 { customer_ids[0].clone() } else { g.pick(customer_ids).clone() };
        let items = (0..g.rng.random_range(1..=3))
            .map(|_| {
                let (product, sku, cents) = *g.pick(PRODUCTS);
                NewOrderItem {
                    product: product.into(),
                    sku: Some(sku.into()),
                    quantity: g.rng.random_range(1..=5),
                    unit_price: Money::new(cents, 2),
                }
            })
            .collect();
        let created = g.days_ago(365);
        let status = *g.pick(&[
            OrderStatus::Completed,
            OrderStatus::Completed,
            OrderStatus::Pending,
            OrderStatus::Approved,
            OrderStatus::InProgress,
            OrderStatus::Cancelled,
        ]);
        let order = store
            .create_order(
                scope,
                NewOrder {
                    customer_id: customer.clone(),
                    order_type: *g.pick(OrderType::ALL),
                    status,
                    currency: "USD".into(),
                    tax: Money::ZERO,
                    order_date: created.date_naive(),
                    due_date: Some(created.date_naive() + Duration::days(30)),
                    notes: None,
                    items,
                    created_at: Some(created),
                },
            )
            .await?;
        if status == OrderStatus::Completed {
            store
                .create_payment(
                    scope,
                    NewPayment {
                        order_id: Some(order.id.clone()),
                        customer_id: customer.clone(),
                        amount: order.total,
                        currency: "USD".into(),
                        method: *g.pick(PaymentMethod::ALL),
                        payment_type: PaymentType::Incoming,
                        status: PaymentStatus::Completed,
                        payment_date: Some(created.date_naive() + Duration::days(g.rng.random_range(0..20))),
                        reference: Some(format!("INV-{}-{:05}", created.year(), i + 1)),
                        notes: None,
                        created_at: Some(created),
                    },
                )
                .await?;
        }
        order_ids.push((order.id, customer));
        bar.inc();
    }
    bar.finish();
    Ok(order_ids)
}

/// Issues with comments; the customer login (the first customer) raises the first few.
async fn seed_issues(
    step: OrgSeeding<'_>,
    g: &mut Gen,
    employees: &[Employee],
    customer_ids: &[CustomerId],
    order_ids: &[(OrderId, CustomerId)],
) -> Result<()> {
    let OrgSeeding { store, scope, plan, options } = step;
    let support: Vec<EmployeeId> =
        employees.iter().filter(|e| e.department.as_deref() == Some("Support")).map(|e| e.id.clone()).collect();
    let mut bar = Progress::new(options, "issues", options.issues);
    for i in 0..options.issues {
        let (order, customer) = if i < 3 && !order_ids.is_empty() {
            let own = order_ids.iter().find(|(_, c)| *c == customer_ids[0]).cloned();
            (own.as_ref().map(|(o, _)| o.clone()), customer_ids[0].clone())
        } else {
            match order_ids.get(g.rng.random_range(0..order_ids.len().max(1))) {
                Some((o, c)) if g.chance(0.5) => (Some(o.clone()), c.clone()),
                _ => (None, g.pick(customer_ids).clone()),
            }
        };
        let mut new = NewIssue::titled(*g.pick(ISSUE_TITLES));
        new.description = Some("Reported through the customer portal.".into());
        new.priority = *g.pick(Priority::ALL);
        new.category = *g.pick(IssueCategory::ALL);
        new.customer_id = Some(customer);
        new.order_id = order;
        new.assigned_to = (!support.is_empty() && g.chance(0.7)).then(|| g.pick(&support).clone());
        new.status = *g.pick(&[
            IssueStatus::Open,
            IssueStatus::Open,
            IssueStatus::InProgress,
            IssueStatus::Resolved,
            IssueStatus::Closed,
        ]);
        new.created_at = Some(g.days_ago(180));
        let issue = store.create_issue(scope, new).await?;
        if issue.status == IssueStatus::Resolved || issue.status == IssueStatus::Closed {
            store
                .update_issue(
                    scope,
                    &issue.id,
                    IssuePatch {
                        resolution_notes: Change::Set("Resolved with the customer.".into()),
                        resolved_at: Change::Set(Utc::now()),
                        resolved_by: Change::Set(plan.staff[0].user_id.into()),
                        ..Default::default()
                    },
                )
                .await?;
        }
        let (author, name) = (plan.staff.last().map(|s| s.user_id).unwrap_or("system"), "Support team");
        store
            .add_issue_comment(
                scope,
                NewIssueComment {
                    issue_id: issue.id.clone(),
                    author_user_id: author.into(),
                    author_name: name.into(),
                    body: "We are looking into this.".into(),
                    internal: false,
                },
            )
            .await?;
        if g.chance(0.5) {
            store
                .add_issue_comment(
                    scope,
                    NewIssueComment {
                        issue_id: issue.id,
                        author_user_id: author.into(),
                        author_name: name.into(),
                        body: "Internal: check the warehouse log.".into(),
                        internal: true,
                    },
                )
                .await?;
        }
        bar.inc();
    }
    bar.finish();
    Ok(())
}

/// Activities with customers, assigned to `sellers`.
async fn seed_activities(
    step: OrgSeeding<'_>,
    g: &mut Gen,
    customer_ids: &[CustomerId],
    sellers: &[EmployeeId],
    today: Date,
) -> Result<()> {
    let OrgSeeding { store, scope, plan, options } = step;
    let mut bar = Progress::new(options, "activities", options.activities);
    for _ in 0..options.activities {
        let activity_type = *g.pick(ActivityType::ALL);
        let mut new = NewActivity::new(activity_type, format!("{} with {}", activity_type, g.company()));
        new.customer_id = Some(g.pick(customer_ids).clone());
        new.assigned_to = Some(g.pick(sellers).clone());
        new.status = *g.pick(&[
            ActivityStatus::Scheduled,
            ActivityStatus::Completed,
            ActivityStatus::Completed,
            ActivityStatus::Cancelled,
        ]);
        new.scheduled_at = Some(g.days_ago(90));
        if new.status == ActivityStatus::Completed {
            new.completed_at = new.scheduled_at;
        }
        match activity_type {
            ActivityType::Call => {
                new.duration_minutes = Some(g.rng.random_range(5..60));
                new.outcome = Some("Interested, follow up next week".into());
            }
            ActivityType::Meeting => new.location = Some("Video call".into()),
            ActivityType::Email => new.email_subject = Some("Following up on our conversation".into()),
            ActivityType::Task => new.due_date = Some(today + Duration::days(g.rng.random_range(0..30))),
            ActivityType::Note => {}
        }
        new.created_by = Some(plan.staff[0].user_id.into());
        store.create_activity(scope, new).await?;
        bar.inc();
    }
    bar.finish();
    Ok(())
}
