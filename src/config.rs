//! Configuration: `config/default.toml`, overlaid by the file named in `BONUSBRIDGE_CONFIG`, overlaid by
//! `BONUSBRIDGE__SECTION__KEY` environment variables. Loading either yields a fully validated
//! [`Settings`] or one [`ConfigError`] whose message names the offending setting.
//! A utility: must not depend on a client, `store` or any layer above; only on `domain` and utilities.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

/// Environment variable naming an extra configuration file.
pub const CONFIG_FILE_VAR: &str = "BONUSBRIDGE_CONFIG";
/// Prefix of the environment variables that override settings.
pub const ENV_PREFIX: &str = "BONUSBRIDGE";

/// The development secrets shipped in `config/default.toml`; refused in production.
const DEV_SECRET_KEY: &str = "development-secret-key-change-me-0123456789";
/// The development encryption key (`security.keys.dev`). Overlays merge maps, so a production
/// configuration given as environment variables cannot remove it: production ignores it instead,
/// and refuses it as the active key.
const DEV_ENCRYPTION_KEY: &str = "ZGV2ZWxvcG1lbnQta2V5LW5vdC1mb3ItcHJvZCEhISE=";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration: setting `{setting}` {problem}")]
    Invalid {
        setting: &'static str,
        problem: String,
    },
}

fn invalid(setting: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting,
        problem: problem.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub environment: Environment,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub moysklad: MoySkladSettings,
    pub bonusplus: BonusPlusSettings,
    pub security: SecuritySettings,
    pub limits: LimitSettings,
    pub jobs: JobSettings,
    pub sync: SyncSettings,
    /// The customer import; absent from an overlay: the defaults.
    #[serde(default)]
    pub import: ImportSettings,
}

/// The customer import (MoySklad counterparties → BonusPlus).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ImportSettings {
    /// Calls per second the import makes to BonusPlus (its own limit, so the till's calls keep
    /// their share); 0 = unlimited.
    pub calls_per_second: u32,
    /// Counterparties per JSON API page (≤ 1000).
    pub page_size: u32,
    /// Counterparties handled at once.
    pub concurrency: usize,
}

impl Default for ImportSettings {
    fn default() -> Self {
        ImportSettings {
            calls_per_second: 10,
            page_size: 1000,
            concurrency: 4,
        }
    }
}

/// Largest number of products sent in one BonusPlus `POST product/import`, the bound of
/// `sync.batch_size`. Unconfirmed: BonusPlus documents no limit (listed with the other
/// assumptions in `bonusplus::wire_assumptions`); callers split bigger catalogues into batches.
pub const MAX_PRODUCTS_PER_IMPORT: usize = 1000;

/// Product sync (MoySklad catalogue → BonusPlus).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSettings {
    /// Seconds between scheduled runs per account; 0 switches the schedule off.
    pub interval_secs: u64,
    /// Rows per JSON API page (≤ 1000).
    pub page_size: u32,
    /// Products per `POST product/import` (≤ [`MAX_PRODUCTS_PER_IMPORT`]).
    pub batch_size: usize,
}

/// The background workers (outbox delivery, reserve expiry); all durations in milliseconds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSettings {
    pub poll_interval_ms: u64,
    pub lease_ms: u64,
    pub inline_grace_ms: u64,
    pub max_backoff_ms: u64,
    pub reserve_sweep_ms: u64,
    pub concurrency: usize,
}

/// Requests per second (and bursts) allowed per client IP and per LoyaltyAPI token; 0 = no limit.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    pub per_ip_per_second: u32,
    pub per_ip_burst: u32,
    pub per_token_per_second: u32,
    pub per_token_burst: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    pub public_base_url: Url,
    pub body_limit_bytes: usize,
    pub request_timeout_ms: u64,
    pub log_format: LogFormat,
    pub log_filter: String,
    /// Bearer token `GET /metrics` requires; empty leaves it open (keep it off the public proxy).
    pub metrics_token: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: SecretString,
    pub max_connections: u32,
    pub connect_timeout_ms: u64,
    /// How long a request waits for a database connection before it is answered 503.
    pub acquire_timeout_ms: u64,
}

impl DatabaseSettings {
    pub fn url_is_sqlite(&self) -> bool {
        self.url.expose_secret().starts_with("sqlite:")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoySkladSettings {
    pub app_id: String,
    pub app_uid: String,
    pub secret_key: SecretString,
    pub vendor_api_url: Url,
    pub json_api_url: Url,
    pub web_origin: Url,
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BonusPlusSettings {
    pub base_url: Url,
    pub timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySettings {
    pub active_key: String,
    pub keys: BTreeMap<String, SecretString>,
}

impl Settings {
    /// Loads `config/default.toml` (relative to the working directory, or the crate root when run
    /// through cargo), the optional `BONUSBRIDGE_CONFIG` file and the environment.
    pub fn load() -> Result<Self, ConfigError> {
        let extra_file = std::env::var(CONFIG_FILE_VAR).ok();
        Self::load_from(default_config_path().as_path(), extra_file.as_deref(), true)
    }

    /// Loads from explicit sources; `use_env` switches the environment overlay (tests turn it off).
    pub fn load_from(
        default_file: &Path,
        extra_file: Option<&str>,
        use_env: bool,
    ) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder().add_source(config::File::from(default_file));
        if let Some(extra) = extra_file {
            builder = builder.add_source(config::File::with_name(extra).required(true));
        }
        if use_env {
            builder = builder.add_source(
                config::Environment::with_prefix(ENV_PREFIX)
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true),
            );
        }
        let settings: Settings = builder.build()?.try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks what serde cannot: relations between settings and values that parse but are unusable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_http_url("server.public_base_url", &self.server.public_base_url)?;
        check_http_url("moysklad.vendor_api_url", &self.moysklad.vendor_api_url)?;
        check_http_url("moysklad.json_api_url", &self.moysklad.json_api_url)?;
        check_http_url("bonusplus.base_url", &self.bonusplus.base_url)?;
        let db = self.database.url.expose_secret();
        if !(db.starts_with("postgres://")
            || db.starts_with("postgresql://")
            || db.starts_with("sqlite:"))
        {
            return Err(invalid(
                "database.url",
                "must start with postgres://, postgresql:// or sqlite:",
            ));
        }
        if uuid::Uuid::parse_str(&self.moysklad.app_id).is_err() {
            return Err(invalid("moysklad.app_id", "must be a UUID"));
        }
        if self.moysklad.app_uid.trim().is_empty() {
            return Err(invalid("moysklad.app_uid", "must not be empty"));
        }
        if self.moysklad.secret_key.expose_secret().len() < 16 {
            return Err(invalid(
                "moysklad.secret_key",
                "must be at least 16 characters",
            ));
        }
        for (setting, value) in [
            ("server.request_timeout_ms", self.server.request_timeout_ms),
            (
                "database.connect_timeout_ms",
                self.database.connect_timeout_ms,
            ),
            (
                "database.acquire_timeout_ms",
                self.database.acquire_timeout_ms,
            ),
            ("moysklad.timeout_ms", self.moysklad.timeout_ms),
            ("bonusplus.timeout_ms", self.bonusplus.timeout_ms),
            ("jobs.poll_interval_ms", self.jobs.poll_interval_ms),
            ("jobs.max_backoff_ms", self.jobs.max_backoff_ms),
            ("jobs.reserve_sweep_ms", self.jobs.reserve_sweep_ms),
            ("jobs.concurrency", self.jobs.concurrency as u64),
        ] {
            if value == 0 {
                return Err(ConfigError::Invalid {
                    setting,
                    problem: "must be greater than 0".into(),
                });
            }
        }
        // A request that waits for a connection must still be answered before its own timeout,
        // so the till hears "try again" (503) rather than "timed out".
        if self.database.acquire_timeout_ms >= self.server.request_timeout_ms {
            return Err(invalid(
                "database.acquire_timeout_ms",
                "must be less than server.request_timeout_ms",
            ));
        }
        // A lease must outlive one BonusPlus call comfortably, or a slow call would let a second
        // worker take a job that is still running (the heartbeat renews it every third of it).
        if self.jobs.lease_ms < 3 * self.bonusplus.timeout_ms {
            return Err(invalid(
                "jobs.lease_ms",
                "must be at least 3 × bonusplus.timeout_ms",
            ));
        }
        if self.jobs.inline_grace_ms < 2 * self.bonusplus.timeout_ms {
            return Err(invalid(
                "jobs.inline_grace_ms",
                "must be at least 2 × bonusplus.timeout_ms",
            ));
        }
        if !(1..=1000).contains(&self.import.page_size) {
            return Err(invalid("import.page_size", "must be between 1 and 1000"));
        }
        if !(1..=1000).contains(&self.sync.page_size) {
            return Err(invalid("sync.page_size", "must be between 1 and 1000"));
        }
        if !(1..=MAX_PRODUCTS_PER_IMPORT).contains(&self.sync.batch_size) {
            return Err(invalid("sync.batch_size", "must be between 1 and 1000"));
        }
        if self.server.body_limit_bytes < 1024 {
            return Err(invalid("server.body_limit_bytes", "must be at least 1024"));
        }
        if self.environment == Environment::Production {
            self.refuse_development_secrets()?;
        }
        self.encryption_keys()?;
        Ok(())
    }

    fn refuse_development_secrets(&self) -> Result<(), ConfigError> {
        if self.moysklad.secret_key.expose_secret() == DEV_SECRET_KEY {
            return Err(invalid(
                "moysklad.secret_key",
                "is the development value; set the app's secretKey",
            ));
        }
        let active = self.security.keys.get(&self.security.active_key);
        if active.is_some_and(|key| key.expose_secret().trim() == DEV_ENCRYPTION_KEY) {
            return Err(invalid(
                "security.active_key",
                "names the development key; configure a production key (security.keys.<name>)",
            ));
        }
        Ok(())
    }

    /// The decoded 32-byte encryption keys by name, and the active key's name.
    pub fn encryption_keys(&self) -> Result<(String, BTreeMap<String, [u8; 32]>), ConfigError> {
        let mut keys = BTreeMap::new();
        for (name, encoded) in &self.security.keys {
            if self.environment == Environment::Production
                && encoded.expose_secret().trim() == DEV_ENCRYPTION_KEY
            {
                continue;
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded.expose_secret().trim())
                .map_err(|_| invalid("security.keys", format!("key `{name}` is not base64")))?;
            let key: [u8; 32] = bytes.try_into().map_err(|_| {
                invalid(
                    "security.keys",
                    format!("key `{name}` must decode to exactly 32 bytes"),
                )
            })?;
            if name.is_empty()
                || name.len() > 32
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(invalid(
                    "security.keys",
                    format!("key name `{name}` must be 1–32 letters, digits, '-' or '_'"),
                ));
            }
            keys.insert(name.clone(), key);
        }
        if !keys.contains_key(&self.security.active_key) {
            return Err(invalid(
                "security.active_key",
                format!(
                    "names no key in security.keys (`{}`)",
                    self.security.active_key
                ),
            ));
        }
        Ok((self.security.active_key.clone(), keys))
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.server.request_timeout_ms)
    }

    /// `public_base_url` without a trailing slash, for building absolute URLs.
    pub fn public_base(&self) -> String {
        self.server
            .public_base_url
            .as_str()
            .trim_end_matches('/')
            .to_owned()
    }
}

fn check_http_url(setting: &'static str, url: &Url) -> Result<(), ConfigError> {
    match url.scheme() {
        "http" | "https" if url.host().is_some() => Ok(()),
        _ => Err(invalid(setting, "must be an http(s) URL with a host")),
    }
}

/// `config/default.toml` in the working directory, else next to the crate's manifest (so that
/// `cargo run` and `cargo test` find it from anywhere in the repository).
pub fn default_config_path() -> std::path::PathBuf {
    let local = Path::new("config/default.toml");
    if local.exists() {
        return local.to_path_buf();
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default.toml")
}
