//! The many-accounts phase: 1,000 configured accounts — each its own BonusPlus key (a tenant of the
//! emulator with the store and a few customers), its own LoyaltyAPI token — provisioned while the
//! app is stopped; then a fresh app process on the same database takes POS traffic spread over 100
//! of them, and the same BonusPlus calls are made directly, as in the single-account phases.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use bonusbridge::store::Store;
use bonusbridge::sync::SYNC_KIND;
use bonusplus_emulator::EmulatorHandle;

use crate::app::{self, AppConfig, AppProcess, BenchAccount};
use crate::report::{Comparison, ManyFigures};
use crate::traffic::{merged_errors, paced, seed_tenant, Recorder, Till, Upstream};

/// Accounts the traffic goes to (the first ones provisioned), round-robin.
pub const ACTIVE_ACCOUNTS: usize = 100;
/// Customers of each account (the first phones of the single-account run).
const ACCOUNT_CUSTOMERS: usize = 10;
/// Every fifth recalculation comes with a search and a balance (a visit's start).
const SEARCH_EVERY: usize = 5;
/// The longest wait for the app to be quiet, after its start and after the warm-up.
const SETTLE_LIMIT: Duration = Duration::from_secs(60);

/// The accounts configured for the phase.
pub struct Provisioned {
    pub accounts: Vec<BenchAccount>,
    /// How long provisioning them in the app's database took.
    pub took: Duration,
}

/// Registers every account's key with the emulator (the store, [`ACCOUNT_CUSTOMERS`] customers)
/// and provisions them all in the app's database through one store handle.
pub async fn provision(
    emu: &EmulatorHandle,
    config: &AppConfig,
    count: usize,
) -> Result<Provisioned> {
    let accounts: Vec<BenchAccount> = (0..count).map(|_| BenchAccount::generate()).collect();
    for account in &accounts {
        seed_tenant(emu, &account.key, ACCOUNT_CUSTOMERS);
    }
    let started = Instant::now();
    app::provision(&config.settings()?, &accounts).await?;
    Ok(Provisioned {
        accounts,
        took: started.elapsed(),
    })
}

/// The phase itself, in its own app process (so its memory figures are its own).
pub async fn run(
    binary: &std::path::Path,
    config: &AppConfig,
    provisioned: &Provisioned,
    direct: (&Upstream, &Upstream),
    rate: u32,
    phase: Duration,
) -> Result<ManyFigures> {
    let app = AppProcess::start(binary, config).await?;
    let settings = config.settings()?;
    let store = Store::connect(&settings.database.url, 1, Duration::from_secs(5)).await?;
    let (settled_after, settle_cpu) = settle(&app, &store).await?;
    let (idle_rss, _) = app.memory_kib()?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .build()?;
    let tills: Arc<[Till]> = provisioned
        .accounts
        .iter()
        .take(ACTIVE_ACCOUNTS)
        .map(|account| Till {
            http: http.clone(),
            base: app.base.clone(),
            token: account.token.clone(),
        })
        .collect();

    let warm = Recorder::default();
    warm_up(&tills, &warm).await;
    settle(&app, &store).await?;
    store.close().await;
    let through_app = Recorder::default();
    app_mix(&tills, &through_app, rate, phase).await;
    let (after_rss, peak_rss) = app.memory_kib()?;
    app.stop()?;
    let directly = Recorder::default();
    direct_mix(&http, &directly, direct, rate, phase).await;

    Ok(ManyFigures {
        accounts: provisioned.accounts.len(),
        active: tills.len(),
        provisioned_in: provisioned.took,
        settled_after,
        settle_cpu,
        rate,
        traffic: Comparison::of(&through_app, &directly),
        idle_rss,
        after_rss,
        peak_rss,
        errors: merged_errors(&[&warm, &through_app, &directly]),
    })
}

/// Waits until the app is quiet and no product sync waits or runs (at start it schedules one for
/// every account), at most about [`SETTLE_LIMIT`]; answers how long that took and the app's CPU.
/// The CPU alone is not enough: on a slow database the syncs wait more than they compute.
async fn settle(app: &AppProcess, store: &Store) -> Result<(Duration, Duration)> {
    let started = Instant::now();
    let cpu_at_start = app.cpu_time()?;
    loop {
        app.settle(SETTLE_LIMIT).await?;
        let syncs = store.job_backlog(None, Some(SYNC_KIND)).await?;
        if syncs.ready + syncs.running == 0 || started.elapsed() >= SETTLE_LIMIT {
            let cpu = app.cpu_time()?.saturating_sub(cpu_at_start);
            return Ok((started.elapsed(), cpu));
        }
    }
}

/// Every active account's customers once (their links and the account's key in the app's
/// caches, as in steady traffic), the accounts concurrently.
async fn warm_up(tills: &[Till], recorder: &Recorder) {
    let per_account = tills.iter().map(|till| async move {
        for n in 0..ACCOUNT_CUSTOMERS {
            till.search(recorder, n).await;
            till.detail(recorder, n).await;
            till.recalc(recorder, n, "EARNING").await;
        }
    });
    futures::future::join_all(per_account).await;
}

/// The POS mix through the app at `rate` arrivals per second.
async fn app_mix(tills: &Arc<[Till]>, recorder: &Recorder, rate: u32, phase: Duration) {
    let (tills, recorder) = (tills.clone(), recorder.clone());
    paced(rate, phase, move |i| {
        let (tills, recorder) = (tills.clone(), recorder.clone());
        async move { pos_mix(&tills, &recorder, i).await }
    })
    .await;
}

/// Arrival `i`: a recalculation for the next account's next customer, every
/// [`SEARCH_EVERY`]th after a search and a balance.
async fn pos_mix(tills: &[Till], recorder: &Recorder, i: usize) {
    let till = &tills[i % tills.len()];
    let n = (i / tills.len()) % ACCOUNT_CUSTOMERS;
    if i.is_multiple_of(SEARCH_EVERY) {
        till.search(recorder, n).await;
        till.detail(recorder, n).await;
    }
    till.recalc(recorder, n, "EARNING").await;
}

/// The same mix of BonusPlus calls made directly: a calculation per arrival, every
/// [`SEARCH_EVERY`]th after two customer reads.
async fn direct_mix(
    http: &reqwest::Client,
    recorder: &Recorder,
    (customer, calc): (&Upstream, &Upstream),
    rate: u32,
    phase: Duration,
) {
    let (http, recorder) = (http.clone(), recorder.clone());
    let (customer, calc) = (customer.clone(), calc.clone());
    paced(rate, phase, move |i| {
        let (http, recorder) = (http.clone(), recorder.clone());
        let (customer, calc) = (customer.clone(), calc.clone());
        async move {
            if i.is_multiple_of(SEARCH_EVERY) {
                customer.call(&http, &recorder, false).await;
                customer.call(&http, &recorder, false).await;
            }
            calc.call(&http, &recorder, false).await;
        }
    })
    .await;
}
