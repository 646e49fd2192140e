//! The till page (`/demo/pos`): MoySklad's POS played in the browser against the bridge's real
//! LoyaltyAPI (same origin, the account's token), and two demo-only JSON endpoints beside it —
//! what the till knows from MoySklad (the token MoySklad was given, points of sale, the priced
//! catalogue) and a customer's state in the BonusPlus emulator, to compare before and after.
//! Served only by the demo; must not depend on `settings` or `world`: it shows what the stand-ins hold.

mod view;

use std::sync::Arc;

use axum::extract::{Query, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use bonusbridge_testkit::moysklad::FakeMoySklad;
use bonusplus_emulator::EmulatorHandle;
use serde::Deserialize;

pub use view::{CustomerView, ProductView, TillView};

pub const PAGE_PATH: &str = "/demo/pos";

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("pos.js");
const STYLE: &str = include_str!("pos.css");

/// What the page's endpoints read: the stand-ins and the demo's BonusPlus key.
#[derive(Clone)]
pub struct Till {
    pub moysklad: Arc<FakeMoySklad>,
    pub emulator: EmulatorHandle,
    pub bonusplus_key: String,
}

pub fn router(till: Till) -> Router {
    Router::new()
        .route(
            PAGE_PATH,
            get(|| async { asset("text/html; charset=utf-8", PAGE) }),
        )
        .route(
            "/demo/pos.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route(
            "/demo/pos.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE) }),
        )
        .route("/demo/api/till", get(till_view))
        .route("/demo/api/bonusplus/customer", get(customer_view))
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(till)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(CONTENT_TYPE, content_type)], body).into_response()
}

/// `GET /demo/api/till`: the LoyaltyAPI token MoySklad received (none until the shop saved its
/// settings), the points of sale and the catalogue, as a till gets them from MoySklad.
async fn till_view(State(till): State<Till>) -> Json<TillView> {
    Json(TillView::read(&till.moysklad))
}

#[derive(Deserialize)]
struct PhoneQuery {
    phone: String,
}

/// `GET /demo/api/bonusplus/customer?phone=…`: the customer as the emulator holds it.
async fn customer_view(State(till): State<Till>, Query(query): Query<PhoneQuery>) -> Response {
    let phone: String = query.phone.chars().filter(char::is_ascii_digit).collect();
    match till.emulator.customer(&till.bonusplus_key, &phone) {
        Some(customer) => {
            let sales = till.emulator.sales(&till.bonusplus_key);
            let messages = till.emulator.messages(&till.bonusplus_key, &phone);
            Json(CustomerView::new(&customer, &sales, &messages)).into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"error": "В БонусПлюс нет покупателя с этим телефоном"})),
        )
            .into_response(),
    }
}

/// The settings page's policy, stricter on framing: scripts and styles from us only, nothing
/// cached (the answers carry a token), no framing at all.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        "content-security-policy",
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}
