//! Verification codes at the till: `/counterparty/verify` (registration) and
//! `/retaildemand/verify` (spending) both end here. Must not depend on `vendor_api` or `ui`.
//!
//! MoySklad's POS compares what the customer says with the `verificationCode` we answer, so the
//! bridge must know the code it sends. The account chooses how ([`CodeDelivery`]):
//! * **own** (default): a random 6-digit code from the operating system's CSPRNG, texted through
//!   BonusPlus's `sendMessage` in the account's text ("Код для кассы: {code}");
//! * **bonusplus**: BonusPlus's `sendCode`, answered only when BonusPlus reveals the code (public
//!   integrations show it does not — then the till gets a clear refusal, never a code the customer
//!   did not receive);
//! * **off**: every request for a code is refused with a clear message.
//!
//! BonusPlus texts only customers it knows, so a registration first creates the customer in
//! BonusPlus without a welcome message (`noRegNotification`), then texts the code.
//!
//! Every code is kept only sealed. A second request for the same customer and purpose inside
//! [`TIME_FOR_REPEAT`] answers the same code without texting again; at most
//! [`MAX_CODES_PER_WINDOW`] codes go to one phone per [`CODE_WINDOW`]. No code is ever logged.

use std::time::Duration;

use axum::http::StatusCode;
use rand::Rng as _;
use secrecy::{ExposeSecret, SecretString};

use super::errors::invalid_phone;
use super::wire::VerifyResponse;
use crate::accounts::LoyaltyAccount;
use crate::crypto::SecretKind;
use crate::customers::{CustomerError, TillCustomer};
use crate::domain::phone::Phone;
use crate::domain::verification::{
    CodeDelivery, MessageRoute, CODE_DIGITS, CODE_LIFETIME, CODE_WINDOW, MAX_CODES_PER_WINDOW,
    TIME_FOR_REPEAT,
};
use crate::http::error::{codes, ApiError};
use crate::state::AppState;
use crate::store::{now_ms, CodeSlot};

/// What the code confirms.
#[derive(Debug, Clone, Copy)]
pub enum Purpose<'a> {
    /// A new customer's registration: who they are, and the BonusPlus store of the point of sale
    /// (when the till named a mapped one).
    Registration {
        who: &'a TillCustomer,
        store: Option<&'a str>,
    },
    Spending,
}

impl Purpose<'_> {
    fn label(self) -> &'static str {
        match self {
            Purpose::Registration { .. } => "register",
            Purpose::Spending => "spend",
        }
    }

    fn message(self) -> &'static str {
        match self {
            Purpose::Registration { .. } => {
                "Код для подтверждения регистрации отправлен покупателю"
            }
            Purpose::Spending => "Код для списания бонусов отправлен покупателю",
        }
    }
}

/// A code for the customer with `phone`: the one sent inside the repeat window, else a new one.
pub async fn send_verification(
    state: &AppState,
    account: &LoyaltyAccount,
    phone: &Phone,
    purpose: Purpose<'_>,
) -> Result<VerifyResponse, ApiError> {
    if account.code_delivery == CodeDelivery::Off {
        return Err(codes_off());
    }
    let now = now_ms();
    if let Some(answer) = recent_code(state, account, phone, purpose, now).await? {
        return Ok(answer);
    }
    let slot = CodeSlot {
        account_id: account.account_id.clone(),
        phone: phone.as_str().to_owned(),
        sent_at: now,
    };
    let window_start = now - millis(CODE_WINDOW);
    if !state
        .store
        .claim_code_slot(&slot, window_start, MAX_CODES_PER_WINDOW)
        .await?
    {
        return Err(too_many_codes());
    }
    let code = match deliver_code(state, account, phone, purpose).await {
        Ok(code) => code,
        Err(error) => {
            // Nothing reached the customer: the attempt does not count against the cap.
            if let Err(store_error) = state.store.release_code_slot(&slot).await {
                tracing::warn!(error = %store_error, "a code slot was not given back");
            }
            return Err(error);
        }
    };
    remember_code(state, account, phone, purpose, now, code.clone()).await?;
    Ok(VerifyResponse {
        verification_code: code.expose_secret().to_owned(),
        time_for_repeat: Some(TIME_FOR_REPEAT.as_secs()),
        message_for_cashier: Some(purpose.message().to_owned()),
    })
}

/// Texts a code the way the account chose; answers the code the customer received.
async fn deliver_code(
    state: &AppState,
    account: &LoyaltyAccount,
    phone: &Phone,
    purpose: Purpose<'_>,
) -> Result<SecretString, ApiError> {
    if let Purpose::Registration { who, store } = purpose {
        ensure_in_bonusplus(state, account, phone, who, store).await?;
    }
    match account.code_delivery {
        CodeDelivery::Own => own_code(state, account, phone).await,
        CodeDelivery::BonusPlus => bonusplus_code(state, account, phone)
            .await?
            .ok_or_else(code_not_revealed),
        CodeDelivery::Off => Err(codes_off()),
    }
}

/// BonusPlus texts only customers it has: a customer being registered is created first, without
/// the welcome message (the later `POST /counterparty` completes their data), through the customers
/// service (one registration per phone however many ask, the counterparty linked). One that exists
/// already is left as it is.
async fn ensure_in_bonusplus(
    state: &AppState,
    account: &LoyaltyAccount,
    phone: &Phone,
    who: &TillCustomer,
    store: Option<&str>,
) -> Result<(), ApiError> {
    match state
        .customers
        .register_quietly(&account.account_id, &account.key, phone, who, store)
        .await
    {
        Ok(_) => Ok(()),
        Err(CustomerError::BonusPlus(error)) => Err(error.into()),
        Err(CustomerError::Store(error)) => Err(error.into()),
        Err(CustomerError::InvalidPhone(error)) => Err(invalid_phone("phone", &error)),
        Err(error @ (CustomerError::Unidentified | CustomerError::UnknownCard)) => {
            tracing::error!(%error, "a registration with a phone cannot lack one");
            Err(ApiError::internal())
        }
    }
}

/// Our own code, texted through `sendMessage`. A BonusPlus that does not take `sendMessage`
/// (unknown call, or its body refused) is asked for its own code instead, which helps only where
/// BonusPlus reveals it.
async fn own_code(
    state: &AppState,
    account: &LoyaltyAccount,
    phone: &Phone,
) -> Result<SecretString, ApiError> {
    let code = new_code();
    let text = account.code_message.render(code.expose_secret());
    let route = state
        .store
        .message_route(&account.account_id)
        .await
        .unwrap_or_else(|error| {
            tracing::warn!(%error, "message route not read: SMS only");
            MessageRoute::default()
        });
    match state
        .bonusplus
        .send_message(&account.key, phone, &text, route.channels())
        .await
    {
        Ok(()) => Ok(code),
        Err(error) => match error.declined_status() {
            Some(status) => {
                tracing::warn!(
                    status,
                    "BonusPlus refused sendMessage: falling back to its own code"
                );
                bonusplus_code(state, account, phone)
                    .await?
                    .ok_or_else(message_refused)
            }
            None => Err(error.into()),
        },
    }
}

/// BonusPlus's own code (`sendCode`), if its answer reveals it.
async fn bonusplus_code(
    state: &AppState,
    account: &LoyaltyAccount,
    phone: &Phone,
) -> Result<Option<SecretString>, ApiError> {
    Ok(state
        .bonusplus
        .send_code(&account.key, phone)
        .await?
        .map(SecretString::from))
}

/// A random code of [`CODE_DIGITS`] digits from the operating system's CSPRNG.
fn new_code() -> SecretString {
    let bound = 10u32.pow(CODE_DIGITS as u32);
    let number = rand::rngs::OsRng.gen_range(0..bound);
    SecretString::from(format!("{number:0width$}", width = CODE_DIGITS))
}

/// Keeps the code sealed, to answer it again inside the repeat window.
async fn remember_code(
    state: &AppState,
    account: &LoyaltyAccount,
    phone: &Phone,
    purpose: Purpose<'_>,
    sent_at: i64,
    code: SecretString,
) -> Result<(), ApiError> {
    let sealed = state
        .cipher
        .seal(&account.account_id, SecretKind::VerificationCode, &code)
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
            sent_at,
            &sealed,
        )
        .await?;
    Ok(())
}

/// The code sent inside the repeat window, if any (and not past its lifetime).
async fn recent_code(
    state: &AppState,
    account: &LoyaltyAccount,
    phone: &Phone,
    purpose: Purpose<'_>,
    now: i64,
) -> Result<Option<VerifyResponse>, ApiError> {
    let Some((sent_at, Some(sealed))) = state
        .store
        .verification_request(&account.account_id, phone.as_str(), purpose.label())
        .await?
    else {
        return Ok(None);
    };
    let elapsed = Duration::from_millis(u64::try_from(now - sent_at).unwrap_or(0));
    let repeat_for = TIME_FOR_REPEAT.min(CODE_LIFETIME);
    if elapsed >= repeat_for {
        return Ok(None);
    }
    let Ok(code) = state
        .cipher
        .open(&account.account_id, SecretKind::VerificationCode, &sealed)
    else {
        return Ok(None);
    };
    let left = repeat_for - elapsed;
    Ok(Some(VerifyResponse {
        verification_code: code.expose_secret().to_owned(),
        time_for_repeat: Some(left.as_secs().max(1)),
        message_for_cashier: Some(format!("{} (повторно не отправлялся)", purpose.message())),
    }))
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn codes_off() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        codes::CODES_OFF,
        "Проверка кодом отключена в настройках приложения",
        "Verification codes are switched off in the app settings (codes: off)",
    )
}

fn too_many_codes() -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        codes::TOO_MANY_CODES,
        "Слишком много кодов на этот телефон: не больше 5 в час, попробуйте позже",
        format!(
            "At most {MAX_CODES_PER_WINDOW} codes per phone per hour; this phone has had them all"
        ),
    )
    .with_parameter("phone")
}

fn code_not_revealed() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        codes::CODE_UNDELIVERABLE,
        "БонусПлюс не сообщает код: выберите в настройках приложения «Код от приложения»",
        "BonusPlus texted its own code but did not reveal it, so the POS cannot compare it",
    )
}

fn message_refused() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        codes::CODE_UNDELIVERABLE,
        "БонусПлюс не отправляет сообщения с кодом: отключите проверку кодом в настройках приложения",
        "BonusPlus refused sendMessage and does not reveal its own codes",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_six_digits_and_vary() {
        let codes: std::collections::HashSet<String> = (0..200)
            .map(|_| new_code().expose_secret().to_owned())
            .collect();
        assert!(codes
            .iter()
            .all(|c| c.len() == CODE_DIGITS && c.bytes().all(|b| b.is_ascii_digit())));
        assert!(codes.len() > 190, "random codes rarely repeat");
    }

    #[test]
    fn refusals_have_short_russian_titles() {
        for error in [
            codes_off(),
            too_many_codes(),
            code_not_revealed(),
            message_refused(),
        ] {
            assert!(error.status.is_client_error());
            assert!(error.title.chars().count() <= 140, "{}", error.title);
        }
    }
}
