//! Starting the emulator and driving it from tests: [`Emulator`] and [`EmulatorHandle`].

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::response::Response;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use rust_decimal::Decimal;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use crate::calc::LinePromotion;
use crate::error::routing_refusal;
use crate::faults::{self, ConnectionKill};
use crate::model::{
    BookedSale, CertificateSnapshot, CustomerSnapshot, ImportedProduct, NewCertificate,
    NewCustomer, RefusedRoute, SaleSnapshot, SentMessage, TenantRules,
};
use crate::state::{FailureMode, RecordedRequest, Shared};
use crate::{api, control};

/// Entry point: starts an emulator server on a local port.
pub struct Emulator;

impl Emulator {
    /// Starts on `127.0.0.1` with a free port.
    ///
    /// # Panics
    /// If no local port can be bound — a broken test environment, not a test outcome.
    pub async fn start() -> EmulatorHandle {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        match Self::start_on(addr).await {
            Ok(handle) => handle,
            Err(error) => panic!("the BonusPlus emulator cannot bind {addr}: {error}"),
        }
    }

    /// Starts on the given address (port 0 = any free port).
    pub async fn start_on(addr: SocketAddr) -> std::io::Result<EmulatorHandle> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, app(shared.clone()), stopped));
        tracing::info!(%addr, "BonusPlus emulator listening");
        Ok(EmulatorHandle {
            shared,
            addr,
            server: Arc::new(ServerTask {
                stop,
                task: Mutex::new(Some(task)),
            }),
        })
    }
}

/// The whole HTTP surface: BonusPlus routes and `/__control`. Recording, latency and
/// injected failures apply to every non-control request, unknown routes included (a client
/// trying an undocumented call is visible in the recording).
pub fn app(shared: Arc<Shared>) -> Router {
    api::router()
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(from_fn_with_state(shared.clone(), faults::inject))
        .nest("/__control", control::router())
        .with_state(shared)
}

async fn unknown_route(request: Request) -> Response {
    routing_refusal(
        StatusCode::NOT_FOUND,
        request.method().as_str(),
        &request.uri().to_string(),
    )
}

async fn method_not_allowed(request: Request) -> Response {
    routing_refusal(
        StatusCode::METHOD_NOT_ALLOWED,
        request.method().as_str(),
        &request.uri().to_string(),
    )
}

/// A hand-written accept loop rather than `axum::serve`: each connection gets a
/// [`ConnectionKill`] so that a request can close its own socket without answering.
async fn accept_loop(listener: TcpListener, app: Router, mut stopped: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = wait_for_stop(&mut stopped) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(serve_connection(stream, app.clone(), stopped.clone()));
                }
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    }
}

async fn serve_connection(stream: TcpStream, app: Router, mut stopped: watch::Receiver<bool>) {
    // Small request/response pairs: don't let Nagle delay them.
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "cannot set TCP_NODELAY");
    }
    let kill = ConnectionKill::default();
    let service = {
        let kill = kill.clone();
        hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(kill.clone());
            app.clone().oneshot(request)
        })
    };
    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        result = connection => {
            if let Err(error) = result {
                tracing::debug!(%error, "connection ended with an error");
            }
        }
        () = kill.fired() => tracing::debug!("dropping a connection on purpose"),
        () = wait_for_stop(&mut stopped) => {}
    }
}

/// Resolves once a stop is requested; never if the handles are dropped without one
/// (the server then lives as long as the runtime).
async fn wait_for_stop(stopped: &mut watch::Receiver<bool>) {
    if stopped.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

#[derive(Debug)]
struct ServerTask {
    stop: watch::Sender<bool>,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// The control side of a running emulator. Cheap to clone; all clones drive the same server.
/// `key` arguments are API keys in clear (the wire carries them base64-encoded).
#[derive(Debug, Clone)]
pub struct EmulatorHandle {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: Arc<ServerTask>,
}

impl EmulatorHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/` — ends with `/`, as the client's base URL must.
    pub fn base_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Registers an API key, or replaces its rules keeping its data.
    pub fn add_tenant(&self, key: &str, rules: TenantRules) {
        self.shared.add_tenant(key, rules);
    }

    /// The `add_*` methods register an unknown key with default rules.
    pub fn add_store(&self, key: &str, store: &str) {
        self.shared.with_tenant(key, |t| t.add_store(store));
    }

    /// Seeds a customer (replacing one with the same phone); a GUID and an EAN-13 card
    /// number are assigned.
    pub fn add_customer(&self, key: &str, phone: &str, balance: Decimal) {
        self.add_customer_with(key, NewCustomer::new(phone, balance));
    }

    /// Seeds a customer with personal data and/or a given card number.
    pub fn add_customer_with(&self, key: &str, customer: NewCustomer) {
        self.shared.with_tenant(key, |t| t.seed_customer(customer));
    }

    /// Sets an existing customer's balance; `false` if the customer does not exist.
    pub fn set_balance(&self, key: &str, phone: &str, balance: Decimal) -> bool {
        self.shared
            .update_tenant(key, |t| t.set_balance(phone, balance))
            .unwrap_or(false)
    }

    /// Binds a card number (any text, kept as given) to an existing customer; `false` if the
    /// customer does not exist.
    pub fn set_card(&self, key: &str, phone: &str, card: &str) -> bool {
        self.shared
            .update_tenant(key, |t| t.set_card(phone, card))
            .unwrap_or(false)
    }

    pub fn customer(&self, key: &str, phone: &str) -> Option<CustomerSnapshot> {
        self.shared
            .read_tenant(key, |t| t.customer_snapshot(phone))
            .flatten()
    }

    /// A product promotion; it fires only once `product` has been imported into `store`.
    pub fn add_promotion(
        &self,
        key: &str,
        store: &str,
        product: &str,
        percent: Decimal,
        name: &str,
    ) {
        let promotion = LinePromotion {
            percent,
            name: name.to_owned(),
        };
        self.shared
            .with_tenant(key, |t| t.add_promotion(store, product, promotion));
    }

    pub fn imported_products(&self, key: &str, store: &str) -> Vec<ImportedProduct> {
        self.shared
            .read_tenant(key, |t| t.imported_products(store))
            .unwrap_or_default()
    }

    /// The code the last `sendCode` "sent by SMS".
    pub fn last_code(&self, key: &str, phone: &str) -> Option<String> {
        self.shared
            .read_tenant(key, |t| t.last_code(phone))
            .flatten()
    }

    pub fn codes_sent(&self, key: &str, phone: &str) -> usize {
        self.shared
            .read_tenant(key, |t| t.codes_sent(phone))
            .unwrap_or(0)
    }

    /// Messages the customer received (`sendMessage`, registration notices), oldest first.
    pub fn messages(&self, key: &str, phone: &str) -> Vec<SentMessage> {
        self.shared
            .read_tenant(key, |t| t.messages(phone))
            .unwrap_or_default()
    }

    /// The text of the last `sendMessage` to the customer.
    pub fn last_message(&self, key: &str, phone: &str) -> Option<String> {
        self.messages(key, phone)
            .into_iter()
            .rev()
            .find(|m| m.kind == "message")
            .map(|m| m.text)
    }

    /// Adds (or replaces) a gift certificate; answers its GUID.
    ///
    /// # Panics
    /// If `id` is not a GUID or `expire` not a date — a broken test, not a test outcome.
    pub fn add_certificate(&self, key: &str, certificate: NewCertificate) -> String {
        match self
            .shared
            .with_tenant(key, |t| t.add_certificate(certificate))
        {
            Ok(id) => id,
            Err(error) => panic!("cannot add the certificate: {}", error.msg),
        }
    }

    pub fn certificate(&self, key: &str, id: &str) -> Option<CertificateSnapshot> {
        self.shared
            .read_tenant(key, |t| t.certificate_snapshot(id))
            .flatten()
    }

    /// From now on `method path` answers as an unknown route with `status` (404: no such
    /// route; 405: the path exists with other methods). `path` is the emulator's route
    /// template, e.g. `/account`, `/customer/{phoneNumber}`,
    /// `/customer/{phoneNumber}/sendMessage` (see `emulator/README.md`).
    pub fn refuse_route(&self, method: &str, path: &str, status: u16) {
        self.shared.refuse_route(RefusedRoute {
            method: method.to_owned(),
            path: path.to_owned(),
            status,
        });
    }

    /// Error answers from now on differ from the documented `{code, msg}` as `differs` says.
    pub fn set_differs(&self, differs: crate::Differs) {
        self.shared.set_differs(differs);
    }

    /// Every route answers normally again.
    pub fn clear_refused_routes(&self) {
        self.shared.clear_refused_routes();
    }

    pub fn sales(&self, key: &str) -> Vec<SaleSnapshot> {
        self.shared
            .read_tenant(key, |t| t.sale_snapshots())
            .unwrap_or_default()
    }

    /// From now on every sale `POST retail` books (any tenant) is also sent to the returned
    /// receiver, with the moment it was booked: to measure when a client's sale reached
    /// BonusPlus. Dropping the receiver stops the reports.
    pub fn watch_sales(&self) -> tokio::sync::mpsc::UnboundedReceiver<BookedSale> {
        self.shared.watch_sales()
    }

    /// Delay added before every BonusPlus call is handled.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.set_latency(latency);
    }

    /// The next `count` BonusPlus calls fail in `mode` (queued after earlier ones).
    pub fn fail_next(&self, count: usize, mode: FailureMode) {
        self.shared.fail_next(count, mode);
    }

    /// Forgets the failures still queued by [`EmulatorHandle::fail_next`] (an outage ends).
    pub fn clear_failures(&self) {
        self.shared.clear_failures();
    }

    /// Makes the key answer 401 (its data is kept).
    pub fn reject_key(&self, key: &str) {
        self.shared.set_key_rejected(key, true);
    }

    pub fn accept_key(&self, key: &str) {
        self.shared.set_key_rejected(key, false);
    }

    /// Recording is on by default; switch it off for benchmarks.
    pub fn set_recording(&self, on: bool) {
        self.shared.set_recording(on);
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }

    pub fn clear_requests(&self) {
        self.shared.clear_requests();
    }

    /// Recorded calls with this method and path (leading `/` optional).
    pub fn count(&self, method: &str, path: &str) -> usize {
        self.shared.count(method, path)
    }

    /// Stops accepting, closes open connections and waits for the server task.
    pub async fn shutdown(self) {
        self.server.stop.send_replace(true);
        let task = self
            .server
            .task
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(task) = task {
            if let Err(error) = task.await {
                tracing::warn!(%error, "the emulator's server task failed");
            }
        }
    }
}
