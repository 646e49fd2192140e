//! Shared service: gift certificates by their printed number (issue 22). BonusPlus looks a
//! certificate up only by its GUID (`GET certificate/{id}`) and answers its printed number as
//! `name`; the app remembers every pair it sees, and the shop's own list, per account. A typed
//! number is looked up in that map first; a GUID goes to BonusPlus as is. A number nobody knows
//! is no certificate (`None`: the till answers `INVALID`), never an error.
//! Must not depend on `state` or on incoming modules (`loyalty_api`, `vendor_api`, `ui`).

use uuid::Uuid;

use crate::bonusplus::{
    wire_assumptions, ApiKey, BonusPlusClient, BonusPlusError, GiftCardResponse,
};
use crate::domain::certificate::{read_list, ListProblem, PrintedNumber};
use crate::store::{CertificateSource, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error(transparent)]
    BonusPlus(#[from] BonusPlusError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What importing a list did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListImported {
    /// Numbers now mapped from this list.
    pub imported: usize,
    /// Lines not taken, with why.
    pub problems: Vec<ListProblem>,
    /// Numbers the account's map holds now.
    pub known: i64,
}

/// The certificate typed or scanned at the till, if BonusPlus has it.
pub async fn find(
    store: &Store,
    client: &BonusPlusClient,
    key: &ApiKey,
    account_id: &str,
    typed: &str,
) -> Result<Option<GiftCardResponse>, CertificateError> {
    let certificate = if wire_assumptions::certificate_id(typed).is_some() {
        client.find_certificate(key, typed).await?
    } else {
        let Ok(number) = PrintedNumber::parse(typed) else {
            return Ok(None);
        };
        match store.certificate_by_number(account_id, &number).await? {
            Some(id) => client.get_certificate(key, &id).await?,
            None => return Ok(None),
        }
    };
    if let Some(certificate) = &certificate {
        remember_seen(store, account_id, certificate).await;
    }
    Ok(certificate)
}

/// The shop's list (CSV: printed number and GUID per line) into the account's map.
pub async fn import_list(
    store: &Store,
    account_id: &str,
    text: &str,
) -> Result<ListImported, StoreError> {
    let list = read_list(text);
    let pairs: Vec<(PrintedNumber, Uuid)> = list
        .certificates
        .into_iter()
        .map(|certificate| (certificate.number, certificate.id))
        .collect();
    store
        .remember_certificates(account_id, &pairs, CertificateSource::Imported)
        .await?;
    Ok(ListImported {
        imported: pairs.len(),
        problems: list.problems,
        known: store.certificate_count(account_id).await?,
    })
}

/// Remembers the certificate's printed number; a failure only loses a shortcut, so it is logged.
async fn remember_seen(store: &Store, account_id: &str, certificate: &GiftCardResponse) {
    let Some(number) = certificate
        .name
        .as_deref()
        .and_then(|name| PrintedNumber::parse(name).ok())
    else {
        return;
    };
    let pair = [(number, certificate.id)];
    if let Err(error) = store
        .remember_certificates(account_id, &pair, CertificateSource::Seen)
        .await
    {
        tracing::warn!(%error, "a certificate's printed number was not remembered");
    }
}
