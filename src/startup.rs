//! Builds the whole application from [`Settings`]. `main` and the tests use the same
//! [`Application`], so tests exercise the real server (bound to port 0).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::bonusplus::{BonusPlusClient, BonusPlusError};
use crate::config::Settings;
use crate::crypto::Cipher;
use crate::http::rate_limit::RateLimits;
use crate::moysklad::client::{VendorApiError, VendorClient};
use crate::moysklad::jwt::VendorJwt;
use crate::moysklad::loyalty::call_log::{CallLog, CallRecord};
use crate::moysklad::loyalty::reserves::ReserveLocks;
use crate::moysklad::loyalty::{AccountCache, MaxDebitCache};
use crate::moysklad::remap::{RemapClient, RemapError};
use crate::store::{Store, StoreError};

/// Everything a handler needs, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub cipher: Cipher,
    pub bonusplus: BonusPlusClient,
    /// MoySklad's JSON API (points of sale, catalogue).
    pub remap: RemapClient,
    /// MoySklad's Vendor API (context, loyalty settings, status).
    pub vendor: VendorClient,
    /// Verifies MoySklad's calls to our Vendor API endpoints.
    pub vendor_jwt: VendorJwt,
    /// LoyaltyAPI token → account, briefly cached (see `moysklad::loyalty::context`).
    pub accounts: Arc<AccountCache>,
    /// Maximum spendable bonuses per receipt, briefly remembered.
    pub max_debits: Arc<MaxDebitCache>,
    /// Serialises reserve work per customer and point of sale (see `moysklad::loyalty::reserves`).
    pub reserve_locks: Arc<ReserveLocks>,
    pub rate_limits: Arc<RateLimits>,
    /// The LoyaltyAPI call log's request side (see `moysklad::loyalty::call_log`).
    pub call_log: CallLog,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("bonusplus.base_url: {0}")]
    BonusPlus(#[from] BonusPlusError),
    #[error("moysklad.json_api_url: {0}")]
    Remap(#[from] RemapError),
    #[error("moysklad.vendor_api_url: {0}")]
    Vendor(#[from] VendorApiError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Serve(std::io::Error),
}

/// Connects to the database named in the settings and applies pending migrations.
pub async fn open_store(settings: &Settings) -> Result<Store, StoreError> {
    let store = Store::connect(
        &settings.database.url,
        settings.database.max_connections,
        Duration::from_millis(settings.database.connect_timeout_ms),
    )
    .await?;
    store.migrate().await?;
    Ok(store)
}

/// A bound, ready-to-serve application.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    /// The call log's queue, drained by its writer while the app runs.
    call_records: tokio::sync::mpsc::Receiver<CallRecord>,
    shutdown: CancellationToken,
}

impl Application {
    /// Opens storage (migrating it) and binds the listener; serving starts with [`Application::run`].
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        crate::meters::handle();
        let (active, keys) = settings.encryption_keys()?;
        let store = open_store(&settings).await?;
        let addr = settings.server.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartupError::Listen { addr, source })?;
        let bonusplus = BonusPlusClient::new(
            settings.bonusplus.base_url.as_str(),
            Duration::from_millis(settings.bonusplus.timeout_ms),
        )?;
        let remap = RemapClient::new(
            settings.moysklad.json_api_url.as_str(),
            Duration::from_millis(settings.moysklad.timeout_ms),
        )?;
        let vendor_jwt = VendorJwt::new(&settings.moysklad.secret_key, &settings.moysklad.app_uid);
        let vendor = VendorClient::new(
            &settings.moysklad.vendor_api_url,
            &settings.moysklad.app_id,
            vendor_jwt.clone(),
            Duration::from_millis(settings.moysklad.timeout_ms),
        )?;
        let rate_limits = Arc::new(RateLimits::new(&settings.limits));
        let (call_log, call_records) = CallLog::channel();
        let state = AppState {
            settings: Arc::new(settings),
            store,
            cipher: Cipher::new(active, &keys),
            bonusplus,
            remap,
            vendor,
            vendor_jwt,
            accounts: Arc::default(),
            max_debits: Arc::default(),
            reserve_locks: Arc::default(),
            rate_limits,
            call_log,
        };
        Ok(Application {
            listener,
            state,
            call_records,
            shutdown: CancellationToken::new(),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| self.state.settings.server.listen)
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Cancelling this token stops the server gracefully (in-flight requests finish).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Serves (and runs the background workers) until the shutdown token is cancelled, then lets
    /// in-flight requests and the job in hand finish.
    pub async fn run(self) -> Result<(), StartupError> {
        let Application {
            listener,
            state,
            call_records,
            shutdown,
        } = self;
        let app = crate::http::router(state.clone());
        let workers = tokio::spawn(crate::jobs::run(state.clone(), shutdown.clone()));
        let call_log = tokio::spawn(crate::moysklad::loyalty::call_log::write(
            state.clone(),
            call_records,
            shutdown.clone(),
        ));
        tokio::spawn(crate::meters::upkeep(shutdown.clone()));
        let addr = listener.local_addr().ok();
        tracing::info!(addr = ?addr, backend = ?state.store.backend(), "serving");
        let stop = shutdown.clone();
        let result = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
        .map_err(StartupError::Serve);
        shutdown.cancel();
        let _ = workers.await;
        let _ = call_log.await;
        state.store.close().await;
        tracing::info!("stopped");
        result
    }
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
