//! `GET /giftcard?name=…&retailStoreId=…`: a gift certificate typed or scanned at the till, looked
//! up in BonusPlus (`GET certificate/{id}`) and answered in MoySklad's terms.
//! Must not depend on `vendor_api` or `ui`.
//!
//! BonusPlus documents no lookup by the printed number: a GUID is asked directly, a printed
//! number through the account's map of numbers seen and imported (`certificates`). A certificate
//! BonusPlus does not know — or that cannot be looked up — is answered `INVALID` (200), which the till
//! shows as "cannot be used". Balances go to MoySklad in kopecks, exactly: an amount with a
//! fraction of a kopeck is refused, never rounded.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};
use uuid::Uuid;

use super::caller::Caller;
use super::wire::giftcard::{GiftCard, GiftCardQuery, GiftCardStatus};
use super::wire::Kopecks;
use crate::bonusplus::{CertificateStatus, GiftCardResponse};
use crate::certificates::CertificateError;
use crate::domain::money::{roubles_to_kopecks, KopecksError};
use crate::http::error::{codes, ApiError};
use crate::state::AppState;

/// The longest certificate number worth asking about.
const NAME_LIMIT: usize = 64;

pub async fn lookup(
    State(state): State<AppState>,
    Caller(account): Caller,
    query: Result<Query<GiftCardQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<GiftCard>, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::invalid("name", e.body_text()))?;
    let name = query.name.trim();
    if name.is_empty() {
        return Err(ApiError::invalid(
            "name",
            "The certificate number is required",
        ));
    }
    if name.chars().count() > NAME_LIMIT {
        return Err(ApiError::invalid(
            "name",
            "The certificate number is too long",
        ));
    }
    let certificate = crate::certificates::find(
        &state.store,
        &state.bonusplus,
        &account.key,
        &account.account_id,
        name,
    )
    .await
    .map_err(|error| match error {
        CertificateError::BonusPlus(error) => ApiError::from(error),
        CertificateError::Store(error) => ApiError::from(error),
    })?;
    gift_card_answer(name, certificate.as_ref())
        .map(Json)
        .map_err(|error| odd_balance(&error))
}

/// MoySklad's view of a certificate: `INVALID` for one BonusPlus does not know; otherwise its
/// status, balances in kopecks and expiry in UTC.
pub fn gift_card_answer(
    name: &str,
    certificate: Option<&GiftCardResponse>,
) -> Result<GiftCard, KopecksError> {
    let Some(certificate) = certificate else {
        return Ok(GiftCard {
            name: name.to_owned(),
            id: unknown_id(name).hyphenated().to_string(),
            status: GiftCardStatus::Invalid,
            expire_date: None,
            current_balance: None,
            initial_balance: None,
        });
    };
    Ok(GiftCard {
        name: name.to_owned(),
        id: certificate.id.hyphenated().to_string(),
        status: status(&certificate.status),
        expire_date: certificate.expire_date.and_then(moysklad_time),
        current_balance: Some(Kopecks(roubles_to_kopecks(certificate.current_balance)?)),
        initial_balance: Some(Kopecks(roubles_to_kopecks(certificate.initial_balance)?)),
    })
}

/// BonusPlus shares MoySklad's vocabulary; a status it adds later cannot be relied on, so it is
/// answered as "cannot be used".
fn status(status: &CertificateStatus) -> GiftCardStatus {
    match status {
        CertificateStatus::CanBeUsed => GiftCardStatus::CanBeUsed,
        CertificateStatus::PartiallyRedeemed => GiftCardStatus::PartiallyRedeemed,
        CertificateStatus::Redeemed => GiftCardStatus::Redeemed,
        CertificateStatus::Expired => GiftCardStatus::Expired,
        CertificateStatus::Invalid | CertificateStatus::Unknown(_) => GiftCardStatus::Invalid,
    }
}

/// `id` is required even for an unknown certificate: the GUID typed, else the nil GUID (no
/// certificate of ours has it).
fn unknown_id(name: &str) -> Uuid {
    Uuid::parse_str(name).unwrap_or(Uuid::nil())
}

/// `YYYY-MM-DD HH:MM:SS` in UTC.
fn moysklad_time(at: OffsetDateTime) -> Option<String> {
    at.to_offset(UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .ok()
}

fn odd_balance(error: &KopecksError) -> ApiError {
    tracing::warn!(%error, "BonusPlus answered a certificate balance that is no whole kopeck");
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        codes::BONUSPLUS_REFUSED,
        "БонусПлюс сообщил остаток сертификата, который нельзя принять к оплате",
        format!("The certificate balance from BonusPlus cannot be answered in kopecks: {error}"),
    )
    .with_parameter("name")
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;
    use time::macros::datetime;

    fn certificate(status: CertificateStatus) -> GiftCardResponse {
        GiftCardResponse {
            id: Uuid::from_u128(0x0c0ffee0_0000_4000_8000_000000000001),
            name: Some("GC-0001".into()),
            expire_date: Some(datetime!(2026-12-31 23:59:59 UTC)),
            status,
            current_balance: dec!(500.50),
            initial_balance: dec!(1000),
        }
    }

    #[test]
    fn a_known_certificate_is_answered_in_kopecks_and_utc() {
        let answer = gift_card_answer(
            "0c0ffee0-0000-4000-8000-000000000001",
            Some(&certificate(CertificateStatus::PartiallyRedeemed)),
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(&answer).unwrap(),
            serde_json::json!({
                "name": "0c0ffee0-0000-4000-8000-000000000001",
                "id": "0c0ffee0-0000-4000-8000-000000000001",
                "status": "PARTIALLY_REDEEMED",
                "expireDate": "2026-12-31 23:59:59",
                "currentBalance": 50050,
                "initialBalance": 100000,
            })
        );
    }

    #[test]
    fn statuses_map_one_to_one_and_unknown_ones_are_invalid() {
        for (theirs, ours) in [
            (CertificateStatus::CanBeUsed, GiftCardStatus::CanBeUsed),
            (
                CertificateStatus::PartiallyRedeemed,
                GiftCardStatus::PartiallyRedeemed,
            ),
            (CertificateStatus::Redeemed, GiftCardStatus::Redeemed),
            (CertificateStatus::Expired, GiftCardStatus::Expired),
            (CertificateStatus::Invalid, GiftCardStatus::Invalid),
            (
                CertificateStatus::Unknown("BLOCKED".into()),
                GiftCardStatus::Invalid,
            ),
        ] {
            let answer = gift_card_answer("x", Some(&certificate(theirs))).unwrap();
            assert_eq!(answer.status, ours);
        }
    }

    #[test]
    fn an_unknown_certificate_is_invalid_with_a_guid() {
        let answer = gift_card_answer("GC-404", None).unwrap();
        assert_eq!(
            serde_json::to_value(&answer).unwrap(),
            serde_json::json!({"name": "GC-404", "id": "00000000-0000-0000-0000-000000000000",
                               "status": "INVALID"})
        );
        let typed = "9f2a5c1e-0b7d-4c33-8e55-1a2b3c4d5e6f";
        assert_eq!(gift_card_answer(typed, None).unwrap().id, typed);
    }

    #[test]
    fn a_balance_with_a_fraction_of_a_kopeck_is_refused() {
        let mut odd = certificate(CertificateStatus::CanBeUsed);
        odd.current_balance = dec!(10.005);
        assert_eq!(
            gift_card_answer("x", Some(&odd)),
            Err(KopecksError::FractionOfKopeck)
        );
        let error = odd_balance(&KopecksError::FractionOfKopeck);
        assert_eq!(error.parameter.as_deref(), Some("name"));
        assert_eq!(error.status, StatusCode::BAD_GATEWAY);
    }

    #[test]
    fn no_expiry_is_left_out() {
        let mut forever = certificate(CertificateStatus::CanBeUsed);
        forever.expire_date = None;
        let answer = gift_card_answer("x", Some(&forever)).unwrap();
        assert_eq!(answer.expire_date, None);
    }
}
