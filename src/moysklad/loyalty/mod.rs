//! MoySklad's LoyaltyAPI, answered through BonusPlus. Mounted under `/loyalty`; the URL pushed to
//! MoySklad is `{public_base_url}/loyalty` and the `Lognex-Discount-API-Auth-Token` header
//! identifies the account.

pub mod call_log;
pub mod context;
mod customers;
pub mod errors;
mod giftcard;
pub mod receipts;
pub mod reserves;
mod sales;
mod verification;

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::http::error::ApiError;
use crate::startup::AppState;
pub use context::AccountCache;
pub use receipts::MaxDebitCache;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/counterparty",
            get(customers::search).post(customers::create),
        )
        .route("/counterparty/detail", post(customers::detail))
        .route("/counterparty/verify", post(customers::verify))
        .route("/retaildemand/recalc", post(receipts::recalc))
        .route("/retaildemand/verify", post(receipts::verify_spending))
        .route("/retaildemand", post(sales::sale))
        .route("/retailsalesreturn", post(sales::sales_return))
        .route("/giftcard", get(giftcard::lookup))
        .layer(middleware::from_fn_with_state(state, record_call))
}

/// Keeps the outcome of every call of a known account for the settings page ("why no bonuses?"),
/// handed to the call log's writer so the till never waits for it.
async fn record_call(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(context::TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let endpoint = format!("{} {}", request.method(), request.uri().path());
    let response = next.run(request).await;
    if let Some(token) = token {
        let error = response
            .extensions()
            .get::<ApiError>()
            .map(|e| e.title.clone());
        state
            .call_log
            .record(token, endpoint, response.status().as_u16(), error);
    }
    response
}
