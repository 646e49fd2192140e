//! Test support shared by every area: fresh databases on both backends, the real application on
//! port 0 ([`TestApp`]), a configured till account with the BonusPlus emulator behind it ([`pos`]),
//! and a fake MoySklad (Vendor API, JSON API) for the app's life cycle ([`moysklad_fake`], the
//! testkit's, which the demo uses too) with the app wired to it ([`moysklad::World`]); the settings
//! page's JSON API ([`settings`]), what the app sent BonusPlus to book ([`bookings`]) and bounded
//! waits for background work ([`wait`]).

pub use bonusbridge_testkit::moysklad as moysklad_fake;
pub mod bookings;
pub mod cluster;
pub mod moysklad;
pub mod pos;
pub mod settings;
pub mod wait;

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use bonusbridge::config::Settings;
use bonusbridge::startup::Application;
use bonusbridge::state::AppState;
use bonusbridge::store::Store;
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

/// What the app records when BonusPlus answers `GET customer` with an error code it does not know
/// (one sighting): an item of «Требуют внимания».
pub fn unknown_error_code(account: &str) -> bonusbridge::store::Difference {
    bonusbridge::store::Difference {
        account_id: account.to_owned(),
        point: "error_code".to_owned(),
        endpoint: "GET customer".to_owned(),
        status: 412,
        shape: "{code: number, msg: string}".to_owned(),
        detail: String::new(),
        seen: 1,
        first_seen_at: 0,
        last_seen_at: 0,
    }
}

/// The PostgreSQL server the tests create their databases on. Override with
/// `TEST_POSTGRES_URL`; the database named in it is only used to create fresh ones.
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Whether PostgreSQL tests must run: on CI (`CI` set) or when `REQUIRE_POSTGRES` is set, an
/// unreachable server fails the test instead of skipping it.
pub fn postgres_required() -> bool {
    std::env::var_os("CI").is_some() || std::env::var_os("REQUIRE_POSTGRES").is_some()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database of its own for one test; the SQLite file lives in a temporary folder kept alive here.
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// A fresh, empty database on `backend`, or `None` when PostgreSQL is absent on a developer
    /// machine (the test is then skipped with a note).
    pub async fn new(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
                Some(TestDb {
                    url,
                    _dir: Some(dir),
                })
            }
            Backend::Postgres => fresh_postgres_database().await,
        }
    }

    /// A database that exists already at `url` (a test's own cluster), kept as it is.
    pub fn at(url: String) -> TestDb {
        TestDb { url, _dir: None }
    }

    /// The same database for a second app instance (the first keeps owning any temporary files).
    pub fn shared(&self) -> TestDb {
        TestDb {
            url: self.url.clone(),
            _dir: None,
        }
    }

    pub async fn store(&self) -> Store {
        let store = Store::connect(
            &SecretString::from(self.url.clone()),
            10,
            std::time::Duration::from_secs(5),
        )
        .await
        .expect("connect test database");
        store.migrate().await.expect("migrate test database");
        store
    }
}

async fn fresh_postgres_database() -> Option<TestDb> {
    use sqlx::Connection;
    let admin = postgres_admin_url();
    let mut conn = match sqlx::PgConnection::connect(&admin).await {
        Ok(conn) => conn,
        Err(error) if !postgres_required() => {
            eprintln!("skipping PostgreSQL test: {admin} unreachable ({error}); set REQUIRE_POSTGRES=1 to fail instead");
            return None;
        }
        Err(error) => panic!("PostgreSQL is required (CI) but {admin} is unreachable: {error}"),
    };
    let name = format!("bb_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let base = admin
        .rsplit_once('/')
        .map(|(base, _)| base)
        .unwrap_or(&admin);
    Some(TestDb {
        url: format!("{base}/{name}"),
        _dir: None,
    })
}

/// Settings from `config/default.toml` (no environment), pointed at `db_url`, listening on port 0.
pub fn test_settings(db_url: &str) -> Settings {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default.toml");
    let mut settings = Settings::load_from(&path, None, false).expect("default settings load");
    settings.database.url = SecretString::from(db_url.to_owned());
    settings.server.listen = "127.0.0.1:0".parse().expect("addr");
    settings
}

/// The real application, serving on a free port until dropped.
pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
    pub http: reqwest::Client,
    shutdown: CancellationToken,
    pub _db: TestDb,
}

impl TestApp {
    pub async fn spawn(db: TestDb, adjust: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = test_settings(&db.url);
        adjust(&mut settings);
        let app = Application::build(settings)
            .await
            .expect("application builds");
        let addr = app.local_addr();
        let state = app.state().clone();
        let shutdown = app.shutdown_token();
        tokio::spawn(app.run());
        TestApp {
            addr,
            state,
            http: reqwest::Client::new(),
            shutdown,
            _db: db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Generates one `#[tokio::test]` per backend for each listed `async fn(TestDb)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::support::TestDb::new($crate::support::Backend::Sqlite).await.expect("sqlite");
                    super::$name(db).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = $crate::support::TestDb::new($crate::support::Backend::Postgres).await {
                        super::$name(db).await;
                    }
                }
            )+
        }
    };
}

/// Everything the application logs in this test process, at every level (JSON lines). The first
/// call installs the process's only subscriber; every test that reads logs goes through here.
pub fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = CaptureWriter(buffer.clone());
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::TRACE)
            .with_current_span(true)
            .with_span_list(true)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
        buffer
    })
    .clone()
}

#[derive(Clone)]
struct CaptureWriter(Arc<Mutex<Vec<u8>>>);

impl Write for CaptureWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
