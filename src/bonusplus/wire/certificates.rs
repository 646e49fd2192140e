//! Gift certificates on the wire (`GET certificate/{id}`).
//! Plain data of the outgoing client: no I/O, no other layer.

use rust_decimal::Decimal;
use serde::Deserialize;
use time::OffsetDateTime;
use uuid::Uuid;

use super::lenient;
use crate::bonusplus::wire_assumptions;

/// A gift certificate (`GiftCardResponse` of `GET certificate/{id}`). Balances in roubles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiftCardResponse {
    pub id: Uuid,
    /// The certificate's number or name as printed.
    pub name: Option<String>,
    /// When it stops being usable, UTC; `None` = no expiry.
    pub expire_date: Option<OffsetDateTime>,
    pub status: CertificateStatus,
    pub current_balance: Decimal,
    pub initial_balance: Decimal,
}

/// `GiftCardResponse` as it arrives; `id` falls back to the one asked for.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GiftCardWire {
    #[serde(default, deserialize_with = "lenient::guid")]
    id: Option<Uuid>,
    #[serde(default, deserialize_with = "lenient::string_option")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient::string_option")]
    expire_date: Option<String>,
    #[serde(default, deserialize_with = "lenient::string_option")]
    status: Option<String>,
    #[serde(default, deserialize_with = "lenient::decimal")]
    current_balance: Decimal,
    #[serde(default, deserialize_with = "lenient::decimal")]
    initial_balance: Decimal,
}

impl GiftCardWire {
    /// `expireDate` as answered, when it is not blank.
    pub(crate) fn expire_date_text(&self) -> Option<&str> {
        self.expire_date
            .as_deref()
            .filter(|text| !text.trim().is_empty())
    }

    pub fn into_response(self, asked: Uuid) -> GiftCardResponse {
        GiftCardResponse {
            id: self.id.unwrap_or(asked),
            name: self.name,
            // An expiry in a format not understood reads as none: the status, which BonusPlus
            // derives itself, still says whether the certificate can be used.
            expire_date: self
                .expire_date
                .as_deref()
                .and_then(wire_assumptions::parse_expire_date),
            status: CertificateStatus::from_wire(self.status.as_deref().unwrap_or_default()),
            current_balance: self.current_balance,
            initial_balance: self.initial_balance,
        }
    }
}

/// A certificate's status. BonusPlus shares MoySklad's vocabulary; a value not listed here is
/// kept as [`Unknown`](Self::Unknown) rather than failing the lookup.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CertificateStatus {
    CanBeUsed,
    PartiallyRedeemed,
    Redeemed,
    Expired,
    Invalid,
    /// Any other status, as BonusPlus wrote it.
    Unknown(String),
}

impl CertificateStatus {
    /// Reads BonusPlus's status text (case and surrounding blanks do not matter).
    pub fn from_wire(text: &str) -> Self {
        match text.trim().to_ascii_uppercase().as_str() {
            "CAN_BE_USED" => CertificateStatus::CanBeUsed,
            "PARTIALLY_REDEEMED" => CertificateStatus::PartiallyRedeemed,
            "REDEEMED" => CertificateStatus::Redeemed,
            "EXPIRED" => CertificateStatus::Expired,
            "INVALID" => CertificateStatus::Invalid,
            _ => CertificateStatus::Unknown(text.trim().to_owned()),
        }
    }

    /// True when the certificate may pay for a sale now.
    pub fn is_usable(&self) -> bool {
        matches!(
            self,
            CertificateStatus::CanBeUsed | CertificateStatus::PartiallyRedeemed
        )
    }
}
