//! `bonusbridge` — the service binary. `serve` (the default) runs the HTTP server; `migrate`
//! applies database migrations and exits.
//! Only the command line: everything it runs comes from the library (`startup`, `jobs`, `admin`).

use clap::{Parser, Subcommand};

/// mimalloc: a request allocates and frees many small buffers (JSON, decimals, headers); glibc's
/// malloc was ~12 % of the app's CPU in the profile (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use bonusbridge::config::Settings;
use bonusbridge::startup::{open_store, shutdown_signal, Application};

#[derive(Parser)]
#[command(version, about = "MoySklad LoyaltyAPI ↔ BonusPlus bridge")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve HTTP (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load and validate the configuration, then exit.
    CheckConfig,
    /// Print descriptor.xml for this deployment (public base URL from the configuration).
    Descriptor,
    /// Re-encrypt stored secrets with `security.active_key` (after adding a new key).
    RotateKeys,
    /// Ask the running server on this host whether it is ready (for container health checks).
    Health,
    /// Installed accounts, one line each: status, LoyaltyAPI calls and errors in the last 24 h,
    /// delivery backlog, failed deliveries, last product sync; with an id, that account in detail.
    Accounts {
        /// A MoySklad account id: show this account in detail.
        account_id: Option<String>,
    },
    /// Bring an account's MoySklad counterparties (cards, bonus points) into BonusPlus, printing
    /// progress and the report; `--dry-run` only previews (nothing is written to BonusPlus).
    Import {
        /// The MoySklad account id.
        account_id: String,
        /// Preview only: counts and problems, nothing written to BonusPlus.
        #[arg(long)]
        dry_run: bool,
        /// Days until carried bonuses burn (`burnsInDays`); required unless `--dry-run`.
        #[arg(long)]
        burns_in_days: Option<u32>,
        /// Credit points to customers BonusPlus already had, too.
        #[arg(long)]
        credit_existing: bool,
        /// Leave archived counterparties out.
        #[arg(long)]
        skip_archived: bool,
        /// Only counterparties with a discount card.
        #[arg(long)]
        only_with_card: bool,
        /// Only counterparties with bonus points.
        #[arg(long)]
        only_with_points: bool,
        /// Only counterparties in this group (repeatable).
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// Go on with the account's latest unfinished run (e.g. after this command was killed)
        /// instead of starting one; only while no server's worker runs it.
        #[arg(long)]
        resume: bool,
    },
    /// Check the account's BonusPlus connection with its key: read-only calls, each ✓/✗ with its
    /// status and what was wrong; exits non-zero if one fails.
    Doctor {
        /// A MoySklad account id.
        account_id: String,
    },
    /// Put deliveries that failed for good back in the queue (after fixing their cause).
    RetryFailed {
        /// Only jobs of this kind (e.g. `deliver_operation`); all kinds when absent.
        #[arg(long)]
        kind: Option<String>,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli.command.unwrap_or(Command::Serve)).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            // One line an operator can act on; the process exits non-zero.
            eprintln!("bonusbridge: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> Result<(), String> {
    let settings = Settings::load().map_err(|e| e.to_string())?;
    bonusbridge::telemetry::init(settings.server.log_format, &settings.server.log_filter);
    match command {
        Command::CheckConfig => Ok(()),
        Command::Descriptor => {
            use std::io::Write;
            let xml = bonusbridge::descriptor::render(&settings.public_base());
            std::io::stdout()
                .write_all(xml.as_bytes())
                .map_err(|e| e.to_string())
        }
        Command::Health => check_health(&settings).await,
        Command::RotateKeys => {
            let (active, keys) = settings.encryption_keys().map_err(|e| e.to_string())?;
            let cipher = bonusbridge::crypto::Cipher::new(active, &keys);
            let store = open_store(&settings).await.map_err(|e| e.to_string())?;
            let outcome = bonusbridge::admin::rotate_keys(&store, &cipher)
                .await
                .map_err(|e| e.to_string())?;
            store.close().await;
            tracing::info!(
                rotated = outcome.rotated,
                current = outcome.current,
                unreadable = outcome.unreadable,
                "key rotation done"
            );
            if outcome.unreadable > 0 {
                return Err(format!(
                    "{} secrets could not be opened with any configured key",
                    outcome.unreadable
                ));
            }
            Ok(())
        }
        Command::RetryFailed { kind } => {
            let store = open_store(&settings).await.map_err(|e| e.to_string())?;
            let requeued = bonusbridge::outbox::retry_failed(&store, kind.as_deref())
                .await
                .map_err(|e| e.to_string());
            store.close().await;
            println!("re-queued {}", requeued?);
            Ok(())
        }
        Command::Accounts { account_id } => {
            let store = open_store(&settings).await.map_err(|e| e.to_string())?;
            let report = bonusbridge::admin::accounts_report(
                &store,
                account_id.as_deref(),
                bonusbridge::store::now_ms(),
            )
            .await;
            store.close().await;
            print!("{}", report.map_err(|e| e.to_string())?);
            Ok(())
        }
        Command::Import {
            account_id,
            dry_run,
            burns_in_days,
            credit_existing,
            skip_archived,
            only_with_card,
            only_with_points,
            tags,
            resume,
        } => {
            let options = bonusbridge::import::ImportOptions {
                filters: bonusbridge::domain::customer_import::Filters {
                    tags,
                    skip_archived,
                    only_with_card,
                    only_with_points,
                },
                credit_existing,
                burns_in_days,
            };
            let ctx = bonusbridge::startup::import_context(&settings)
                .await
                .map_err(|e| e.to_string())?;
            let result = run_import(&ctx, &account_id, dry_run, &options, resume).await;
            ctx.store.close().await;
            result
        }
        Command::Doctor { account_id } => doctor(&settings, &account_id).await,
        Command::Migrate => {
            let store = open_store(&settings).await.map_err(|e| e.to_string())?;
            store.close().await;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Serve => {
            let app = Application::build(settings)
                .await
                .map_err(|e| e.to_string())?;
            let token = app.shutdown_token();
            tokio::spawn(async move {
                shutdown_signal().await;
                tracing::info!("shutdown requested");
                token.cancel();
            });
            app.run().await.map_err(|e| e.to_string())
        }
    }
}

/// `bonusbridge doctor <account-id>`: the connection check, printed.
async fn doctor(settings: &Settings, account_id: &str) -> Result<(), String> {
    let (active, keys) = settings.encryption_keys().map_err(|e| e.to_string())?;
    let cipher = bonusbridge::crypto::Cipher::new(active, &keys);
    let store = open_store(settings).await.map_err(|e| e.to_string())?;
    let accounts = bonusbridge::accounts::Accounts::new(store.clone(), cipher);
    let client = bonusbridge::bonusplus::BonusPlusClient::new(
        settings.bonusplus.base_url.as_str(),
        std::time::Duration::from_millis(settings.bonusplus.timeout_ms),
    )
    .map_err(|e| e.to_string())?;
    let checks = bonusbridge::doctor::for_account(&store, &accounts, &client, account_id).await;
    store.close().await;
    let checks = checks.map_err(|e| e.to_string())?;
    print!("{}", bonusbridge::doctor::render_text(&checks));
    match checks.iter().filter(|check| !check.ok).count() {
        0 => Ok(()),
        failed => Err(format!("{failed} BonusPlus checks failed")),
    }
}

/// GET /health/ready on the local listener; the exit status tells the container runtime.
async fn check_health(settings: &Settings) -> Result<(), String> {
    let port = settings.server.listen.port();
    let url = format!("http://127.0.0.1:{port}/health/ready");
    let response = reqwest::Client::new()
        .get(&url)
        .timeout(std::time::Duration::from_secs(2))
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("{url}: {}", response.status()))
    }
}

/// `bonusbridge import`: runs the import in this process (no worker needed), drawing a progress
/// bar on stderr and printing the report on stdout. A transient failure is waited out and the run
/// resumed where it stopped; a permanent one ends it as failed.
async fn run_import(
    ctx: &bonusbridge::import::ImportContext,
    account_id: &str,
    dry_run: bool,
    options: &bonusbridge::import::ImportOptions,
    resume: bool,
) -> Result<(), String> {
    use bonusbridge::import::{self, ImportError};
    let run = if resume {
        import::reopen(&ctx.store, account_id).await
    } else {
        import::create_run(&ctx.store, account_id, "командная строка", dry_run, options).await
    }
    .map_err(|e| e.to_string())?;
    let action = bonusbridge::domain::audit::AuditAction::CustomerImportStarted;
    let what = if run.dry_run {
        "предпросмотр"
    } else {
        "перенос"
    };
    ctx.store
        .audit(account_id, "командная строка", action.as_ref(), what)
        .await
        .map_err(|e| e.to_string())?;
    let progress = tokio::spawn(draw_progress(ctx.store.clone(), run.id.clone()));
    let mut retries = 0u32;
    let outcome = loop {
        match import::advance(ctx, &run.id).await {
            Ok(outcome) => break Ok(outcome),
            Err(ImportError::Retry(reason)) if retries < 30 => {
                retries += 1;
                eprintln!("\nповтор через {retries} с: {reason}");
                tokio::time::sleep(std::time::Duration::from_secs(u64::from(retries))).await;
            }
            Err(error) => {
                import::abandon(ctx, &run.id, &error.to_string())
                    .await
                    .map_err(|e| e.to_string())?;
                break Err(error.to_string());
            }
        }
    };
    progress.abort();
    let run = ctx
        .store
        .import_run(&run.id)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(run) = run {
        let status = import::report::status(&ctx.store, &run)
            .await
            .map_err(|e| e.to_string())?;
        eprintln!();
        println!("{}", import::report::summary_ru(&status));
        for problem in &status.preview.problems {
            println!("  {}: {}", problem.reason, problem.count);
        }
    }
    outcome.map(drop)
}

/// Redraws `[#####.....] 50% этап …` on stderr every half second.
async fn draw_progress(store: bonusbridge::store::Store, run_id: String) {
    use std::io::Write;
    loop {
        if let Ok(Some(run)) = store.import_run(&run_id).await {
            if let Ok(status) = bonusbridge::import::report::status(&store, &run).await {
                let filled = usize::try_from(status.percent / 5).unwrap_or(0).min(20);
                let eta = status
                    .eta_seconds
                    .map(|s| format!(", осталось ~{s} с"))
                    .unwrap_or_default();
                eprint!(
                    "\r[{}{}] {:>3}% этап {} {}/{}{eta}   ",
                    "#".repeat(filled),
                    ".".repeat(20 - filled),
                    status.percent,
                    status.phase,
                    status.processed,
                    status.phase_total
                );
                let _ = std::io::stderr().flush();
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}
