//! Incoming: MoySklad's LoyaltyAPI (the till's calls), answered through BonusPlus. Mounted under
//! `/loyalty`; must not depend on the other incoming modules (`vendor_api`, `ui`).
//!
//! The URL pushed to MoySklad is `{public_base_url}/loyalty` and the `Lognex-Discount-API-Auth-Token`
//! header identifies the account ([`caller`]). One handler module per resource — `counterparty`,
//! `recalc` (recalculation and spending codes), `sale` (sales and returns), `giftcard` — and its
//! wire types in [`wire`] under the same name (shapes they share in `wire` itself); the products of
//! till-made goods in [`assortment`].

pub mod assortment;
pub mod call_log;
pub mod caller;
mod counterparty;
pub mod errors;
mod giftcard;
pub mod recalc;
mod sale;
mod verification;
pub mod wire;

use axum::extract::{FromRef, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;

use crate::accounts::Accounts;
use crate::http::error::ApiError;
use crate::http::TOKEN_HEADER;
use crate::state::AppState;
use assortment::ProductIds;
use call_log::CallLog;
use recalc::MaxDebits;

/// The LoyaltyAPI router's own state: what every handler shares, plus what only these handlers
/// use (the remembered maximum debits of receipts, the remembered products of till-made goods).
#[derive(Clone)]
struct LoyaltyState {
    app: AppState,
    max_debits: MaxDebits,
    product_ids: ProductIds,
}

impl FromRef<LoyaltyState> for AppState {
    fn from_ref(state: &LoyaltyState) -> AppState {
        state.app.clone()
    }
}

impl FromRef<LoyaltyState> for Accounts {
    fn from_ref(state: &LoyaltyState) -> Accounts {
        state.app.accounts.clone()
    }
}

impl FromRef<LoyaltyState> for MaxDebits {
    fn from_ref(state: &LoyaltyState) -> MaxDebits {
        state.max_debits.clone()
    }
}

impl FromRef<LoyaltyState> for ProductIds {
    fn from_ref(state: &LoyaltyState) -> ProductIds {
        state.product_ids.clone()
    }
}

/// The LoyaltyAPI endpoints with their own state; every call of a known account is written to
/// `call_log`.
pub fn router<S: Clone + Send + Sync + 'static>(app: AppState, call_log: CallLog) -> Router<S> {
    Router::new()
        .route(
            "/counterparty",
            get(counterparty::search).post(counterparty::create),
        )
        .route("/counterparty/detail", post(counterparty::detail))
        .route("/counterparty/verify", post(counterparty::verify))
        .route("/retaildemand/recalc", post(recalc::recalc))
        .route("/retaildemand/verify", post(recalc::verify_spending))
        .route("/retaildemand", post(sale::sale))
        .route("/retailsalesreturn", post(sale::sales_return))
        .route("/giftcard", get(giftcard::lookup))
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .layer(middleware::from_fn_with_state(call_log, record_call))
        .with_state(LoyaltyState {
            app,
            max_debits: MaxDebits::default(),
            product_ids: ProductIds::default(),
        })
}

/// Keeps the outcome of every call of a known account for the settings page ("why no bonuses?"),
/// handed to the call log's writer so the till never waits for it.
async fn record_call(State(call_log): State<CallLog>, request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let endpoint = format!("{} {}", request.method(), request.uri().path());
    let response = next.run(request).await;
    if let Some(token) = token {
        let error = response
            .extensions()
            .get::<ApiError>()
            .map(|e| e.title.clone());
        call_log.record(token, endpoint, response.status().as_u16(), error);
    }
    response
}
