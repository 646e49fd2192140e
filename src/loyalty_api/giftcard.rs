//! `GET /giftcard`: BonusPlus exposes no gift-certificate API that this app could call (the
//! `certificate` flag its plugins send is undocumented), so the lookup answers a clear refusal the
//! cashier understands instead of pretending a certificate does not exist.
//! Must not depend on `vendor_api` or `ui`.

use axum::extract::Query;
use axum::http::StatusCode;

use super::caller::Caller;
use super::giftcard_wire::GiftCardQuery;
use crate::http::error::{codes, ApiError};

pub async fn lookup(
    Caller(_account): Caller,
    query: Result<Query<GiftCardQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<StatusCode, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid("name", e.body_text()))?;
    if query.name.trim().is_empty() {
        return Err(ApiError::invalid(
            "name",
            "The certificate number is required",
        ));
    }
    Err(ApiError::new(
        StatusCode::NOT_IMPLEMENTED,
        codes::GIFT_CARDS_UNSUPPORTED,
        "Подарочные сертификаты не поддерживаются программой БонусПлюс",
        "BonusPlus offers no gift-certificate API; accept the certificate outside the loyalty program",
    )
    .with_parameter("name"))
}
