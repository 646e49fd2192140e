//! The sandbox: in one process, the real bridge (`bonusbridge`'s [`Application`] on a SQLite file of
//! its own), the BonusPlus emulator and the project's MoySklad stand-in, seeded with a small shop
//! ([`world`]); the shop is installed through the real Vendor API path (a signed JWT), and a till
//! page ([`pos`]) plays MoySklad's POS against the real LoyaltyAPI. `main.rs` prints the URLs;
//! the tests start it the same way. Nothing here is part of the production binary.

pub mod counterparties;
pub mod pos;
pub mod settings;
pub mod world;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bonusbridge::startup::{Application, StartupError};
use bonusbridge_testkit::moysklad::FakeMoySklad;
use bonusplus_emulator::{Emulator, EmulatorHandle};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use settings::{StandIns, APP_ID, APP_UID};

/// Delay of every JSON API page of the stand-in, so that the settings page shows the sync going.
const SYNC_PAGE_DELAY: Duration = Duration::from_millis(300);

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(
        "refusing to run with environment = \"production\": the demo installs a fake shop with \
         throwaway secrets; unset BONUSBRIDGE__ENVIRONMENT or use a development configuration"
    )]
    Production,
    #[error("refusing to listen on {0}: the demo serves a working LoyaltyAPI token, it binds to 127.0.0.1 only")]
    NotLoopback(SocketAddr),
    #[error("configuration: {0}")]
    Config(String),
    #[error("cannot recreate the demo database {path}: {source}")]
    Database {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot find a free port on 127.0.0.1: {0}")]
    Port(std::io::Error),
    #[error("{0}")]
    Start(#[from] StartupError),
    #[error("the demo shop could not be installed: {0}")]
    Install(String),
    #[error("the bridge stopped abnormally: {0}")]
    Crashed(String),
}

/// Where the demo listens and keeps its database.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// 127.0.0.1 only; port 0 picks a free one.
    pub listen: SocketAddr,
    /// The demo's SQLite file, recreated at every start.
    pub database: PathBuf,
}

/// A running sandbox; [`Demo::stop`] ends it.
pub struct Demo {
    /// The settings page as MoySklad opens it for the shop's administrator.
    pub settings_url: String,
    /// The till page.
    pub pos_url: String,
    /// The key of the demo's BonusPlus account (throwaway, shown to the user).
    pub bonusplus_key: String,
    pub account_id: String,
    pub emulator: EmulatorHandle,
    pub moysklad: Arc<FakeMoySklad>,
    /// From the call of [`Demo::start`] to the installed shop.
    pub started_in: Duration,
    shutdown: CancellationToken,
    server: JoinHandle<Result<(), StartupError>>,
}

impl Demo {
    /// Refuses an unsafe set-up, starts the stand-ins and the bridge, installs the shop.
    pub async fn start(options: DemoOptions) -> Result<Demo, DemoError> {
        let started = Instant::now();
        settings::refuse_unsafe(options.listen)?;
        let listen = concrete(options.listen)?;
        recreate(&options.database)?;
        let shop = Shop::open().await;
        let (vendor, json_api, bonusplus) = (
            shop.moysklad.vendor_url(),
            shop.moysklad.json_api_url(),
            shop.emulator.base_url(),
        );
        let stand_ins = StandIns {
            vendor_api_url: &vendor,
            json_api_url: &json_api,
            bonusplus_url: &bonusplus,
            secret_key: &shop.secret,
        };
        let settings = settings::demo_settings(listen, &options.database, &stand_ins)?;
        bonusbridge::telemetry::init(settings.server.log_format, &settings.server.log_filter);
        let app = Application::build_with_routes(settings, pos::router(shop.till())).await?;
        let base = format!("http://{}", app.local_addr());
        let shutdown = app.shutdown_token();
        let server = tokio::spawn(app.run());
        let (account_id, context_key) = match shop.install(&base).await {
            Ok(ids) => ids,
            Err(error) => {
                shutdown.cancel();
                return Err(error);
            }
        };
        Ok(Demo {
            settings_url: format!(
                "{base}/ui?contextKey={context_key}&appUid={APP_UID}&appId={APP_ID}&userLocale=ru_RU"
            ),
            pos_url: format!("{base}{}", pos::PAGE_PATH),
            bonusplus_key: shop.bonusplus_key,
            account_id,
            emulator: shop.emulator,
            moysklad: shop.moysklad,
            started_in: started.elapsed(),
            shutdown,
            server,
        })
    }

    /// Stops the bridge gracefully (in-flight requests and jobs finish).
    pub async fn stop(self) -> Result<(), DemoError> {
        self.shutdown.cancel();
        match self.server.await {
            Ok(result) => result.map_err(DemoError::from),
            Err(join) => Err(DemoError::Crashed(join.to_string())),
        }
    }

    /// Cancelled once the bridge stops, also when it fails while serving.
    pub fn stopped(&self) -> CancellationToken {
        self.shutdown.clone()
    }
}

/// The stand-ins of this run, seeded with the demo shop, and the app's secretKey they share with
/// the bridge.
struct Shop {
    secret: String,
    moysklad: Arc<FakeMoySklad>,
    emulator: EmulatorHandle,
    bonusplus_key: String,
}

impl Shop {
    async fn open() -> Shop {
        let secret = settings::random_secret();
        let moysklad =
            Arc::new(FakeMoySklad::start(&secret, APP_UID, &settings::random_secret()).await);
        moysklad.set_page_delay(SYNC_PAGE_DELAY);
        world::seed_moysklad(&moysklad);
        counterparties::seed_counterparties(&moysklad);
        let emulator = Emulator::start().await;
        let bonusplus_key = format!("demo-{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        world::seed_bonusplus(&emulator, &bonusplus_key);
        Shop {
            secret,
            moysklad,
            emulator,
            bonusplus_key,
        }
    }

    fn till(&self) -> pos::Till {
        pos::Till {
            moysklad: self.moysklad.clone(),
            emulator: self.emulator.clone(),
            bonusplus_key: self.bonusplus_key.clone(),
        }
    }

    /// MoySklad installs the app on a new account (`PUT …/apps/{appId}/{accountId}`, signed, cause
    /// Install) and knows a context key of its administrator; answers both ids.
    async fn install(&self, base: &str) -> Result<(String, String), DemoError> {
        let account_id = uuid::Uuid::new_v4().to_string();
        let answer = self
            .moysklad
            .install_app(base, APP_ID, &account_id, "ООО «Ромашка» (демо)")
            .await
            .map_err(|e| DemoError::Install(e.to_string()))?;
        match answer {
            (200, body) if body["status"] == "SettingsRequired" => {}
            (status, body) => return Err(DemoError::Install(format!("answered {status} {body}"))),
        }
        let context_key = uuid::Uuid::new_v4().simple().to_string();
        self.moysklad
            .add_context(&context_key, &account_id, "Анна Администратор", true);
        Ok((account_id, context_key))
    }
}

/// Port 0 becomes a free port now, so the address given to MoySklad (`public_base_url`) is the
/// one served.
fn concrete(listen: SocketAddr) -> Result<SocketAddr, DemoError> {
    if listen.port() != 0 {
        return Ok(listen);
    }
    std::net::TcpListener::bind(listen)
        .and_then(|socket| socket.local_addr())
        .map_err(DemoError::Port)
}

/// The emulator and the MoySklad stand-in live in memory, so a database left by an earlier run
/// would name sales, customers and tokens they no longer know: start from an empty one.
fn recreate(database: &Path) -> Result<(), DemoError> {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = database.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::remove_file(&name) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(DemoError::Database {
                    path: PathBuf::from(name),
                    source,
                })
            }
        }
    }
    Ok(())
}
