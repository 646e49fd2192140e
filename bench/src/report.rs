//! What one run (a database and a latency) measured, and its section of the report.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::app::Backend;
use crate::delivery::{self, Delivery};
use crate::traffic::Recorder;
use crate::{HELD_CONNECTIONS, RECALC_RATE};

/// Latencies through the app per endpoint, and of the BonusPlus calls made directly.
#[derive(Default)]
pub struct Comparison {
    pub app: BTreeMap<&'static str, Histogram<u64>>,
    pub direct: BTreeMap<&'static str, Histogram<u64>>,
}

impl Comparison {
    pub fn of(app: &Recorder, direct: &Recorder) -> Comparison {
        Comparison {
            app: app.histograms(),
            direct: direct.histograms(),
        }
    }

    /// App percentile − direct percentile of the call `endpoint` waits for, in ms.
    pub fn added_ms(&self, endpoint: &str, percentile: f64) -> Option<f64> {
        let app = self.app.get(endpoint)?;
        let direct = self.direct.get(upstream_of(endpoint)?)?;
        Some(added_ms(app, direct, percentile))
    }

    pub fn app_ms(&self, endpoint: &str, percentile: f64) -> Option<f64> {
        let app = self.app.get(endpoint)?;
        Some(app.value_at_percentile(percentile) as f64 / 1000.0)
    }
}

/// Resident memory, KiB.
pub struct Memory {
    pub idle: u64,
    pub peak: u64,
    pub held: u64,
}

pub struct Saturation {
    pub app_rate: f64,
    /// The emulator alone, direct `PUT retail/calc`.
    pub direct_rate: f64,
    pub cpu_per_recalc_us: f64,
}

/// The many-accounts phase.
pub struct ManyFigures {
    pub accounts: usize,
    pub active: usize,
    pub provisioned_in: Duration,
    /// From ready until the app was quiet (its start-up work done), and its CPU meanwhile.
    pub settled_after: Duration,
    pub settle_cpu: Duration,
    pub rate: u32,
    pub traffic: Comparison,
    /// KiB: 1 s after ready, after the phase, `VmHWM` (the process ran only this phase).
    pub idle_rss: u64,
    pub after_rss: u64,
    pub peak_rss: u64,
    pub errors: BTreeMap<String, u64>,
}

/// Everything measured for one database and one latency.
pub struct RunFigures {
    pub backend: Backend,
    pub latency_ms: u64,
    pub phase: Duration,
    pub concurrency: usize,
    pub pos: Comparison,
    pub delivery: Delivery,
    /// Recalculations alone at [`RECALC_RATE`], and direct calculations at that rate.
    pub till_target: Comparison,
    pub saturation: Saturation,
    pub memory: Memory,
    pub ready_after: Duration,
    pub errors: BTreeMap<String, u64>,
    pub many: Option<ManyFigures>,
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

/// The run's section of the report.
pub fn section(run: &RunFigures) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n## {} · BonusPlus latency L = {} ms · {} s phases\n",
        run.backend.name(),
        run.latency_ms,
        run.phase.as_secs()
    );
    out.push_str(&endpoint_table(&run.pos, run.latency_ms));
    out.push('\n');
    out.push_str(&measures(run));
    if let Some(many) = &run.many {
        out.push('\n');
        out.push_str(&many_table(many));
    }
    out
}

fn endpoint_table(pos: &Comparison, latency_ms: u64) -> String {
    let mut out = String::new();
    out.push_str("| endpoint | calls | app p50 / p95 / p99 ms | direct BonusPlus p50 / p99 ms | added p50 / p95 / p99 ms | sequential round trips |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for endpoint in ["search", "detail", "recalc", "sale", "return"] {
        let Some(h) = pos.app.get(endpoint) else {
            continue;
        };
        let upstream = upstream_of(endpoint).and_then(|u| pos.direct.get(u));
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

fn measures(run: &RunFigures) -> String {
    let mut out = String::from("| measure | value |\n|---|---|\n");
    let mut row = |measure: String, value: String| {
        let _ = writeln!(out, "| {measure} | {value} |");
    };
    row(
        "sale delivered to BonusPlus after the till's answer: p50 / p99".into(),
        delivery_text(&run.delivery),
    );
    let empty = Histogram::new(3).expect("a histogram");
    let app = run.till_target.app.get("recalc").unwrap_or(&empty);
    let direct = run
        .till_target
        .direct
        .get("PUT retail/calc")
        .unwrap_or(&empty);
    row(
        format!("recalc at {RECALC_RATE}/s: added p50 / p95 / p99"),
        format!(
            "{} / {} / {} ms",
            added(app, direct, 50.0),
            added(app, direct, 95.0),
            added(app, direct, 99.0)
        ),
    );
    row(
        format!("recalc at {RECALC_RATE}/s: app p50 / p99; direct calc p50 / p99"),
        format!(
            "{} / {}; {} / {} ms",
            ms(app.value_at_percentile(50.0)),
            ms(app.value_at_percentile(99.0)),
            ms(direct.value_at_percentile(50.0)),
            ms(direct.value_at_percentile(99.0))
        ),
    );
    let saturation = &run.saturation;
    row(
        format!("recalc at saturation ({} loops)", run.concurrency),
        format!("{:.0} /s", saturation.app_rate),
    );
    row(
        "for scale: direct `PUT retail/calc` at saturation (emulator alone)".into(),
        format!("{:.0} /s", saturation.direct_rate),
    );
    row(
        "app CPU per recalc at saturation".into(),
        format!("{:.0} µs", saturation.cpu_per_recalc_us),
    );
    let memory = &run.memory;
    row(
        format!("RSS idle / peak / with {HELD_CONNECTIONS} open connections"),
        format!(
            "{} / {} / {} MiB",
            mib(memory.idle),
            mib(memory.peak),
            mib(memory.held)
        ),
    );
    row(
        "start to ready".into(),
        format!("{} ms", run.ready_after.as_millis()),
    );
    row("errors".into(), errors_text(&all_errors(run)));
    out
}

fn delivery_text(delivery: &Delivery) -> String {
    let at = |percentile| match delivery.percentile_ms(percentile) {
        Some(value) => format!("{value:.2}"),
        None => format!("not within {} s", delivery::PATIENCE.as_secs()),
    };
    format!(
        "{} / {} ms ({} of {} sales seen booked; negative: booked before the answer)",
        at(50.0),
        at(99.0),
        delivery.delays.len(),
        delivery.answered
    )
}

fn many_table(many: &ManyFigures) -> String {
    let mut out = format!(
        "| {} configured accounts, traffic over {} of them | value |\n|---|---|\n",
        many.accounts, many.active
    );
    let mut row = |measure: String, value: String| {
        let _ = writeln!(out, "| {measure} | {value} |");
    };
    let traffic = &many.traffic;
    let added = |endpoint, percentile| {
        traffic
            .added_ms(endpoint, percentile)
            .map_or("—".into(), |v| format!("{v:.2}"))
    };
    let app = |endpoint, percentile| {
        traffic
            .app_ms(endpoint, percentile)
            .map_or("—".into(), |v| format!("{v:.2}"))
    };
    row(
        format!("recalc at {}/s: added p50 / p95 / p99", many.rate),
        format!(
            "{} / {} / {} ms",
            added("recalc", 50.0),
            added("recalc", 95.0),
            added("recalc", 99.0)
        ),
    );
    let direct = |percentile| {
        traffic
            .direct
            .get("PUT retail/calc")
            .map_or("—".into(), |h| ms(h.value_at_percentile(percentile)))
    };
    row(
        format!(
            "recalc at {}/s: app p50 / p99; direct calc p50 / p99",
            many.rate
        ),
        format!(
            "{} / {}; {} / {} ms",
            app("recalc", 50.0),
            app("recalc", 99.0),
            direct(50.0),
            direct(99.0)
        ),
    );
    for endpoint in ["search", "detail"] {
        let calls = traffic.app.get(endpoint).map_or(0, Histogram::len);
        row(
            format!("{endpoint} ({calls} calls): added p50 / p99"),
            format!("{} / {} ms", added(endpoint, 50.0), added(endpoint, 99.0)),
        );
    }
    row(
        "RSS idle (once quiet) / after the phase / peak (`VmHWM`)".into(),
        format!(
            "{} / {} / {} MiB",
            mib(many.idle_rss),
            mib(many.after_rss),
            mib(many.peak_rss)
        ),
    );
    row(
        "start-up work (product sync scheduled for every account): quiet after; CPU used".into(),
        format!(
            "{:.1} s after ready; {:.2} s",
            many.settled_after.as_secs_f64(),
            many.settle_cpu.as_secs_f64()
        ),
    );
    row(
        format!("provisioning {} accounts (one store handle)", many.accounts),
        format!("{:.1} s", many.provisioned_in.as_secs_f64()),
    );
    out
}

fn all_errors(run: &RunFigures) -> BTreeMap<String, u64> {
    let mut errors = run.errors.clone();
    for (what, count) in run.many.iter().flat_map(|many| &many.errors) {
        *errors.entry(format!("{what} (many accounts)")).or_insert(0) += count;
    }
    errors
}

fn errors_text(errors: &BTreeMap<String, u64>) -> String {
    if errors.is_empty() {
        return "none".to_owned();
    }
    errors
        .iter()
        .map(|(what, n)| format!("{n}× {what}"))
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn ms(micros: u64) -> String {
    format!("{:.2}", micros as f64 / 1000.0)
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

fn added_ms(app: &Histogram<u64>, direct: &Histogram<u64>, percentile: f64) -> f64 {
    let difference =
        app.value_at_percentile(percentile) as f64 - direct.value_at_percentile(percentile) as f64;
    difference / 1000.0
}

/// App percentile minus direct percentile, in ms (may be slightly negative from noise).
fn added(app: &Histogram<u64>, direct: &Histogram<u64>, percentile: f64) -> String {
    format!("{:.2}", added_ms(app, direct, percentile))
}

/// The machine the figures come from.
pub fn machine_line() -> String {
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
