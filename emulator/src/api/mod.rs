//! The emulated BonusPlus API: routes, extractors and handlers.
//!
//! Only methods BonusPlus documents (or that public integrations show) are routed; any other
//! method or path answers as ASP.NET Web API does for an unknown route (404, or 405 when
//! the path exists with other methods).

mod account;
mod balance;
mod certificate;
mod customer;
mod extract;
mod product;
mod retail;

pub(crate) use extract::WireJson;

use std::sync::Arc;

use axum::routing::{delete, get, patch, post, put};
use axum::Router;

use crate::state::Shared;

/// The BonusPlus routes, relative to the base URL. Path parameters are named as in
/// BonusPlus's reference; these templates are what [`crate::EmulatorHandle::refuse_route`]
/// takes.
pub fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/account", get(account::info))
        .route("/customer", get(customer::find).post(customer::create))
        .route("/customer/list", post(customer::list))
        .route(
            "/customer/{phoneNumber}",
            put(customer::replace).patch(customer::patch),
        )
        .route("/customer/{phoneNumber}/sendCode", put(customer::send_code))
        .route(
            "/customer/{phoneNumber}/checkCode/{code}",
            put(customer::check_code),
        )
        .route(
            "/customer/{phoneNumber}/sendMessage",
            post(customer::send_message),
        )
        .route("/customer/{phoneNumber}/balance", patch(balance::change))
        .route(
            "/customer/{phoneNumber}/balance/reserve",
            patch(customer::reserve),
        )
        .route(
            "/customer/{phoneNumber}/balance/reserve/{id}",
            get(customer::reserve_state),
        )
        .route(
            "/customer/balance/reserve",
            delete(customer::cancel_reserve),
        )
        .route("/retail/calc", put(retail::calc))
        .route("/retail", post(retail::sell))
        .route("/retail/back", put(retail::give_back))
        .route("/product/import", post(product::import))
        .route("/certificate/number", get(certificate::number))
        .route("/certificate/{id}", get(certificate::find))
}
