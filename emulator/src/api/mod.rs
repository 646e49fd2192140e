//! The emulated BonusPlus API: routes, extractors and handlers.

mod customer;
mod extract;

pub(crate) use extract::WireJson;
mod product;
mod retail;

use std::sync::Arc;

use axum::routing::{get, patch, post, put};
use axum::Router;

use crate::state::Shared;

/// The BonusPlus routes, relative to the base URL.
pub fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/customer",
            get(customer::find)
                .post(customer::create)
                .put(customer::update),
        )
        .route("/customer/stat", get(customer::stat))
        .route("/customer/{phone}/sendCode", put(customer::send_code))
        .route(
            "/customer/{phone}/checkCode/{code}",
            put(customer::check_code),
        )
        .route(
            "/customer/{phone}/balance/reserve",
            patch(customer::reserve),
        )
        .route("/retail/calc", put(retail::calc))
        .route("/retail", post(retail::sell))
        .route("/retail/back", put(retail::give_back))
        .route("/product/import", post(product::import))
}
