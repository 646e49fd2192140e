//! The app under test: a database (SQLite file or a fresh PostgreSQL database), a configured
//! account, and the real release binary as a child process whose CPU time and memory are read from
//! `/proc`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use bonusbridge::config::Settings;
use bonusbridge::crypto::{token_hash, Cipher, SecretKind};
use bonusbridge::store::{AccountStatus, ActivationRecord, LoyaltySettings, Store};
use futures::StreamExt;
use secrecy::SecretString;
use sqlx::Connection;

pub const POS: &str = "5f8c1a2e-0000-11ef-0a80-00000000be01";
pub const STORE: &str = "Магазин 1";
const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const PG_BENCH_DB: &str = "bonusbridge_bench";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }
}

/// A database for one run: a file in a temporary directory, or a fresh PostgreSQL database.
pub struct Database {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl Database {
    pub async fn fresh(backend: Backend) -> Result<Database> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir()?;
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("bench.db").display()
                );
                Ok(Database {
                    url,
                    _dir: Some(dir),
                })
            }
            Backend::Postgres => {
                let mut admin = sqlx::PgConnection::connect(PG_ADMIN)
                    .await
                    .context("PostgreSQL at 127.0.0.1:5432 (user postgres)")?;
                sqlx::query(&format!(
                    "DROP DATABASE IF EXISTS {PG_BENCH_DB} WITH (FORCE)"
                ))
                .execute(&mut admin)
                .await?;
                sqlx::query(&format!("CREATE DATABASE {PG_BENCH_DB}"))
                    .execute(&mut admin)
                    .await?;
                Ok(Database {
                    url: format!("postgres://postgres@127.0.0.1:5432/{PG_BENCH_DB}"),
                    _dir: None,
                })
            }
        }
    }
}

/// The configuration overlay the app is started with (written to a file, as an operator would).
pub struct AppConfig {
    pub file: tempfile::NamedTempFile,
    pub port: u16,
}

impl AppConfig {
    pub fn write(database_url: &str, bonusplus_url: &str) -> Result<AppConfig> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let text = format!(
            r#"
[server]
listen = "127.0.0.1:{port}"
public_base_url = "http://127.0.0.1:{port}"
log_format = "json"
log_filter = "warn"

[database]
url = "{database_url}"
max_connections = 16

[bonusplus]
base_url = "{bonusplus_url}"

[limits]
per_ip_per_second = 0
per_token_per_second = 0
"#
        );
        let mut file = tempfile::Builder::new().suffix(".toml").tempfile()?;
        std::io::Write::write_all(&mut file, text.as_bytes())?;
        Ok(AppConfig { file, port })
    }

    pub fn settings(&self) -> Result<Settings> {
        let defaults = repo_root().join("config/default.toml");
        let overlay = self.file.path().to_string_lossy().into_owned();
        Ok(Settings::load_from(
            &defaults,
            Some(overlay.as_str()),
            false,
        )?)
    }
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A configured account: its MoySklad id, its BonusPlus key and its LoyaltyAPI token (in clear).
pub struct BenchAccount {
    pub id: String,
    pub key: String,
    pub token: String,
}

impl BenchAccount {
    pub fn generate() -> BenchAccount {
        let unique = || uuid::Uuid::new_v4().simple().to_string();
        BenchAccount {
            id: uuid::Uuid::new_v4().to_string(),
            key: format!("bench-key-{}", unique()),
            token: format!("bench-token-{}", unique()),
        }
    }
}

/// Accounts provisioned at once through one store handle.
const PROVISIONING_CONCURRENCY: usize = 8;

/// What the settings page does on save, for every account: activated, its BonusPlus key
/// encrypted and its LoyaltyAPI token hashed. Opens the store once (applying the migrations, as
/// `bonusbridge migrate` would); run it while the app is stopped.
pub async fn provision(settings: &Settings, accounts: &[BenchAccount]) -> Result<()> {
    let store = bonusbridge::startup::open_store(settings).await?;
    let (active, keys) = settings.encryption_keys()?;
    let cipher = Cipher::new(active, &keys);
    let app_id = settings.moysklad.app_id.as_str();
    let provisioned: Vec<Result<()>> = futures::stream::iter(accounts)
        .map(|account| provision_account(&store, &cipher, app_id, account))
        .buffer_unordered(PROVISIONING_CONCURRENCY)
        .collect()
        .await;
    store.close().await;
    provisioned.into_iter().collect()
}

async fn provision_account(
    store: &Store,
    cipher: &Cipher,
    app_id: &str,
    account: &BenchAccount,
) -> Result<()> {
    let BenchAccount { id, key, token } = account;
    let account = id.as_str();
    store
        .activate_account(&ActivationRecord {
            account_id: account.to_owned(),
            app_id: app_id.to_owned(),
            account_name: "Бенчмарк".to_owned(),
            subscription: None,
            access_token_enc: None,
        })
        .await?;
    let sealed = cipher.seal(
        account,
        SecretKind::BonusPlusKey,
        &SecretString::from(key.to_owned()),
    )?;
    store
        .save_settings(&LoyaltySettings {
            account_id: account.to_owned(),
            bonusplus_key_enc: Some(sealed),
            default_store: String::new(),
            store_map: serde_json::json!({ POS: STORE }).to_string(),
            external_search: true,
            spend_requires_code: false,
            register_requires_code: false,
            reserve_ttl_secs: 600,
            updated_at: 0,
            updated_by: "bench".to_owned(),
            code_delivery: "own".to_owned(),
            code_message: "Код для кассы: {code}".to_owned(),
        })
        .await?;
    store.replace_api_token(account, &token_hash(token)).await?;
    store
        .set_account_status(account, AccountStatus::Activated)
        .await?;
    Ok(())
}

/// A process is quiet when it used less CPU than this over the last window.
const QUIET_CPU: Duration = Duration::from_millis(50);
const QUIET_WINDOW: Duration = Duration::from_secs(1);

/// The running binary.
pub struct AppProcess {
    child: Child,
    pub base: String,
    /// From spawn to the first `200` of `/health/ready`.
    pub ready_after: Duration,
}

impl AppProcess {
    pub async fn start(binary: &Path, config: &AppConfig) -> Result<AppProcess> {
        let base = format!("http://127.0.0.1:{}", config.port);
        let started = Instant::now();
        let child = Command::new(binary)
            .arg("serve")
            .env("BONUSBRIDGE_CONFIG", config.file.path())
            .current_dir(repo_root())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut app = AppProcess {
            child,
            base,
            ready_after: Duration::ZERO,
        };
        let http = reqwest::Client::new();
        let ready = format!("{}/health/ready", app.base);
        while started.elapsed() < Duration::from_secs(30) {
            if let Ok(response) = http.get(&ready).send().await {
                if response.status().is_success() {
                    app.ready_after = started.elapsed();
                    return Ok(app);
                }
            }
            if let Some(status) = app.child.try_wait()? {
                bail!("the app exited during start-up: {status}");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        bail!("the app was not ready within 30 s")
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time (user + system) the process has used so far.
    pub fn cpu_time(&self) -> Result<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))?;
        // Fields after the command name (which may contain spaces) start at state (field 3).
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 = fields[11].parse::<u64>()? + fields[12].parse::<u64>()?;
        // USER_HZ is 100 on every Linux we run on.
        Ok(Duration::from_millis(ticks * 10))
    }

    /// Waits until the process is quiet (under [`QUIET_CPU`] of CPU in a [`QUIET_WINDOW`]), at
    /// most about `limit`: its start-up work done. Answers how long that took and the CPU it used.
    pub async fn settle(&self, limit: Duration) -> Result<(Duration, Duration)> {
        let started = Instant::now();
        let cpu_at_start = self.cpu_time()?;
        let mut cpu = cpu_at_start;
        loop {
            tokio::time::sleep(QUIET_WINDOW).await;
            let before = cpu;
            cpu = self.cpu_time()?;
            if cpu.saturating_sub(before) < QUIET_CPU || started.elapsed() >= limit {
                return Ok((started.elapsed(), cpu.saturating_sub(cpu_at_start)));
            }
        }
    }

    /// Resident memory now (`VmRSS`) and at its peak (`VmHWM`), in KiB.
    pub fn memory_kib(&self) -> Result<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Ok((field("VmRSS:"), field("VmHWM:")))
    }

    /// SIGTERM, then waits for the graceful stop.
    pub fn stop(mut self) -> Result<()> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        for _ in 0..200 {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        self.child.kill()?;
        Ok(())
    }
}
