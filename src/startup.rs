//! Builds the whole application from [`Settings`]: the [`AppState`] handlers share, the narrow
//! handles of the services and workers, the router, and the background tasks (workers, call-log
//! writer, metrics upkeep). `main` and the tests use the same [`Application`], so tests exercise
//! the real server (bound to port 0). Nothing imports it but `main`.
//!
//! [`Application::build_with_routes`] mounts routes of the caller's beside ours: the sandbox
//! (`demo/`) serves its till page that way. `main` never adds any.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::accounts::Accounts;
use crate::bonusplus::{BonusPlusClient, BonusPlusError};
use crate::changes::{Caches, Listening};
use crate::config::Settings;
use crate::crypto::Cipher;
use crate::customers::Customers;
use crate::import::ImportContext;
use crate::jobs::{Chore, Queue, Workers};
use crate::loyalty_api::call_log::{self, CallLog, CallRecord};
use crate::moysklad::json_api::{JsonApiClient, JsonApiError};
use crate::moysklad::jwt::VendorJwt;
use crate::moysklad::vendor_client::{VendorApiError, VendorClient};
use crate::outbox::Outbox;
use crate::reserves::Reserves;
use crate::state::{AppState, Handles};
use crate::store::{PoolLimits, Store, StoreError};
use crate::sync::SyncContext;

/// How long a graceful stop waits for deliveries started after answering the till.
const DELIVERIES_STOP_WAIT: Duration = Duration::from_secs(5);
/// How often the workers look for accounts due for a scheduled product sync.
const SYNC_SCHEDULE_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("bonusplus.base_url: {0}")]
    BonusPlus(#[from] BonusPlusError),
    #[error("moysklad.json_api_url: {0}")]
    JsonApi(#[from] JsonApiError),
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
    let database = &settings.database;
    let limits = PoolLimits {
        max_connections: database.max_connections,
        connect_timeout: Duration::from_millis(database.connect_timeout_ms),
        acquire_timeout: Duration::from_millis(database.acquire_timeout_ms),
    };
    let store = Store::connect_with(&database.url, limits).await?;
    store.migrate().await?;
    Ok(store)
}

/// The clients of the two data sources, BonusPlus and MoySklad's JSON API, at their configured
/// addresses and timeouts.
fn data_clients(settings: &Settings) -> Result<(BonusPlusClient, JsonApiClient), StartupError> {
    let bonusplus = BonusPlusClient::new(
        settings.bonusplus.base_url.as_str(),
        Duration::from_millis(settings.bonusplus.timeout_ms),
    )?;
    let json_api = JsonApiClient::new(
        settings.moysklad.json_api_url.as_str(),
        Duration::from_millis(settings.moysklad.timeout_ms),
    )?;
    Ok((bonusplus, json_api))
}

/// What the command line's `import` needs: the import service over its own clients.
pub async fn import_context(settings: &Settings) -> Result<ImportContext, StartupError> {
    let (active, keys) = settings.encryption_keys()?;
    let store = open_store(settings).await?;
    let (bonusplus, json_api) = data_clients(settings)?;
    let accounts = Accounts::new(store.clone(), Cipher::new(active, &keys));
    let customers = Customers::new(store.clone(), bonusplus.clone());
    Ok(ImportContext::new(
        store,
        bonusplus,
        json_api,
        accounts,
        customers,
        settings.import.clone(),
    ))
}

/// A bound, ready-to-serve application.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    /// The LoyaltyAPI call log's request side, handed to its router.
    call_log: CallLog,
    /// The call log's queue, drained by its writer while the app runs.
    call_records: tokio::sync::mpsc::Receiver<CallRecord>,
    /// Routes of the embedding program (empty for the service itself).
    extra_routes: axum::Router,
    /// Announced changes, heard from before the first request.
    listening: Listening,
    shutdown: CancellationToken,
}

impl Application {
    /// Opens storage (migrating it) and binds the listener; serving starts with [`Application::run`].
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        Self::build_with_routes(settings, axum::Router::new()).await
    }

    /// As [`Application::build`], also serving `extra` (routes only, no fallback; a path of ours
    /// makes the router panic at start-up). They pass the common outer layers (request id, tracing,
    /// panic guard, time and body limits), not the rate limits or request metrics, and share no
    /// state with the application.
    pub async fn build_with_routes(
        settings: Settings,
        extra: axum::Router,
    ) -> Result<Application, StartupError> {
        crate::meters::handle();
        let (active, keys) = settings.encryption_keys()?;
        let store = open_store(&settings).await?;
        let addr = settings.server.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartupError::Listen { addr, source })?;
        let (bonusplus, json_api) = data_clients(&settings)?;
        let vendor_jwt = VendorJwt::new(&settings.moysklad.secret_key, &settings.moysklad.app_uid);
        let vendor = VendorClient::new(
            &settings.moysklad.vendor_api_url,
            &settings.moysklad.app_id,
            vendor_jwt.clone(),
            Duration::from_millis(settings.moysklad.timeout_ms),
        )?;
        bonusplus.watch(crate::differences::Differences::new(store.clone()));
        let cipher = Cipher::new(active, &keys);
        let accounts = Accounts::new(store.clone(), cipher.clone());
        let reserves = Reserves::new(store.clone(), bonusplus.clone(), accounts.clone());
        let customers = Customers::new(store.clone(), bonusplus.clone());
        let queue = Queue {
            store: store.clone(),
            settings: Arc::new(settings.jobs.clone()),
        };
        let outbox = Outbox::new(
            queue.clone(),
            bonusplus.clone(),
            accounts.clone(),
            reserves.clone(),
            customers.clone(),
        );
        let sync = SyncContext {
            store: store.clone(),
            bonusplus: bonusplus.clone(),
            json_api: json_api.clone(),
            accounts: accounts.clone(),
            settings: Arc::new(settings.sync.clone()),
        };
        let import = ImportContext::new(
            store.clone(),
            bonusplus.clone(),
            json_api.clone(),
            accounts.clone(),
            customers.clone(),
            settings.import.clone(),
        );
        let (call_log, call_records) = CallLog::channel();
        let listening = crate::changes::listen(&store).await;
        let state = AppState::new(Handles {
            settings: Arc::new(settings),
            store,
            cipher,
            bonusplus,
            json_api,
            vendor,
            vendor_jwt,
            accounts,
            reserves,
            customers,
            queue,
            outbox,
            sync,
            import,
        });
        Ok(Application {
            listener,
            state,
            call_log,
            call_records,
            extra_routes: extra,
            listening,
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
            call_log,
            call_records,
            extra_routes,
            listening,
            shutdown,
        } = self;
        let app = crate::routes::router(state.clone(), call_log, extra_routes);
        let caches = Caches {
            accounts: state.accounts.clone(),
            customers: state.customers.clone(),
            reserves: state.reserves.clone(),
        };
        let changes = listening.follow(caches, shutdown.clone());
        let workers = tokio::spawn(crate::jobs::run(workers(&state), shutdown.clone()));
        let call_writer = tokio::spawn(call_log::write(
            state.accounts.clone(),
            state.store.clone(),
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
        // Deliveries started after answering the till get their chance to finish; any still
        // running after that is the queue's (its job comes due after the grace).
        state.outbox.close(DELIVERIES_STOP_WAIT).await;
        let _ = call_writer.await;
        let _ = changes.await;
        state.store.close().await;
        tracing::info!("stopped");
        result
    }
}

/// The workers: the queue's owners (deliveries, product syncs, customer imports) and the periodic
/// chores (expired reserves swept, due product syncs queued).
fn workers(state: &AppState) -> Workers {
    let reserves = state.reserves.clone();
    let sweep = Chore::new(
        "reserve sweep",
        Duration::from_millis(state.settings.jobs.reserve_sweep_ms),
        false,
        move || {
            let reserves = reserves.clone();
            Box::pin(async move {
                reserves
                    .release_expired()
                    .await
                    .map(|_| ())
                    .map_err(|error| error.to_string())
            })
        },
    );
    let sync = state.sync.clone();
    let schedule = Chore::new(
        "product sync schedule",
        SYNC_SCHEDULE_EVERY,
        true,
        move || {
            let sync = sync.clone();
            Box::pin(async move {
                crate::sync::enqueue_due(&sync, SYNC_SCHEDULE_EVERY)
                    .await
                    .map(|_| ())
                    .map_err(|error| error.to_string())
            })
        },
    );
    Workers {
        queue: state.queue.clone(),
        owners: vec![
            Arc::new(state.outbox.clone()),
            Arc::new(state.sync.clone()),
            Arc::new(state.import.clone()),
        ],
        chores: vec![sweep, schedule],
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
