//! Storage: one [`Store`] over PostgreSQL (production, several instances) or SQLite (embedded
//! default, one instance), chosen by the database URL.
//! Storage only: one file per concern; nothing here calls a client, HTTP or a service.
//!
//! Both backends run the same SQL text (`$n` placeholders, `ON CONFLICT`, `RETURNING`, epoch-millisecond
//! `BIGINT` times, decimals as text); only the few statements whose concurrency semantics differ
//! (claiming jobs) have a variant per backend. The [`with_pool!`] macro expands one body for each
//! backend's pool type, so a query is written once and type-checked against both drivers.

mod accounts;
mod activity;
mod audit;
mod calls;
mod certificates;
mod changes;
mod customers;
mod differences;
mod import;
mod jobs;
mod jwt_ids;
mod operation_repairs;
mod operations;
mod overview;
mod product_ids;
mod reserves;
mod secrets;
mod sessions;
mod settings;
mod sync;
mod tokens;
mod verification;

use std::str::FromStr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::domain::phone::Phone;
use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool};
use sqlx::ConnectOptions;

pub use accounts::{Account, AccountStatus, ActivationRecord};
pub use calls::ApiCall;
pub use certificates::CertificateSource;
pub use changes::{Change, Changes};
pub use customers::CustomerLink;
pub use differences::Difference;
pub use import::{DecisionCount, ImportRow, ImportRun, LedgerEntry, StepCount};
pub use jobs::{Job, JobBacklog, JobState, NewJob, DELIVER_KIND};
pub use operations::{
    BookedBonuses, NewOperation, Operation, OperationKind, OperationPayload, OperationState,
};
pub use overview::{AccountDetail, AccountOverview, AccountProblem};
pub use reserves::{Reserve, ReserveState};
pub use secrets::{SealedSecret, SecretColumn};
pub use sessions::UiSession;
pub use settings::{CheckoutSettings, LoyaltySettings};
pub use sync::{SyncRun, SyncState};
pub use verification::CodeSlot;

static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database unreachable: {0}")]
    Unreachable(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// The database cannot be reached or cannot serve now (no connection within the acquire
    /// timeout, a connection cut by a restart, a server shutting down or refusing connections, an
    /// SQLite file locked past its busy timeout): trying again shortly can succeed. Anything else
    /// is a defect or bad data.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unreachable(_) => true,
            StoreError::Database(error) => unavailable(error),
            StoreError::Migration(_) | StoreError::Corrupt(_) => false,
        }
    }
}

fn unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(error) => error.code().is_some_and(|code| unavailable_code(&code)),
        _ => false,
    }
}

/// PostgreSQL's SQLSTATE (five characters): connection exceptions (08…), a server shutting down
/// or starting (57P01–57P03), too many connections (53300). SQLite's extended result code (a
/// number): busy (5) or locked (6) in its low byte.
fn unavailable_code(code: &str) -> bool {
    if code.len() == 5 {
        return code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300");
    }
    code.parse::<u32>()
        .is_ok_and(|extended| matches!(extended & 0xff, 5 | 6))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

#[derive(Debug, Clone)]
enum DbPool {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

/// The application's storage. Cheap to clone (pools are reference counted).
#[derive(Debug, Clone)]
pub struct Store {
    pool: DbPool,
    /// Sends announced changes to the other instances (PostgreSQL; SQLite has no others).
    announcer: Option<changes::Announcer>,
}

/// Runs `$body` with `$pool` bound to the concrete pool of whichever backend is in use.
macro_rules! with_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pool {
            $crate::store::DbPool::Postgres($pool) => $body,
            $crate::store::DbPool::Sqlite($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// A row type both backends read (`sqlx::FromRow` for each driver's row).
trait BothRows:
    for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
    + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
    + Send
    + Unpin
{
}

impl<R> BothRows for R where
    R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + Send
        + Unpin
{
}

impl Store {
    /// The row `sql` selects by a key or with `LIMIT 1`, its text parameters bound as in
    /// [`Store::select_all`].
    async fn select_one<R: BothRows>(
        &self,
        sql: &str,
        params: &[&str],
    ) -> Result<Option<R>, StoreError> {
        Ok(self.select_all(sql, params).await?.into_iter().next())
    }

    /// Every row `sql` selects, its text parameters `$1`, `$2`, … bound from `params` in order.
    async fn select_all<R: BothRows>(
        &self,
        sql: &str,
        params: &[&str],
    ) -> Result<Vec<R>, StoreError> {
        Ok(with_pool!(self, |pool| {
            let mut query = sqlx::query_as(sql);
            for param in params {
                query = query.bind(*param);
            }
            query.fetch_all(pool).await?
        }))
    }
}

/// A text column read back as its enum (strum's `EnumString`); unknown text is corrupt data.
fn decode<T: FromStr>(column: &str, text: &str) -> Result<T, StoreError> {
    text.parse()
        .map_err(|_| StoreError::Corrupt(format!("{column} `{text}`")))
}

/// A stored phone read back as a [`Phone`] (the value is not echoed: it is personal data).
fn decode_phone(text: &str) -> Result<Phone, StoreError> {
    Phone::parse(text)
        .map_err(|_| StoreError::Corrupt("a stored phone is not a phone number".into()))
}

/// Current time in epoch milliseconds, the unit of every stored time.
pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

impl Store {
    /// Connects to the database named by `url` (postgres://… or sqlite:…), creating an SQLite file
    /// (and its folder) when missing; a query waits for a connection as long as start-up does.
    pub async fn connect(
        url: &SecretString,
        max_connections: u32,
        connect_timeout: Duration,
    ) -> Result<Store, StoreError> {
        let limits = PoolLimits {
            max_connections,
            connect_timeout,
            acquire_timeout: connect_timeout,
        };
        Store::connect_with(url, limits).await
    }

    /// Connects like [`Store::connect`], with the pool's limits: start-up waits up to
    /// `connect_timeout` for the database, a query afterwards at most `acquire_timeout` for a
    /// connection, so a request meets an outage as an error it can answer in time.
    pub async fn connect_with(url: &SecretString, limits: PoolLimits) -> Result<Store, StoreError> {
        let url = url.expose_secret();
        let pool = if url.starts_with("sqlite:") {
            DbPool::Sqlite(connect_sqlite(url, &limits).await?)
        } else {
            DbPool::Postgres(connect_postgres(url, &limits).await?)
        };
        let announcer = match &pool {
            DbPool::Postgres(pool) => Some(changes::Announcer::start(pool.clone())),
            DbPool::Sqlite(_) => None,
        };
        Ok(Store { pool, announcer })
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            DbPool::Postgres(_) => Backend::Postgres,
            DbPool::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Applies the backend's pending migrations. Safe to run from several instances at once
    /// (sqlx takes an advisory lock on PostgreSQL).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.pool {
            DbPool::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
            DbPool::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// A cheap round trip, for readiness.
    pub async fn ping(&self) -> Result<(), StoreError> {
        with_pool!(self, |pool| {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    pub async fn close(&self) {
        with_pool!(self, |pool| pool.close().await)
    }

    /// Deletes expired short-lived rows (JWT ids, sessions, old call log, verification codes past
    /// their lifetime). Called by a periodic job.
    pub async fn prune(&self, now: i64, keep_calls_ms: i64) -> Result<u64, StoreError> {
        use crate::domain::verification::{CODE_LIFETIME, CODE_WINDOW};
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        let mut removed = self
            .prune_verification(now - ms(CODE_LIFETIME), now - ms(CODE_WINDOW))
            .await?;
        with_pool!(self, |pool| {
            removed += sqlx::query("DELETE FROM seen_jwt_ids WHERE expires_at < $1")
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected();
            removed += sqlx::query("DELETE FROM ui_sessions WHERE expires_at < $1")
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected();
            removed += sqlx::query("DELETE FROM api_calls WHERE at < $1")
                .bind(now - keep_calls_ms)
                .execute(pool)
                .await?
                .rows_affected();
        });
        Ok(removed)
    }
}

/// How many connections a pool keeps and how long it waits for one.
#[derive(Debug, Clone, Copy)]
pub struct PoolLimits {
    pub max_connections: u32,
    /// How long start-up waits for the database.
    pub connect_timeout: Duration,
    /// How long a query waits for a connection once running.
    pub acquire_timeout: Duration,
}

async fn connect_postgres(url: &str, limits: &PoolLimits) -> Result<PgPool, StoreError> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Unreachable(format!("invalid PostgreSQL URL: {e}")))?
        .log_statements(tracing::log::LevelFilter::Debug)
        .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_secs(1));
    let target = format!("{}:{}", options.get_host(), options.get_port());
    open_pool(options, limits, &target).await
}

async fn connect_sqlite(url: &str, limits: &PoolLimits) -> Result<SqlitePool, StoreError> {
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| StoreError::Unreachable(format!("invalid SQLite URL: {e}")))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // In WAL mode NORMAL keeps every commit safe from a crash of the process (only a power cut
        // can lose the last commits) and shortens the write lock writers queue for.
        .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        .log_statements(tracing::log::LevelFilter::Debug);
    if let Some(folder) = options.get_filename().parent() {
        if !folder.as_os_str().is_empty() {
            std::fs::create_dir_all(folder).map_err(|e| {
                StoreError::Unreachable(format!("cannot create {}: {e}", folder.display()))
            })?;
        }
    }
    open_pool(options, limits, url).await
}

/// A pool within `limits` over `options`, once its first connection is made; `target` names the
/// database in the error.
async fn open_pool<DB: sqlx::Database>(
    options: <DB::Connection as sqlx::Connection>::Options,
    limits: &PoolLimits,
    target: &str,
) -> Result<sqlx::Pool<DB>, StoreError> {
    let pool = sqlx::pool::PoolOptions::<DB>::new()
        .max_connections(limits.max_connections)
        // No ping before every query (a round trip each): a broken connection fails its query,
        // which the caller's retry or the job queue covers, and is dropped from the pool.
        .test_before_acquire(false)
        .acquire_timeout(limits.acquire_timeout)
        .connect_lazy_with(options);
    first_connection(pool, limits.connect_timeout)
        .await
        .map_err(|e| StoreError::Unreachable(format!("{target}: {}", describe_connect_error(&e))))
}

/// The pool once one connection is made, trying again until `wait` has passed (a database still
/// starting next to us).
async fn first_connection<DB: sqlx::Database>(
    pool: sqlx::Pool<DB>,
    wait: Duration,
) -> Result<sqlx::Pool<DB>, sqlx::Error> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let error = match tokio::time::timeout_at(deadline, pool.acquire()).await {
            Ok(Ok(_connection)) => return Ok(pool),
            Ok(Err(error)) => error,
            Err(_) => sqlx::Error::PoolTimedOut,
        };
        if tokio::time::Instant::now() + Duration::from_millis(100) >= deadline {
            return Err(error);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One line a person can act on, without the password that may be inside the URL.
fn describe_connect_error(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Io(io) => format!("connection failed ({io})"),
        sqlx::Error::PoolTimedOut => "no connection within the connect timeout".to_owned(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod unavailable_tests {
    use super::unavailable_code;

    #[test]
    fn outage_codes_are_told_from_defects() {
        for code in [
            "08006", "08001", "57P01", "57P03", "53300", "5", "517", "6", "262",
        ] {
            assert!(unavailable_code(code), "{code}");
        }
        for code in ["23505", "42P01", "40001", "19", "2067", "1"] {
            assert!(!unavailable_code(code), "{code}");
        }
    }
}
