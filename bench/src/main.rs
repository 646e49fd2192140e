//! `bash bench/run.sh` — how much the bridge adds on top of BonusPlus.
//!
//! For each database (SQLite, PostgreSQL) and each emulated BonusPlus latency L (0 and 20 ms) it starts
//! the BonusPlus emulator (in this process) and the real release binary (a child process, so its CPU
//! time and memory are its own), then measures:
//! * POS traffic (search → detail → recalc ×2 → sale, 10-line receipts, a return every tenth visit) at
//!   100 visits/s (a 300 ms payment pause before each sale), and the same BonusPlus calls made
//!   directly against the emulator at the same rate:
//!   per-endpoint latency and the latency added by the app (app − direct, per percentile);
//! * recalculations alone at 500/s against direct `PUT retail/calc` at 500/s (the till target);
//! * recalculations at saturation (closed loops): throughput and CPU per request;
//! * memory idle, at peak, and with 1,000 open keep-alive connections; time from start to ready;
//! * with L = 20 ms, the sequential upstream round trips per endpoint (app p50 / L);
//! * when each sale the till was answered reached BonusPlus (the emulator reports its bookings);
//! * 1,000 configured accounts, POS traffic over 100 of them in a fresh app process: added latency
//!   and memory;
//!
//! and ends the report with a line per target (`summary`).

mod accounts;
mod app;
mod delivery;
mod report;
mod summary;
mod traffic;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use bonusplus_emulator::{Emulator, EmulatorHandle};
use clap::Parser;

use app::{AppConfig, AppProcess, Backend, BenchAccount, Database};
use report::{Comparison, ManyFigures, Memory, RunFigures, Saturation};
use traffic::{merged_errors, paced, saturate, seed_tenant, Recorder, Till, Upstream, CUSTOMERS};

#[derive(Parser)]
#[command(about = "Load harness for bonusbridge (see BENCHMARKS.md)")]
struct Args {
    /// Short phases (2 s) to check the harness itself; figures are rough.
    #[arg(long)]
    quick: bool,
    /// Seconds per measured phase.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// `sqlite`, `postgres` or `both`.
    #[arg(long, default_value = "both")]
    backend: String,
    /// Emulated BonusPlus latencies in ms, comma-separated.
    #[arg(long, default_value = "0,20", value_delimiter = ',')]
    latency: Vec<u64>,
    /// Concurrent closed loops for the saturation phase.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Configured accounts for the many-accounts phase (0: no such phase).
    #[arg(long, default_value_t = 1_000)]
    accounts: usize,
    /// The app binary.
    #[arg(long, default_value = "target/release/bonusbridge")]
    binary: PathBuf,
    /// Also write the report to this file.
    #[arg(long, default_value = "target/bench/report.md")]
    report: PathBuf,
}

const VISITS_PER_SECOND: u32 = 100;
pub const RECALC_RATE: u32 = 500;
pub const HELD_CONNECTIONS: usize = 1_000;
const WARM_UP_VISITS: usize = 20;

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let phase = Duration::from_secs(if args.quick { 2 } else { args.seconds });
    let backends: Vec<Backend> = match args.backend.as_str() {
        "sqlite" => vec![Backend::Sqlite],
        "postgres" => vec![Backend::Postgres],
        _ => vec![Backend::Sqlite, Backend::Postgres],
    };
    let binary = app::repo_root().join(&args.binary);
    let mut report = report::machine_line();
    let mut runs = Vec::new();
    for backend in backends {
        for &latency in &args.latency {
            let figures = run(&args, &binary, backend, latency, phase)
                .await
                .with_context(|| format!("{} with L = {latency} ms", backend.name()))?;
            let section = report::section(&figures);
            print!("{section}");
            report.push_str(&section);
            runs.push(figures);
        }
    }
    let summary = summary::summary(&runs);
    print!("{summary}");
    report.push_str(&summary);
    let path = app::repo_root().join(&args.report);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&path, &report)?;
    println!("\nreport written to {}", path.display());
    Ok(())
}

/// The BonusPlus calls the app made during the warm-up, to be replayed directly.
struct Upstreams {
    customer: Upstream,
    calc: Upstream,
    sale: Upstream,
}

impl Upstreams {
    fn captured(emu: &EmulatorHandle) -> Result<Upstreams> {
        let requests = emu.requests();
        let base = emu.base_url();
        let find = |label, method, path| Upstream::captured(label, &requests, &base, method, path);
        Ok(Upstreams {
            customer: find("GET customer", "GET", "/customer")?,
            calc: find("PUT retail/calc", "PUT", "/retail/calc")?,
            sale: find("POST retail", "POST", "/retail")?,
        })
    }
}

/// Everything measured for one database and one latency: the single-account phases in one app
/// process, then (unless `--accounts 0`) the many-accounts phase in another on the same database.
async fn run(
    args: &Args,
    binary: &Path,
    backend: Backend,
    latency_ms: u64,
    phase: Duration,
) -> Result<RunFigures> {
    let emu = Emulator::start().await;
    let account = BenchAccount::generate();
    seed_tenant(&emu, &account.key, CUSTOMERS);
    let database = Database::fresh(backend).await?;
    let config = AppConfig::write(&database.url, &emu.base_url())?;
    app::provision(&config.settings()?, std::slice::from_ref(&account)).await?;
    let app = AppProcess::start(binary, &config).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (idle_rss, _) = app.memory_kib()?;

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .build()?;
    let till = Till {
        http: http.clone(),
        base: app.base.clone(),
        token: account.token.clone(),
    };
    // Warm-up with recording on: the upstream calls the app makes, to replay them directly.
    let warm = Recorder::default();
    for n in 0..WARM_UP_VISITS {
        till.visit(&warm, n).await;
    }
    let upstreams = Upstreams::captured(&emu)?;
    emu.set_recording(false);
    emu.set_latency(Duration::from_millis(latency_ms));

    let (pos, pos_direct, delivery) = pos_phase(&emu, &till, &http, &upstreams, phase).await;
    let (recalc_app, recalc_direct) = till_target_phase(&till, &http, &upstreams.calc, phase).await;
    let (saturation, saturated) =
        saturation_phase(&app, &till, &http, &upstreams.calc, args.concurrency, phase).await?;
    let (_, peak_rss) = app.memory_kib()?;
    let held = traffic::hold_connections(config.port, HELD_CONNECTIONS).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (held_rss, _) = app.memory_kib()?;
    drop(held);
    let ready_after = app.ready_after;
    app.stop()?;

    let many = match args.accounts {
        0 => None,
        count => {
            Some(many_accounts_phase(binary, &emu, &database, &upstreams, count, phase).await?)
        }
    };
    Ok(RunFigures {
        backend,
        latency_ms,
        phase,
        concurrency: args.concurrency,
        pos: Comparison::of(&pos, &pos_direct),
        delivery,
        till_target: Comparison::of(&recalc_app, &recalc_direct),
        saturation,
        memory: Memory {
            idle: idle_rss,
            peak: peak_rss,
            held: held_rss,
        },
        ready_after,
        errors: merged_errors(&[
            &warm,
            &pos,
            &pos_direct,
            &recalc_app,
            &recalc_direct,
            &saturated,
        ]),
        many,
    })
}

/// POS traffic through the app (with the sales' deliveries watched), then the same upstream
/// calls directly at the same rate.
async fn pos_phase(
    emu: &EmulatorHandle,
    till: &Till,
    http: &reqwest::Client,
    upstreams: &Upstreams,
    phase: Duration,
) -> (Recorder, Recorder, delivery::Delivery) {
    let pos = Recorder::default();
    let mut booked = emu.watch_sales();
    {
        let (till, pos) = (till.clone(), pos.clone());
        paced(VISITS_PER_SECOND, phase, move |n| {
            let (till, pos) = (till.clone(), pos.clone());
            async move { till.visit(&pos, 1_000 + n).await }
        })
        .await;
    }
    let delivery = delivery::collect(&pos.answered_sales(), &mut booked).await;
    drop(booked);

    let direct = Recorder::default();
    {
        let (http, direct) = (http.clone(), direct.clone());
        let (customer, calc, sale) = (
            upstreams.customer.clone(),
            upstreams.calc.clone(),
            upstreams.sale.clone(),
        );
        paced(VISITS_PER_SECOND, phase, move |_| {
            let (http, direct) = (http.clone(), direct.clone());
            let (customer, calc, sale) = (customer.clone(), calc.clone(), sale.clone());
            async move {
                customer.call(&http, &direct, false).await;
                customer.call(&http, &direct, false).await;
                calc.call(&http, &direct, false).await;
                calc.call(&http, &direct, false).await;
                sale.call(&http, &direct, true).await;
            }
        })
        .await;
    }
    (pos, direct, delivery)
}

/// The till target: recalculations alone at [`RECALC_RATE`], and the same rate of direct
/// calculations.
async fn till_target_phase(
    till: &Till,
    http: &reqwest::Client,
    calc: &Upstream,
    phase: Duration,
) -> (Recorder, Recorder) {
    let recalc_app = Recorder::default();
    {
        let (till, recorder) = (till.clone(), recalc_app.clone());
        paced(RECALC_RATE, phase, move |n| {
            let (till, recorder) = (till.clone(), recorder.clone());
            async move {
                till.recalc(&recorder, n, "EARNING").await;
            }
        })
        .await;
    }
    let recalc_direct = Recorder::default();
    {
        let (http, recorder, calc) = (http.clone(), recalc_direct.clone(), calc.clone());
        paced(RECALC_RATE, phase, move |_| {
            let (http, recorder, calc) = (http.clone(), recorder.clone(), calc.clone());
            async move { calc.call(&http, &recorder, false).await }
        })
        .await;
    }
    (recalc_app, recalc_direct)
}

/// Closed loops of recalculations: throughput and the app's CPU per request; then, for scale,
/// the emulator alone, direct calculations at saturation (it shares the machine with the app).
async fn saturation_phase(
    app: &AppProcess,
    till: &Till,
    http: &reqwest::Client,
    calc: &Upstream,
    concurrency: usize,
    phase: Duration,
) -> Result<(Saturation, Recorder)> {
    let cpu_before = app.cpu_time()?;
    let started = Instant::now();
    let (answered, saturated) = saturate(till, concurrency, phase).await;
    let elapsed = started.elapsed();
    let cpu = app.cpu_time()?.saturating_sub(cpu_before);

    let direct_started = Instant::now();
    let direct_answered = traffic::saturate_direct(http, calc, concurrency, phase).await;
    let saturation = Saturation {
        app_rate: answered as f64 / elapsed.as_secs_f64(),
        direct_rate: direct_answered as f64 / direct_started.elapsed().as_secs_f64(),
        cpu_per_recalc_us: cpu.as_micros() as f64 / answered.max(1) as f64,
    };
    Ok((saturation, saturated))
}

/// `count` more accounts provisioned while no app runs, then the traffic over 100 of them in a
/// fresh app process on the same database (so its memory figures are the phase's own).
async fn many_accounts_phase(
    binary: &Path,
    emu: &EmulatorHandle,
    database: &Database,
    upstreams: &Upstreams,
    count: usize,
    phase: Duration,
) -> Result<ManyFigures> {
    let config = AppConfig::write(&database.url, &emu.base_url())?;
    let provisioned = accounts::provision(emu, &config, count).await?;
    let direct = (&upstreams.customer, &upstreams.calc);
    accounts::run(binary, &config, &provisioned, direct, RECALC_RATE, phase)
        .await
        .context("the many-accounts phase")
}
