//! The `migrate` and `seed` commands: the database schema, and the demo organizations with their
//! progress bars.

use crm_agent::SqlStore;
use crm_agent::seed::{DemoSeedState, SeedOptions, demo_seed_state, seed_demo, unfinished_seed};
use crm_agent::store::sql::redact_url as redact;

/// `crm-agent migrate`.
pub(crate) async fn migrate(db: String) -> crm_agent::Result<()> {
    SqlStore::open(&db).await?;
    out!("migrated {}", redact(&db));
    Ok(())
}

/// `crm-agent seed`.
#[allow(clippy::too_many_arguments, reason = "one parameter per flag of the command")]
pub(crate) async fn seed(
    db: String,
    customers: usize,
    leads: usize,
    deals: usize,
    issues: usize,
    orders: usize,
    activities: usize,
    seed: u64,
    if_empty: bool,
    quiet: bool,
) -> crm_agent::Result<()> {
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
        let role = user.employee_role.as_deref().map_or(user.role.to_string(), |r| format!("{} ({r})", user.role));
        out!("  user {:<14} {:<8} {role}", user.user_id, user.organization);
    }
    Ok(())
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
