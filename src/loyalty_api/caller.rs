//! Who is calling: the `Lognex-Discount-API-Auth-Token` header resolved (through the accounts
//! service) to one active account. Must not depend on `vendor_api` or `ui`.

use std::sync::Arc;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::StatusCode;

use crate::accounts::{AccountError, Accounts, LoyaltyAccount};
use crate::http::error::{codes, ApiError};
use crate::http::TOKEN_HEADER;

/// Extractor: the calling account, or a 401/403 in MoySklad's error format.
pub struct Caller(pub Arc<LoyaltyAccount>);

impl<S> FromRequestParts<S> for Caller
where
    S: Send + Sync,
    Accounts: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(TOKEN_HEADER)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
            .filter(|token| !token.is_empty() && token.len() <= 512)
            .ok_or_else(unauthorized)?;
        Accounts::from_ref(state)
            .by_token(token)
            .await
            .map(Caller)
            .map_err(refusal)
    }
}

fn refusal(error: AccountError) -> ApiError {
    match error {
        AccountError::UnknownToken => unauthorized(),
        AccountError::Inactive => inactive(),
        AccountError::Store(error) => error.into(),
        // Logged where it happened, with the account.
        _ => ApiError::internal(),
    }
}

fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        codes::UNAUTHORIZED,
        "Неверный токен доступа к программе лояльности",
        "The Lognex-Discount-API-Auth-Token header is missing or unknown",
    )
    .with_parameter("Lognex-Discount-API-Auth-Token")
}

fn inactive() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        codes::ACCOUNT_INACTIVE,
        "Программа лояльности отключена для этого аккаунта",
        "The app is not activated (not configured, suspended or uninstalled) for this account",
    )
}
