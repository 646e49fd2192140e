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
//! * with L = 20 ms, the sequential upstream round trips per endpoint (app p50 / L).

mod app;
mod traffic;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use bonusplus_emulator::{Emulator, NewCustomer, TenantRules};
use clap::Parser;
use hdrhistogram::Histogram;

use app::{AppConfig, AppProcess, Backend, Database, STORE};
use traffic::{paced, phone, saturate, Recorder, Till, Upstream, CUSTOMERS};

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
    /// The app binary.
    #[arg(long, default_value = "target/release/bonusbridge")]
    binary: PathBuf,
    /// Also write the report to this file.
    #[arg(long, default_value = "target/bench/report.md")]
    report: PathBuf,
}

const VISITS_PER_SECOND: u32 = 100;
const RECALC_RATE: u32 = 500;
const HELD_CONNECTIONS: usize = 1_000;

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
    let mut report = machine_line();
    for backend in backends {
        for &latency in &args.latency {
            let section = run(&args, &binary, backend, latency, phase)
                .await
                .with_context(|| format!("{} with L = {latency} ms", backend.name()))?;
            print!("{section}");
            report.push_str(&section);
        }
    }
    let path = app::repo_root().join(&args.report);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&path, &report)?;
    println!("\nreport written to {}", path.display());
    Ok(())
}

/// Everything measured for one database and one latency.
async fn run(
    args: &Args,
    binary: &std::path::Path,
    backend: Backend,
    latency_ms: u64,
    phase: Duration,
) -> Result<String> {
    let latency = Duration::from_millis(latency_ms);
    let emu = Emulator::start().await;
    let key = format!("bench-key-{}", uuid::Uuid::new_v4().simple());
    emu.add_tenant(&key, TenantRules::default());
    emu.add_store(&key, STORE);
    for n in 0..CUSTOMERS {
        emu.add_customer_with(&key, NewCustomer::new(&phone(n), 100_000.into()));
    }

    let database = Database::fresh(backend).await?;
    let config = AppConfig::write(&database.url, &emu.base_url())?;
    let account = uuid::Uuid::new_v4().to_string();
    let token = format!("bench-token-{}", uuid::Uuid::new_v4().simple());
    app::provision(&config.settings()?, &account, &key, &token).await?;
    let app = AppProcess::start(binary, &config).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (idle_rss, _) = app.memory_kib()?;

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(512)
        .build()?;
    let till = Till {
        http: http.clone(),
        base: app.base.clone(),
        token,
    };

    // Warm-up with recording on: the upstream calls the app makes, to replay them directly.
    let warm = Recorder::default();
    for n in 0..20 {
        till.visit(&warm, n).await;
    }
    let requests = emu.requests();
    emu.set_recording(false);
    emu.set_latency(latency);
    let base = emu.base_url();
    let customer = Upstream::captured("GET customer", &requests, &base, "GET", "/customer")?;
    let calc = Upstream::captured("PUT retail/calc", &requests, &base, "PUT", "/retail/calc")?;
    let sale = Upstream::captured("POST retail", &requests, &base, "POST", "/retail")?;

    // POS traffic through the app, then the same upstream calls directly.
    let pos = Recorder::default();
    {
        let (till, pos) = (till.clone(), pos.clone());
        paced(VISITS_PER_SECOND, phase, move |n| {
            let (till, pos) = (till.clone(), pos.clone());
            async move { till.visit(&pos, 1_000 + n).await }
        })
        .await;
    }
    let direct = Recorder::default();
    {
        let (http, direct) = (http.clone(), direct.clone());
        let (customer, calc, sale) = (customer.clone(), calc.clone(), sale.clone());
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

    // The till target: recalculations alone at 500/s, and the same rate of direct calculations.
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

    // Saturation.
    let cpu_before = app.cpu_time()?;
    let started = std::time::Instant::now();
    let (answered, saturated) = saturate(&till, args.concurrency, phase).await;
    let elapsed = started.elapsed();
    let cpu = app.cpu_time()?.saturating_sub(cpu_before);
    let (_, peak_rss) = app.memory_kib()?;

    // For scale: the emulator alone, calculations at saturation (it shares the machine with the app).
    let direct_started = std::time::Instant::now();
    let direct_answered = traffic::saturate_direct(&http, &calc, args.concurrency, phase).await;
    let direct_rate = direct_answered as f64 / direct_started.elapsed().as_secs_f64();

    // Memory with many idle connections.
    let held = traffic::hold_connections(config.port, HELD_CONNECTIONS).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (held_rss, _) = app.memory_kib()?;
    drop(held);
    let ready_after = app.ready_after;
    app.stop()?;

    let mut errors = BTreeMap::new();
    for recorder in [
        &warm,
        &pos,
        &direct,
        &recalc_app,
        &recalc_direct,
        &saturated,
    ] {
        for (what, count) in recorder.errors() {
            *errors.entry(what).or_insert(0) += count;
        }
    }

    let mut out = String::new();
    writeln!(
        out,
        "\n## {} · BonusPlus latency L = {latency_ms} ms · {} s phases\n",
        backend.name(),
        phase.as_secs()
    )?;
    out.push_str(&endpoint_table(
        &pos.histograms(),
        &direct.histograms(),
        latency_ms,
    ));
    let app_recalc = &recalc_app.histograms()["recalc"];
    let direct_calc = &recalc_direct.histograms()["PUT retail/calc"];
    writeln!(out)?;
    writeln!(out, "| measure | value |")?;
    writeln!(out, "|---|---|")?;
    writeln!(
        out,
        "| recalc at {RECALC_RATE}/s: added p50 / p95 / p99 | {} / {} / {} ms |",
        added(app_recalc, direct_calc, 50.0),
        added(app_recalc, direct_calc, 95.0),
        added(app_recalc, direct_calc, 99.0)
    )?;
    writeln!(
        out,
        "| recalc at {RECALC_RATE}/s: app p50 / p99; direct calc p50 / p99 | {} / {}; {} / {} ms |",
        ms(app_recalc.value_at_percentile(50.0)),
        ms(app_recalc.value_at_percentile(99.0)),
        ms(direct_calc.value_at_percentile(50.0)),
        ms(direct_calc.value_at_percentile(99.0))
    )?;
    writeln!(
        out,
        "| recalc at saturation ({} loops) | {:.0} /s |",
        args.concurrency,
        answered as f64 / elapsed.as_secs_f64()
    )?;
    writeln!(
        out,
        "| for scale: direct `PUT retail/calc` at saturation (emulator alone) | {direct_rate:.0} /s |"
    )?;
    writeln!(
        out,
        "| app CPU per recalc at saturation | {:.0} µs |",
        cpu.as_micros() as f64 / answered.max(1) as f64
    )?;
    writeln!(
        out,
        "| RSS idle / peak / with {HELD_CONNECTIONS} open connections | {:.1} / {:.1} / {:.1} MiB |",
        idle_rss as f64 / 1024.0,
        peak_rss as f64 / 1024.0,
        held_rss as f64 / 1024.0
    )?;
    writeln!(out, "| start to ready | {} ms |", ready_after.as_millis())?;
    let error_text = if errors.is_empty() {
        "none".to_owned()
    } else {
        errors
            .iter()
            .map(|(what, n)| format!("{n}× {what}"))
            .collect::<Vec<_>>()
            .join("; ")
    };
    writeln!(out, "| errors | {error_text} |")?;
    Ok(out)
}

/// Which direct call each app endpoint waits for.
fn upstream_of(endpoint: &str) -> Option<&'static str> {
    match endpoint {
        "search" | "detail" => Some("GET customer"),
        "recalc" => Some("PUT retail/calc"),
        "sale" => Some("POST retail"),
        _ => None,
    }
}

fn endpoint_table(
    app: &BTreeMap<&'static str, Histogram<u64>>,
    direct: &BTreeMap<&'static str, Histogram<u64>>,
    latency_ms: u64,
) -> String {
    let mut out = String::new();
    out.push_str("| endpoint | calls | app p50 / p95 / p99 ms | direct BonusPlus p50 / p99 ms | added p50 / p95 / p99 ms | sequential round trips |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for endpoint in ["search", "detail", "recalc", "sale", "return"] {
        let Some(h) = app.get(endpoint) else { continue };
        let upstream = upstream_of(endpoint).and_then(|u| direct.get(u));
        let (direct_text, added_text) = match upstream {
            Some(d) => (
                format!(
                    "{} / {}",
                    ms(d.value_at_percentile(50.0)),
                    ms(d.value_at_percentile(99.0))
                ),
                format!(
                    "{} / {} / {}",
                    added(h, d, 50.0),
                    added(h, d, 95.0),
                    added(h, d, 99.0)
                ),
            ),
            None => ("—".into(), "—".into()),
        };
        // Each sequential BonusPlus round trip costs at least a direct call's median (≈ L): the
        // whole number of those the app's median holds (the rest is the app's own time).
        let trips = match upstream {
            Some(d) if latency_ms >= 10 => format!(
                "{}",
                h.value_at_percentile(50.0) / d.value_at_percentile(50.0).max(1)
            ),
            _ => "—".into(),
        };
        let _ = writeln!(
            out,
            "| {endpoint} | {} | {} / {} / {} | {direct_text} | {added_text} | {trips} |",
            h.len(),
            ms(h.value_at_percentile(50.0)),
            ms(h.value_at_percentile(95.0)),
            ms(h.value_at_percentile(99.0)),
        );
    }
    out
}

fn ms(micros: u64) -> String {
    format!("{:.2}", micros as f64 / 1000.0)
}

/// App percentile minus direct percentile, in ms (may be slightly negative from noise).
fn added(app: &Histogram<u64>, direct: &Histogram<u64>, percentile: f64) -> String {
    let difference =
        app.value_at_percentile(percentile) as f64 - direct.value_at_percentile(percentile) as f64;
    format!("{:.2}", difference / 1000.0)
}

/// The machine the figures come from.
fn machine_line() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("# bonusbridge benchmark\n\nMachine: {cpu}, {cores} cores available; app, emulator and load generator on the same machine.\n")
}
