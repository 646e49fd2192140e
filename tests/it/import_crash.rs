//! The customer import survives a crash (issue 24): the real binary's `bonusbridge import`
//! SIGKILLed in the middle of crediting, then `--resume`d → every customer's balance is credited
//! exactly once (a credit whose answer was lost is judged by the balance of the customer the
//! import created, never sent again blindly), and nothing is left in flight. Also the 100,000
//! counterparty run whose duration and peak memory BENCHMARKS.md records (ignored by default:
//! `cargo test --release --test it import_crash::hundred_thousand -- --ignored --nocapture`).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rust_decimal::Decimal;
use serde_json::json;

use crate::import::Shop;
use crate::support::{Backend, TestDb};

crate::on_both_backends!(killed_mid_run_then_resumed_credits_each_balance_once);

const COUNTERPARTIES: u32 = 200;

fn phone(n: u32) -> String {
    format!("7903{n:07}")
}

/// `bonusbridge import …` of the real binary against the shop's stand-ins.
fn import_command(shop: &Shop, db_url: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bonusbridge"));
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("BONUSBRIDGE__DATABASE__URL", db_url)
        .env(
            "BONUSBRIDGE__BONUSPLUS__BASE_URL",
            shop.world.emu.base_url(),
        )
        .env(
            "BONUSBRIDGE__MOYSKLAD__JSON_API_URL",
            shop.world.moysklad.json_api_url(),
        )
        .env("BONUSBRIDGE__BONUSPLUS__TIMEOUT_MS", "2000")
        .env("BONUSBRIDGE__IMPORT__CALLS_PER_SECOND", "0")
        .env("BONUSBRIDGE__SERVER__LOG_FILTER", "error")
        .arg("import")
        .arg(&shop.account)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    command
}

async fn killed_mid_run_then_resumed_credits_each_balance_once(db: TestDb) {
    let db_url = db.url.clone();
    let shop = Shop::open(db, 0).await;
    for n in 0..COUNTERPARTIES {
        shop.add(json!({
            "id": format!("00000000-0000-4000-9000-{n:012}"), "name": format!("Покупатель {n}"),
            "phone": phone(n), "bonusPoints": n + 1, "archived": false,
        }));
    }
    shop.world.emu.set_latency(Duration::from_millis(4));
    let mut first: Child = import_command(&shop, &db_url, &["--burns-in-days", "90"])
        .spawn()
        .expect("the binary starts");
    let started = Instant::now();
    while shop.calls("PATCH", "/customer/", "/balance") < 40 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no credits seen"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.kill().expect("SIGKILL");
    first.wait().expect("reaped");
    let credited_before = shop.calls("PATCH", "/customer/", "/balance");
    assert!(
        credited_before < COUNTERPARTIES as usize,
        "killed too late: {credited_before}"
    );
    let output = import_command(&shop, &db_url, &["--resume"])
        .output()
        .expect("the resumed import runs");
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{report}");
    assert!(report.contains("Перенос: создано"), "{report}");
    for n in 0..COUNTERPARTIES {
        assert_eq!(
            shop.balance(&phone(n)),
            Some(Decimal::from(n + 1)),
            "customer {n} credited exactly once"
        );
    }
    let run = shop.status().await;
    assert_eq!(run["state"], "done", "{run}");
    assert_eq!(run["result"]["inFlight"], 0, "{run}");
    assert_eq!(
        run["result"]["parked"], 0,
        "created customers are judged, not parked"
    );
    let total: u32 = (1..=COUNTERPARTIES).sum();
    assert_eq!(run["result"]["creditedTotal"], format!("{total}.00"));
}

/// 100,000 counterparties through the real binary (the emulator without latency): duration and
/// the process's peak resident memory (`VmHWM`), which must stay within 150 MiB.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "a benchmark: run it with --ignored (release build recommended)"]
async fn hundred_thousand() {
    let backend = match std::env::var("IMPORT_BENCH_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    };
    let db = TestDb::new(backend).await.expect("database");
    let db_url = db.url.clone();
    let shop = Shop::open(db, 0).await;
    let count: u32 = std::env::var("IMPORT_BENCH_COUNT")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100_000);
    for n in 0..count {
        shop.add(json!({
            "id": format!("00000000-0000-4000-a000-{n:012}"), "name": format!("Покупатель {n}"),
            "phone": format!("7904{n:07}"), "discountCardNumber": null,
            "bonusPoints": n % 500, "archived": false,
        }));
    }
    shop.world.emu.set_recording(false);
    let started = Instant::now();
    let mut child = import_command(&shop, &db_url, &["--burns-in-days", "365"])
        .env("BONUSBRIDGE__IMPORT__PAGE_SIZE", "1000")
        .env("BONUSBRIDGE__IMPORT__CONCURRENCY", "8")
        .spawn()
        .expect("the binary starts");
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0u64;
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_path) {
            if let Some(kib) = status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak_kib = peak_kib.max(kib);
            }
        }
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = started.elapsed();
    let mut report = String::new();
    if let Some(mut out) = child.stdout.take() {
        use std::io::Read;
        let _ = out.read_to_string(&mut report);
    }
    println!(
        "import of {count} counterparties ({backend:?}): {:.1} s, peak RSS {:.1} MiB\n{report}",
        elapsed.as_secs_f64(),
        peak_kib as f64 / 1024.0
    );
    assert!(peak_kib <= 150 * 1024, "peak RSS {peak_kib} KiB");
    assert!(report.contains(&format!("создано {count}")), "{report}");
}
