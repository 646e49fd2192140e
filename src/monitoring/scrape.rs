//! `GET /metrics`: Prometheus's scrape — the recorded metrics (`meters`) plus gauges read from the
//! database at scrape time. Must not depend on another incoming module; it reads only the `Store`.
//!
//! Read at scrape time, so every instance reports the shared truth: the outbox backlog (sales and
//! returns to deliver; product sync jobs are not counted) and its age, the reserves outstanding and
//! the product sync runs by state.

use axum::extract::{FromRef, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use metrics::gauge;

use crate::state::AppState;
use crate::store::{Store, StoreError};

/// What `GET /metrics` needs: the database (gauges) and `server.metrics_token` (empty: open).
#[derive(Clone)]
pub struct ScrapeState {
    pub store: Store,
    pub token: String,
}

impl FromRef<AppState> for ScrapeState {
    fn from_ref(state: &AppState) -> ScrapeState {
        ScrapeState {
            store: state.store.clone(),
            token: state.settings.server.metrics_token.clone(),
        }
    }
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
        crate::meters::handle().render(),
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
