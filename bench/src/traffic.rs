//! Traffic: POS visits through the app (search → detail → recalc ×2 → sale, some returns), the
//! same BonusPlus calls made directly against the emulator (the baseline the app's latency is
//! compared with), recalculations at saturation, and idle keep-alive connections.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use bonusplus_emulator::{EmulatorHandle, NewCustomer, RecordedRequest, TenantRules};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::app::{POS, STORE};

pub const CUSTOMERS: usize = 1_000;
const LINES: usize = 10;
/// Between the last recalculation and the sale (payment at the till; real ones take seconds).
const CASHIER_PAUSE: Duration = Duration::from_millis(300);

pub fn phone(n: usize) -> String {
    format!("7901{:07}", 1_000_000 + n % CUSTOMERS)
}

/// The BonusPlus side of an account: its key, the store, `customers` customers (the first phones).
pub fn seed_tenant(emu: &EmulatorHandle, key: &str, customers: usize) {
    emu.add_tenant(key, TenantRules::default());
    emu.add_store(key, STORE);
    for n in 0..customers {
        emu.add_customer_with(key, NewCustomer::new(&phone(n), 100_000.into()));
    }
}

/// Latencies per endpoint, in microseconds, and when each sale was answered.
#[derive(Clone, Default)]
pub struct Recorder {
    inner: Arc<Mutex<BTreeMap<&'static str, Histogram<u64>>>>,
    errors: Arc<Mutex<BTreeMap<String, u64>>>,
    sales: Arc<Mutex<Vec<AnsweredSale>>>,
}

/// A sale the app answered with success: its visit's marker product and when the till had the answer.
#[derive(Clone)]
pub struct AnsweredSale {
    pub marker: String,
    pub at: Instant,
}

impl Recorder {
    pub fn record(&self, endpoint: &'static str, started: Instant) {
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        let mut map = self.inner.lock().unwrap();
        map.entry(endpoint)
            .or_insert_with(|| Histogram::new_with_bounds(1, 60_000_000, 3).unwrap())
            .saturating_record(micros.max(1));
    }

    pub fn error(&self, what: String) {
        *self.errors.lock().unwrap().entry(what).or_default() += 1;
    }

    pub fn sale_answered(&self, marker: String, at: Instant) {
        self.sales.lock().unwrap().push(AnsweredSale { marker, at });
    }

    pub fn answered_sales(&self) -> Vec<AnsweredSale> {
        self.sales.lock().unwrap().clone()
    }

    pub fn histograms(&self) -> BTreeMap<&'static str, Histogram<u64>> {
        self.inner.lock().unwrap().clone()
    }

    pub fn errors(&self) -> BTreeMap<String, u64> {
        self.errors.lock().unwrap().clone()
    }

    pub fn total(&self) -> u64 {
        self.inner
            .lock()
            .unwrap()
            .values()
            .map(Histogram::len)
            .sum()
    }
}

/// Every error the recorders saw, counted.
pub fn merged_errors(recorders: &[&Recorder]) -> BTreeMap<String, u64> {
    let mut errors = BTreeMap::new();
    for recorder in recorders {
        for (what, count) in recorder.errors() {
            *errors.entry(what).or_insert(0) += count;
        }
    }
    errors
}

/// Talks to the app's LoyaltyAPI as a till does.
#[derive(Clone)]
pub struct Till {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

fn retail_store() -> Value {
    json!({"meta": {"href": format!("https://api.moysklad.ru/api/remap/1.2/entity/retailstore/{POS}"), "id": POS}})
}

fn positions() -> Vec<Value> {
    (0..LINES).map(|n| line(n, &product_id(n))).collect()
}

fn product_id(line: usize) -> String {
    format!("00000002-0000-4000-8000-{line:012}")
}

/// The product of a visit's last line: unique per visit, it reaches BonusPlus unchanged as the
/// line's `product`, so a booked sale can be told apart (the app's own ids are unknown to a till).
pub fn visit_marker(visit: usize) -> String {
    format!("00000003-0000-4000-8000-{visit:012}")
}

/// A visit's receipt: the usual lines, the last one selling the visit's marker product.
fn visit_positions(visit: usize) -> Vec<Value> {
    let mut lines = positions();
    lines[LINES - 1] = line(LINES - 1, &visit_marker(visit));
    lines
}

fn line(n: usize, id: &str) -> Value {
    json!({
        "assortment": {"meta": {"href": format!("https://api.moysklad.ru/api/remap/1.2/entity/product/{id}"), "id": id, "type": "product"}},
        "quantity": serde_json::Number::from(1 + n as u64 % 3),
        "price": serde_json::from_str::<Value>(&format!("{}.{:02}", 50 + n * 7, n * 13 % 100)).unwrap(),
    })
}

fn agent(n: usize) -> Value {
    json!({"meta": {"href": "https://api.moysklad.ru/api/remap/1.2/entity/counterparty/x", "id": format!("c0ffee00-0000-4000-8000-{:012}", n % CUSTOMERS)}, "phone": format!("+{}", phone(n))})
}

impl Till {
    async fn call(
        &self,
        recorder: &Recorder,
        endpoint: &'static str,
        request: reqwest::RequestBuilder,
    ) -> Option<Value> {
        let started = Instant::now();
        let outcome = request
            .header("Lognex-Discount-API-Auth-Token", &self.token)
            .send()
            .await;
        match outcome {
            Ok(response) => {
                let status = response.status();
                let body = response.bytes().await;
                recorder.record(endpoint, started);
                if !status.is_success() {
                    let text: String = body
                        .map(|b| String::from_utf8_lossy(&b).chars().take(160).collect())
                        .unwrap_or_default();
                    recorder.error(format!("{endpoint} {status}: {text}"));
                    return None;
                }
                // A 201 without a body (sale, return) is a success too.
                Some(
                    body.ok()
                        .and_then(|b| serde_json::from_slice(&b).ok())
                        .unwrap_or(Value::Null),
                )
            }
            Err(error) => {
                recorder.error(format!("{endpoint}: {error}"));
                None
            }
        }
    }

    pub async fn recalc(&self, recorder: &Recorder, n: usize, kind: &str) -> Option<Value> {
        self.recalc_receipt(recorder, n, kind, positions()).await
    }

    async fn recalc_receipt(
        &self,
        recorder: &Recorder,
        n: usize,
        kind: &str,
        positions: Vec<Value>,
    ) -> Option<Value> {
        let body = json!({
            "retailStore": retail_store(),
            "agent": agent(n),
            "positions": positions,
            "bonusProgram": {"transactionType": kind},
        });
        let request = self.http.post(self.url("/retaildemand/recalc")).json(&body);
        self.call(recorder, "recalc", request).await
    }

    fn url(&self, path: &str) -> String {
        format!("{}/loyalty{path}", self.base)
    }

    /// The customer search by phone.
    pub async fn search(&self, recorder: &Recorder, n: usize) -> Option<Value> {
        let search = self
            .http
            .get(self.url("/counterparty"))
            .query(&[("search", phone(n).as_str()), ("retailStoreId", POS)]);
        self.call(recorder, "search", search).await
    }

    /// The customer's balance.
    pub async fn detail(&self, recorder: &Recorder, n: usize) -> Option<Value> {
        let detail =
            json!({"retailStore": retail_store(), "meta": agent(n)["meta"], "phone": phone(n)});
        let request = self
            .http
            .post(self.url("/counterparty/detail"))
            .json(&detail);
        self.call(recorder, "detail", request).await
    }

    /// One customer at the till: search, balance, two recalculations, the sale; every tenth
    /// visit also returns a line of its sale. The receipt's last line is the visit's marker.
    pub async fn visit(&self, recorder: &Recorder, n: usize) {
        if self.search(recorder, n).await.is_none() {
            return;
        }
        self.detail(recorder, n).await;
        self.recalc_receipt(recorder, n, "EARNING", visit_positions(n))
            .await;
        let Some(spending) = self
            .recalc_receipt(recorder, n, "SPENDING", visit_positions(n))
            .await
        else {
            return;
        };
        // The customer pays: the till books the sale a moment after the last recalculation.
        tokio::time::sleep(CASHIER_PAUSE).await;
        let spend = &spending["bonusProgram"]["bonusValueToSpend"];
        let Some(sale_id) = self.sale(recorder, n, spend).await else {
            return;
        };
        if n.is_multiple_of(10) {
            self.sales_return(recorder, n, &sale_id).await;
        }
    }

    /// Books the visit's sale; answers its MoySklad id once the app answered with success.
    async fn sale(&self, recorder: &Recorder, n: usize, spend: &Value) -> Option<String> {
        let sale_id = uuid::Uuid::new_v4().to_string();
        let sale = json!({
            "retailStore": retail_store(),
            "meta": {"href": "h", "id": sale_id},
            "name": format!("B{n}"), "moment": "2026-11-25 10:00:00",
            "agent": agent(n),
            "positions": visit_positions(n),
            "bonusProgram": {"bonusValueToSpend": spend},
        });
        let request = self.http.post(self.url("/retaildemand")).json(&sale);
        self.call(recorder, "sale", request).await?;
        recorder.sale_answered(visit_marker(n), Instant::now());
        Some(sale_id)
    }

    /// Returns the first line of the sale `sale_id`.
    async fn sales_return(&self, recorder: &Recorder, n: usize, sale_id: &str) {
        let sales_return = json!({
            "retailStore": retail_store(),
            "meta": {"href": "h", "id": uuid::Uuid::new_v4().to_string()},
            "name": format!("R{n}"), "moment": "2026-11-25 11:00:00",
            "demand": {"meta": {"href": "h", "id": sale_id}},
            "positions": [positions()[0].clone()],
        });
        let request = self
            .http
            .post(self.url("/retailsalesreturn"))
            .json(&sales_return);
        self.call(recorder, "return", request).await;
    }
}

/// Starts `task(n)` at `rate` per second for `duration` (open loop: a slow answer does not slow
/// the arrivals), then waits for the stragglers.
pub async fn paced<F, Fut>(rate: u32, duration: Duration, task: F)
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut running = Vec::new();
    let mut n = 0;
    while started.elapsed() < duration {
        ticker.tick().await;
        running.push(tokio::spawn(task(n)));
        n += 1;
    }
    futures::future::join_all(running).await;
}

/// `concurrency` closed loops of recalculations for `duration`; returns how many were answered.
pub async fn saturate(till: &Till, concurrency: usize, duration: Duration) -> (u64, Recorder) {
    let recorder = Recorder::default();
    let deadline = Instant::now() + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let (till, recorder) = (till.clone(), recorder.clone());
            tokio::spawn(async move {
                let mut n = w;
                while Instant::now() < deadline {
                    till.recalc(&recorder, n, "EARNING").await;
                    n += concurrency;
                }
            })
        })
        .collect();
    futures::future::join_all(workers).await;
    (recorder.total(), recorder)
}

/// `concurrency` closed loops of direct BonusPlus calls for `duration`; returns how many.
pub async fn saturate_direct(
    http: &reqwest::Client,
    call: &Upstream,
    concurrency: usize,
    duration: Duration,
) -> u64 {
    let recorder = Recorder::default();
    let deadline = Instant::now() + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (http, call, recorder) = (http.clone(), call.clone(), recorder.clone());
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    call.call(&http, &recorder, false).await;
                }
            })
        })
        .collect();
    futures::future::join_all(workers).await;
    recorder.total()
}

/// A BonusPlus call exactly as the app made it, to replay against the emulator directly.
#[derive(Clone)]
pub struct Upstream {
    pub label: &'static str,
    pub method: reqwest::Method,
    pub url: String,
    pub authorization: String,
    pub body: Option<Value>,
}

impl Upstream {
    /// The first recorded call with this method and path prefix.
    pub fn captured(
        label: &'static str,
        requests: &[RecordedRequest],
        base: &str,
        method: &str,
        path_prefix: &str,
    ) -> Result<Upstream> {
        let Some(found) = requests
            .iter()
            .find(|r| r.method == method && r.path.starts_with(path_prefix))
        else {
            bail!("the app never called {method} {path_prefix}");
        };
        let query = found
            .query
            .as_deref()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        Ok(Upstream {
            label,
            method: method.parse()?,
            url: format!("{}{}{query}", base.trim_end_matches('/'), found.path),
            authorization: found.authorization.clone().unwrap_or_default(),
            body: (!found.body.is_null()).then(|| found.body.clone()),
        })
    }

    pub async fn call(&self, http: &reqwest::Client, recorder: &Recorder, fresh_ids: bool) {
        let mut request = http
            .request(self.method.clone(), &self.url)
            .header("Authorization", &self.authorization);
        if let Some(body) = &self.body {
            let mut body = body.clone();
            if fresh_ids {
                // A sale must be new each time to be booked, as the app's are.
                let id = uuid::Uuid::new_v4().to_string();
                body["externalId"] = json!(id);
                // No reserve stands behind a replayed sale: book it without bonuses spent.
                body["bonusDebit"] = json!(0);
                if let Some(items) = body["items"].as_array_mut() {
                    for (i, item) in items.iter_mut().enumerate() {
                        item["ext"] = json!(format!("{id}:{i}"));
                    }
                }
            }
            request = request.json(&body);
        }
        let started = Instant::now();
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                let _ = response.bytes().await;
                recorder.record(self.label, started);
                if !status.is_success() {
                    recorder.error(format!("direct {} {status}", self.label));
                }
            }
            Err(error) => recorder.error(format!("direct {}: {error}", self.label)),
        }
    }
}

/// Opens `count` keep-alive connections, each answered once, and keeps them open.
pub async fn hold_connections(port: u16, count: usize) -> Result<Vec<tokio::net::TcpStream>> {
    let mut streams = Vec::with_capacity(count);
    for _ in 0..count {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        stream
            .write_all(
                b"GET /health/live HTTP/1.1\r\nHost: bench\r\nConnection: keep-alive\r\n\r\n",
            )
            .await?;
        let mut buffer = [0u8; 1024];
        let read = stream.read(&mut buffer).await?;
        if !buffer[..read].starts_with(b"HTTP/1.1 200") {
            bail!("unexpected answer on a held connection");
        }
        streams.push(stream);
    }
    Ok(streams)
}
