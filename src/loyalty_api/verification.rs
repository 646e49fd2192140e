//! Verification codes (registration and spending).
//! Must not depend on `vendor_api` or `ui`.
//!
//! MoySklad's POS compares what the customer says with the `verificationCode` we answer, so the
//! bridge must know the code. BonusPlus texts the customer a code (`PUT customer/{phone}/sendCode`);
//! when its answer reveals that code, we answer it. When BonusPlus only confirms sending (as public
//! integrations show), the POS cannot compare anything, so we refuse with a clear message telling the
//! shop to switch off "confirm with a code" in the app settings (the settings page says the same) —
//! answering a code the customer never received would block every sale with a code.
//!
//! A second request for the same customer and purpose inside [`TIME_FOR_REPEAT`] answers the same
//! code without a second SMS.

use axum::http::StatusCode;
use secrecy::{ExposeSecret, SecretString};

use super::wire::VerifyResponse;
use crate::accounts::LoyaltyAccount;
use crate::crypto::Purpose as SecretPurpose;
use crate::domain::phone::Phone;
use crate::http::error::{codes, ApiError};
use crate::state::AppState;
use crate::store::now_ms;

/// Seconds before a new code may be requested.
pub const TIME_FOR_REPEAT: u64 = 60;

#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    Registration,
    Spending,
}

impl Purpose {
    fn label(self) -> &'static str {
        match self {
            Purpose::Registration => "register",
            Purpose::Spending => "spend",
        }
    }

    fn message(self) -> &'static str {
        match self {
            Purpose::Registration => {
                "Код для подтверждения регистрации отправлен покупателю по SMS"
            }
            Purpose::Spending => "Код для списания бонусов отправлен покупателю по SMS",
        }
    }
}

pub async fn send_verification(
    state: &AppState,
    account: &LoyaltyAccount,
    phone: &Phone,
    purpose: Purpose,
) -> Result<VerifyResponse, ApiError> {
    let now = now_ms();
    if let Some(answer) = recent_code(state, account, phone, purpose, now).await? {
        return Ok(answer);
    }
    let code = state
        .bonusplus
        .send_code(&account.key, phone)
        .await?
        .ok_or_else(code_not_revealed)?;
    let sealed = state
        .cipher
        .seal(
            &account.account_id,
            SecretPurpose::VerificationCode,
            &SecretString::from(code.clone()),
        )
        .map_err(|error| {
            tracing::error!(%error, "cannot seal a verification code");
            ApiError::internal()
        })?;
    state
        .store
        .save_verification_request(
            &account.account_id,
            phone.as_str(),
            purpose.label(),
            now,
            &sealed,
        )
        .await?;
    Ok(VerifyResponse {
        verification_code: code,
        time_for_repeat: Some(TIME_FOR_REPEAT),
        message_for_cashier: Some(purpose.message().to_owned()),
    })
}

/// The code sent inside the repeat window, if any.
async fn recent_code(
    state: &AppState,
    account: &LoyaltyAccount,
    phone: &Phone,
    purpose: Purpose,
    now: i64,
) -> Result<Option<VerifyResponse>, ApiError> {
    let Some((sent_at, Some(sealed))) = state
        .store
        .verification_request(&account.account_id, phone.as_str(), purpose.label())
        .await?
    else {
        return Ok(None);
    };
    let elapsed_secs = u64::try_from((now - sent_at).max(0) / 1000).unwrap_or(u64::MAX);
    if elapsed_secs >= TIME_FOR_REPEAT {
        return Ok(None);
    }
    let Ok(code) = state.cipher.open(
        &account.account_id,
        SecretPurpose::VerificationCode,
        &sealed,
    ) else {
        return Ok(None);
    };
    Ok(Some(VerifyResponse {
        verification_code: code.expose_secret().to_owned(),
        time_for_repeat: Some(TIME_FOR_REPEAT - elapsed_secs),
        message_for_cashier: Some(format!("{} (повторно не отправлялся)", purpose.message())),
    }))
}

fn code_not_revealed() -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        codes::BONUSPLUS_REFUSED,
        "БонусПлюс не сообщает код подтверждения: отключите проверку кодом в настройках приложения",
        "BonusPlus sent the code to the customer but did not reveal it, so the POS cannot compare it",
    )
}
