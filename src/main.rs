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
            let requeued = bonusbridge::jobs::retry_failed(&store, kind.as_deref())
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
