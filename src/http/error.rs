//! HTTP errors in MoySklad's LoyaltyAPI error format:
//! `{"errors": [{"error": <title for the cashier>, "parameter": <field>, "code": <n>, "error_message": <text>}]}`.
//! Every refusal of the service goes through [`ApiError`], so no endpoint answers a bare 500 or a
//! stack trace. A utility: must not depend on `store` or on any layer above (each incoming API maps
//! its own failures into it: the LoyaltyAPI's in `loyalty_api::errors`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

/// Stable error codes (documented in the README).
pub mod codes {
    /// A required parameter is missing or malformed.
    pub const INVALID_INPUT: u32 = 999;
    /// Customer registration must be confirmed with a code (MoySklad's reserved code).
    pub const REGISTRATION_NEEDS_CODE: u32 = 28001;
    pub const UNAUTHORIZED: u32 = 1001;
    pub const ACCOUNT_INACTIVE: u32 = 1002;
    pub const NOT_FOUND: u32 = 1004;
    pub const RATE_LIMITED: u32 = 1029;
    pub const CUSTOMER_NOT_FOUND: u32 = 2001;
    pub const NOT_ENOUGH_BONUSES: u32 = 2002;
    pub const BONUSPLUS_REFUSED: u32 = 2003;
    pub const BONUSPLUS_UNAVAILABLE: u32 = 2004;
    pub const BONUSPLUS_KEY_REJECTED: u32 = 2005;
    pub const SALE_NOT_FOUND: u32 = 2007;
    /// Verification codes are switched off in the app settings.
    pub const CODES_OFF: u32 = 2008;
    /// Too many codes texted to one phone within the hour.
    pub const TOO_MANY_CODES: u32 = 2009;
    /// BonusPlus cannot text the code the till needs (sendMessage refused, sendCode unrevealed).
    pub const CODE_UNDELIVERABLE: u32 = 2010;
    pub const INTERNAL: u32 = 5000;
    /// The service's database cannot be reached now: the same request can be repeated shortly.
    pub const TEMPORARILY_UNAVAILABLE: u32 = 5003;
    pub const TIMEOUT: u32 = 5004;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: u32,
    /// Short Russian title shown to the cashier.
    pub title: String,
    pub message: String,
    pub parameter: Option<String>,
}

/// Body of every error answer.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub errors: Vec<ErrorItem>,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorItem {
    /// Short title shown to the cashier (in Russian).
    pub error: String,
    /// The request field at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    pub code: u32,
    /// Longer explanation. Snake case on the wire, unlike every other field.
    pub error_message: String,
}

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: u32,
        title: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            code,
            title: title.into(),
            message: message.into(),
            parameter: None,
        }
    }

    pub fn with_parameter(mut self, parameter: impl Into<String>) -> Self {
        self.parameter = Some(parameter.into());
        self
    }

    /// Input the service cannot accept (400), naming the field.
    pub fn invalid(parameter: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            codes::INVALID_INPUT,
            "Некорректный запрос",
            message,
        )
        .with_parameter(parameter)
    }

    pub fn not_found_path() -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            codes::NOT_FOUND,
            "Не найдено",
            "No such endpoint",
        )
    }

    pub fn method_not_allowed() -> Self {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            codes::NOT_FOUND,
            "Метод не поддерживается",
            "This endpoint does not accept that method",
        )
    }

    /// Something broke on our side; the detail goes to the log, not to the client.
    pub fn internal() -> Self {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            codes::INTERNAL,
            "Внутренняя ошибка сервиса лояльности, повторите",
            "Internal error; it has been logged",
        )
    }

    /// Our database cannot serve now (an outage, a restart): nothing broke, the till repeats the
    /// request after [`RETRY_AFTER_SECS`].
    pub fn temporarily_unavailable() -> Self {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            codes::TEMPORARILY_UNAVAILABLE,
            "Сервис временно недоступен, повторите позже",
            "The loyalty service's database is unavailable; repeat the request shortly",
        )
    }

    pub fn timeout() -> Self {
        ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            codes::TIMEOUT,
            "Сервис лояльности не ответил вовремя, повторите",
            "The request took too long",
        )
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            errors: vec![ErrorItem {
                error: self.title.clone(),
                parameter: self.parameter.clone(),
                code: self.code,
                error_message: self.message.clone(),
            }],
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(status = self.status.as_u16(), code = self.code, message = %self.message, "request failed");
        }
        let mut response = (self.status, Json(self.body())).into_response();
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(RETRY_AFTER_SECS),
            );
        }
        // Middleware (the call log) reads what went wrong from here.
        response.extensions_mut().insert(self);
        response
    }
}

/// How long a till is told to wait before repeating a request refused while the database is
/// unavailable.
pub const RETRY_AFTER_SECS: u32 = 5;

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_keeps_snake_case_error_message() {
        let body = ErrorBody {
            errors: vec![ErrorItem {
                error: "Требуется подтверждение".into(),
                parameter: Some("phone".into()),
                code: 28001,
                error_message: "Подтвердите регистрацию кодом".into(),
            }],
        };
        let value = serde_json::to_value(&body).unwrap();
        assert_eq!(
            value["errors"][0]["error_message"],
            "Подтвердите регистрацию кодом"
        );
        assert_eq!(value["errors"][0]["code"], 28001);
        assert_eq!(serde_json::from_value::<ErrorBody>(value).unwrap(), body);
    }
}
