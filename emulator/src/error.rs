//! BonusPlus-style errors: an HTTP status plus `{"code": "...", "msg": "..."}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// The symbolic codes listed in `docs/bonusplus-wire.md`, plus the transport-level ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    CustomerNotFound,
    CustomerAlreadyExist,
    InvalidCode,
    NotEnoughBonuses,
    StoreNotFound,
    RetailAlreadyExist,
    RetailItemNotFound,
    ReturnSumTooBig,
    TooManyProducts,
    ValidationError,
    /// `GET customer/{phoneNumber}/balance/reserve/{id}`: no reserve with that id was ever made.
    ReserveNotFound,
    /// `GET certificate/{id}` or `giftCards[].id`: no such certificate.
    CertificateNotFound,
    /// `giftCards[]`: the certificate is expired or fully redeemed.
    CertificateNotActive,
    /// `giftCards[].paymentSum` exceeds the certificate's current balance.
    NotEnoughCertificateBalance,
    Unauthorized,
    NotFound,
    InternalError,
}

/// An error answer. Handlers return `Result<_, ApiError>` and use `?`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {code:?}: {msg}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub msg: String,
}

impl ApiError {
    /// 400: the request itself is malformed (bad JSON, missing field, wrong type or format).
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::ValidationError, msg)
    }

    /// 412: a well-formed request that cannot be carried out.
    pub fn precondition(code: ErrorCode, msg: impl Into<String>) -> Self {
        Self::new(StatusCode::PRECONDITION_FAILED, code, msg)
    }

    pub fn unauthorized(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, msg)
    }

    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound,
            "resource not found",
        )
    }

    pub fn internal(msg: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::InternalError,
            msg,
        )
    }

    pub fn customer_not_found(phone: &str) -> Self {
        Self::precondition(
            ErrorCode::CustomerNotFound,
            format!("customer {phone} not found"),
        )
    }

    fn new(status: StatusCode, code: ErrorCode, msg: impl Into<String>) -> Self {
        Self {
            status,
            code,
            msg: msg.into(),
        }
    }
}

/// What ASP.NET Web API answers for a path no route matches (404) or a route that exists
/// with other methods only (405): `{"Message": "..."}`, not BonusPlus's `{code, msg}`.
/// BonusPlus's API is an ASP.NET Web API service (its Help pages); that it keeps the
/// framework's default bodies is an assumption recorded in `docs/bonusplus-wire.md`.
pub fn routing_refusal(status: StatusCode, method: &str, uri: &str) -> Response {
    let message = if status == StatusCode::METHOD_NOT_ALLOWED {
        format!("The requested resource does not support http method '{method}'.")
    } else {
        format!("No HTTP resource was found that matches the request URI '{uri}'.")
    };
    (status, Json(serde_json::json!({ "Message": message }))).into_response()
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: ErrorCode,
    msg: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            code: self.code,
            msg: &self.msg,
        };
        (self.status, Json(body)).into_response()
    }
}
