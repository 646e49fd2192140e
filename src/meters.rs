//! Prometheus metrics: `GET /metrics`.
//! A utility: must not depend on `state` or on incoming modules (the scrape gets a [`ScrapeState`]).
//!
//! What is measured: every HTTP request (route template, method, status → count and latency), every
//! BonusPlus call (endpoint, outcome → count and latency), and — read from the database at scrape
//! time, so every instance reports the shared truth — the outbox backlog (sales and returns to
//! deliver; product sync jobs are not counted) and its age, the reserves outstanding and the product
//! sync runs by state. Labels never carry an account, a token or a phone: cardinality stays bounded
//! and nothing private leaves through metrics.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::store::{Store, StoreError};

/// Latency buckets in seconds: fine below 10 ms, where the bridge's own share lives.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0,
];

const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The process-wide recorder (installed once; tests start many apps in one process).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
            .expect("static buckets are valid");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Fails only if another recorder is installed (a host embedding us): keep theirs.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Folds recorded histogram samples into their buckets now and then: the exporter keeps raw samples
/// until then, which would grow without bound between scrapes.
pub async fn upkeep(shutdown: tokio_util::sync::CancellationToken) {
    let mut every = tokio::time::interval(UPKEEP_EVERY);
    loop {
        tokio::select! {
            _ = every.tick() => handle().run_upkeep(),
            () = shutdown.cancelled() => return,
        }
    }
}

/// Router layer: counts and times every request by its route template (never the raw path).
pub async fn track_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |path| path.as_str())
        .to_owned();
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    let labels = [
        ("route", route),
        ("method", method),
        ("status", response.status().as_u16().to_string()),
    ];
    counter!("http_requests_total", &labels).increment(1);
    histogram!("http_request_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
    response
}

/// One BonusPlus call: `outcome` is `ok` or the error kind.
pub fn record_upstream(endpoint: &'static str, outcome: &'static str, started: Instant) {
    let labels = [("endpoint", endpoint), ("outcome", outcome)];
    counter!("bonusplus_requests_total", &labels).increment(1);
    histogram!("bonusplus_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
}

/// What `GET /metrics` needs: the database (gauges) and `server.metrics_token` (empty: open).
/// BonusPlus answered otherwise than an unconfirmed point expects (`point` names it).
pub fn record_unexpected(point: &'static str) {
    counter!("bonusbridge_bonusplus_unexpected_total", "point" => point).increment(1);
}

#[derive(Clone)]
pub struct ScrapeState {
    pub store: Store,
    pub token: String,
}

/// `GET /metrics` in Prometheus text format; a bearer token when `server.metrics_token` is set.
pub async fn scrape(State(state): State<ScrapeState>, request: Request) -> Response {
    let expected = state.token.as_str();
    if !expected.is_empty() {
        let given = request
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !crate::crypto::constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            return (StatusCode::UNAUTHORIZED, "metrics token required\n").into_response();
        }
    }
    if let Err(error) = refresh_gauges(&state.store).await {
        tracing::warn!(%error, "metrics: database gauges not refreshed");
    }
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        handle().render(),
    )
        .into_response()
}

async fn refresh_gauges(store: &Store) -> Result<(), StoreError> {
    // Deliveries only: an account's product sync job keeps its creation time across daily runs, so
    // counting it would make the outbox look hours old whenever a sync runs.
    let delivery = Some(crate::store::DELIVER_KIND);
    let (backlog, reserves, syncs) = tokio::join!(
        store.job_backlog(None, delivery),
        store.outstanding_reserves(),
        store.sync_run_counts(),
    );
    let backlog = backlog?;
    gauge!("outbox_jobs", "state" => "ready").set(backlog.ready as f64);
    gauge!("outbox_jobs", "state" => "running").set(backlog.running as f64);
    gauge!("outbox_jobs", "state" => "failed").set(backlog.failed as f64);
    gauge!("outbox_oldest_age_seconds").set(backlog.oldest_age_ms.unwrap_or(0) as f64 / 1000.0);
    gauge!("reserves_outstanding").set(reserves? as f64);
    let (running, done, failed) = syncs?;
    gauge!("product_sync_runs", "state" => "running").set(running as f64);
    gauge!("product_sync_runs", "state" => "done").set(done as f64);
    gauge!("product_sync_runs", "state" => "failed").set(failed as f64);
    Ok(())
}
