//! What can go wrong when talking to BonusPlus, sorted by what the caller should do about it.
//! Outgoing client: must not depend on `state`, incoming modules, services or `store`.

use serde::de::{self, Deserializer};
use serde::Deserialize;

/// Errors of [`BonusPlusClient`](super::BonusPlusClient). None of them ever contains the API key.
///
/// `Display` is Russian: the service may show it to a cashier as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BonusPlusError {
    /// BonusPlus understood the request and said no (HTTP 4xx). `message` is BonusPlus's own
    /// `msg`, written for people; `code` its machine code (e.g. `NOT_ENOUGH_BONUSES`).
    #[error("{message}")]
    Refused {
        status: u16,
        code: Option<String>,
        message: String,
    },
    /// 401/403: the shop's API key is wrong or has been revoked.
    #[error("BonusPlus не принял ключ API: ключ неверный или отозван")]
    Unauthorized,
    /// The customer is not in BonusPlus: `CUSTOMER_NOT_FOUND`, or a 404 that carries a business
    /// `code` (BonusPlus's own "no such resource"). A 404 without a code is [`Self::UnknownCall`].
    #[error("Не найдено в BonusPlus")]
    NotFound,
    /// BonusPlus does not know this call at all: 404 or 405 whose body has no business `code`
    /// (ASP.NET Web API's answer for an unknown route, `{"Message": …}` — see the Transport
    /// section of `docs/bonusplus-wire.md`). Every fallback of the client keys on this variant,
    /// so that a call resting on an unconfirmed point never blocks a shop.
    #[error("BonusPlus не поддерживает этот запрос (HTTP {status})")]
    UnknownCall { status: u16 },
    /// `CUSTOMER_ALREADY_EXIST`: a customer with this phone is already registered.
    #[error("Клиент с этим телефоном уже зарегистрирован в BonusPlus")]
    AlreadyExists,
    /// `RETAIL_ALREADY_EXIST`: a sale with this `externalId` is already booked, so a repeated
    /// delivery of the same sale can be treated as done.
    #[error("Продажа уже проведена в BonusPlus")]
    AlreadyBooked,
    /// BonusPlus could not be reached or failed (timeout, connection refused/reset, 5xx, 429).
    /// Trying again later may succeed.
    #[error("BonusPlus недоступен: {reason}")]
    Unavailable { reason: String },
    /// BonusPlus answered something the client does not understand (bad JSON, odd status).
    #[error("Неожиданный ответ BonusPlus: {reason}")]
    Unexpected { reason: String },
}

impl BonusPlusError {
    /// A short label of the error's kind (metrics).
    pub fn kind(&self) -> &'static str {
        match self {
            BonusPlusError::Refused { .. } => "refused",
            BonusPlusError::Unauthorized => "unauthorized",
            BonusPlusError::NotFound => "not_found",
            BonusPlusError::UnknownCall { .. } => "unknown_call",
            BonusPlusError::AlreadyExists => "already_exists",
            BonusPlusError::AlreadyBooked => "already_booked",
            BonusPlusError::Unavailable { .. } => "unavailable",
            BonusPlusError::Unexpected { .. } => "unexpected",
        }
    }

    /// True when the same request may succeed if repeated later (a transient failure).
    pub fn is_retryable(&self) -> bool {
        matches!(self, BonusPlusError::Unavailable { .. })
    }

    /// What happened, in Russian, for the shop owner's page: like `Display`, without the
    /// technical reasons of a failed connection or an unreadable answer (they stay in the logs).
    pub fn describe_ru(&self) -> String {
        match self {
            BonusPlusError::Unavailable { .. } => "БонусПлюс не отвечает".into(),
            BonusPlusError::Unexpected { .. } => "БонусПлюс ответил непонятно".into(),
            BonusPlusError::Unauthorized => {
                "БонусПлюс не принял ключ API: ключ неверный или отозван".into()
            }
            BonusPlusError::NotFound => "не найдено в БонусПлюс".into(),
            BonusPlusError::UnknownCall { status } => {
                format!("БонусПлюс не поддерживает этот запрос (HTTP {status})")
            }
            BonusPlusError::Refused { message, .. } => format!("БонусПлюс отказал: {message}"),
            BonusPlusError::AlreadyExists => {
                "Клиент с этим телефоном уже зарегистрирован в БонусПлюс".into()
            }
            BonusPlusError::AlreadyBooked => "Продажа уже проведена в БонусПлюс".into(),
        }
    }

    /// The status of a call BonusPlus would not take at all (unknown to it, or refused with 400):
    /// the one case where a caller with a way round (no rows, the app's own code) takes it.
    pub fn declined_status(&self) -> Option<u16> {
        match self {
            BonusPlusError::UnknownCall { status }
            | BonusPlusError::Refused {
                status: status @ 400,
                ..
            } => Some(*status),
            _ => None,
        }
    }

    /// BonusPlus's error code, when it sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            BonusPlusError::Refused { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}

pub type Result<T, E = BonusPlusError> = std::result::Result<T, E>;

/// Error codes the client turns into dedicated variants.
pub mod codes {
    pub const CUSTOMER_NOT_FOUND: &str = "CUSTOMER_NOT_FOUND";
    pub const CUSTOMER_ALREADY_EXIST: &str = "CUSTOMER_ALREADY_EXIST";
    pub const RETAIL_ALREADY_EXIST: &str = "RETAIL_ALREADY_EXIST";
    pub const INVALID_CODE: &str = "INVALID_CODE";
    /// A return asks for more than is left of the sold line.
    pub const RETURN_SUM_TOO_BIG: &str = "RETURN_SUM_TOO_BIG";
    /// `GET customer/{phoneNumber}/balance/reserve/{id}`: no reserve with that id was made.
    pub const RESERVE_NOT_FOUND: &str = "RESERVE_NOT_FOUND";
    /// `GET certificate/{id}`: BonusPlus has no such certificate.
    pub const CERTIFICATE_NOT_FOUND: &str = "CERTIFICATE_NOT_FOUND";
}

/// The body BonusPlus sends with an error status: `{"code": <string or number>, "msg": "..."}`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub code: Option<ErrorCode>,
    #[serde(default)]
    pub msg: Option<String>,
}

/// An error `code`, kept as text whether BonusPlus sent a string or a number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ErrorCode(pub String);

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Through `Value` because with serde_json's `arbitrary_precision` a number does not
        // reach a visitor as a plain integer.
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(text) => Ok(ErrorCode(text)),
            serde_json::Value::Number(number) => Ok(ErrorCode(number.to_string())),
            other => Err(de::Error::invalid_type(
                de::Unexpected::Other(json_kind(&other)),
                &"a string or a number",
            )),
        }
    }
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
        serde_json::Value::String(_) | serde_json::Value::Number(_) => "scalar",
    }
}

impl ErrorBody {
    /// Reads an error body; a body that is not the documented JSON yields an empty one, since
    /// the HTTP status alone still says what happened.
    pub fn parse(bytes: &[u8]) -> ErrorBody {
        serde_json::from_slice(bytes).unwrap_or_default()
    }

    pub fn code(&self) -> Option<&str> {
        self.code.as_ref().map(|code| code.0.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_code_may_be_a_string_or_a_number() {
        let text = ErrorBody::parse(r#"{"code":"CUSTOMER_NOT_FOUND","msg":"Нет"}"#.as_bytes());
        assert_eq!(text.code(), Some("CUSTOMER_NOT_FOUND"));
        assert_eq!(text.msg.as_deref(), Some("Нет"));
        let number = ErrorBody::parse(br#"{"code":412001,"msg":"x"}"#);
        assert_eq!(number.code(), Some("412001"));
    }

    #[test]
    fn malformed_error_body_is_empty() {
        let body = ErrorBody::parse(b"<html>oops</html>");
        assert_eq!(body.code(), None);
        assert_eq!(body.msg, None);
    }

    #[test]
    fn only_unavailable_is_retryable() {
        let unavailable = BonusPlusError::Unavailable {
            reason: "timeout".into(),
        };
        assert!(unavailable.is_retryable());
        assert!(!BonusPlusError::Unauthorized.is_retryable());
        assert!(!BonusPlusError::AlreadyBooked.is_retryable());
    }
}
