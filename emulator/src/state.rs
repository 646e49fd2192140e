//! State shared by the server and its control side: tenants, fault injection, recording.

use crate::differs::Differs;
use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use crate::formats;
use crate::model::{BookedSale, RefusedRoute, TenantRules};
use crate::tenant::{Tenant, TenantData};

/// How the next requests fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureMode {
    /// Answer 500 `{code: "INTERNAL_ERROR"}` at once.
    Status500,
    /// Sleep 30 s, then answer 500: long enough for any client timeout to fire first.
    Timeout,
    /// Close the socket without answering.
    ConnectionDrop,
}

/// A request as it reached the emulator's BonusPlus API.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedRequest {
    pub method: String,
    /// With the leading `/`, e.g. `/retail/calc`.
    pub path: String,
    pub query: Option<String>,
    pub authorization: Option<String>,
    /// The JSON body; `Null` when empty, a string when it was not JSON.
    pub body: serde_json::Value,
    /// Answered by an injected failure ([`FailureMode`]), not served.
    pub injected_failure: bool,
}

/// Only the newest requests are kept, so a long-running demo cannot grow without bound.
const MAX_RECORDED_REQUESTS: usize = 100_000;

#[derive(Debug)]
pub struct Shared {
    tenants: RwLock<HashMap<String, Arc<Tenant>>>,
    latency_micros: AtomicU64,
    /// Mirrors `failures.len()` so the hot path needs no lock when nothing is queued.
    pending_failures: AtomicUsize,
    failures: Mutex<VecDeque<FailureMode>>,
    recording: AtomicBool,
    requests: Mutex<VecDeque<RecordedRequest>>,
    code_hasher: RandomState,
    codes_generated: AtomicU64,
    certificate_numbers: AtomicU64,
    /// Mirrors `!refused.is_empty()` so the hot path needs no lock.
    any_refused: AtomicBool,
    refused: Mutex<Vec<RefusedRoute>>,
    /// Mirrors `!sale_watchers.is_empty()` so the hot path needs no lock.
    watching_sales: AtomicBool,
    sale_watchers: Mutex<Vec<UnboundedSender<BookedSale>>>,
    differs: Mutex<Differs>,
}

impl Default for Shared {
    fn default() -> Self {
        Self {
            tenants: RwLock::new(HashMap::new()),
            latency_micros: AtomicU64::new(0),
            pending_failures: AtomicUsize::new(0),
            failures: Mutex::new(VecDeque::new()),
            recording: AtomicBool::new(true),
            requests: Mutex::new(VecDeque::new()),
            code_hasher: RandomState::new(),
            codes_generated: AtomicU64::new(0),
            certificate_numbers: AtomicU64::new(1),
            any_refused: AtomicBool::new(false),
            refused: Mutex::new(Vec::new()),
            watching_sales: AtomicBool::new(false),
            sale_watchers: Mutex::new(Vec::new()),
            differs: Mutex::new(Differs::Documented),
        }
    }
}

/// Locks recover from poisoning: every critical section leaves the data consistent.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    /// How error answers differ from the documented ones from now on.
    pub fn set_differs(&self, differs: Differs) {
        *lock(&self.differs) = differs;
    }

    pub fn differs(&self) -> Differs {
        *lock(&self.differs)
    }

    // ----- tenants ------------------------------------------------------------------

    /// The tenant of an API key, if registered (rejected or not).
    pub fn tenant(&self, key: &str) -> Option<Arc<Tenant>> {
        let tenants = self.tenants.read().unwrap_or_else(|p| p.into_inner());
        tenants.get(key).cloned()
    }

    /// Registers a key, or replaces its rules (its data is kept).
    pub fn add_tenant(&self, key: &str, rules: TenantRules) {
        let mut tenants = self.tenants.write().unwrap_or_else(|p| p.into_inner());
        match tenants.get(key) {
            Some(tenant) => tenant.lock().set_rules(rules),
            None => {
                tenants.insert(key.to_owned(), Arc::new(Tenant::new(rules)));
            }
        }
    }

    /// Runs `change` on a tenant's data, registering the key with default rules if needed.
    pub fn with_tenant<R>(&self, key: &str, change: impl FnOnce(&mut TenantData) -> R) -> R {
        let tenant = match self.tenant(key) {
            Some(tenant) => tenant,
            None => {
                let mut tenants = self.tenants.write().unwrap_or_else(|p| p.into_inner());
                tenants
                    .entry(key.to_owned())
                    .or_insert_with(|| Arc::new(Tenant::new(TenantRules::default())))
                    .clone()
            }
        };
        let mut data = tenant.lock();
        change(&mut data)
    }

    /// Reads a tenant's data; `None` for an unknown key.
    pub fn read_tenant<R>(&self, key: &str, read: impl FnOnce(&TenantData) -> R) -> Option<R> {
        self.tenant(key).map(|tenant| read(&tenant.lock()))
    }

    /// Changes a registered tenant's data; `None` for an unknown key.
    pub fn update_tenant<R>(
        &self,
        key: &str,
        change: impl FnOnce(&mut TenantData) -> R,
    ) -> Option<R> {
        self.tenant(key).map(|tenant| change(&mut tenant.lock()))
    }

    pub fn set_key_rejected(&self, key: &str, rejected: bool) {
        if let Some(tenant) = self.tenant(key) {
            tenant.set_rejected(rejected);
        }
    }

    /// A fresh 4-digit confirmation code.
    pub fn new_code(&self) -> String {
        let seq = self.codes_generated.fetch_add(1, Ordering::Relaxed);
        format!("{:04}", self.code_hasher.hash_one(seq) % 10_000)
    }

    /// A fresh EAN-13 certificate number (`GET certificate/number`).
    pub fn new_certificate_number(&self) -> String {
        let seq = self.certificate_numbers.fetch_add(1, Ordering::Relaxed);
        let body = format!("29{seq:010}");
        format!("{body}{}", formats::ean_check_digit(&body))
    }

    // ----- routes answered as unknown -------------------------------------------------

    /// From now on `method path` (a route template such as `/customer/{phoneNumber}`)
    /// answers as an unknown route with `status` (404 or 405).
    pub fn refuse_route(&self, route: RefusedRoute) {
        let route = RefusedRoute {
            method: route.method.to_ascii_uppercase(),
            path: format!("/{}", route.path.trim_start_matches('/')),
            status: route.status,
        };
        let mut refused = lock(&self.refused);
        refused.retain(|r| !(r.method == route.method && r.path == route.path));
        refused.push(route);
        self.any_refused.store(true, Ordering::Relaxed);
    }

    pub fn clear_refused_routes(&self) {
        lock(&self.refused).clear();
        self.any_refused.store(false, Ordering::Relaxed);
    }

    pub fn refused_routes(&self) -> Vec<RefusedRoute> {
        lock(&self.refused).clone()
    }

    /// The status to answer if `method` on the route template `path` is refused.
    pub fn refusal(&self, method: &str, path: &str) -> Option<u16> {
        if !self.any_refused.load(Ordering::Relaxed) {
            return None;
        }
        lock(&self.refused)
            .iter()
            .find(|r| r.method.eq_ignore_ascii_case(method) && r.path == path)
            .map(|r| r.status)
    }

    // ----- faults -------------------------------------------------------------------

    pub fn latency(&self) -> Duration {
        Duration::from_micros(self.latency_micros.load(Ordering::Relaxed))
    }

    pub fn set_latency(&self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_micros.store(micros, Ordering::Relaxed);
    }

    pub fn fail_next(&self, count: usize, mode: FailureMode) {
        let mut failures = lock(&self.failures);
        failures.extend(std::iter::repeat_n(mode, count));
        self.pending_failures
            .store(failures.len(), Ordering::Relaxed);
    }

    /// Drops every queued failure: BonusPlus "recovers".
    pub fn clear_failures(&self) {
        let mut failures = lock(&self.failures);
        failures.clear();
        self.pending_failures.store(0, Ordering::Relaxed);
    }

    pub fn take_failure(&self) -> Option<FailureMode> {
        if self.pending_failures.load(Ordering::Relaxed) == 0 {
            return None;
        }
        let mut failures = lock(&self.failures);
        let next = failures.pop_front();
        self.pending_failures
            .store(failures.len(), Ordering::Relaxed);
        next
    }

    // ----- booked sales -------------------------------------------------------------

    /// A receiver of every sale booked from now on.
    pub fn watch_sales(&self) -> UnboundedReceiver<BookedSale> {
        let (sender, receiver) = unbounded_channel();
        lock(&self.sale_watchers).push(sender);
        self.watching_sales.store(true, Ordering::Relaxed);
        receiver
    }

    pub fn is_watching_sales(&self) -> bool {
        self.watching_sales.load(Ordering::Relaxed)
    }

    /// Tells every watcher; watchers whose receiver was dropped are forgotten.
    pub fn announce_sale(&self, sale: &BookedSale) {
        let mut watchers = lock(&self.sale_watchers);
        watchers.retain(|watcher| watcher.send(sale.clone()).is_ok());
        self.watching_sales
            .store(!watchers.is_empty(), Ordering::Relaxed);
    }

    // ----- recording ----------------------------------------------------------------

    pub fn is_recording(&self) -> bool {
        self.recording.load(Ordering::Relaxed)
    }

    pub fn set_recording(&self, on: bool) {
        self.recording.store(on, Ordering::Relaxed);
    }

    pub fn record(&self, request: RecordedRequest) {
        let mut requests = lock(&self.requests);
        if requests.len() >= MAX_RECORDED_REQUESTS {
            requests.pop_front();
        }
        requests.push_back(request);
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.requests).iter().cloned().collect()
    }

    pub fn clear_requests(&self) {
        lock(&self.requests).clear();
    }

    /// How many recorded requests match; `path` may be given with or without the leading `/`.
    pub fn count(&self, method: &str, path: &str) -> usize {
        let path = path.trim_start_matches('/');
        lock(&self.requests)
            .iter()
            .filter(|r| {
                r.method.eq_ignore_ascii_case(method) && r.path.trim_start_matches('/') == path
            })
            .count()
    }
}
