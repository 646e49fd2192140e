//! The whole router: the incoming APIs (LoyaltyAPI, Vendor API, settings page, monitoring's health
//! and metrics), and the layers every request passes through (request id, tracing, panic guard, time
//! limit, body limit, rate limits, JSON 404/405). Nothing below imports it.

use std::sync::Arc;

use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::HeaderName;
use axum::routing::get;
use axum::Router;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};

use crate::http::error::ApiError;
use crate::http::rate_limit::RateLimits;
use crate::http::{rate_limit, request_span, REQUEST_ID_HEADER};
use crate::loyalty_api::call_log::CallLog;
use crate::monitoring::{health, scrape};
use crate::state::AppState;

/// The whole application router.
///
/// Layers, outermost first: a request id is assigned (or taken from the caller), the span that
/// carries it wraps everything below, panics become a JSON 500, and a request that overruns the
/// time limit is answered with a JSON 504. `extra` (see `Application::build_with_routes`) joins
/// inside those outer layers and outside the rate limits.
pub fn router(state: AppState, call_log: CallLog, extra: Router) -> Router {
    let body_limit = state.settings.server.body_limit_bytes;
    let timeout = state.settings.request_timeout();
    let rate_limits = Arc::new(RateLimits::new(&state.settings.limits));
    let request_id = HeaderName::from_static(REQUEST_ID_HEADER);
    Router::new()
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .route("/metrics", get(scrape::scrape))
        .nest(
            "/loyalty",
            crate::loyalty_api::router(state.clone(), call_log),
        )
        .merge(crate::vendor_api::router())
        .merge(crate::ui::router(state.clone()))
        .fallback(|| async { ApiError::not_found_path() })
        .layer(axum::middleware::from_fn_with_state(
            rate_limits,
            rate_limit::enforce,
        ))
        .layer(axum::middleware::from_fn(crate::meters::track_requests))
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .with_state(state)
        .merge(extra)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        // One line per answered request costs the till's path CPU for what the
                        // metrics and the call log already count: `debug`, for troubleshooting.
                        .on_response(DefaultOnResponse::new().level(tracing::Level::DEBUG))
                        .on_failure(DefaultOnFailure::new().level(tracing::Level::WARN)),
                )
                .layer(CatchPanicLayer::custom(|_panic| {
                    tracing::error!("handler panicked");
                    axum::response::IntoResponse::into_response(ApiError::internal())
                }))
                .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
                    ApiError::timeout()
                }))
                .timeout(timeout),
        )
}
