//! BonusPlus and storage failures as the cashier sees them: one place maps every [`BonusPlusError`]
//! and [`StoreError`] to MoySklad's error format with a Russian title the cashier can act on.
//! Must not depend on `vendor_api` or `ui`.

use axum::http::StatusCode;

use crate::bonusplus::BonusPlusError;
use crate::domain::phone::PhoneError;
use crate::http::error::{codes, ApiError};
use crate::store::StoreError;

/// MoySklad shows `error` on the till; keep it short.
const TITLE_LIMIT: usize = 140;

pub fn customer_not_found() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        codes::CUSTOMER_NOT_FOUND,
        "Покупатель не найден",
        "No BonusPlus customer matches this customer",
    )
}

/// The point of sale has neither a mapping nor a default BonusPlus store.
pub fn unmapped_store() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        codes::INVALID_INPUT,
        "Точка продаж не сопоставлена с магазином БонусПлюс",
        "The point of sale has no BonusPlus store in the app settings",
    )
    .with_parameter("retailStore")
}

pub fn invalid_phone(parameter: &str, error: &PhoneError) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        codes::INVALID_INPUT,
        truncate(&error.to_string()),
        format!("The phone number cannot be used: {error}"),
    )
    .with_parameter(parameter)
}

/// Our database failed: unavailable (an outage, a restart) is a 503 the till repeats after
/// `Retry-After`; anything else is logged and answered as an internal error.
impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        if error.is_unavailable() {
            tracing::warn!(%error, "database unavailable");
            return ApiError::temporarily_unavailable();
        }
        tracing::error!(%error, "storage error");
        ApiError::internal()
    }
}

impl From<BonusPlusError> for ApiError {
    fn from(error: BonusPlusError) -> Self {
        match &error {
            BonusPlusError::NotFound => customer_not_found(),
            BonusPlusError::Refused { code, message, .. } => refused(code.as_deref(), message),
            BonusPlusError::Unauthorized => ApiError::new(
                StatusCode::BAD_GATEWAY,
                codes::BONUSPLUS_KEY_REJECTED,
                "БонусПлюс не принял ключ API: проверьте настройки приложения",
                "BonusPlus rejected the account's API key",
            ),
            BonusPlusError::Unavailable { reason } => {
                let status = if reason.contains("timeout") || reason.contains("timed out") {
                    StatusCode::GATEWAY_TIMEOUT
                } else {
                    StatusCode::BAD_GATEWAY
                };
                ApiError::new(
                    status,
                    codes::BONUSPLUS_UNAVAILABLE,
                    "Сервис БонусПлюс недоступен, повторите",
                    format!("BonusPlus unavailable: {reason}"),
                )
            }
            BonusPlusError::AlreadyExists | BonusPlusError::AlreadyBooked => ApiError::new(
                StatusCode::CONFLICT,
                codes::BONUSPLUS_REFUSED,
                truncate(&error.to_string()),
                error.to_string(),
            ),
            // A call this BonusPlus does not offer: repeating will not help, the cashier is told
            // plainly instead of "try again".
            BonusPlusError::UnknownCall { status } => ApiError::new(
                StatusCode::BAD_GATEWAY,
                codes::BONUSPLUS_REFUSED,
                "БонусПлюс не поддерживает эту операцию",
                format!("BonusPlus does not know this call (HTTP {status})"),
            ),
            BonusPlusError::Unexpected { reason } => ApiError::new(
                StatusCode::BAD_GATEWAY,
                codes::BONUSPLUS_UNAVAILABLE,
                "Сервис БонусПлюс ответил с ошибкой, повторите",
                format!("Unexpected BonusPlus answer: {reason}"),
            ),
        }
    }
}

fn refused(code: Option<&str>, message: &str) -> ApiError {
    if code == Some("NOT_ENOUGH_BONUSES") {
        return ApiError::new(
            StatusCode::CONFLICT,
            codes::NOT_ENOUGH_BONUSES,
            "Недостаточно бонусов",
            message,
        );
    }
    let title = if message.trim().is_empty() {
        "БонусПлюс отклонил операцию".to_owned()
    } else {
        truncate(&format!("БонусПлюс: {message}"))
    };
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        codes::BONUSPLUS_REFUSED,
        title,
        format!(
            "BonusPlus refused ({}): {message}",
            code.unwrap_or("no code")
        ),
    )
}

fn truncate(text: &str) -> String {
    text.chars().take(TITLE_LIMIT).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bonusplus_failure_has_a_cashier_title_and_a_non_500_status() {
        let cases = [
            (BonusPlusError::NotFound, 404, "Покупатель не найден"),
            (
                BonusPlusError::Refused {
                    status: 412,
                    code: Some("NOT_ENOUGH_BONUSES".into()),
                    message: "мало".into(),
                },
                409,
                "Недостаточно бонусов",
            ),
            (
                BonusPlusError::Unauthorized,
                502,
                "БонусПлюс не принял ключ API",
            ),
            (
                BonusPlusError::Unavailable {
                    reason: "connection refused".into(),
                },
                502,
                "Сервис БонусПлюс недоступен, повторите",
            ),
            (
                BonusPlusError::Unavailable {
                    reason: "operation timed out".into(),
                },
                504,
                "Сервис БонусПлюс недоступен, повторите",
            ),
            (
                BonusPlusError::Unexpected {
                    reason: "bad json".into(),
                },
                502,
                "Сервис БонусПлюс ответил",
            ),
            (
                BonusPlusError::UnknownCall { status: 405 },
                502,
                "БонусПлюс не поддерживает эту операцию",
            ),
        ];
        for (error, status, title) in cases {
            let api: ApiError = error.into();
            assert_eq!(api.status.as_u16(), status);
            assert!(api.title.starts_with(title), "{}", api.title);
            assert!(api.title.chars().count() <= TITLE_LIMIT);
        }
        let long = BonusPlusError::Refused {
            status: 412,
            code: None,
            message: "x".repeat(500),
        };
        assert!(ApiError::from(long).title.chars().count() <= TITLE_LIMIT);
    }
}
