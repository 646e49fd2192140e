//! Recording metrics: the process-wide Prometheus recorder, the request middleware and the helpers
//! every layer calls. A utility: must not depend on `store` or on any layer above (the scrape that
//! reads the database at `GET /metrics` is `monitoring::scrape`).
//!
//! What is recorded here: every HTTP request (route template, method, status → count and latency),
//! every BonusPlus call (endpoint, outcome → count and latency) and every answer that differed from
//! an unconfirmed point. Labels never carry an account, a token or a phone: cardinality stays
//! bounded and nothing private leaves through metrics.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics::{counter, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

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

/// BonusPlus answered otherwise than an unconfirmed point expects (`point` names it).
pub fn record_unexpected(point: &'static str) {
    counter!("bonusbridge_bonusplus_unexpected_total", "point" => point).increment(1);
}
