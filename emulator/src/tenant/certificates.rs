//! Gift certificates: their balance, derived status, and the check of a sale's payments.
//! Must not depend on the wire or HTTP (`crate::wire`, `crate::api`), nor on customers.

use rust_decimal::Decimal;

use super::{GiftCardPayment, TenantData};
use crate::error::{ApiError, ErrorCode};
use crate::formats;
use crate::model::{CertificateSnapshot, NewCertificate};

#[derive(Debug)]
pub(super) struct Certificate {
    id: String,
    name: String,
    initial: Decimal,
    pub(super) current: Decimal,
    expire: Option<String>,
}

impl Certificate {
    /// Derived from the balance and the expiry, as BonusPlus's (and MoySklad's) vocabulary.
    fn status(&self, now: &str) -> &'static str {
        if self.current <= Decimal::ZERO {
            "REDEEMED"
        } else if self.expire.as_deref().is_some_and(|e| e <= now) {
            "EXPIRED"
        } else if self.current < self.initial {
            "PARTIALLY_REDEEMED"
        } else {
            "CAN_BE_USED"
        }
    }

    fn snapshot(&self) -> CertificateSnapshot {
        CertificateSnapshot {
            id: self.id.clone(),
            name: self.name.clone(),
            initial_balance: self.initial,
            current_balance: self.current,
            expire: self.expire.clone(),
            status: self.status(&formats::now_utc()).to_owned(),
        }
    }
}

impl TenantData {
    /// Adds (or replaces) a certificate; answers its id.
    pub fn add_certificate(&mut self, new: NewCertificate) -> Result<String, ApiError> {
        let id = match new.id {
            Some(id) => formats::parse_guid(&id)
                .ok_or_else(|| ApiError::bad_request(format!("id: «{id}» is not a GUID")))?,
            None => formats::new_guid(),
        };
        let expire = new
            .expire
            .map(|e| {
                formats::parse_date_time(&e).ok_or_else(|| {
                    ApiError::bad_request(format!("expire: «{e}» is not a date or date-time"))
                })
            })
            .transpose()?;
        if new.balance < Decimal::ZERO {
            return Err(ApiError::bad_request("balance: must not be negative"));
        }
        let initial = new.initial_balance.unwrap_or(new.balance).max(new.balance);
        self.certificates.insert(
            id.clone(),
            Certificate {
                id: id.clone(),
                name: new.name,
                initial,
                current: new.balance,
                expire,
            },
        );
        Ok(id)
    }

    pub fn certificate_snapshot(&self, id: &str) -> Option<CertificateSnapshot> {
        let id = formats::parse_guid(id)?;
        self.certificates.get(&id).map(Certificate::snapshot)
    }

    pub fn certificate(&self, id: &str) -> Result<CertificateSnapshot, ApiError> {
        self.certificates
            .get(id)
            .map(Certificate::snapshot)
            .ok_or_else(|| certificate_not_found(id))
    }

    pub(super) fn check_gift_cards(&self, payments: &[GiftCardPayment]) -> Result<(), ApiError> {
        let now = formats::now_utc();
        for payment in payments {
            let certificate = self
                .certificates
                .get(&payment.id)
                .ok_or_else(|| certificate_not_found(&payment.id))?;
            let status = certificate.status(&now);
            if matches!(status, "REDEEMED" | "EXPIRED") {
                return Err(ApiError::precondition(
                    ErrorCode::CertificateNotActive,
                    format!("certificate {} is {status}", payment.id),
                ));
            }
            if payment.sum > certificate.current {
                return Err(ApiError::precondition(
                    ErrorCode::NotEnoughCertificateBalance,
                    format!(
                        "certificate {} holds {}, {} requested",
                        payment.id, certificate.current, payment.sum
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn certificate_not_found(id: &str) -> ApiError {
    ApiError::precondition(
        ErrorCode::CertificateNotFound,
        format!("certificate {id} not found"),
    )
}
